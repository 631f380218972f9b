import { afterEach, describe, expect, it, vi } from "vitest";
import { CattleClient, serviceCattle } from "./client";

/** The `cattle_failure` line each failed exchange with Cattle leaves (docs/monitoring.md). */
afterEach(() => {
  vi.restoreAllMocks();
});

const lines = (spy: { mock: { calls: unknown[][] } }) =>
  spy.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);

describe("a failed exchange with Cattle", () => {
  it("logs one line per failed attempt: method, path without its query, status, kind, Cattle's message", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
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
    ]);
    // Nothing found, with a caller's key: the caller's business, not the operator's.
    expect(lines(info)).toEqual([
      {
        level: "info",
        event: "cattle_failure",
        method: "GET",
        path: "/projects/1a5/services",
        status: 404,
        kind: "notFound",
        message: "Cattle answered 404: No service 1s9",
      },
    ]);
    const printed = [...warn.mock.calls, ...info.mock.calls].flat().join("\n");
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
    // Cattle, reached through a binding as a tunnel would, refusing the key: no network, any runtime.
    const refusing = {
      fetch: async () =>
        Response.json(
          { type: "error", status: 401, code: "Unauthorized", message: "Unauthorized" },
          { status: 401 },
        ),
    } as unknown as Fetcher;
    const cattle = serviceCattle({
      CATTLE_URL: "http://rancher.internal:8080",
      CATTLE: refusing,
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

describe("what a failure line keeps", () => {
  it("keeps 200 characters of Cattle's message, and a caller's refused key at level info", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    const answers = [
      Response.json({ type: "error", code: "InvalidOption", message: "x".repeat(5_000) }, { status: 422 }),
      Response.json({ type: "error", code: "Unauthorized", message: "Unauthorized" }, { status: 401 }),
    ];
    const client = new CattleClient({
      baseUrl: "http://cattle",
      credentials: { accessKey: "caller", secretKey: "caller-secret" },
      fetch: async () => answers.shift() as Response,
    });
    await client.updateService("1a5", "1s1", { scale: 2 });
    await client.getProject("1a5");
    const [rejected] = lines(warn);
    expect(rejected).toMatchObject({ level: "warn", kind: "rejected", status: 422 });
    expect(String(rejected?.message)).toHaveLength(201);
    expect(lines(info)).toEqual([
      expect.objectContaining({ level: "info", kind: "unauthorized", status: 401 }),
    ]);
  });

  it("never follows a redirect, which would carry the credentials elsewhere", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const asked: RequestInit[] = [];
    const client = new CattleClient({
      baseUrl: "http://cattle",
      credentials: { accessKey: "access", secretKey: "secret" },
      retry: { attempts: 1, baseDelayMs: 1, timeoutMs: 1_000 },
      fetch: async (_input, init) => {
        asked.push(init ?? {});
        return new Response(null, { status: 302, headers: { location: "https://elsewhere.example/" } });
      },
    });
    const result = await client.getProject("1a5");
    expect(asked[0]?.redirect).toBe("manual");
    expect(result).toMatchObject({ ok: false, failure: { kind: "unavailable", status: 302 } });
    expect(lines(warn)).toEqual([expect.objectContaining({ kind: "unavailable", status: 302 })]);
  });
});
