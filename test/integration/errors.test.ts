import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import app from "../../src/index";
import { call, createReceiver, emulatorStats, json, resetEmulator } from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

describe("unexpected failures", () => {
  it("become a bare 500 envelope, with no stack trace or detail", async () => {
    const receiver = await createReceiver();
    const broken = { ...env, WEBHOOK_SIGNING_KEYS: "not a key set" };
    const response = await app.request(
      new URL(receiver.url).pathname + new URL(receiver.url).search,
      { method: "POST" },
      broken,
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      type: "error",
      status: 500,
      code: "InternalError",
      message: "internal error",
    });
  });
});

describe("management key checks", () => {
  it("are cached, so repeated requests do not ask Cattle again", async () => {
    await call("/v1-webhooks/receivers?projectId=1a5");
    const before = (await emulatorStats()).total;
    for (let i = 0; i < 5; i++) expect((await call("/v1-webhooks/receivers?projectId=1a5")).status).toBe(200);
    expect((await emulatorStats()).total).toBe(before);
  });

  it("answer 503 when Rancher cannot be reached to check a key", async () => {
    const { setFaults } = await import("../helpers");
    await setFaults({ status: 503, count: 1000 });
    // A key never seen before, so no cached decision applies.
    const response = await call("/v1-webhooks/receivers?projectId=1a5", { key: "fresh-access:fresh-secret" });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await json(response)).toMatchObject({ code: "ServiceUnavailable" });
  });
});
