import { beforeEach, describe, expect, it } from "vitest";
import {
  call,
  cattleService,
  createReceiver,
  emulatorStats,
  json,
  ORIGIN,
  resetEmulator,
  setFaults,
  setScale,
  trigger,
  waitForActive,
} from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

describe("trigger", () => {
  it("scales the service and reports from and to", async () => {
    const receiver = await createReceiver({ amount: 2 });
    const response = await trigger(receiver.url);
    expect(response.status).toBe(200);
    const execution = await json(response);
    expect(execution).toMatchObject({
      type: "execution",
      receiverId: receiver.id,
      driver: "scaleService",
      outcome: "applied",
      reason: "scaled up by 2",
      from: 1,
      to: 3,
    });
    expect(execution.at).toMatch(/Z$/);
    expect((await cattleService("1s1")).scale).toBe(3);
  });

  it("needs no body and accepts any body up to 64 KiB", async () => {
    const receiver = await createReceiver({ max: 50 });
    const bodies: (string | undefined)[] = [undefined, "", "not json at all", "x".repeat(64 * 1024)];
    for (const body of bodies) {
      const response = await trigger(receiver.url, { body, headers: { "content-type": "text/plain" } });
      expect(response.status).toBe(200);
      await waitForActive("1s1");
    }
    const tooLarge = await trigger(receiver.url, { body: "x".repeat(64 * 1024 + 1) });
    expect(tooLarge.status).toBe(413);
    expect(await json(tooLarge)).toMatchObject({ code: "TooLarge" });
    expect((await cattleService("1s1")).scale).toBe(5);
  });

  it("clamps at the maximum, then is a noop there", async () => {
    await setScale("1s1", 9);
    const receiver = await createReceiver({ amount: 2, max: 10 });
    const clamped = await json(await trigger(receiver.url));
    expect(clamped).toMatchObject({ outcome: "applied", from: 9, to: 10 });
    expect(clamped.reason).toContain("clamped");
    await waitForActive("1s1");
    const noop = await json(await trigger(receiver.url));
    expect(noop).toMatchObject({ outcome: "noop", from: 10, to: 10 });
    expect(noop.reason).toContain("maximum");
    expect((await cattleService("1s1")).scale).toBe(10);
  });

  it("clamps at the minimum, then is a noop there", async () => {
    await setScale("1s1", 3);
    const receiver = await createReceiver({ action: "down", amount: 5, min: 2 });
    expect(await json(await trigger(receiver.url))).toMatchObject({ outcome: "applied", from: 3, to: 2 });
    await waitForActive("1s1");
    expect(await json(await trigger(receiver.url))).toMatchObject({ outcome: "noop", from: 2, to: 2 });
    expect((await cattleService("1s1")).scale).toBe(2);
  });

  it("records the sender", async () => {
    const receiver = await createReceiver();
    await trigger(receiver.url, { headers: { "user-agent": "Alertmanager/0.25.0" } });
    const executions = await json(
      await call(`/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`),
    );
    expect(executions.data[0]).toMatchObject({ sender: "Alertmanager/0.25.0" });
  });

  it("keeps the latest 100 executions", async () => {
    const receiver = await createReceiver({ max: 1 });
    await Promise.all(Array.from({ length: 130 }, () => trigger(receiver.url)));
    const executions = await json(
      await call(`/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`),
    );
    expect(executions.data).toHaveLength(100);
    expect(executions.data.every((execution: { outcome: string }) => execution.outcome === "noop")).toBe(
      true,
    );
  });
});

describe("refused triggers", () => {
  it("needs a token", async () => {
    const response = await trigger(`${ORIGIN}/v1-webhooks/endpoint`);
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ code: "MissingRequired", fieldName: "token" });
  });

  it("refuses tokens that do not verify, and never calls Cattle for them", async () => {
    const receiver = await createReceiver();
    const token = new URL(receiver.url).searchParams.get("token") ?? "";
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(atob((payload ?? "").replace(/-/g, "+").replace(/_/g, "/")));
    const tampered = btoa(JSON.stringify({ ...claims, cfg: { ...claims.cfg, amount: 50 } }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    const before = (await emulatorStats()).total;
    for (const bad of [
      "garbage",
      `${header}.${tampered}.${signature}`,
      `${header}.${payload}.`,
      `${token}x`,
    ]) {
      const response = await trigger(`${ORIGIN}/v1-webhooks/endpoint?token=${bad}`);
      expect(response.status).toBe(403);
      expect(await json(response)).toMatchObject({ type: "error", code: "Forbidden" });
    }
    expect((await emulatorStats()).total).toBe(before);
    expect((await cattleService("1s1")).scale).toBe(1);
  });

  it("refuses a projectId that differs from the token's and accepts the matching one", async () => {
    const receiver = await createReceiver();
    expect((await trigger(`${receiver.url}&projectId=1a7`)).status).toBe(403);
    expect((await trigger(`${receiver.url}&projectId=1a5`)).status).toBe(200);
  });
});

describe("Cattle failures", () => {
  it("answers 503 with Retry-After and changes nothing; the sender's retry applies once", async () => {
    const receiver = await createReceiver();
    await setFaults({ status: 503, count: 1000 });
    const response = await trigger(receiver.url);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await json(response)).toMatchObject({ type: "error", code: "ServiceUnavailable" });
    await setFaults({ count: 0, delayMs: 0 });
    expect((await cattleService("1s1")).scale).toBe(1);
    const executions = await json(
      await call(`/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`),
    );
    expect(executions.data).toEqual([]);
    const retried = await json(await trigger(receiver.url));
    expect(retried).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    expect((await cattleService("1s1")).scale).toBe(2);
  });

  it("rides out a few transient failures", async () => {
    const receiver = await createReceiver();
    await setFaults({ status: 502, count: 2 });
    expect(await json(await trigger(receiver.url))).toMatchObject({ outcome: "applied", from: 1, to: 2 });
  });

  it("retries a 409 Conflict from Cattle, and copes with a slow Cattle", async () => {
    const receiver = await createReceiver({ max: 50 });
    await setFaults({ status: 409, count: 2 });
    expect(await json(await trigger(receiver.url))).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    await setFaults({ delayMs: 100 });
    const slow = await Promise.all(Array.from({ length: 20 }, () => trigger(receiver.url)));
    expect(slow.every((response) => response.status === 200)).toBe(true);
    await setFaults({ delayMs: 0 });
    expect((await waitForActive("1s1")).scale).toBe(22);
  });

  it("answers failed when the service has gone", async () => {
    const receiver = await createReceiver();
    // The service is removed in Rancher behind the receiver's back.
    const removed = await fetch("http://127.0.0.1:8788/v2-beta/projects/1a5/services/1s1", {
      method: "DELETE",
      headers: { authorization: `Basic ${btoa("dev-access:dev-secret")}` },
    });
    expect(removed.status).toBeLessThan(300);
    const response = await trigger(receiver.url);
    expect(response.status).toBe(200);
    const execution = await json(response);
    expect(execution.outcome).toBe("failed");
    expect(execution.reason).toMatch(/removed|not found/);
  });
});

describe("atomicity", () => {
  it("200 concurrent triggers end at the sequential result with far fewer Cattle calls", async () => {
    // From 100 within [1, 400] no order of these 200 triggers reaches a limit, so every order
    // gives the same sequential result.
    await setScale("1s1", 100);
    const up = await createReceiver({ amount: 1, min: 1, max: 400 });
    const upTwo = await createReceiver({ amount: 2, min: 1, max: 400 });
    const down = await createReceiver({ action: "down", amount: 1, min: 1, max: 400 });
    const plan = Array.from({ length: 200 }, (_, i) => [up, upTwo, down][i % 3] as Record<string, any>);
    const before = await emulatorStats();
    const responses = await Promise.all(plan.map((receiver) => trigger(receiver.url)));
    const after = await emulatorStats();

    expect(responses.map((response) => response.status)).toEqual(plan.map(() => 200));
    const executions = await Promise.all(responses.map((response) => json(response)));
    // 67 × +1, 67 × +2, 66 × −1 from 100.
    const expected = 100 + 67 + 134 - 66;
    // Each response reports its own step, and the steps chain into one sequence.
    const steps = executions.map((execution) => [execution.from, execution.to] as [number, number]);
    expect(steps.every(([from, to]) => to - from === 1 || to - from === 2 || to - from === -1)).toBe(true);
    const net = steps.reduce((sum, [from, to]) => sum + (to - from), 0);
    expect(100 + net).toBe(expected);

    expect((await waitForActive("1s1")).scale).toBe(expected);
    const cattleCalls = after.total - before.total;
    expect(cattleCalls).toBeLessThan(40);
  });

  it("clamps each step of a concurrent burst, exactly as one after another would", async () => {
    const receiver = await createReceiver({ amount: 1, min: 1, max: 50 });
    const responses = await Promise.all(Array.from({ length: 200 }, () => trigger(receiver.url)));
    const executions = await Promise.all(responses.map((response) => json(response)));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const applied = executions.filter((execution) => execution.outcome === "applied");
    const noops = executions.filter((execution) => execution.outcome === "noop");
    expect(applied).toHaveLength(49);
    expect(noops).toHaveLength(151);
    expect(applied.map((execution) => execution.from).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 49 }, (_, i) => i + 1),
    );
    expect(noops.every((execution) => execution.from === 50 && execution.to === 50)).toBe(true);
    expect((await waitForActive("1s1")).scale).toBe(50);
  });
});
