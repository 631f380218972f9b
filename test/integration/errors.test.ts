import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  call,
  createReceiver,
  emulatorStats,
  json,
  resetEmulator,
  scaleServiceBody,
  setFaults,
  trigger,
  withBindings,
} from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

describe("unexpected failures", () => {
  it("become a bare 500 envelope, with no stack trace or detail", async () => {
    const receiver = await createReceiver();
    const broken = { ...env, WEBHOOK_SIGNING_KEYS: "not a key set" };
    const response = await withBindings(
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
    await setFaults({ status: 503, count: 1000 });
    // A key never seen before, so no cached decision applies.
    const response = await call("/v1-webhooks/receivers?projectId=1a5", { key: "fresh-access:fresh-secret" });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await json(response)).toMatchObject({ code: "ServiceUnavailable" });
  });
});

describe("logs", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("carry no API key, trigger token or sender secret, whatever fails", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(
          args.map((arg) => (arg instanceof Error ? `${arg.message} ${arg.stack}` : String(arg))).join(" "),
        );
      });
    }
    const senderSecret = "logged-sender-secret-0123456789";
    const created = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: { ...scaleServiceBody(), senderVerification: { scheme: "bearer", token: senderSecret } },
    });
    const receiver = await json(created);
    const token = new URL(receiver.url).searchParams.get("token") ?? "";

    // Refusals, a Cattle outage on a trigger, and a crash with a broken configuration.
    await trigger(receiver.url, { headers: { authorization: "Bearer wrong-token-0123456789" } });
    await trigger(`${receiver.url}x`);
    await setFaults({ status: 503, count: 1000 });
    await trigger(receiver.url, { headers: { authorization: `Bearer ${senderSecret}` } });
    await call("/v1-webhooks/receivers?projectId=1a5", { key: "logged-access:logged-secret" });
    await setFaults({ count: 0 });
    await withBindings(
      new URL(receiver.url).pathname + new URL(receiver.url).search,
      { method: "POST" },
      { ...env, WEBHOOK_SIGNING_KEYS: "not a key set" },
    );

    expect(lines.length).toBeGreaterThan(0);
    const logged = lines.join("\n");
    for (const secret of [
      "dev-secret",
      "service-secret",
      "logged-secret",
      senderSecret,
      token,
      token.split(".")[2] ?? token,
    ]) {
      expect(logged).not.toContain(secret);
    }
  });
});
