/**
 * How a request's exchange ends: answered, answered late, reset, or left by its client.
 *
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

/**
 * Writes in flight (emulator/README.md, "Overlapping writes"): how each request's flight ends. It ends
 * when the exchange does (`landed`, awaited before the answer leaves the worker, so that a client which
 * sends its next write once answered never overlaps itself), or when the client goes away first: with
 * the `enable_request_signal` flag workerd aborts the request's signal when its caller cancels it, and
 * then runs none of the handler's remaining work, so the end is reported from the abort, kept alive by
 * `waitUntil`. Whichever comes first ends it; the other changes nothing.
 */
const flights = new WeakMap<Request, () => Promise<void>>();

/**
 * Watches for the end of the flight a write may be taking. `grounded` says it took none (the state
 * object did not admit it as a write to a service): then nothing is reported.
 */
export function inFlight(
  request: Request,
  end: () => Promise<void>,
  waitUntil: (work: Promise<unknown>) => void,
): { grounded(): void } {
  let ended: Promise<void> | undefined;
  const once = () => {
    ended ??= end();
    return ended;
  };
  const left = () => waitUntil(once());
  flights.set(request, once);
  if (request.signal.aborted) left();
  else request.signal.addEventListener("abort", left, { once: true });
  return {
    grounded() {
      ended ??= Promise.resolve();
      flights.delete(request);
      request.signal.removeEventListener("abort", left);
    },
  };
}

/** Ends the request's flight, if it is a write that took one. */
export async function landed(request: Request): Promise<void> {
  await flights.get(request)?.();
}
