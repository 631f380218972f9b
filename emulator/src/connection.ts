/**
 * The `dropCount` fault: a write that is applied and then never answered, as when Cattle (or a proxy in
 * front of it) resets the connection. A Worker cannot reset its client's connection itself; what comes
 * closest is to leave the fetch handler with an exception, outside Hono (whose error handler would turn
 * it into an answer). A caller that reaches the emulator through a service binding — the tests, the
 * service under test — then sees its `fetch` reject. Over plain HTTP (`npm run dev`) workerd answers
 * an uncaught exception with a bare 500 instead, which is not Cattle's error envelope either.
 */

/** Requests whose answer is to be replaced by a reset, marked by the gate once the fault is taken. */
const toReset = new WeakSet<Request>();

export function resetAfterAnswer(request: Request): void {
  toReset.add(request);
}

export class ConnectionReset extends Error {
  constructor() {
    super(
      "Connection reset by the Cattle emulator (dropCount fault): the write was applied, no answer follows",
    );
    this.name = "ConnectionReset";
  }
}

/** Hands the answer over, or — for a dropped write — discards it and fails the exchange. */
export async function deliver(request: Request, response: Response): Promise<Response> {
  if (!toReset.has(request)) return response;
  await response.body?.cancel();
  throw new ConnectionReset();
}
