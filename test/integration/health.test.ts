import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { HEALTH_TTL_MS } from "../../src/routes/health";
import { call, emulatorStats, json, resetEmulator, setFaults, withBindings } from "../helpers";

/** `GET /v1-webhooks/health`: whether Cattle answers the service's own key, and nothing more. */

beforeEach(async () => {
  await resetEmulator();
});

const HEALTH = "/v1-webhooks/health";
/** Each health check is remembered per settings object: a fresh object is a fresh isolate's view. */
const fresh = (changes: { [name: string]: string | undefined } = {}) =>
  ({ ...env, ...changes }) as typeof env;
const health = (bindings = fresh()) => withBindings(HEALTH, {}, bindings);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("health", () => {
  it("answers 200 {status: ok} with no key and no projectId when Cattle takes the service's key", async () => {
    const response = await call(HEALTH, { key: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.text()).toBe('{"status":"ok"}');
    // It was Cattle that was asked, with the service's own key.
    expect((await emulatorStats()).byPath["/v2-beta/projects"]?.GET).toBe(1);
    // The runtime's own bindings: the answer stands for the requests after it, too.
    for (let i = 0; i < 5; i++) expect((await call(HEALTH, { key: null })).status).toBe(200);
    expect((await emulatorStats()).byPath["/v2-beta/projects"]?.GET).toBe(1);
  });

  it("answers 503 {status: unavailable}, nothing more, while Cattle fails", async () => {
    await setFaults({ status: 503, count: 5 });
    const response = await health();
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('{"status":"unavailable"}');
  });

  it("answers 503 when Cattle refuses the service's key", async () => {
    for (const changes of [
      { CATTLE_SECRET_KEY: "not-the-secret" },
      { CATTLE_ACCESS_KEY: "unknown-access" },
    ]) {
      const response = await health(fresh(changes));
      expect(response.status).toBe(503);
      expect(await json(response)).toEqual({ status: "unavailable" });
    }
  });

  it("answers 503 when Cattle cannot be reached at all", async () => {
    // Over plain HTTP nothing listens there; the test runner sends every fetch to the emulator,
    // so a Cattle that never answers is a fault: each request delayed past the check's timeout.
    await setFaults({ delayMs: 4_000 });
    const started = Date.now();
    const response = await health();
    expect(response.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(3_900);
  });

  it("asks Cattle once for many requests at a time, and once per few seconds after", async () => {
    const bindings = fresh();
    const before = (await emulatorStats()).total;
    const answers = await Promise.all(Array.from({ length: 25 }, () => health(bindings)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(25).fill(200));
    expect((await emulatorStats()).total).toBe(before + 1);

    // Cattle fails now, but the answer stands for a few seconds without asking it again.
    await setFaults({ status: 503, count: 1_000 });
    expect((await health(bindings)).status).toBe(200);
    expect((await emulatorStats()).total).toBe(before + 1);

    await sleep(HEALTH_TTL_MS + 100);
    expect((await health(bindings)).status).toBe(503);
    expect((await health(bindings)).status).toBe(503);
    expect((await emulatorStats()).total).toBe(before + 2);

    await setFaults({ count: 0 });
    await sleep(HEALTH_TTL_MS + 100);
    expect((await health(bindings)).status).toBe(200);
  }, 30_000);

  it("takes GET and HEAD only: other methods are 405 in the envelope", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const response = await call(HEALTH, { method, key: null });
      expect([method, response.status]).toEqual([method, 405]);
      expect(await json(response)).toMatchObject({ type: "error", status: 405, code: "MethodNotAllowed" });
      expect(response.headers.get("allow")).toContain("GET");
    }
    const head = await call(HEALTH, { method: "HEAD", key: null });
    expect(head.status).toBe(200);
  });
});
