import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, json, P, reset } from "./emulator-client";

beforeEach(reset);

const hook = (path: string, body?: unknown) =>
  fetch(`${EMULATOR}/_emulator${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });

/** The faults after a reset: nothing injected. */
const NO_FAULTS = {
  status: 503,
  count: 0,
  delayMs: 0,
  upgradeFailure: null,
  lateMs: 0,
  lateCount: 0,
  dropCount: 0,
  hostFailures: 0,
  unhealthyImage: null,
};

const stats = async () =>
  (await hook("/stats")).json() as Promise<{
    total: number;
    byMethod: Record<string, number>;
    byPath: Record<string, Record<string, number>>;
    hosts: Record<string, number>;
    writes: number;
    overlappingWrites: number;
    maxInFlight: Record<string, number>;
    inFlight: Record<string, number>;
  }>;

describe("reset", () => {
  it("puts the seed back", async () => {
    await call(`${P}/services/1s1`, { method: "PUT", body: { scale: 7 } });
    await call(`${P}/services`, { method: "POST", body: { name: "extra" } });
    await reset();
    expect((await json(`${P}/services/1s1`)).body).toMatchObject({ scale: 1, state: "active" });
    expect((await json(`${P}/services`)).body.data).toHaveLength(6);
    const created = await json(`${P}/services`, { method: "POST", body: { name: "extra" } });
    expect(created.body.id).toBe("1s10");
  });

  it("clears stats and faults", async () => {
    await call(`${P}/services`);
    await hook("/faults", {
      status: 500,
      count: 5,
      delayMs: 10,
      lateMs: 100,
      lateCount: 2,
      dropCount: 3,
      hostFailures: 4,
    });
    await reset();
    expect(await stats()).toEqual({
      total: 0,
      byMethod: {},
      byPath: {},
      hosts: {},
      writes: 0,
      overlappingWrites: 0,
      maxInFlight: {},
      inFlight: {},
    });
    expect(await (await hook("/faults")).json()).toEqual(NO_FAULTS);
  });

  it("keeps an upgrade failure until an upgrade takes it, null or a reset clears it", async () => {
    const set = await hook("/faults", { upgradeFailure: "pull access denied for myorg/web" });
    expect(await set.json()).toEqual({ ...NO_FAULTS, upgradeFailure: "pull access denied for myorg/web" });
    // Other requests do not consume it, and other fields leave it alone.
    expect((await call(`${P}/services/1s1`)).status).toBe(200);
    await hook("/faults", { delayMs: 0 });
    expect(await (await hook("/faults")).json()).toMatchObject({
      upgradeFailure: "pull access denied for myorg/web",
    });
    await hook("/faults", { upgradeFailure: null });
    expect(await (await hook("/faults")).json()).toMatchObject({ upgradeFailure: null });
    await hook("/faults", { upgradeFailure: "boom" });
    await reset();
    expect(await (await hook("/faults")).json()).toMatchObject({ upgradeFailure: null });
  });
});

describe("stats", () => {
  it("counts every /v2-beta request by method and by path without the query, and never the hooks", async () => {
    await call(`${P}/services/1s1`);
    await call(`${P}/services/1s1?foo=bar`);
    await call(`${P}/services/1s1`, { method: "PUT", body: { scale: 2 } });
    await call(`${P}/services`, { key: null });
    await call("/v2-beta/nowhere");
    await hook("/stats");
    await hook("/faults");
    expect(await stats()).toEqual({
      total: 5,
      byMethod: { GET: 4, PUT: 1 },
      byPath: {
        "/v2-beta/projects/1a5/services/1s1": { GET: 2, PUT: 1 },
        "/v2-beta/projects/1a5/services": { GET: 1 },
        "/v2-beta/nowhere": { GET: 1 },
      },
      hosts: { "127.0.0.1:8788": 5 },
      // The one PUT is the one write addressed to a service (see overlapping-writes.test.ts).
      writes: 1,
      overlappingWrites: 0,
      maxInFlight: { "1s1": 1 },
      inFlight: {},
    });
  });
});

describe("faults", () => {
  it("fails the next N requests with the status in Cattle's envelope, then recovers", async () => {
    const set = await hook("/faults", { status: 503, count: 2 });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ ...NO_FAULTS, status: 503, count: 2 });
    const first = await json(`${P}/services/1s1`);
    expect(first.status).toBe(503);
    expect(first.body).toMatchObject({ type: "error", status: 503, code: "ServiceUnavailable" });
    // Any route, unauthenticated ones included.
    const second = await json("/v2-beta/projects/1a5", { key: null });
    expect(second.status).toBe(503);
    expect((await call(`${P}/services/1s1`)).status).toBe(200);
    expect((await stats()).total).toBe(3);
    expect(await (await hook("/faults")).json()).toMatchObject({ count: 0 });
  });

  it("maps statuses to Cattle's codes", async () => {
    const expected: [number, string][] = [
      [500, "InternalError"],
      [409, "Conflict"],
      [404, "NotFound"],
      [401, "Unauthorized"],
      [403, "Forbidden"],
      [502, "BadGateway"],
    ];
    for (const [status, code] of expected) {
      await hook("/faults", { status, count: 1 });
      const result = await json(`${P}/services`);
      expect([result.status, result.body.code]).toEqual([status, code]);
    }
  });

  it("does not write when a PUT is failed", async () => {
    await hook("/faults", { status: 500, count: 1 });
    expect((await call(`${P}/services/1s1`, { method: "PUT", body: { scale: 9 } })).status).toBe(500);
    expect((await json(`${P}/services/1s1`)).body.scale).toBe(1);
  });

  it("delays every request until changed, and keeps fields that are not sent", async () => {
    await hook("/faults", { delayMs: 120 });
    const started = Date.now();
    expect((await call(`${P}/services/1s1`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    await hook("/faults", { status: 500, count: 1 });
    expect(await (await hook("/faults")).json()).toEqual({
      ...NO_FAULTS,
      status: 500,
      count: 1,
      delayMs: 120,
    });
    const slowFailure = Date.now();
    expect((await call(`${P}/services`)).status).toBe(500);
    expect(Date.now() - slowFailure).toBeGreaterThanOrEqual(110);
    // The hooks themselves are never delayed.
    const hookStart = Date.now();
    await hook("/stats");
    expect(Date.now() - hookStart).toBeLessThan(100);
  });

  it("clears both with count 0 and delayMs 0, keeping the other faults", async () => {
    await hook("/faults", { status: 503, count: 3, delayMs: 50, lateMs: 70, lateCount: 2, dropCount: 1 });
    await hook("/faults", { count: 0, delayMs: 0 });
    expect(await (await hook("/faults")).json()).toEqual({
      ...NO_FAULTS,
      lateMs: 70,
      lateCount: 2,
      dropCount: 1,
    });
    await hook("/faults", { lateCount: 0, dropCount: 0 });
    const started = Date.now();
    expect((await call(`${P}/services`)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(50);
  });

  it("validates the body with the envelope", async () => {
    const cases: [unknown, number, string, string | undefined][] = [
      [{ status: 200, count: 1 }, 422, "MinLimitExceeded", "status"],
      [{ status: 503, count: -1 }, 422, "MinLimitExceeded", "count"],
      [{ count: 1.5 }, 422, "InvalidFormat", "count"],
      [{ delayMs: "20" }, 422, "InvalidFormat", "delayMs"],
      [{ delayMs: 1e9 }, 422, "MaxLimitExceeded", "delayMs"],
      [{ colour: "red" }, 422, "InvalidOption", "colour"],
      [{ upgradeFailure: 7 }, 422, "InvalidFormat", "upgradeFailure"],
      [{ upgradeFailure: "" }, 422, "MinLimitExceeded", "upgradeFailure"],
      [{ lateMs: -1 }, 422, "MinLimitExceeded", "lateMs"],
      [{ lateMs: 60_001 }, 422, "MaxLimitExceeded", "lateMs"],
      [{ lateCount: "2" }, 422, "InvalidFormat", "lateCount"],
      [{ dropCount: 0.5 }, 422, "InvalidFormat", "dropCount"],
      [{ hostFailures: -2 }, 422, "MinLimitExceeded", "hostFailures"],
      ["not json", 422, "InvalidFormat", undefined],
      ["[1,2]", 422, "InvalidFormat", undefined],
    ];
    for (const [body, status, code, fieldName] of cases) {
      const response = await hook("/faults", body);
      const envelope = (await response.json()) as Record<string, unknown>;
      expect([body, response.status, envelope.type, envelope.code, envelope.fieldName]).toEqual([
        body,
        status,
        "error",
        code,
        fieldName,
      ]);
    }
    expect(await (await hook("/faults")).json()).toEqual(NO_FAULTS);
  });

  it("answers unknown hooks with 404 and wrong methods with 405", async () => {
    const unknown = await fetch(`${EMULATOR}/_emulator/nothing`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe("NotFound");
    const wrong = await fetch(`${EMULATOR}/_emulator/reset`);
    expect(wrong.status).toBe(405);
    expect(((await wrong.json()) as { code: string }).code).toBe("MethodNotAllowed");
  });
});

describe("config", () => {
  it("changes the transition time, the lock wait and the provisioning time until the next reset", async () => {
    const defaults = {
      transitionMs: 300,
      lockWaitMs: 3000,
      hostProvisionMs: 600,
      healthyMs: 300,
      requireHeaders: {},
    };
    expect(await (await hook("/config")).json()).toEqual(defaults);
    const set = await hook("/config", { transitionMs: 40 });
    expect(await set.json()).toEqual({ ...defaults, transitionMs: 40 });
    const more = await hook("/config", { lockWaitMs: 250, hostProvisionMs: 90 });
    expect(await more.json()).toEqual({
      ...defaults,
      transitionMs: 40,
      lockWaitMs: 250,
      hostProvisionMs: 90,
    });
    await reset();
    expect(await (await hook("/config")).json()).toEqual(defaults);
    const cases: [unknown, string, string][] = [
      [{ transitionMs: -1 }, "MinLimitExceeded", "transitionMs"],
      [{ lockWaitMs: 1.5 }, "InvalidFormat", "lockWaitMs"],
      [{ hostProvisionMs: 600_001 }, "MaxLimitExceeded", "hostProvisionMs"],
      [{ delayMs: 5 }, "InvalidOption", "delayMs"],
    ];
    for (const [body, code, fieldName] of cases) {
      const response = await hook("/config", body);
      const envelope = (await response.json()) as Record<string, unknown>;
      expect([body, response.status, envelope.code, envelope.fieldName]).toEqual([
        body,
        422,
        code,
        fieldName,
      ]);
    }
    expect(await (await hook("/config")).json()).toEqual(defaults);
  });
});
