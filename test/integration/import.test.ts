import { env } from "cloudflare:test";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { dockerHubPush } from "../fixtures/pushes";
import {
  call,
  cattleService,
  EMULATOR,
  json,
  KEYS,
  ORIGIN,
  resetEmulator,
  trigger,
  uniqueName,
  withBindings,
} from "../helpers";

/**
 * Moving from Rancher's webhook-service (docs/migrating.md): its receivers, kept in Cattle as generic
 * objects of kind `webhookReceiver`, are imported, and their original URLs keep working.
 */

const SEEDED = {
  scale: { id: "1go1", name: "scale-web-up", key: "pqBYqbi51bUmXMQ4vAgQKoFSNjRRcKTfZkG9ZoB7" },
  upgrade: { id: "1go2", name: "upgrade-api-acr", key: "BlhSL3f1PSCFpbk47GqDYjOk7MAPh1UUAkkWvOe8" },
};

beforeEach(async () => {
  await resetEmulator();
  // The emulator's generic object ids start again at 1go1 after a reset: forget what earlier tests imported.
  const listed = await json(await call("/v1-webhooks/receivers?projectId=1a5&limit=1000"));
  for (const receiver of listed.data.filter((item: { importedFrom?: string }) => item.importedFrom)) {
    await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, { method: "DELETE" });
  }
});

const importReceivers = async (key: string = KEYS.dev) => {
  const response = await call("/v1-webhooks/receivers?projectId=1a5&action=import", { method: "POST", key });
  expect(response.status, await response.clone().text()).toBe(200);
  return json(response);
};

/** A generic object as webhook-service wrote one (random key, its config as its Go types marshal it). */
async function legacyReceiver(
  driver: string,
  config: Record<string, unknown>,
  name = uniqueName("legacy"),
  key = randomKey(),
) {
  const response = await fetch(`${EMULATOR}/v2-beta/projects/1a5/genericobjects`, {
    method: "POST",
    headers: { authorization: `Basic ${btoa(KEYS.dev)}`, "content-type": "application/json" },
    body: JSON.stringify({
      name,
      kind: "webhookReceiver",
      key,
      resourceData: {
        url: `http://rancher.test/v1-webhooks/endpoint?key=${key}&projectId=1a5`,
        driver,
        config,
      },
    }),
  });
  expect(response.status).toBe(201);
  const object = await json(response);
  return { id: object.id as string, name, key };
}

const randomKey = () =>
  [...crypto.getRandomValues(new Uint8Array(40))]
    .map((byte) => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[byte % 62])
    .join("");

const oldUrl = (key: string, projectId = "1a5") =>
  `${ORIGIN}/v1-webhooks/endpoint?key=${key}&projectId=${projectId}`;

describe("import from webhook-service", () => {
  it("imports each receiver with its name and config, in this service's terms, and says where from", async () => {
    const result = await importReceivers();
    expect(result.type).toBe("importResult");
    expect(result.skipped).toEqual([]);
    const byName = new Map<string, Record<string, any>>(
      result.imported.map((receiver: Record<string, any>) => [receiver.name, receiver]),
    );
    expect(byName.get(SEEDED.scale.name)).toMatchObject({
      driver: "scaleService",
      importedFrom: SEEDED.scale.id,
      scaleServiceConfig: { type: "scaleService", serviceId: "1s1", action: "up", amount: 1, min: 1, max: 5 },
    });
    // webhook-service took intervalMillis in seconds, and called Azure Container Registry `azure`.
    expect(byName.get(SEEDED.upgrade.name)).toMatchObject({
      driver: "serviceUpgrade",
      importedFrom: SEEDED.upgrade.id,
      serviceUpgradeConfig: {
        payloadFormat: "acr",
        intervalMillis: 5000,
        batchSize: 1,
        startFirst: true,
        tag: "latest",
      },
    });
    for (const receiver of result.imported) expect(receiver.url).toMatch(/\/v1-webhooks\/endpoint\?token=/);
  });

  it("imports nothing twice, and leaves the generic objects as they are", async () => {
    const before = await json(
      await fetch(`${EMULATOR}/v2-beta/projects/1a5/genericobjects?kind=webhookReceiver`, {
        headers: { authorization: `Basic ${btoa(KEYS.dev)}` },
      }),
    );
    await importReceivers();
    const again = await importReceivers();
    expect(again.imported).toEqual([]);
    expect(again.skipped.map((item: { reason: string }) => item.reason)).toEqual([
      expect.stringContaining("already imported"),
      expect.stringContaining("already imported"),
    ]);
    const listed = await json(await call("/v1-webhooks/receivers?projectId=1a5"));
    expect(listed.data.filter((receiver: { importedFrom?: string }) => receiver.importedFrom)).toHaveLength(
      2,
    );
    const after = await json(
      await fetch(`${EMULATOR}/v2-beta/projects/1a5/genericobjects?kind=webhookReceiver`, {
        headers: { authorization: `Basic ${btoa(KEYS.dev)}` },
      }),
    );
    expect(after.data).toEqual(before.data);
  });

  it("skips, with the reason, what cannot be imported", async () => {
    const pipeline = await legacyReceiver("forwardPost", {
      projectId: "1a5",
      serviceName: "web",
      port: "80",
      path: "/",
    });
    const gone = await legacyReceiver("scaleService", {
      serviceId: "1s99",
      action: "up",
      amount: 1,
      min: 1,
      max: 3,
    });
    const invalid = await legacyReceiver("scaleService", {
      serviceId: "1s1",
      action: "sideways",
      amount: 1,
      min: 1,
      max: 3,
    });
    const taken = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        name: "taken-name",
        driver: "scaleService",
        scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1 },
      },
    });
    expect(taken.status).toBe(201);
    const clash = await legacyReceiver(
      "scaleService",
      { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 3 },
      "taken-name",
    );
    const result = await importReceivers();
    const reasons = new Map(
      result.skipped.map((item: { genericObjectId: string; reason: string }) => [
        item.genericObjectId,
        item.reason,
      ]),
    );
    expect(reasons.get(pipeline.id)).toContain("not supported");
    expect(reasons.get(gone.id)).toContain("does not exist");
    expect(reasons.get(invalid.id)).toContain("action");
    expect(reasons.get(clash.id)).toContain("already exists");
    expect(result.imported.map((receiver: { name: string }) => receiver.name).sort()).toEqual(
      [SEEDED.scale.name, SEEDED.upgrade.name].sort(),
    );
  });

  it("needs a key that may change the environment", async () => {
    const response = await call("/v1-webhooks/receivers?projectId=1a5&action=import", {
      method: "POST",
      key: KEYS.readonly,
    });
    expect(response.status).toBe(403);
  });
});

describe("the original URLs of imported receivers", () => {
  it("trigger them like their new URLs: applied, noop, deduplicated", async () => {
    await importReceivers();
    const url = oldUrl(SEEDED.scale.key);
    const first = await trigger(url);
    expect(first.status).toBe(200);
    expect(await json(first)).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    const once = await trigger(url, { headers: { "idempotency-key": "one" } });
    const repeat = await trigger(url, { headers: { "idempotency-key": "one" } });
    expect(await json(repeat)).toMatchObject({ outcome: "deduplicated", from: (await json(once)).from });
    for (let i = 0; i < 3; i++) await trigger(url);
    expect(await json(await trigger(url))).toMatchObject({
      outcome: "noop",
      reason: "already at maximum scale 5",
    });
    expect((await cattleService("1s1")).scale).toBe(5);
  });

  it("honour a cooldown and queue an upgrade on a registry push", async () => {
    const cooling = await legacyReceiver("scaleService", {
      serviceId: "1s2",
      action: "up",
      amount: 1,
      min: 1,
      max: 9,
      cooldownSeconds: 3600,
    });
    const upgrading = await legacyReceiver("serviceUpgrade", {
      serviceSelector: { app: "worker" },
      tag: "1.*",
      payloadFormat: "dockerhub",
      batchSize: 1,
      intervalMillis: 1,
    });
    await importReceivers();
    expect(await json(await trigger(oldUrl(cooling.key)))).toMatchObject({ outcome: "applied" });
    expect(await json(await trigger(oldUrl(cooling.key)))).toMatchObject({ outcome: "cooldown" });
    const pushed = await trigger(oldUrl(upgrading.key), {
      body: JSON.stringify(dockerHubPush("myorg/api", "1.7.0")),
    });
    expect(pushed.status).toBe(202);
    expect(await json(pushed)).toMatchObject({ outcome: "queued", reason: expect.stringContaining("1s6") });
  });

  it("stop at once when the receiver is deleted or regenerated", async () => {
    const result = await importReceivers();
    const byName = new Map<string, Record<string, any>>(
      result.imported.map((receiver: Record<string, any>) => [receiver.name, receiver]),
    );
    const scale = byName.get(SEEDED.scale.name) ?? {};
    const regenerated = await call(`/v1-webhooks/receivers/${scale.id}?projectId=1a5&action=regenerate`, {
      method: "POST",
    });
    expect((await trigger(oldUrl(SEEDED.scale.key))).status).toBe(403);
    expect((await trigger((await json(regenerated)).url)).status).toBe(200);
    const upgrade = byName.get(SEEDED.upgrade.name) ?? {};
    expect(
      (await call(`/v1-webhooks/receivers/${upgrade.id}?projectId=1a5`, { method: "DELETE" })).status,
    ).toBe(204);
    expect((await trigger(oldUrl(SEEDED.upgrade.key), { body: "{}" })).status).toBe(403);
  });

  it("keep their receiver when another generic object with the same key is imported: one key, one receiver", async () => {
    const first = await importReceivers();
    const scale = first.imported.find((receiver: { name: string }) => receiver.name === SEEDED.scale.name);
    // Another generic object with the key of an imported one, and another action.
    const other = await legacyReceiver(
      "scaleService",
      { serviceId: "1s1", action: "down", amount: 5, min: 1, max: 5 },
      uniqueName("down-by-five"),
      SEEDED.scale.key,
    );
    const again = await importReceivers();
    expect(again.imported).toEqual([]);
    expect(again.skipped).toContainEqual({
      name: other.name,
      genericObjectId: other.id,
      reason: `its original webhook-service URL already triggers receiver ${scale.id}`,
    });
    // The original URL still does what it did: scale 1s1 up by 1.
    expect(await json(await trigger(oldUrl(SEEDED.scale.key)))).toMatchObject({
      outcome: "applied",
      from: 1,
      to: 2,
      receiverId: scale.id,
    });
    expect((await cattleService("1s1")).scale).toBe(2);
    const listed = await json(await call("/v1-webhooks/receivers?projectId=1a5&limit=1000"));
    expect(listed.data.filter((receiver: { name: string }) => receiver.name === other.name)).toEqual([]);
  });

  it("refuse an unknown key, a key of another environment, and a key without projectId", async () => {
    await importReceivers();
    expect((await trigger(oldUrl(randomKey()))).status).toBe(403);
    expect((await trigger(oldUrl(SEEDED.scale.key, "1a7"))).status).toBe(403);
    const bare = await trigger(`${ORIGIN}/v1-webhooks/endpoint?key=${SEEDED.scale.key}`);
    expect(bare.status).toBe(400);
    expect(await json(bare)).toMatchObject({ code: "MissingRequired", fieldName: "projectId" });
  });
});

describe("the original's RS256 token URLs, with LEGACY_RSA_PUBLIC_KEY", () => {
  it("trigger the imported receiver whose key is the token's uuid, and nothing else verifies", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    const uuid = crypto.randomUUID();
    const config = { serviceId: "1s1", amount: 2, action: "up", min: 1, max: 10 };
    await legacyReceiver("scaleService", config, uniqueName("token-era"), uuid);
    await importReceivers();
    const claims = { config, driver: "scaleService", projectId: "1a5", uuid };
    const sign = (key: CryptoKey | Uint8Array, alg: string) =>
      new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(key);
    const legacy = { ...env, LEGACY_RSA_PUBLIC_KEY: pem };
    const post = (token: string) =>
      withBindings(`/v1-webhooks/endpoint?token=${token}`, { method: "POST" }, legacy);

    const applied = await post(await sign(privateKey, "RS256"));
    expect(applied.status).toBe(200);
    expect(await json(applied)).toMatchObject({ outcome: "applied", from: 1, to: 3 });

    const other = await generateKeyPair("RS256");
    const header = (alg: string) =>
      btoa(JSON.stringify({ alg, typ: "JWT" }))
        .replace(/=+$/, "")
        .replace(/\+/g, "-")
        .replace(/\//g, "_");
    const payload = btoa(JSON.stringify(claims)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    for (const forged of [
      await sign(other.privateKey, "RS256"),
      `${header("none")}.${payload}.`,
      await sign(new TextEncoder().encode(pem), "HS256"),
    ]) {
      expect((await post(forged)).status).toBe(403);
    }
    // Without the setting, the original's tokens are not accepted at all.
    expect(
      (
        await withBindings(
          `/v1-webhooks/endpoint?token=${await sign(privateKey, "RS256")}`,
          { method: "POST" },
          env,
        )
      ).status,
    ).toBe(403);
    expect((await cattleService("1s1")).scale).toBe(3);
  });
});

describe("the page", () => {
  it("imports from webhook-service and shows what it imported and skipped", async () => {
    const pipeline = await legacyReceiver("forwardPost", { projectId: "1a5" });
    const response = await call("/receivers/import?projectId=1a5", { method: "POST" });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("Imported (2)");
    expect(html).toContain(SEEDED.scale.name);
    expect(html).toContain("Skipped (1)");
    expect(html).toContain(`${pipeline.name}: `);
    const list = await (await call("/?projectId=1a5")).text();
    expect(list).toContain("Import from webhook-service");
  });
});
