import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { dockerHubPush } from "../fixtures/pushes";
import { base64, hmac } from "../fixtures/signatures";
import {
  call,
  cattleService,
  createReceiver,
  emulatorStats,
  json,
  KEYS,
  resetEmulator,
  scaleServiceBody,
  setEmulatorConfig,
  setFaults,
  settledExecutions,
  trigger,
  uniqueName,
  withBindings,
} from "../helpers";

/**
 * The guarantees of docs/how-it-works.md against the emulator driven into Cattle's worst behaviour: writes applied and
 * answered late or never, its process lock, deletes and regenerates in the middle of bursts,
 * replays, and failures that waiting does not mend.
 */

beforeEach(async () => {
  await resetEmulator();
});

const bodies = async (responses: Response[]) => Promise.all(responses.map((response) => json(response)));

describe("a write applied and answered late", () => {
  it("is read back, not sent again, and no later step is rolled back when its answer comes", async () => {
    const receiver = await createReceiver({ max: 20 });
    await setFaults({ lateMs: 5_000, lateCount: 1 });
    const first = await trigger(receiver.url);
    expect(first.status).toBe(200);
    expect(await json(first)).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    const later = await Promise.all([1, 2, 3].map(() => trigger(receiver.url)));
    expect((await bodies(later)).map((execution) => execution.to).sort()).toEqual([3, 4, 5]);
    // The late answer has long arrived: the service stays where the acknowledged steps took it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await cattleService("1s1")).scale).toBe(5);
  });
});

describe("a write applied and never answered", () => {
  it("counts once", async () => {
    const receiver = await createReceiver();
    await setFaults({ dropCount: 1 });
    const answer = await trigger(receiver.url);
    expect(answer.status).toBe(200);
    expect(await json(answer)).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    expect((await emulatorStats()).byPath["/v2-beta/projects/1a5/services/1s1"]?.PUT).toBe(1);
    expect((await cattleService("1s1")).scale).toBe(2);
  });
});

describe("Cattle's process lock", () => {
  it("turns long transitions into pending answers, settled exactly once the service settles", async () => {
    await setEmulatorConfig({ transitionMs: 4_000, lockWaitMs: 1_000 });
    const receiver = await createReceiver({ max: 50 });
    // Each applied change keeps the service updating-active for 4 s; writes wait 1 s, then 409.
    const answers: Response[] = [];
    for (let wave = 0; wave < 3; wave++) {
      answers.push(...(await Promise.all(Array.from({ length: 5 }, () => trigger(receiver.url)))));
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    const statuses = answers.map((response) => response.status);
    expect(statuses.every((status) => status === 200 || status === 202)).toBe(true);
    const outcomes = (await bodies(answers)).map((execution) => execution.outcome);
    expect(outcomes.every((outcome) => outcome === "applied" || outcome === "pending")).toBe(true);
    const executions = await settledExecutions(receiver.id);
    expect(executions.map((execution) => execution.outcome)).toEqual(Array(15).fill("applied"));
    expect((await cattleService("1s1")).scale).toBe(16);
  }, 60_000);
});

describe("delete and regenerate in the middle of a burst", () => {
  it("apply nothing of the old URL after the answer but the write already sent", async () => {
    await setFaults({ delayMs: 150 });
    const receiver = await createReceiver({ max: 1000 });
    // Triggers keep arriving until the delete has answered, so some are always waiting in the
    // target behind a Cattle exchange when it comes, however fast this machine is.
    const burst: Promise<Response>[] = [];
    let deleting = true;
    const stream = (async () => {
      while (deleting) {
        burst.push(...Array.from({ length: 5 }, () => trigger(receiver.url)));
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const deleted = await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, { method: "DELETE" });
    deleting = false;
    await stream;
    expect(deleted.status).toBe(204);
    const putsAtDelete = (await emulatorStats()).byMethod.PUT ?? 0;
    const answers = await Promise.all(burst);
    const applied = (await bodies(answers.filter((response) => response.status === 200))).filter(
      (execution) => execution.outcome === "applied",
    );
    for (const response of answers) expect([200, 403]).toContain(response.status);
    expect(answers.some((response) => response.status === 403)).toBe(true);
    await setFaults({ delayMs: 0 });
    const scale = (await cattleService("1s1")).scale;
    expect(scale - 1).toBe(applied.length);
    expect((await emulatorStats()).byMethod.PUT ?? 0).toBeLessThanOrEqual(putsAtDelete + 1);
  }, 60_000);

  it("regenerate refuses the old URL's queued triggers; its history keeps what was applied", async () => {
    await setFaults({ delayMs: 150 });
    const receiver = await createReceiver({ max: 1000 });
    const burst = Array.from({ length: 100 }, () => trigger(receiver.url));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const regenerated = await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5&action=regenerate`, {
      method: "POST",
    });
    expect(regenerated.status).toBe(200);
    const answers = await Promise.all(burst);
    const applied = (await bodies(answers.filter((response) => response.status === 200))).length;
    expect(answers.filter((response) => response.status === 403).length).toBe(100 - applied);
    await setFaults({ delayMs: 0 });
    const executions = await settledExecutions(receiver.id);
    expect(executions.filter((execution) => execution.outcome === "applied")).toHaveLength(applied);
    expect((await cattleService("1s1")).scale).toBe(1 + applied);
    // The new URL works.
    expect((await trigger((await json(regenerated)).url)).status).toBe(200);
  }, 60_000);
});

describe("replays", () => {
  it("of a signed delivery with a fresh Idempotency-Key are the same delivery", async () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i + 7);
    const created = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        ...scaleServiceBody(),
        senderVerification: { scheme: "standardWebhooks", secret: `whsec_${base64(key)}` },
      },
    });
    const { url } = await json(created);
    const body = JSON.stringify({ event: "scale" });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = `v1,${base64(await hmac(key, `msg_42.${timestamp}.${body}`))}`;
    const headers = {
      "webhook-id": "msg_42",
      "webhook-timestamp": timestamp,
      "webhook-signature": signature,
    };
    expect(
      await json(await trigger(url, { body, headers: { ...headers, "idempotency-key": "a" } })),
    ).toMatchObject({
      outcome: "applied",
    });
    for (const fresh of ["b", "c"]) {
      const replay = await trigger(url, {
        body,
        headers: { ...headers, "idempotency-key": fresh, "x-github-delivery": fresh },
      });
      expect(await json(replay)).toMatchObject({ outcome: "deduplicated", from: 1, to: 2 });
    }
    expect((await cattleService("1s1")).scale).toBe(2);
  });

  it("of a Grafana delivery signed with its timestamp are the same delivery, whatever unsigned header changes", async () => {
    const secret = "grafana-shared-secret-0123456789";
    const created = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        ...scaleServiceBody(),
        senderVerification: { scheme: "grafana", secret, timestampHeader: "X-Grafana-Alerting-Timestamp" },
      },
    });
    const { url } = await json(created);
    const body = JSON.stringify({ status: "firing", alerts: [] });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const hex = [...(await hmac(secret, `${timestamp}:${body}`))]
      .map((byte) => byte.toString(16).padStart(2, "0"))
      .join("");
    const headers = { "x-grafana-alerting-signature": hex, "x-grafana-alerting-timestamp": timestamp };
    expect(await json(await trigger(url, { body, headers }))).toMatchObject({ outcome: "applied" });
    const replay = await trigger(url, { body, headers: { ...headers, "idempotency-key": "fresh" } });
    expect(await json(replay)).toMatchObject({ outcome: "deduplicated" });
    expect((await cattleService("1s1")).scale).toBe(2);
  });

  it("of a registry push upgrade nothing the second time", async () => {
    const created = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        name: uniqueName("push"),
        driver: "serviceUpgrade",
        serviceUpgradeConfig: { serviceSelector: { app: "worker" }, tag: "1.*", intervalMillis: 100 },
      },
    });
    const { url } = await json(created);
    const push = JSON.stringify(dockerHubPush("myorg/api", "1.7.0"));
    const first = await trigger(url, { body: push, headers: { "idempotency-key": "one" } });
    expect(first.status).toBe(202);
    const again = await trigger(url, { body: push, headers: { "idempotency-key": "two" } });
    expect(again.status).toBe(200);
    expect(await json(again)).toMatchObject({ outcome: "deduplicated" });
  });
});

describe("failures that waiting does not mend", () => {
  it("refuse at create a target the service's Cattle key cannot reach", async () => {
    // The service runs with a key that only reaches 1a5; a receiver in 1a7 would fail every trigger.
    const narrow = { ...env, CATTLE_ACCESS_KEY: "dev-access", CATTLE_SECRET_KEY: "dev-secret" };
    const response = await withBindings(
      "http://hooks.test/v1-webhooks/receivers?projectId=1a7",
      {
        method: "POST",
        headers: { authorization: `Basic ${btoa(KEYS.other)}`, "content-type": "application/json" },
        body: JSON.stringify(scaleServiceBody({ serviceId: "1s9" })),
      },
      narrow,
    );
    expect(response.status).toBe(422);
    expect(await json(response)).toMatchObject({
      code: "InvalidReference",
      fieldName: "scaleServiceConfig.serviceId",
      message: expect.stringContaining("CATTLE_ACCESS_KEY"),
    });
  });

  it("answer a trigger of a service gone since 200 failed, and record it", async () => {
    const created = await fetch("http://127.0.0.1:8788/v2-beta/projects/1a5/services", {
      method: "POST",
      headers: { authorization: `Basic ${btoa(KEYS.dev)}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "doomed", scale: 1, launchConfig: { imageUuid: "docker:nginx:1.25" } }),
    });
    const service = await json(created);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const receiver = await createReceiver({ serviceId: service.id });
    await fetch(`http://127.0.0.1:8788/v2-beta/projects/1a5/services/${service.id}`, {
      method: "DELETE",
      headers: { authorization: `Basic ${btoa(KEYS.dev)}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const answer = await trigger(receiver.url);
    expect(answer.status).toBe(200);
    expect(await json(answer)).toMatchObject({ outcome: "failed" });
    const executions = await settledExecutions(receiver.id);
    expect(executions[0]).toMatchObject({ outcome: "failed" });
  });
});

describe("PUBLIC_URL", () => {
  it("builds every URL the service returns, whatever X-Forwarded-Host says", async () => {
    const response = await withBindings(
      "http://internal.test/v1-webhooks/receivers?projectId=1a5",
      {
        method: "POST",
        headers: {
          authorization: `Basic ${btoa(KEYS.dev)}`,
          "content-type": "application/json",
          "x-forwarded-host": "evil.example",
          "x-forwarded-proto": "http",
        },
        body: JSON.stringify(scaleServiceBody()),
      },
      { ...env, PUBLIC_URL: "https://hooks.example.com/" },
    );
    expect(response.status).toBe(201);
    const receiver = await json(response);
    expect(receiver.url).toMatch(/^https:\/\/hooks\.example\.com\/v1-webhooks\/endpoint\?token=/);
    expect(receiver.links.self).toMatch(/^https:\/\/hooks\.example\.com\//);
  });
});
