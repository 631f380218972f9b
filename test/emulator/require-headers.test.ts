import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, json, P, reset } from "./emulator-client";

/** The emulator standing in for Cloudflare Access in front of Rancher, and telling which host was asked. */

beforeEach(reset);

const hook = (path: string, body?: unknown) =>
  fetch(`${EMULATOR}/_emulator${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const ACCESS = { "CF-Access-Client-Id": "client.access", "CF-Access-Client-Secret": "s3cret" };

const stats = async () =>
  (await (await hook("/stats")).json()) as { total: number; hosts: Record<string, number> };

describe("requireHeaders", () => {
  it("refuses, in Cattle's shape, every /v2-beta request without each header and its exact value", async () => {
    const set = await hook("/config", { requireHeaders: ACCESS });
    expect(set.status).toBe(200);
    expect(((await set.json()) as { requireHeaders: unknown }).requireHeaders).toEqual({
      "cf-access-client-id": "client.access",
      "cf-access-client-secret": "s3cret",
    });
    const refused = [
      await json(`${P}/services/1s1`),
      await json(`${P}/services/1s1`, { headers: { "CF-Access-Client-Id": "client.access" } }),
      await json(`${P}/services/1s1`, { headers: { ...ACCESS, "CF-Access-Client-Secret": "S3CRET" } }),
      await json("/v2-beta/projects", { key: null }),
      await json(`${P}/services/1s1`, { method: "PUT", body: { scale: 9 } }),
    ];
    for (const answer of refused) {
      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({ type: "error", status: 403, code: "Forbidden" });
    }
    // The refused write was not applied; with both headers (any case of the name) all is as usual.
    const read = await json(`${P}/services/1s1`, {
      headers: { "cf-access-client-id": "client.access", "CF-ACCESS-CLIENT-SECRET": "s3cret" },
    });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: "1s1", scale: 1 });
    // The key is still checked behind Access.
    expect((await json(`${P}/services/1s1`, { key: null, headers: ACCESS })).status).toBe(401);
  });

  it("takes no injected fault for a request it refuses", async () => {
    await hook("/config", { requireHeaders: ACCESS });
    await hook("/faults", { status: 500, count: 1 });
    expect((await call(`${P}/services/1s1`)).status).toBe(403);
    expect((await call(`${P}/services/1s1`, { headers: ACCESS })).status).toBe(500);
    expect((await call(`${P}/services/1s1`, { headers: ACCESS })).status).toBe(200);
  });

  it("is cleared by {} and by a reset, and left alone by a config that does not name it", async () => {
    await hook("/config", { requireHeaders: ACCESS });
    await hook("/config", { transitionMs: 50 });
    expect((await call(`${P}/services/1s1`)).status).toBe(403);
    const cleared = await hook("/config", { requireHeaders: {} });
    expect(((await cleared.json()) as { requireHeaders: unknown }).requireHeaders).toEqual({});
    expect((await call(`${P}/services/1s1`)).status).toBe(200);
    await hook("/config", { requireHeaders: { "x-only": "this" } });
    expect((await call(`${P}/services/1s1`)).status).toBe(403);
    await reset();
    expect((await call(`${P}/services/1s1`)).status).toBe(200);
    expect(((await (await hook("/config")).json()) as { requireHeaders: unknown }).requireHeaders).toEqual(
      {},
    );
  });

  it("rejects what is not a set of header names and plain values, and changes nothing", async () => {
    await hook("/config", { requireHeaders: { "x-kept": "yes" } });
    const cases: [unknown, string][] = [
      [{ requireHeaders: { "bad name": "v" } }, "requireHeaders.bad name"],
      [{ requireHeaders: { "x-a": "line\nbreak" } }, "requireHeaders.x-a"],
      [{ requireHeaders: { "x-a": "" } }, "requireHeaders.x-a"],
      [{ requireHeaders: { "x-a": 5 } }, "requireHeaders.x-a"],
      [{ requireHeaders: ["x-a"] }, "requireHeaders"],
      [{ requireHeaders: "x-a: b" }, "requireHeaders"],
    ];
    for (const [body, fieldName] of cases) {
      const response = await hook("/config", body);
      const envelope = (await response.json()) as Record<string, unknown>;
      expect([body, response.status, envelope.type, envelope.fieldName]).toEqual([
        body,
        422,
        "error",
        fieldName,
      ]);
    }
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`x-h${i}`, "v"]));
    expect((await hook("/config", { requireHeaders: many })).status).toBe(422);
    expect(((await (await hook("/config")).json()) as { requireHeaders: unknown }).requireHeaders).toEqual({
      "x-kept": "yes",
    });
  });
});

describe("stats.hosts", () => {
  it("counts every /v2-beta request by the host it named, refused ones too, never the hooks, until a reset", async () => {
    await call(`${P}/services/1s1`);
    await call(`${P}/services/1s1`, { headers: { host: "rancher.internal:8080" } });
    await call("/v2-beta/projects", { key: null, headers: { host: "rancher.internal:8080" } });
    await hook("/config", { requireHeaders: ACCESS });
    await call(`${P}/services/1s1`, { headers: { host: "rancher.internal:8080" } });
    await hook("/stats");
    expect(await stats()).toMatchObject({
      total: 4,
      hosts: { "127.0.0.1:8788": 1, "rancher.internal:8080": 3 },
    });
    await reset();
    expect((await stats()).hosts).toEqual({});
  });
});
