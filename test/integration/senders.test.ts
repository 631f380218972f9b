import { env, evictDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { alertmanagerNotification, grafanaNotification, legacyGrafanaNotification } from "../fixtures/alerts";
import {
  call,
  cattleService,
  createReceiver,
  emulatorStats,
  json,
  resetEmulator,
  setFaults,
  trigger,
  waitForActive,
} from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  trigger(url, {
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", "user-agent": "Alertmanager/0.25.0", ...headers },
  });

const executionsOf = async (receiverId: string) =>
  (await json(await call(`/v1-webhooks/receivers/${receiverId}/executions?projectId=1a5`))).data;

describe("alert notifications", () => {
  it("scales on firing and ignores resolved by default", async () => {
    const receiver = await createReceiver();
    const firing = await json(await post(receiver.url, alertmanagerNotification("firing")));
    expect(firing).toMatchObject({
      outcome: "applied",
      from: 1,
      to: 2,
      alertName: "HighRequestLatency",
      alertStatus: "firing",
    });
    await waitForActive("1s1");
    const resolvedResponse = await post(receiver.url, alertmanagerNotification("resolved"));
    expect(resolvedResponse.status).toBe(200);
    const resolved = await json(resolvedResponse);
    expect(resolved).toMatchObject({ outcome: "ignored", alertStatus: "resolved" });
    expect(resolved.reason).toContain("onResolved is ignore");
    expect(resolved).not.toHaveProperty("from");
    expect((await cattleService("1s1")).scale).toBe(2);
  });

  it("reverses the action on resolved with onResolved reverse", async () => {
    const receiver = await createReceiver({ onResolved: "reverse", amount: 2 });
    expect(await json(await post(receiver.url, alertmanagerNotification("firing")))).toMatchObject({
      from: 1,
      to: 3,
    });
    await waitForActive("1s1");
    const resolved = await json(await post(receiver.url, alertmanagerNotification("resolved")));
    expect(resolved).toMatchObject({ outcome: "applied", from: 3, to: 1, reason: "scaled down by 2" });
    expect((await cattleService("1s1")).scale).toBe(1);
  });

  it("reverses a down receiver into a scale up, clamped at max", async () => {
    const receiver = await createReceiver({ action: "down", onResolved: "reverse", amount: 5, max: 3 });
    const resolved = await json(await post(receiver.url, alertmanagerNotification("resolved")));
    expect(resolved).toMatchObject({ outcome: "applied", from: 1, to: 3 });
  });

  it("handles Grafana unified and legacy notifications alike", async () => {
    const receiver = await createReceiver({ onResolved: "reverse" });
    expect(await json(await post(receiver.url, grafanaNotification("firing")))).toMatchObject({
      outcome: "applied",
      alertName: "CPU high",
    });
    await waitForActive("1s1");
    expect(await json(await post(receiver.url, grafanaNotification("resolved")))).toMatchObject({ to: 1 });
    await waitForActive("1s1");
    expect(await json(await post(receiver.url, legacyGrafanaNotification("alerting")))).toMatchObject({
      to: 2,
    });
    await waitForActive("1s1");
    expect(await json(await post(receiver.url, legacyGrafanaNotification("ok")))).toMatchObject({ to: 1 });
  });
});

describe("de-duplication", () => {
  it("applies a notification once and answers its repeats like the first", async () => {
    const receiver = await createReceiver();
    const body = alertmanagerNotification("firing");
    const first = await json(await post(receiver.url, body));
    expect(first).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    await waitForActive("1s1");
    const before = (await emulatorStats()).total;
    const repeat = await json(await post(receiver.url, body));
    expect(repeat).toMatchObject({ outcome: "deduplicated", from: 1, to: 2, reason: first.reason });
    expect((await emulatorStats()).total).toBe(before);
    expect((await cattleService("1s1")).scale).toBe(2);
    const outcomes = (await executionsOf(receiver.id)).map(
      (execution: { outcome: string }) => execution.outcome,
    );
    expect(outcomes).toEqual(["deduplicated", "applied"]);
  });

  it("applies a concurrent pair from an HA Alertmanager once", async () => {
    const receiver = await createReceiver();
    const body = alertmanagerNotification("firing", { fingerprints: ["f1", "f2"] });
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(receiver.url, body).then(json)));
    expect(answers.filter((answer) => answer.outcome === "applied")).toHaveLength(1);
    expect(answers.filter((answer) => answer.outcome === "deduplicated")).toHaveLength(5);
    expect(answers.every((answer) => answer.from === 1 && answer.to === 2)).toBe(true);
    expect((await waitForActive("1s1")).scale).toBe(2);
  });

  it("tells a new notification of the same group from a repeat", async () => {
    const receiver = await createReceiver({ onResolved: "reverse" });
    await post(receiver.url, alertmanagerNotification("firing", { fingerprints: ["f1"] }));
    await waitForActive("1s1");
    expect(
      (
        await json(
          await post(receiver.url, alertmanagerNotification("firing", { fingerprints: ["f1", "f2"] })),
        )
      ).outcome,
    ).toBe("applied");
    await waitForActive("1s1");
    expect(
      (
        await json(
          await post(receiver.url, alertmanagerNotification("resolved", { fingerprints: ["f1", "f2"] })),
        )
      ).outcome,
    ).toBe("applied");
    expect((await waitForActive("1s1")).scale).toBe(2);
  });

  it.each(["Idempotency-Key", "X-GitHub-Delivery", "webhook-id"])("de-duplicates by %s", async (header) => {
    const receiver = await createReceiver();
    expect((await json(await trigger(receiver.url, { headers: { [header]: "delivery-1" } }))).outcome).toBe(
      "applied",
    );
    await waitForActive("1s1");
    expect(await json(await trigger(receiver.url, { headers: { [header]: "delivery-1" } }))).toMatchObject({
      outcome: "deduplicated",
      from: 1,
      to: 2,
    });
    expect((await json(await trigger(receiver.url, { headers: { [header]: "delivery-2" } }))).outcome).toBe(
      "applied",
    );
    expect((await waitForActive("1s1")).scale).toBe(3);
  });

  it("keeps identities per receiver", async () => {
    const one = await createReceiver();
    const two = await createReceiver();
    const body = alertmanagerNotification("firing");
    expect((await json(await post(one.url, body))).outcome).toBe("applied");
    await waitForActive("1s1");
    expect((await json(await post(two.url, body))).outcome).toBe("applied");
  });

  it("does not remember a delivery that was answered 503: the sender's retry applies once", async () => {
    const receiver = await createReceiver();
    const body = alertmanagerNotification("firing");
    await setFaults({ status: 503, count: 1000 });
    const failedAttempt = await post(receiver.url, body);
    expect(failedAttempt.status).toBe(503);
    expect(failedAttempt.headers.get("retry-after")).toBeTruthy();
    await setFaults({ count: 0 });
    const retried = await json(await post(receiver.url, body));
    expect(retried).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    await waitForActive("1s1");
    expect((await json(await post(receiver.url, body))).outcome).toBe("deduplicated");
    expect((await cattleService("1s1")).scale).toBe(2);
  });

  it("remembers identities and history across eviction of the object", async () => {
    const receiver = await createReceiver();
    const body = alertmanagerNotification("firing");
    expect((await json(await post(receiver.url, body))).outcome).toBe("applied");
    await evictDurableObject(env.TARGETS.getByName("scaleService:1a5:1s1"));
    await waitForActive("1s1");
    expect((await json(await post(receiver.url, body))).outcome).toBe("deduplicated");
    const outcomes = (await executionsOf(receiver.id)).map(
      (execution: { outcome: string }) => execution.outcome,
    );
    expect(outcomes).toEqual(["deduplicated", "applied"]);
  });
});

describe("cooldown", () => {
  it("answers cooldown without calling Cattle until the cooldown has passed", async () => {
    const receiver = await createReceiver({ cooldownSeconds: 1 });
    expect((await json(await trigger(receiver.url))).outcome).toBe("applied");
    const before = (await emulatorStats()).total;
    const cooling = await json(await trigger(receiver.url));
    expect(cooling).toMatchObject({ outcome: "cooldown" });
    expect(cooling.reason).toContain("cooldown is 1 s");
    expect((await emulatorStats()).total).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await json(await trigger(receiver.url))).toMatchObject({ outcome: "applied", from: 2, to: 3 });
  });

  it("lets one trigger of a concurrent burst through and cools the rest", async () => {
    const receiver = await createReceiver({ cooldownSeconds: 60 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => trigger(receiver.url).then(json)));
    expect(answers.filter((answer) => answer.outcome === "applied")).toHaveLength(1);
    expect(answers.filter((answer) => answer.outcome === "cooldown")).toHaveLength(19);
    expect((await waitForActive("1s1")).scale).toBe(2);
  });

  it("starts only after an applied change, and is per receiver", async () => {
    const capped = await createReceiver({ cooldownSeconds: 60, max: 1 });
    expect((await json(await trigger(capped.url))).outcome).toBe("noop");
    expect((await json(await trigger(capped.url))).outcome).toBe("noop");
    const other = await createReceiver({ cooldownSeconds: 60 });
    const plain = await createReceiver();
    expect((await json(await trigger(other.url))).outcome).toBe("applied");
    await waitForActive("1s1");
    expect((await json(await trigger(plain.url))).outcome).toBe("applied");
  });
});

describe("executions show each delivery", () => {
  it("with outcome, reason, from/to, sender, alert name and status", async () => {
    const receiver = await createReceiver();
    await post(receiver.url, alertmanagerNotification("firing"));
    await post(receiver.url, alertmanagerNotification("resolved"), { "user-agent": "Grafana/10.4" });
    const [resolved, firing] = await executionsOf(receiver.id);
    expect(firing).toMatchObject({
      outcome: "applied",
      from: 1,
      to: 2,
      sender: "Alertmanager/0.25.0",
      alertName: "HighRequestLatency",
      alertStatus: "firing",
    });
    expect(resolved).toMatchObject({ outcome: "ignored", sender: "Grafana/10.4", alertStatus: "resolved" });
  });
});

describe("flood protection", () => {
  it("answers deliveries beyond the receiver's rate 200 ignored, without touching Cattle", async () => {
    const receiver = await createReceiver({ maxTriggersPerMinute: 5, max: 100 });
    const answers = await Promise.all(Array.from({ length: 8 }, () => trigger(receiver.url).then(json)));
    expect(answers.filter((answer) => answer.outcome === "applied")).toHaveLength(5);
    const ignored = answers.filter((answer) => answer.outcome === "ignored");
    expect(ignored).toHaveLength(3);
    expect(ignored[0]?.reason).toBe("rate limit: more than 5 deliveries a minute to this receiver");
    expect((await waitForActive("1s1")).scale).toBe(6);
    const before = (await emulatorStats()).total;
    expect((await json(await trigger(receiver.url))).outcome).toBe("ignored");
    expect((await emulatorStats()).total).toBe(before);
    // Another receiver of the same service has its own allowance.
    const other = await createReceiver({ max: 100 });
    expect((await json(await trigger(other.url))).outcome).toBe("applied");
  });
});
