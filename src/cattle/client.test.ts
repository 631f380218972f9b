import { describe, expect, it, vi } from "vitest";
import { apiRoot, CattleClient, type RetryPolicy } from "./client";

describe("apiRoot", () => {
  it.each([
    ["https://rancher.example.com", "https://rancher.example.com/v2-beta"],
    ["https://rancher.example.com/", "https://rancher.example.com/v2-beta"],
    ["https://rancher.example.com/v1", "https://rancher.example.com/v2-beta"],
    ["https://rancher.example.com/v2-beta/", "https://rancher.example.com/v2-beta"],
  ])("%s → %s", (input, expected) => {
    expect(apiRoot(input)).toBe(expected);
  });
});

describe("CattleClient", () => {
  const credentials = { accessKey: "a", secretKey: "b" };
  const noSleep = async () => {};
  const clientOf = (fetch: typeof globalThis.fetch, retry?: RetryPolicy) =>
    new CattleClient({
      baseUrl: "http://cattle",
      credentials,
      fetch,
      sleep: noSleep,
      ...(retry ? { retry } : {}),
    });

  function scripted(responses: (Response | Error)[]) {
    const calls: Request[] = [];
    const fetcher = async (input: RequestInfo | URL, init?: RequestInit) => {
      calls.push(new Request(input, init));
      const next = responses.shift();
      if (!next) throw new Error("no more responses");
      if (next instanceof Error) throw next;
      return next;
    };
    return { calls, fetch: fetcher as typeof fetch };
  }

  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  it("sends Basic auth to the v2-beta path", async () => {
    const { calls, fetch } = scripted([json(200, { id: "1s1", type: "service", name: "web", scale: 2 })]);
    const client = clientOf(fetch);
    const result = await client.getService("1a5", "1s1");
    expect(result).toEqual({ ok: true, value: { id: "1s1", type: "service", name: "web", scale: 2 } });
    expect(calls[0]?.url).toBe("http://cattle/v2-beta/projects/1a5/services/1s1");
    expect(calls[0]?.headers.get("authorization")).toBe(`Basic ${btoa("a:b")}`);
  });

  it("retries 5xx, 409 and network errors, then succeeds", async () => {
    const { calls, fetch } = scripted([
      json(503, { type: "error", status: 503, code: "ServiceUnavailable" }),
      new TypeError("connection refused"),
      json(409, { type: "error", status: 409, code: "Conflict" }),
      json(200, { id: "1a5", type: "project", name: "Default" }),
    ]);
    const client = clientOf(fetch, { attempts: 4, baseDelayMs: 1, timeoutMs: 1000 });
    expect((await client.getProject("1a5")).ok).toBe(true);
    expect(calls).toHaveLength(4);
  });

  it("gives up after its attempts with an unavailable failure", async () => {
    const { calls, fetch } = scripted([json(502, {}), json(502, {})]);
    const client = clientOf(fetch);
    expect(await client.getProject("1a5")).toMatchObject({
      ok: false,
      failure: { kind: "unavailable", status: 502 },
    });
    expect(calls).toHaveLength(2);
  });

  it.each([
    [401, "unauthorized"],
    [403, "forbidden"],
    [404, "notFound"],
    [422, "rejected"],
  ])("does not retry %i and maps it to %s", async (status, kind) => {
    const { calls, fetch } = scripted([json(status, { type: "error", status, code: "X", message: "m" })]);
    const client = clientOf(fetch);
    expect(await client.getProject("1a5")).toMatchObject({ ok: false, failure: { kind, status } });
    expect(calls).toHaveLength(1);
  });

  it("treats a non-JSON success as unavailable, and never retries a write by itself", async () => {
    const { calls, fetch } = scripted([new Response("<html>", { status: 200 }), json(503, {})]);
    const client = clientOf(fetch);
    expect(await client.updateService("1a5", "1s1", { scale: 3 })).toMatchObject({
      ok: false,
      failure: { kind: "unavailable" },
    });
    expect(await client.updateService("1a5", "1s1", { scale: 3 })).toMatchObject({ ok: false });
    expect(calls.map((call) => call.method)).toEqual(["PUT", "PUT"]);
    expect(await calls[0]?.json()).toEqual({ scale: 3 });
  });

  it("gives up on a request not answered in time, and says so", async () => {
    const fetch = ((_input: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      })) as typeof globalThis.fetch;
    const client = clientOf(fetch, { attempts: 1, baseDelayMs: 1, timeoutMs: 20 });
    expect(await client.getProject("1a5")).toEqual({
      ok: false,
      failure: { kind: "unavailable", message: "Cattle did not answer in time" },
    });
  });

  it("leaves no timer behind once answered", async () => {
    vi.useFakeTimers();
    try {
      const { fetch } = scripted([json(200, { id: "1a5", type: "project" }), json(404, {})]);
      const client = clientOf(fetch);
      expect((await client.getProject("1a5")).ok).toBe(true);
      expect((await client.getProject("1a5")).ok).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
