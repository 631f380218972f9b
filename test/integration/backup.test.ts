import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Driver } from "../../src/domain/driver";
import { newId } from "../../src/domain/ids";
import { DRIVERS } from "../../src/drivers";
import { cloudflarePlatform } from "../../src/platform/cloudflare";
import { exportReceivers } from "../../src/receivers/backup";
import { Receivers } from "../../src/receivers/manage";
import { hex, hmac } from "../fixtures/signatures";
import {
  call,
  createReceiver,
  json,
  KEYS,
  resetEmulator,
  scaleServiceBody,
  trigger,
  uniqueName,
} from "../helpers";

/**
 * Backup and restore of an environment's receivers (docs/backup.md): an export restores with the
 * same ids and versions, so the URLs signed for them keep working under the same signing keys.
 */

beforeEach(async () => {
  await resetEmulator();
});

type Json = Record<string, any>;
type ExportDocument = {
  type: string;
  version: number;
  projectId: string;
  exportedAt: string;
  receivers: Json[];
};

const exported = async (query = "", key: string = KEYS.dev): Promise<ExportDocument> => {
  const response = await call(`/v1-webhooks/receivers?projectId=1a5&action=export${query}`, { key });
  expect(response.status, await response.clone().text()).toBe(200);
  return json(response);
};

const restore = (body: unknown, projectId = "1a5", key: string = KEYS.dev) =>
  call(`/v1-webhooks/receivers?projectId=${projectId}&action=import`, {
    method: "POST",
    key,
    ...(typeof body === "string" ? { rawBody: body } : { body }),
  });

const restored = async (body: unknown) => {
  const response = await restore(body);
  expect(response.status, await response.clone().text()).toBe(200);
  return json<{
    type: string;
    imported: Json[];
    skipped: { name: string; receiverId: string; reason: string }[];
  }>(response);
};

/** The environment's receivers as management lists them (ids, names, versions, URLs). */
const listing = async () =>
  (await json(await call("/v1-webhooks/receivers?projectId=1a5&limit=1000"))).data
    .map((receiver: Json) => ({ id: receiver.id, name: receiver.name, url: receiver.url }))
    .sort((a: Json, b: Json) => a.id.localeCompare(b.id));

async function create(body: Json) {
  const response = await call("/v1-webhooks/receivers?projectId=1a5", { method: "POST", body });
  expect(response.status, await response.clone().text()).toBe(201);
  return json(response);
}

const entryOf = (document: ExportDocument, id: string) => {
  const entry = document.receivers.find((receiver) => receiver.id === id);
  if (!entry) throw new Error(`receiver ${id} is not in the export`);
  return entry;
};

/** A copy of an export's receiver as if it were another receiver of the environment. */
const anotherReceiver = (entry: Json, change: Json = {}): Json => ({
  ...structuredClone(entry),
  id: newId("r"),
  name: uniqueName("restored"),
  ...change,
});

const documentOf = (receivers: Json[]): ExportDocument => ({
  type: "receiverExport",
  version: 1,
  projectId: "1a5",
  exportedAt: new Date().toISOString(),
  receivers,
});

/**
 * Loses a receiver as a wiped account would (its record, its live version, its name) without
 * deleting it: what a restore is for.
 */
async function lose(receiver: Json) {
  const definition = DRIVERS[receiver.driver as Driver];
  const { type: _type, ...config } = receiver[definition.configField];
  const target = definition.targetName("1a5", config as never);
  await env.TARGETS.getByName(target).revoke(receiver.id);
  await env.PROJECTS.getByName("1a5").releaseName(receiver.name, receiver.id);
  if (receiver.importedFrom) await env.PROJECTS.getByName("1a5").forgetImport(receiver.id);
  await env.RECEIVERS.delete(`receiver:1a5:${receiver.id}`);
}

describe("export", () => {
  it("holds every receiver of the environment with what restores it, sender secrets only when asked", async () => {
    const plain = await createReceiver({ max: 7, cooldownSeconds: 30 });
    const bearer = await create({
      ...scaleServiceBody(),
      senderVerification: { scheme: "bearer", token: "bearer-secret-0123456789" },
    });
    const github = await create({
      ...scaleServiceBody(),
      senderVerification: { scheme: "github", secret: "github-secret-0123456789" },
    });
    const document = await exported();
    expect(document).toMatchObject({ type: "receiverExport", version: 1, projectId: "1a5" });
    expect(Date.parse(document.exportedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(entryOf(document, plain.id)).toEqual({
      id: plain.id,
      name: plain.name,
      driver: "scaleService",
      scaleServiceConfig: {
        serviceId: "1s1",
        action: "up",
        amount: 1,
        min: 1,
        max: 7,
        cooldownSeconds: 30,
        onResolved: "ignore",
      },
      version: 1,
      created: new Date(plain.createdTS).toISOString(),
    });
    // Bearer and basic are salted digests: they travel, the credential cannot be read from them.
    expect(entryOf(document, bearer.id)).toMatchObject({
      senderVerification: { scheme: "bearer" },
      senderCheck: { scheme: "bearer", salt: expect.any(String), digest: expect.any(String) },
    });
    expect(JSON.stringify(document)).not.toContain("bearer-secret-0123456789");
    // An HMAC key is the secret itself: left out unless asked.
    expect(entryOf(document, github.id).senderVerification).toEqual({ scheme: "github" });
    expect(entryOf(document, github.id)).not.toHaveProperty("senderCheck");
    const withSecrets = await exported("&includeSecrets=true");
    expect(entryOf(withSecrets, github.id).senderCheck).toEqual({
      scheme: "github",
      key: btoa("github-secret-0123456789"),
    });
    // Every receiver, not a page of them.
    expect(document.receivers.map((receiver) => receiver.id).sort()).toEqual(
      (await listing()).map((receiver: Json) => receiver.id),
    );
  });

  it("reads the store page by page to its end", async () => {
    const made = [await createReceiver(), await createReceiver(), await createReceiver()];
    const receivers = new Receivers(cloudflarePlatform(env), env);
    const caller = {
      projectId: "1a5",
      credentials: { accessKey: "", secretKey: "" },
      canWrite: async () => ({ ok: true as const, value: true }),
    };
    const paged = await exportReceivers(caller as never, receivers, { includeSecrets: false, pageSize: 2 });
    const whole = await exported();
    expect(paged.receivers.map((receiver) => receiver.id)).toEqual(
      whole.receivers.map((receiver) => receiver.id),
    );
    expect(paged.receivers.length).toBeGreaterThan(2);
    for (const receiver of made) expect(paged.receivers.map((entry) => entry.id)).toContain(receiver.id);
  });

  it("is the version a regenerate moved to", async () => {
    const receiver = await createReceiver();
    await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5&action=regenerate`, { method: "POST" });
    expect(entryOf(await exported(), receiver.id).version).toBe(2);
  });

  it("needs a key that may change the receivers, and knows no other action", async () => {
    const readOnly = await call("/v1-webhooks/receivers?projectId=1a5&action=export", { key: KEYS.readonly });
    expect(readOnly.status).toBe(403);
    const other = await call("/v1-webhooks/receivers?projectId=1a5&action=export", { key: KEYS.other });
    expect(other.status).toBe(403);
    const unknown = await call("/v1-webhooks/receivers?projectId=1a5&action=backup");
    expect(unknown.status).toBe(422);
    expect(await json(unknown)).toMatchObject({ code: "InvalidOption", fieldName: "action" });
    const flag = await call("/v1-webhooks/receivers?projectId=1a5&action=export&includeSecrets=yes");
    expect(flag.status).toBe(422);
    expect(await json(flag)).toMatchObject({ code: "InvalidOption", fieldName: "includeSecrets" });
  });
});

describe("restore", () => {
  it("brings lost receivers back with their ids and versions: their URLs trigger again, sender checks hold", async () => {
    const plain = await createReceiver({ max: 50 });
    const regenerated = await createReceiver({ max: 50 });
    const again = await call(`/v1-webhooks/receivers/${regenerated.id}?projectId=1a5&action=regenerate`, {
      method: "POST",
    });
    const regeneratedUrl = (await json(again)).url as string;
    const bearer = await create({
      ...scaleServiceBody({ max: 50 }),
      senderVerification: { scheme: "bearer", token: "bearer-secret-0123456789" },
    });
    const grafana = await create({
      ...scaleServiceBody({ max: 50 }),
      senderVerification: { scheme: "grafana", secret: "grafana-secret-0123456789", timestampHeader: "X-Ts" },
    });
    const backup = await exported("&includeSecrets=true");
    const before = await listing();
    for (const receiver of [plain, { ...regenerated, url: regeneratedUrl }, bearer, grafana])
      await lose(receiver);
    expect((await trigger(plain.url)).status).toBe(403);

    const result = await restored(backup);
    expect(result.type).toBe("importResult");
    expect(result.imported.map((receiver) => receiver.id).sort()).toEqual(
      [plain.id, regenerated.id, bearer.id, grafana.id].sort(),
    );
    expect(result.imported.find((receiver) => receiver.id === plain.id)?.url).toBe(plain.url);
    expect(await listing()).toEqual(before);

    expect(await json(await trigger(plain.url))).toMatchObject({ receiverId: plain.id, outcome: "applied" });
    expect(await json(await trigger(regeneratedUrl))).toMatchObject({ outcome: "applied" });
    expect((await trigger(regenerated.url)).status).toBe(403);
    // The bearer check came back from its digest: the token is still needed, and still enough.
    expect((await trigger(bearer.url)).status).toBe(401);
    const withToken = await trigger(bearer.url, {
      headers: { authorization: "Bearer bearer-secret-0123456789" },
    });
    expect(await json(withToken)).toMatchObject({ receiverId: bearer.id, outcome: "applied" });
    // Grafana's HMAC key came back from the export with its secret.
    expect((await trigger(grafana.url, { body: "{}" })).status).toBe(401);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = hex(await hmac("grafana-secret-0123456789", `${timestamp}:{}`));
    const signed = await trigger(grafana.url, {
      body: "{}",
      headers: { "x-grafana-alerting-signature": signature, "x-ts": timestamp },
    });
    expect(await json(signed)).toMatchObject({ receiverId: grafana.id, outcome: "applied" });
  });

  it("gives every kind of receiver back the URL it had: same target, config and version", async () => {
    const scaleHost = await create({
      name: uniqueName("hosts"),
      driver: "scaleHost",
      scaleHostConfig: { hostSelector: { pool: "workers" }, action: "up", amount: 1, max: 5 },
    });
    const upgrade = await create({
      name: uniqueName("push"),
      driver: "serviceUpgrade",
      serviceUpgradeConfig: { serviceSelector: { app: "worker" }, tag: "1.*", intervalMillis: 100 },
    });
    const backup = await exported();
    for (const receiver of [scaleHost, upgrade]) await lose(receiver);
    expect((await trigger(scaleHost.url)).status).toBe(403);
    const result = await restored(documentOf([entryOf(backup, scaleHost.id), entryOf(backup, upgrade.id)]));
    expect(result.imported.map((receiver) => [receiver.id, receiver.url])).toEqual([
      [scaleHost.id, scaleHost.url],
      [upgrade.id, upgrade.url],
    ]);
    expect(result.imported[1]?.serviceUpgradeConfig).toEqual(upgrade.serviceUpgradeConfig);
    expect((await trigger(scaleHost.url)).status).toBe(200);
  });

  it("finishes a restore that stopped part way, and leaves alone a receiver its target holds at another version", async () => {
    const stopped = await createReceiver();
    const moved = await createReceiver();
    const backup = await exported();
    // A restore that stopped after the target and before the record: what it left is live, unlisted.
    await env.RECEIVERS.delete(`receiver:1a5:${stopped.id}`);
    await call(`/v1-webhooks/receivers/${moved.id}?projectId=1a5&action=regenerate`, { method: "POST" });
    await env.RECEIVERS.delete(`receiver:1a5:${moved.id}`);
    const result = await restored(documentOf([entryOf(backup, stopped.id), entryOf(backup, moved.id)]));
    expect(result.imported.map((receiver) => [receiver.id, receiver.url])).toEqual([
      [stopped.id, stopped.url],
    ]);
    expect(result.skipped).toEqual([
      {
        name: moved.name,
        receiverId: moved.id,
        reason: `receiver ${moved.id} is already present (its target holds version 2)`,
      },
    ]);
    expect((await listing()).map((receiver: Json) => receiver.id)).toContain(stopped.id);
    expect((await trigger(stopped.url)).status).toBe(200);
    expect((await trigger(moved.url)).status).toBe(403);
  });

  it("twice changes nothing: every receiver is then skipped as present", async () => {
    const receiver = await createReceiver();
    const backup = await exported();
    const before = await listing();
    const result = await restored(backup);
    expect(result.imported).toEqual([]);
    expect(result.skipped).toContainEqual({
      name: receiver.name,
      receiverId: receiver.id,
      reason: `receiver ${receiver.id} is already present`,
    });
    expect(result.skipped).toHaveLength(backup.receivers.length);
    const entry = anotherReceiver(entryOf(backup, receiver.id));
    expect((await restored(documentOf([entry]))).imported.map((item) => item.id)).toEqual([entry.id]);
    const second = await restored(documentOf([entry]));
    expect(second.imported).toEqual([]);
    expect(second.skipped).toEqual([
      { name: entry.name, receiverId: entry.id, reason: `receiver ${entry.id} is already present` },
    ]);
    expect(await listing()).toEqual(
      [...before, { id: entry.id, name: entry.name, url: expect.any(String) }].sort((a, b) =>
        a.id.localeCompare(b.id),
      ),
    );
  });

  it("skips a receiver deleted here, a name another receiver holds, and a check whose secret was left out", async () => {
    const deleted = await createReceiver();
    const github = await create({
      ...scaleServiceBody(),
      senderVerification: { scheme: "github", secret: "github-secret-0123456789" },
    });
    const backup = await exported();
    await call(`/v1-webhooks/receivers/${deleted.id}?projectId=1a5`, { method: "DELETE" });
    await lose(github);
    const holder = await createReceiver();
    const sameName = anotherReceiver(entryOf(backup, deleted.id), { name: holder.name });
    const before = await listing();

    const result = await restored(
      documentOf([entryOf(backup, deleted.id), entryOf(backup, github.id), sameName]),
    );
    expect(result.imported).toEqual([]);
    expect(result.skipped).toEqual([
      {
        name: deleted.name,
        receiverId: deleted.id,
        reason: `receiver ${deleted.id} was deleted in this environment; a restore does not bring it back`,
      },
      {
        name: github.name,
        receiverId: github.id,
        reason:
          "its github sender secret is not in the export (export with includeSecrets=true, or create it anew)",
      },
      {
        name: holder.name,
        receiverId: sameName.id,
        reason: `a receiver named "${holder.name}" already exists in this environment`,
      },
    ]);
    expect(await listing()).toEqual(before);
    expect((await trigger(deleted.url)).status).toBe(403);
    expect((await trigger(github.url)).status).toBe(403);
  });

  it("brings back an imported receiver's webhook-service URL with it", async () => {
    const imported = await json(
      await call("/v1-webhooks/receivers?projectId=1a5&action=import", { method: "POST" }),
    );
    const first = imported.imported.find((receiver: Json) => receiver.importedFrom === "1go1");
    const legacyUrl = "/v1-webhooks/endpoint?key=pqBYqbi51bUmXMQ4vAgQKoFSNjRRcKTfZkG9ZoB7&projectId=1a5";
    expect((await call(legacyUrl, { method: "POST", key: null })).status).toBe(200);
    const backup = await exported();
    await lose(first);
    expect((await call(legacyUrl, { method: "POST", key: null })).status).toBe(403);
    const result = await restored(documentOf([entryOf(backup, first.id)]));
    expect(result.imported.map((receiver) => [receiver.id, receiver.importedFrom])).toEqual([
      [first.id, "1go1"],
    ]);
    expect(await json(await call(legacyUrl, { method: "POST", key: null }))).toMatchObject({
      receiverId: first.id,
      outcome: "applied",
    });
    // A second webhook-service import finds it imported already.
    const again = await json(
      await call("/v1-webhooks/receivers?projectId=1a5&action=import", { method: "POST" }),
    );
    expect(again.imported.map((receiver: Json) => receiver.importedFrom)).not.toContain("1go1");
    for (const receiver of imported.imported) {
      await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, { method: "DELETE" });
    }
  });

  it("skips a receiver whose webhook-service key another receiver holds: one key, one receiver", async () => {
    const imported = await json(
      await call("/v1-webhooks/receivers?projectId=1a5&action=import", { method: "POST" }),
    );
    const first = imported.imported.find((receiver: Json) => receiver.importedFrom === "1go1");
    expect(first).toBeDefined();
    const backup = await exported();
    const entry = entryOf(backup, first.id);
    expect(entry.importedFrom).toBe("1go1");
    expect(entry.legacyKeys).toEqual([
      {
        genericObjectId: "1go1",
        originalDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
        keyDigest: entry.legacyKeys[0].originalDigest,
      },
    ]);
    const copy = anotherReceiver(entry);
    const before = await listing();
    const result = await restored(documentOf([copy]));
    expect(result.imported).toEqual([]);
    expect(result.skipped).toEqual([
      {
        name: copy.name,
        receiverId: copy.id,
        reason: `webhook-service generic object 1go1 is already imported as receiver ${first.id}`,
      },
    ]);
    // Another generic object id with the same key: the key alone decides.
    const sameKey = anotherReceiver(entry, {
      legacyKeys: [{ ...entry.legacyKeys[0], genericObjectId: "1go99" }],
      importedFrom: "1go99",
    });
    expect((await restored(documentOf([sameKey]))).skipped[0]?.reason).toBe(
      `its original webhook-service URL already triggers receiver ${first.id}`,
    );
    expect(await listing()).toEqual(before);
    for (const receiver of imported.imported) {
      await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, { method: "DELETE" });
    }
  });

  it("refuses a document that is not this environment's export, and writes nothing", async () => {
    const receiver = await createReceiver();
    const backup = await exported("&includeSecrets=true");
    const valid = anotherReceiver(entryOf(backup, receiver.id));
    const withBad = (bad: Json) => documentOf([valid, bad]);
    const before = await listing();
    const cases: [unknown, number, Json][] = [
      [{ ...documentOf([valid]), projectId: "1a7" }, 422, { code: "InvalidOption", fieldName: "projectId" }],
      [{ ...documentOf([valid]), version: 2 }, 422, { code: "InvalidOption", fieldName: "version" }],
      [{ ...documentOf([valid]), type: "receiver" }, 422, { code: "InvalidOption", fieldName: "type" }],
      [
        { ...documentOf([valid]), receivers: undefined },
        422,
        { code: "MissingRequired", fieldName: "receivers" },
      ],
      [{ ...documentOf([valid]), extra: 1 }, 422, { code: "InvalidOption", fieldName: "extra" }],
      ["[1,", 422, { code: "InvalidFormat" }],
      [
        withBad(
          anotherReceiver(valid, { scaleServiceConfig: { ...valid.scaleServiceConfig, min: 5, max: 2 } }),
        ),
        422,
        { code: "MaxLimitExceeded", fieldName: "receivers.1.scaleServiceConfig.max" },
      ],
      [
        withBad(anotherReceiver(valid, { scaleServiceConfig: { ...valid.scaleServiceConfig, amount: 0 } })),
        422,
        { code: "MinLimitExceeded", fieldName: "receivers.1.scaleServiceConfig.amount" },
      ],
      [
        withBad(anotherReceiver(valid, { driver: "scaleHost" })),
        422,
        { code: "InvalidOption", fieldName: "receivers.1.scaleServiceConfig" },
      ],
      [
        withBad(anotherReceiver(valid, { id: "1s1" })),
        422,
        { code: "InvalidFormat", fieldName: "receivers.1.id" },
      ],
      [
        withBad(anotherReceiver(valid, { version: 0 })),
        422,
        { code: "MinLimitExceeded", fieldName: "receivers.1.version" },
      ],
      [
        withBad(anotherReceiver(valid, { created: "yesterday" })),
        422,
        { code: "InvalidFormat", fieldName: "receivers.1.created" },
      ],
      [
        withBad(anotherReceiver(valid, { name: "" })),
        422,
        { code: "MinLimitExceeded", fieldName: "receivers.1.name" },
      ],
      [
        withBad(anotherReceiver(valid, { url: "http://x" })),
        422,
        { code: "InvalidOption", fieldName: "receivers.1.url" },
      ],
      [withBad({ ...valid, name: uniqueName() }), 422, { code: "NotUnique", fieldName: "receivers.1.id" }],
      [
        withBad(anotherReceiver(valid, { name: valid.name })),
        422,
        { code: "NotUnique", fieldName: "receivers.1.name" },
      ],
      [
        withBad(anotherReceiver(valid, { senderCheck: { scheme: "github", key: "a2V5" } })),
        422,
        { code: "MissingRequired", fieldName: "receivers.1.senderVerification" },
      ],
      [
        withBad(
          anotherReceiver(valid, {
            senderVerification: { scheme: "bearer" },
            senderCheck: { scheme: "github", key: "a2V5" },
          }),
        ),
        422,
        { code: "InvalidOption", fieldName: "receivers.1.senderCheck.scheme" },
      ],
      [
        withBad(
          anotherReceiver(valid, {
            senderVerification: { scheme: "bearer" },
            senderCheck: { scheme: "bearer", salt: "not base64!", digest: "a2V5" },
          }),
        ),
        422,
        { code: "InvalidFormat", fieldName: "receivers.1.senderCheck.salt" },
      ],
      [
        withBad(
          anotherReceiver(valid, {
            importedFrom: "1go1",
            legacyKeys: [{ genericObjectId: "1go1", originalDigest: "abc", keyDigest: null }],
          }),
        ),
        422,
        { code: "InvalidFormat", fieldName: "receivers.1.legacyKeys.0.originalDigest" },
      ],
    ];
    for (const [body, status, error] of cases) {
      const response = await restore(body);
      expect(response.status, JSON.stringify(body).slice(0, 200)).toBe(status);
      expect(await json(response)).toMatchObject(error);
      expect(await listing()).toEqual(before);
    }
  });

  it("takes a whole environment in one request: 1000 receivers, past the 64 KiB of other bodies", async () => {
    const receiver = await createReceiver();
    const entry = entryOf(await exported(), receiver.id);
    const many = Array.from({ length: 1000 }, () => anotherReceiver(entry));
    // The last one is wrong, so the document is read to its end and nothing is written.
    const last = many[999] as Json;
    last.scaleServiceConfig = { ...last.scaleServiceConfig, max: 0 };
    const body = JSON.stringify(documentOf(many));
    expect(body.length).toBeGreaterThan(64 * 1024);
    const before = await listing();
    const response = await restore(body);
    expect(await json(response)).toMatchObject({
      status: 422,
      fieldName: "receivers.999.scaleServiceConfig.max",
    });
    expect(await listing()).toEqual(before);

    const tooLarge = await restore(`{"receivers":[${"0,".repeat(4.5 * 1024 * 1024)}0]}`);
    expect(tooLarge.status).toBe(413);
    expect(await json(tooLarge)).toMatchObject({ code: "TooLarge" });
    // Any other body keeps its 64 KiB.
    const create = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      rawBody: JSON.stringify({ ...scaleServiceBody(), padding: "x".repeat(70 * 1024) }),
    });
    expect(create.status).toBe(413);
  });

  it("needs a key that may change the receivers", async () => {
    const backup = await exported();
    const readOnly = await restore(backup, "1a5", KEYS.readonly);
    expect(readOnly.status).toBe(403);
    const otherEnvironment = await restore(backup, "1a7", KEYS.other);
    expect(await json(otherEnvironment)).toMatchObject({ status: 422, fieldName: "projectId" });
  });
});
