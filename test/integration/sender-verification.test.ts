import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { alertmanagerNotification } from "../fixtures/alerts";
import { base64, hex, hmac } from "../fixtures/signatures";
import {
  call,
  cattleService,
  emulatorStats,
  json,
  resetEmulator,
  scaleServiceBody,
  trigger,
  waitForActive,
} from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

const RECEIVERS = "/v1-webhooks/receivers?projectId=1a5";
const SECRET = "s3nder-secret-for-tests-0123456789";

const githubSignature = async (body: string, secret = SECRET) => `sha256=${hex(await hmac(secret, body))}`;

async function createVerified(senderVerification: unknown, config: Record<string, unknown> = {}) {
  const response = await call(RECEIVERS, {
    method: "POST",
    body: { ...scaleServiceBody({ max: 50, ...config }), senderVerification },
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return json(response);
}

const executionsOf = async (receiver: Record<string, any>) =>
  (
    await json(
      await call(new URL(receiver.links.executions).pathname + new URL(receiver.links.executions).search),
    )
  ).data as { outcome: string }[];

describe("a receiver with sender verification", () => {
  it("shows the scheme, never the secret, in the API and in KV", async () => {
    const receiver = await createVerified({ scheme: "github", secret: SECRET });
    expect(receiver.senderVerification).toEqual({ type: "senderVerification", scheme: "github" });
    const fetched = await json(await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`));
    expect(fetched.senderVerification).toEqual({ type: "senderVerification", scheme: "github" });
    const stored = await env.RECEIVERS.getWithMetadata(`receiver:1a5:${receiver.id}`);
    expect(JSON.stringify(stored)).not.toContain(SECRET);
    expect(JSON.stringify(stored)).not.toContain(btoa(SECRET));
    expect(receiver.url).not.toContain(btoa(SECRET).slice(0, 12));
    const listed = await json(await call(RECEIVERS));
    expect(JSON.stringify(listed)).not.toContain(SECRET);
  });

  it("applies a delivery signed with the secret", async () => {
    const receiver = await createVerified({ scheme: "github", secret: SECRET });
    const body = JSON.stringify({ zen: "Keep it logically awesome." });
    const response = await trigger(receiver.url, {
      body,
      headers: { "x-hub-signature-256": await githubSignature(body), "content-type": "application/json" },
    });
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ outcome: "applied", from: 1, to: 2 });
  });

  it("refuses unsigned, badly signed and altered deliveries with 401: nothing recorded, Cattle untouched", async () => {
    const receiver = await createVerified({ scheme: "github", secret: SECRET });
    const before = (await emulatorStats()).total;
    const body = '{"ref":"refs/heads/main"}';
    const attempts: RequestInit[] = [
      {},
      { body },
      { body, headers: { "x-hub-signature-256": await githubSignature(body, `${SECRET}!`) } },
      { body: `${body} `, headers: { "x-hub-signature-256": await githubSignature(body) } },
      { body, headers: { "x-hub-signature-256": "sha256=zz" } },
      { body, headers: { authorization: `Bearer ${SECRET}` } },
    ];
    for (const init of attempts) {
      const response = await trigger(receiver.url, init);
      expect(response.status).toBe(401);
      const error = await json(response);
      expect(error).toMatchObject({ type: "error", status: 401, code: "Unauthorized" });
      expect(error.message).toMatch(/^sender verification failed: /);
      expect(JSON.stringify(error)).not.toContain(SECRET);
    }
    expect((await emulatorStats()).total).toBe(before);
    expect(await executionsOf(receiver)).toEqual([]);
    expect((await cattleService("1s1")).scale).toBe(1);
  });

  it("answers a bearer or Basic refusal with a WWW-Authenticate challenge", async () => {
    const bearer = await createVerified({ scheme: "bearer", token: SECRET });
    const refused = await trigger(bearer.url, {
      headers: { authorization: "Bearer wrong-token-0123456789" },
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
    expect((await trigger(bearer.url, { headers: { authorization: `Bearer ${SECRET}` } })).status).toBe(200);

    const basic = await createVerified({ scheme: "basic", username: "alertmanager", password: SECRET });
    const unauthenticated = await trigger(basic.url, {
      body: JSON.stringify(alertmanagerNotification("firing")),
    });
    expect(unauthenticated.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    await waitForActive("1s1");
    const accepted = await trigger(basic.url, {
      body: JSON.stringify(alertmanagerNotification("firing")),
      headers: { authorization: `Basic ${btoa(`alertmanager:${SECRET}`)}` },
    });
    expect(accepted.status).toBe(200);
  });

  it("does not let forged deliveries use up the flood allowance", async () => {
    const receiver = await createVerified({ scheme: "bearer", token: SECRET }, { maxTriggersPerMinute: 2 });
    for (let i = 0; i < 5; i++) expect((await trigger(receiver.url)).status).toBe(401);
    const genuine = await trigger(receiver.url, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(await json(genuine)).toMatchObject({ outcome: "applied" });
  });

  it("ignores a Standard Webhooks replay inside 5 minutes (deduplicated) and refuses it after", async () => {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const receiver = await createVerified({
      scheme: "standardWebhooks",
      secret: `whsec_${base64(key)}`,
    });
    const body = '{"type":"image.pushed"}';
    const signedAt = async (id: string, seconds: number) => ({
      "webhook-id": id,
      "webhook-timestamp": String(seconds),
      "webhook-signature": `v1,${base64(await hmac(key, `${id}.${seconds}.${body}`))}`,
    });
    const now = Math.floor(Date.now() / 1000);
    const headers = await signedAt("msg_1", now);
    expect(await json(await trigger(receiver.url, { body, headers }))).toMatchObject({ outcome: "applied" });
    expect(await json(await trigger(receiver.url, { body, headers }))).toMatchObject({
      outcome: "deduplicated",
    });
    const stale = await trigger(receiver.url, { body, headers: await signedAt("msg_2", now - 6 * 60) });
    expect(stale.status).toBe(401);
    expect((await json(stale)).message).toContain("5 minutes");
  });
});

describe("changing the sender verification", () => {
  it("keeps it on a plain regenerate, replaces it with a new one, and drops it with null", async () => {
    const receiver = await createVerified({ scheme: "bearer", token: SECRET });
    const regenerate = (body?: unknown) =>
      call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5&action=regenerate`, { method: "POST", body });

    const kept = await json(await regenerate());
    expect(kept.senderVerification).toEqual({ type: "senderVerification", scheme: "bearer" });
    expect((await trigger(kept.url)).status).toBe(401);
    expect((await trigger(kept.url, { headers: { authorization: `Bearer ${SECRET}` } })).status).toBe(200);

    const replaced = await json(
      await regenerate({ senderVerification: { scheme: "github", secret: SECRET } }),
    );
    expect(replaced.senderVerification).toEqual({ type: "senderVerification", scheme: "github" });
    expect((await trigger(replaced.url, { headers: { authorization: `Bearer ${SECRET}` } })).status).toBe(
      401,
    );
    await waitForActive("1s1");
    expect(
      (
        await trigger(replaced.url, {
          body: "{}",
          headers: { "x-hub-signature-256": await githubSignature("{}") },
        })
      ).status,
    ).toBe(200);

    const dropped = await json(await regenerate({ senderVerification: null }));
    expect(dropped.senderVerification).toBeUndefined();
    await waitForActive("1s1");
    expect((await trigger(dropped.url)).status).toBe(200);
    const stored = await json(await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`));
    expect(stored.senderVerification).toBeUndefined();
  });

  it("refuses a malformed regenerate body and leaves the URL working", async () => {
    const receiver = await createVerified({ scheme: "bearer", token: SECRET });
    const path = `/v1-webhooks/receivers/${receiver.id}?projectId=1a5&action=regenerate`;
    const bad = await call(path, {
      method: "POST",
      body: { senderVerification: { scheme: "bearer", token: "x" } },
    });
    expect(bad.status).toBe(422);
    expect(await json(bad)).toMatchObject({
      code: "MinLimitExceeded",
      fieldName: "senderVerification.token",
    });
    const notJson = await call(path, {
      method: "POST",
      rawBody: "{",
      headers: { "content-type": "application/json" },
    });
    expect(notJson.status).toBe(422);
    const stray = await call(path, { method: "POST", body: { name: "x" } });
    expect(await json(stray)).toMatchObject({ code: "InvalidOption", fieldName: "name" });
    expect((await trigger(receiver.url, { headers: { authorization: `Bearer ${SECRET}` } })).status).toBe(
      200,
    );
  });
});

describe("validation at create", () => {
  it.each([
    [{ scheme: "bearer", token: "too-short" }, "MinLimitExceeded", "senderVerification.token"],
    [{ scheme: "bearer" }, "MissingRequired", "senderVerification.token"],
    [{ scheme: "hmac", secret: SECRET }, "InvalidOption", "senderVerification.scheme"],
    [{ secret: SECRET }, "MissingRequired", "senderVerification.scheme"],
    [{ scheme: "github", secret: SECRET, extra: 1 }, "InvalidOption", "senderVerification.extra"],
    [{ scheme: "standardWebhooks", secret: SECRET }, "InvalidFormat", "senderVerification.secret"],
    ["bearer", "InvalidFormat", "senderVerification"],
  ])("%j is %s on %s, and nothing is created", async (senderVerification, code, fieldName) => {
    const body = { ...scaleServiceBody(), senderVerification };
    const response = await call(RECEIVERS, { method: "POST", body });
    expect(response.status).toBe(422);
    expect(await json(response)).toMatchObject({ type: "error", code, fieldName });
    const listed = await json(await call(RECEIVERS));
    expect(listed.data.some((r: { name: string }) => r.name === body.name)).toBe(false);
  });
});
