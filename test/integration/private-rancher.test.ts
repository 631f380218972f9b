import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cattleClient, cattleTransport } from "../../src/cattle/client";
import type { CattleFetcher, Settings } from "../../src/domain/settings";
import {
  call,
  emulatorStats,
  json,
  KEYS,
  resetEmulator,
  scaleServiceBody,
  setEmulatorConfig,
  withBindings,
} from "../helpers";

/**
 * Reaching a private Rancher (docs/private-rancher.md): every Cattle request through the `CATTLE`
 * binding when there is one, with the Access service token's headers when both are set.
 */

const ACCESS = {
  CATTLE_ACCESS_CLIENT_ID: "0123abcd.access",
  CATTLE_ACCESS_CLIENT_SECRET: "access-s3cret-value",
};
const REQUIRED = {
  "cf-access-client-id": ACCESS.CATTLE_ACCESS_CLIENT_ID,
  "cf-access-client-secret": ACCESS.CATTLE_ACCESS_CLIENT_SECRET,
};
/** A name nothing resolves: only the binding can take a request there. */
const PRIVATE_URL = "http://rancher.internal:8080";

beforeEach(async () => {
  await resetEmulator();
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A stand-in for a Workers VPC Service: records what it is asked and hands it to the emulator. */
function tunnel() {
  const requests: Request[] = [];
  const binding: CattleFetcher = {
    async fetch(input, init) {
      const request = new Request(input, init);
      requests.push(request.clone());
      return fetch(request);
    },
  };
  return { binding, requests };
}

const settings = (extra: Partial<Settings> = {}) => ({ ...env, ...extra }) as typeof env & Partial<Settings>;

describe("the Cattle client, built from the settings", () => {
  it("sends every request through the CATTLE binding, to the URL built from CATTLE_URL", async () => {
    const { binding, requests } = tunnel();
    const client = cattleClient(settings({ CATTLE: binding, CATTLE_URL: PRIVATE_URL }), {
      accessKey: "dev-access",
      secretKey: "dev-secret",
    });
    const project = await client.getProject("1a5");
    expect(project.ok).toBe(true);
    expect(requests.map((request) => request.url)).toEqual([`${PRIVATE_URL}/v2-beta/projects/1a5`]);
    expect(requests[0]?.headers.get("authorization")).toBe(`Basic ${btoa("dev-access:dev-secret")}`);
    expect(requests[0]?.headers.has("cf-access-client-id")).toBe(false);
    expect((await emulatorStats()).hosts).toEqual({ "rancher.internal:8080": 1 });
  });

  it("carries the Access service token's headers on every request when both settings are set", async () => {
    const { binding, requests } = tunnel();
    const client = cattleClient(settings({ CATTLE: binding, ...ACCESS }), { session: "dev-session" });
    await client.getProject("1a5");
    await client.getSchema("1a5", "service");
    expect(requests).toHaveLength(2);
    for (const request of requests) {
      expect(request.headers.get("cf-access-client-id")).toBe(ACCESS.CATTLE_ACCESS_CLIENT_ID);
      expect(request.headers.get("cf-access-client-secret")).toBe(ACCESS.CATTLE_ACCESS_CLIENT_SECRET);
      expect(request.headers.get("authorization")).toBe("Bearer dev-session");
    }
  });

  it("uses the runtime's fetch, with the Access headers, when there is no binding", async () => {
    await setEmulatorConfig({ requireHeaders: REQUIRED });
    const withAccess = cattleClient(settings(ACCESS), { accessKey: "dev-access", secretKey: "dev-secret" });
    expect((await withAccess.getProject("1a5")).ok).toBe(true);
    const without = cattleClient(settings(), { accessKey: "dev-access", secretKey: "dev-secret" });
    expect(await without.getProject("1a5")).toMatchObject({ ok: false, failure: { status: 403 } });
  });

  it("refuses half a service token, or a CATTLE that is not a binding, naming the setting and no value", () => {
    const cases: [Partial<Settings>, RegExp][] = [
      [{ CATTLE_ACCESS_CLIENT_ID: ACCESS.CATTLE_ACCESS_CLIENT_ID }, /CATTLE_ACCESS_CLIENT_SECRET is not/],
      [{ CATTLE_ACCESS_CLIENT_SECRET: ACCESS.CATTLE_ACCESS_CLIENT_SECRET }, /CATTLE_ACCESS_CLIENT_ID is not/],
      [{ ...ACCESS, CATTLE_ACCESS_CLIENT_SECRET: "   " }, /CATTLE_ACCESS_CLIENT_SECRET is not/],
      [{ CATTLE: "http://rancher.internal" as never }, /CATTLE must be a service binding/],
    ];
    for (const [extra, message] of cases) {
      let thrown: unknown;
      try {
        cattleTransport(settings(extra));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect((thrown as Error).name).toBe("ConfigurationError");
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain(ACCESS.CATTLE_ACCESS_CLIENT_ID);
      expect((thrown as Error).message).not.toContain(ACCESS.CATTLE_ACCESS_CLIENT_SECRET);
    }
  });
});

describe("the service behind a tunnel and Access", () => {
  it("checks the caller's key and the service's reach through the binding, with the Access headers", async () => {
    await setEmulatorConfig({ requireHeaders: REQUIRED });
    const { binding, requests } = tunnel();
    const bindings = settings({ CATTLE: binding, CATTLE_URL: PRIVATE_URL, ...ACCESS });
    const created = await withBindings(
      "/v1-webhooks/receivers?projectId=1a5",
      {
        method: "POST",
        headers: { authorization: `Basic ${btoa(KEYS.dev)}`, "content-type": "application/json" },
        body: JSON.stringify(scaleServiceBody()),
      },
      bindings,
    );
    expect(created.status).toBe(201);
    const listed = await withBindings(
      "/v1-webhooks/receivers?projectId=1a5",
      { headers: { authorization: `Basic ${btoa(KEYS.dev)}` } },
      bindings,
    );
    expect(listed.status).toBe(200);
    const health = await withBindings("/v1-webhooks/health", {}, bindings);
    expect(await json(health)).toEqual({ status: "ok" });
    // Every Cattle request of these, the caller's and the service's own, went through the binding.
    const stats = await emulatorStats();
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(stats.hosts).toEqual({ "rancher.internal:8080": requests.length });
    const keys = new Set(requests.map((request) => request.headers.get("authorization")));
    expect(keys).toEqual(
      new Set([
        `Basic ${btoa(KEYS.dev)}`,
        `Basic ${btoa(`${env.CATTLE_ACCESS_KEY}:${env.CATTLE_SECRET_KEY}`)}`,
      ]),
    );
  });

  it("without the Access headers, Access refuses it and health says unavailable", async () => {
    await setEmulatorConfig({ requireHeaders: REQUIRED });
    const { binding } = tunnel();
    const bindings = settings({ CATTLE: binding, CATTLE_URL: PRIVATE_URL });
    const health = await withBindings("/v1-webhooks/health", {}, bindings);
    expect(health.status).toBe(503);
    expect(await json(health)).toEqual({ status: "unavailable" });
    // A session no earlier test has had checked: its decision is not remembered from then.
    const listed = await withBindings(
      "/v1-webhooks/receivers?projectId=1a5",
      { headers: { authorization: "Bearer dev-session" } },
      bindings,
    );
    expect(listed.status).not.toBe(200);
    expect(await json(listed)).toMatchObject({ type: "error" });
  });

  it("answers a half-set service token with a bare 500 on every path, logs which setting, never a value", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    });
    const bindings = settings({ CATTLE_ACCESS_CLIENT_SECRET: ACCESS.CATTLE_ACCESS_CLIENT_SECRET });
    const before = (await emulatorStats()).total;
    for (const path of ["/v1-webhooks/health", "/v1-webhooks/receivers?projectId=1a5"]) {
      const response = await withBindings(
        path,
        { headers: { authorization: `Basic ${btoa(KEYS.dev)}` } },
        bindings,
      );
      expect(response.status).toBe(500);
      expect(await json(response)).toEqual({
        type: "error",
        status: 500,
        code: "InternalError",
        message: "internal error",
      });
    }
    expect((await emulatorStats()).total).toBe(before);
    expect(lines.join("\n")).toContain("CATTLE_ACCESS_CLIENT_ID");
    expect(lines.join("\n")).not.toContain(ACCESS.CATTLE_ACCESS_CLIENT_SECRET);
    // The deployment as configured for the tests is untouched.
    expect((await call("/v1-webhooks/health", { key: null })).status).toBe(200);
  });
});
