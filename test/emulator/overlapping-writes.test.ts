import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, type Json, json, KEYS, P, reset, sleep } from "./emulator-client";

beforeEach(reset);

const hook = async (path: string, body?: unknown): Promise<Json> => {
  const response = await fetch(`${EMULATOR}/_emulator${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return response.json();
};

interface Flights {
  writes: number;
  overlappingWrites: number;
  maxInFlight: Record<string, number>;
  inFlight: Record<string, number>;
}

const flights = async (): Promise<Flights> => {
  const { writes, overlappingWrites, maxInFlight, inFlight } = await hook("/stats");
  return { writes, overlappingWrites, maxInFlight, inFlight };
};

/** Settles to what happened to a request: its status, or "reset" when its fetch rejected. */
const fate = (request: Promise<Response>): Promise<number | "reset"> =>
  request.then(
    async (response) => {
      await response.body?.cancel();
      return response.status;
    },
    () => "reset" as const,
  );

/** Tracks whether a request has been answered yet. */
function pending<T>(promise: Promise<T>): { promise: Promise<T>; done: () => boolean } {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  return { promise: tracked, done: () => settled };
}

/** Polls the stats until `check` holds, or fails after `timeoutMs` with the last stats seen. */
async function until(check: (stats: Flights) => boolean, timeoutMs = 5000): Promise<Flights> {
  const started = Date.now();
  for (;;) {
    const stats = await flights();
    if (check(stats)) return stats;
    if (Date.now() - started > timeoutMs) throw new Error(`stats stayed ${JSON.stringify(stats)}`);
    await sleep(20);
  }
}

const scaleOf = async (id: string): Promise<number> => (await json(`${P}/services/${id}`)).body.scale;

const putScale = (id: string, scale: number, init: { signal?: AbortSignal } = {}) =>
  fetch(`${EMULATOR}${P}/services/${id}`, {
    method: "PUT",
    headers: { authorization: `Basic ${btoa(KEYS.owner)}`, "content-type": "application/json" },
    body: JSON.stringify({ scale }),
    signal: init.signal,
  });

describe("writes to one service, one after another", () => {
  it("never overlap, whatever the route and the kind of write", async () => {
    await hook("/config", { transitionMs: 0 });
    expect(await fate(call(`${P}/services/1s1`, { method: "PUT", body: { scale: 2 } }))).toBe(200);
    // The same service through the un-scoped route, and through its kind's own collection.
    expect(
      await fate(
        call("/v2-beta/services/1s1", {
          method: "PUT",
          body: { description: "front" },
          headers: { "x-api-project-id": "1a5" },
        }),
      ),
    ).toBe(200);
    expect(await fate(call(`${P}/services/1s6?action=restart`, { method: "POST", body: {} }))).toBe(202);
    expect(await fate(call(`${P}/externalservices/1s3`, { method: "DELETE" }))).toBe(200);
    // A write the API refuses is still a write: it was handled.
    expect(await fate(call(`${P}/services/1s1`, { method: "PUT", body: { scale: -1 } }))).toBe(422);
    expect(await flights()).toEqual({
      writes: 5,
      overlappingWrites: 0,
      maxInFlight: { "1s1": 1, "1s6": 1, "1s3": 1 },
      inFlight: {},
    });
  });

  it("leaves out reads, creates, other resources and writes that never got to be handled", async () => {
    await call(`${P}/services/1s1`);
    expect(await fate(call(`${P}/services`, { method: "POST", body: { name: "fresh" } }))).toBe(201);
    expect(await fate(call(`${P}/hosts/1h1`, { method: "PUT", body: { name: "renamed" } }))).toBe(200);
    expect(await fate(call(`${P}/services/1s1/instances`, { method: "POST", body: {} }))).toBe(405);
    expect(await fate(call(`${P}/services/1s1`, { method: "PUT", key: null, body: { scale: 2 } }))).toBe(401);
    expect(
      await fate(call("/v2-beta/projects/1a7/services/1s9", { method: "PUT", body: { scale: 2 } })),
    ).toBe(403);
    await hook("/faults", { status: 503, count: 1 });
    expect(await fate(call(`${P}/services/1s1`, { method: "PUT", body: { scale: 2 } }))).toBe(503);
    expect(await flights()).toEqual({ writes: 0, overlappingWrites: 0, maxInFlight: {}, inFlight: {} });
  });
});

describe("a write that arrives while another to the same service is in flight", () => {
  it("counts once when the first is held by a late answer", async () => {
    await hook("/faults", { lateMs: 1500, lateCount: 1 });
    const first = pending(fate(putScale("1s1", 2)));
    // Applied, not answered: in flight.
    await until((stats) => stats.inFlight["1s1"] === 1);
    expect(await scaleOf("1s1")).toBe(2);
    // The same service by another route: still one service.
    const second = await fate(
      call("/v2-beta/services/1s1", {
        method: "PUT",
        body: { description: "meanwhile" },
        headers: { "x-api-project-id": "1a5" },
      }),
    );
    expect(second).toBe(200);
    expect(first.done()).toBe(false);
    expect(await flights()).toEqual({
      writes: 2,
      overlappingWrites: 1,
      maxInFlight: { "1s1": 2 },
      inFlight: { "1s1": 1 },
    });
    expect(await first.promise).toBe(200);
    expect(await flights()).toEqual({
      writes: 2,
      overlappingWrites: 1,
      maxInFlight: { "1s1": 2 },
      inFlight: {},
    });
  });

  it("does not count writes to two different services, in flight together", async () => {
    await hook("/faults", { lateMs: 1500, lateCount: 2 });
    const web = pending(fate(putScale("1s1", 2)));
    const worker = pending(fate(putScale("1s6", 2)));
    const together = await until((stats) => stats.inFlight["1s1"] === 1 && stats.inFlight["1s6"] === 1);
    expect(together.overlappingWrites).toBe(0);
    expect([web.done(), worker.done()]).toEqual([false, false]);
    expect([await web.promise, await worker.promise]).toEqual([200, 200]);
    expect(await flights()).toEqual({
      writes: 2,
      overlappingWrites: 0,
      maxInFlight: { "1s1": 1, "1s6": 1 },
      inFlight: {},
    });
  });

  it("counts a write waiting for the process lock as in flight, until its 409", async () => {
    await hook("/config", { transitionMs: 20_000, lockWaitMs: 1500 });
    expect(await fate(putScale("1s1", 2))).toBe(200);
    // The update runs for 20 s: this one waits for the lock, then is refused.
    const waiting = pending(json(`${P}/services/1s1`, { method: "PUT", body: { scale: 3 } }));
    await until((stats) => stats.inFlight["1s1"] === 1);
    // A PUT that schedules nothing takes no lock and is answered at once, while the other still waits.
    expect(await fate(call(`${P}/services/1s1`, { method: "PUT", body: { description: "front" } }))).toBe(
      200,
    );
    expect(waiting.done()).toBe(false);
    const refused = await waiting.promise;
    expect([refused.status, refused.body.code]).toEqual([409, "Conflict"]);
    expect(await flights()).toEqual({
      writes: 3,
      overlappingWrites: 1,
      maxInFlight: { "1s1": 2 },
      inFlight: {},
    });
  });

  it("counts every write to a service that already has one in flight", async () => {
    await hook("/faults", { lateMs: 2000, lateCount: 2 });
    const first = fate(putScale("1s1", 2));
    await until((stats) => stats.inFlight["1s1"] === 1);
    const second = fate(putScale("1s1", 3));
    await until((stats) => stats.inFlight["1s1"] === 2);
    expect(await fate(putScale("1s1", 4))).toBe(200);
    expect([await first, await second]).toEqual([200, 200]);
    expect(await flights()).toEqual({
      writes: 3,
      overlappingWrites: 2,
      maxInFlight: { "1s1": 3 },
      inFlight: {},
    });
  });
});

describe("the end of a flight", () => {
  it("comes when the client of a late write goes away, not when the answer would have", async () => {
    await hook("/faults", { lateMs: 15_000, lateCount: 1 });
    const client = new AbortController();
    const abandoned = fate(putScale("1s1", 2, { signal: client.signal }));
    await until((stats) => stats.inFlight["1s1"] === 1);
    const left = Date.now();
    client.abort();
    expect(await abandoned).toBe("reset");
    await until((stats) => Object.keys(stats.inFlight).length === 0, 5000);
    expect(Date.now() - left).toBeLessThan(10_000);
    expect(await fate(putScale("1s1", 3))).toBe(200);
    expect(await flights()).toEqual({
      writes: 2,
      overlappingWrites: 0,
      maxInFlight: { "1s1": 1 },
      inFlight: {},
    });
  });

  it("comes with the reset of a dropped write", async () => {
    await hook("/faults", { dropCount: 1 });
    expect(await fate(putScale("1s1", 2))).toBe("reset");
    expect((await flights()).inFlight).toEqual({});
    expect(await fate(putScale("1s1", 3))).toBe(200);
    expect(await flights()).toMatchObject({ writes: 2, overlappingWrites: 0, inFlight: {} });
  });
});

describe("reset", () => {
  it("zeroes the counts and forgets writes still in flight", async () => {
    await hook("/faults", { lateMs: 1500, lateCount: 1 });
    const late = pending(fate(putScale("1s1", 2)));
    await until((stats) => stats.inFlight["1s1"] === 1);
    expect(await fate(putScale("1s1", 3))).toBe(200);
    expect((await flights()).overlappingWrites).toBe(1);
    await reset();
    expect(await flights()).toEqual({ writes: 0, overlappingWrites: 0, maxInFlight: {}, inFlight: {} });
    // The write from before the reset is not counted against the next one, and its end changes nothing.
    expect(late.done()).toBe(false);
    expect(await fate(putScale("1s1", 4))).toBe(200);
    expect(await late.promise).toBe(200);
    expect(await flights()).toEqual({
      writes: 1,
      overlappingWrites: 0,
      maxInFlight: { "1s1": 1 },
      inFlight: {},
    });
  });
});
