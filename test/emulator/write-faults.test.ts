import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, type Json, json, P, reset, sleep } from "./emulator-client";

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

const scaleOf = async (id: string): Promise<number> => (await json(`${P}/services/${id}`)).body.scale;

/** Settles to what happened to a request: its status, or "reset" when its fetch rejected. */
const fate = (request: Promise<Response>): Promise<number | "reset"> =>
  request.then(
    async (response) => {
      await response.body?.cancel();
      return response.status;
    },
    () => "reset" as const,
  );

describe("late writes (lateMs, lateCount)", () => {
  it("applies the next lateCount writes at once and answers each lateMs later", async () => {
    await hook("/faults", { lateMs: 1500, lateCount: 1 });
    const started = Date.now();
    let answered = false;
    const put = call(`${P}/services/1s1`, { method: "PUT", body: { scale: 3 } }).then((response) => {
      answered = true;
      return response;
    });
    // The write shows before its answer comes.
    let seen = 1;
    for (let i = 0; i < 40 && seen !== 3; i++) {
      await sleep(20);
      seen = await scaleOf("1s1");
    }
    expect(seen).toBe(3);
    expect(answered).toBe(false);
    const response = await put;
    expect(response.status).toBe(200);
    expect(((await response.json()) as Json).scale).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1450);
    // Taken: the next write is answered as usual, and lateMs stays for the next lateCount.
    expect(await hook("/faults")).toMatchObject({ lateMs: 1500, lateCount: 0 });
    const next = Date.now();
    expect((await call(`${P}/services/1s1`, { method: "PUT", body: { scale: 4 } })).status).toBe(200);
    expect(Date.now() - next).toBeLessThan(1400);
  });

  it("takes every kind of write — create, action, DELETE — and never a read", async () => {
    await hook("/faults", { lateMs: 2500, lateCount: 3 });
    expect((await call(`${P}/services/1s1`)).status).toBe(200);
    expect((await call(`${P}/hosts`)).status).toBe(200);
    expect(await hook("/faults")).toMatchObject({ lateCount: 3 });
    let answered = 0;
    const writes = [
      call(`${P}/services`, { method: "POST", body: { name: "late" } }),
      call(`${P}/services/1s6?action=restart`, { method: "POST", body: {} }),
      call(`${P}/services/1s3`, { method: "DELETE" }),
    ].map((write) => fate(write).finally(() => answered++));
    // All three are applied while none is answered yet.
    const expected = ["1s10:registering", "1s6:restarting", "1s3:removing"];
    let seen: string[] = [];
    for (let i = 0; i < 80 && !expected.every((entry) => seen.includes(entry)); i++) {
      await sleep(20);
      const services = (await json(`${P}/services`)).body.data as Json[];
      seen = services.map((service) => `${service.id}:${service.state}`);
    }
    expect(seen).toEqual(expect.arrayContaining(expected));
    expect(answered).toBe(0);
    expect((await Promise.all(writes)).sort()).toEqual([200, 201, 202]);
    expect(await hook("/faults")).toMatchObject({ lateCount: 0 });
  });
});

describe("dropped writes (dropCount)", () => {
  it("applies the next dropCount writes and resets the connection instead of answering", async () => {
    await hook("/faults", { dropCount: 2 });
    await expect(call(`${P}/services/1s1`, { method: "PUT", body: { scale: 4 } })).rejects.toThrow();
    expect(await scaleOf("1s1")).toBe(4);
    await expect(call(`${P}/services`, { method: "POST", body: { name: "dropped" } })).rejects.toThrow();
    expect((await json(`${P}/services?name=dropped`)).body.data).toHaveLength(1);
    // The third write is answered again, and every request was counted.
    expect((await call(`${P}/services/1s6`, { method: "PUT", body: { scale: 2 } })).status).toBe(200);
    expect(await hook("/faults")).toMatchObject({ dropCount: 0 });
    const stats = await hook("/stats");
    expect(stats.byPath[`${P}/services/1s1`]).toEqual({ PUT: 1, GET: 1 });
    expect(stats.byPath[`${P}/services`]).toEqual({ POST: 1, GET: 1 });
  });

  it("takes neither fault for a read, a refused credential or a write the injected status failed", async () => {
    await hook("/faults", { dropCount: 1, status: 503, count: 1 });
    const failed = await call(`${P}/services/1s1`, { method: "PUT", body: { scale: 9 } });
    expect(failed.status).toBe(503);
    await failed.body?.cancel();
    const unauthenticated = await call(`${P}/services/1s1`, { method: "PUT", key: null, body: { scale: 9 } });
    expect(unauthenticated.status).toBe(401);
    await unauthenticated.body?.cancel();
    const forbidden = await call("/v2-beta/projects/1a7/services/1s9", { method: "PUT", body: { scale: 9 } });
    expect(forbidden.status).toBe(403);
    await forbidden.body?.cancel();
    expect((await call(`${P}/services/1s1`)).status).toBe(200);
    expect(await hook("/faults")).toMatchObject({ dropCount: 1, count: 0 });
    expect(await scaleOf("1s1")).toBe(1);
    expect(await fate(call(`${P}/services/1s1`, { method: "PUT", body: { scale: 2 } }))).toBe("reset");
    expect(await scaleOf("1s1")).toBe(2);
  });

  it("drops before it delays when both are set, and a refused write is dropped all the same", async () => {
    await hook("/faults", { dropCount: 1, lateMs: 300, lateCount: 1 });
    // A 422 is still a write that got past authentication: it takes the drop, having changed nothing.
    expect(await fate(call(`${P}/services/1s1`, { method: "PUT", body: { scale: -1 } }))).toBe("reset");
    expect(await hook("/faults")).toMatchObject({ dropCount: 0, lateCount: 1 });
    expect(await fate(call(`${P}/services/1s1`, { method: "PUT", body: { scale: 2 } }))).toBe(200);
    expect(await hook("/faults")).toMatchObject({ dropCount: 0, lateCount: 0 });
  });

  it("never delays, fails or drops the test hooks", async () => {
    await hook("/faults", { dropCount: 5, lateMs: 5000, lateCount: 5, status: 500, count: 5 });
    expect(await hook("/config", { transitionMs: 50 })).toMatchObject({ transitionMs: 50 });
    const started = Date.now();
    const response = await fetch(`${EMULATOR}/_emulator/reset`, { method: "POST" });
    expect(response.status).toBe(204);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(await hook("/faults")).toMatchObject({ dropCount: 0, lateCount: 0, count: 0 });
    expect((await hook("/stats")).total).toBe(0);
  });
});
