import { afterEach, describe, expect, it, vi } from "vitest";
import { CattleClient, serviceCattle } from "./client";

/** The `cattle_failure` line each failed exchange with Cattle leaves (docs/monitoring.md). */
afterEach(() => {
  vi.restoreAllMocks();
});

const lines = (spy: { mock: { calls: unknown[][] } }) =>
  spy.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);

describe("a failed exchange with Cattle", () => {
  it("logs one warn line per failed attempt: method, path without its query, status, kind, Cattle's message", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const answers = [
      new Response(JSON.stringify({ type: "error", code: "ServiceUnavailable", message: "busy" }), {
        status: 503,
      }),
      new Response(JSON.stringify({ type: "error", code: "NotFound", message: "No service 1s9" }), {
        status: 404,
      }),
    ];
    const client = new CattleClient({
      baseUrl: "http://cattle",
      credentials: { accessKey: "access", secretKey: "very-secret-key" },
      fetch: async () => answers.shift() as Response,
      sleep: async () => {},
    });
    const result = await client.listServices("1a5", { name: "web", token: "not-to-be-logged" });
    expect(result.ok).toBe(false);
    expect(lines(warn)).toEqual([
      {
        level: "warn",
        event: "cattle_failure",
        method: "GET",
        path: "/projects/1a5/services",
        status: 503,
        kind: "unavailable",
        message: "Cattle answered 503: busy",
      },
      {
        level: "warn",
        event: "cattle_failure",
        method: "GET",
        path: "/projects/1a5/services",
        status: 404,
        kind: "notFound",
        message: "Cattle answered 404: No service 1s9",
      },
    ]);
    const printed = warn.mock.calls.flat().join("\n");
    for (const secret of ["very-secret-key", btoa("access:very-secret-key"), "not-to-be-logged"]) {
      expect(printed).not.toContain(secret);
    }
  });

  it("logs an exchange Cattle never answered without a status", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const client = new CattleClient({
      baseUrl: "http://cattle",
      credentials: { session: "session-token" },
      retry: { attempts: 1, baseDelayMs: 1, timeoutMs: 1_000 },
      fetch: async () => {
        throw new TypeError("connection refused");
      },
    });
    await client.updateService("1a5", "1s1", { scale: 2 });
    expect(lines(warn)).toEqual([
      {
        level: "warn",
        event: "cattle_failure",
        method: "PUT",
        path: "/projects/1a5/services/1s1",
        kind: "unavailable",
        message: "Cattle unreachable",
      },
    ]);
  });
});

describe("Cattle refusing the service's own key", () => {
  it("is logged at level error: every trigger fails until the key is fixed", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const cattle = serviceCattle({
      CATTLE_URL: "http://127.0.0.1:8788",
      CATTLE_ACCESS_KEY: "service-access",
      CATTLE_SECRET_KEY: "not-the-service-secret",
    })(Date.now() + 5_000);
    const result = await cattle.getService("1a5", "1s1");
    expect(result).toMatchObject({ ok: false, failure: { kind: "unauthorized" } });
    expect(lines(error)).toEqual([
      expect.objectContaining({ level: "error", event: "cattle_failure", status: 401, kind: "unauthorized" }),
    ]);
    expect(warn).not.toHaveBeenCalled();
    expect(error.mock.calls.flat().join("\n")).not.toContain("not-the-service-secret");
  });
});
