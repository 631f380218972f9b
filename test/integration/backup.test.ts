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
  setFaults,
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
  await env.TARGETS.getByName(target).unregister(receiver.id);
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
    // An HMAC key is the secret itself, and a bearer or basic digest of a chosen password can be
    // guessed from offline: both are left out unless asked.
    expect(entryOf(document, github.id).senderVerification).toEqual({ scheme: "github" });
    expect(entryOf(document, github.id)).not.toHaveProperty("senderCheck");
    expect(entryOf(document, bearer.id).senderVerification).toEqual({ scheme: "bearer" });
    expect(entryOf(document, bearer.id)).not.toHaveProperty("senderCheck");
    const withSecrets = await exported("&includeSecrets=true");
    expect(entryOf(withSecrets, github.id).senderCheck).toEqual({
      scheme: "github",
      key: btoa("github-secret-0123456789"),
    });
    expect(entryOf(withSecrets, bearer.id)).toMatchObject({
      senderVerification: { scheme: "bearer" },
      senderCheck: { scheme: "bearer", salt: expect.any(String), digest: expect.any(String) },
    });
    expect(JSON.stringify(withSecrets)).not.toContain("bearer-secret-0123456789");
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

  it("takes up to 500 receivers in one request, past the 64 KiB of other bodies, and refuses more", async () => {
    const receiver = await createReceiver();
    const entry = entryOf(await exported(), receiver.id);
    const many = Array.from({ length: 500 }, () => anotherReceiver(entry));
    // The last one is wrong, so the document is read to its end and nothing is written.
    const last = many[499] as Json;
    last.scaleServiceConfig = { ...last.scaleServiceConfig, max: 0 };
    const body = JSON.stringify(documentOf(many));
    expect(body.length).toBeGreaterThan(64 * 1024);
    const before = await listing();
    const response = await restore(body);
    expect(await json(response)).toMatchObject({
      status: 422,
      fieldName: "receivers.499.scaleServiceConfig.max",
    });
    expect(await listing()).toEqual(before);
    // One more than a restore takes, every one of them valid: refused whole.
    const tooMany = await restore(
      documentOf([...many.slice(0, 499), anotherReceiver(entry), anotherReceiver(entry)]),
    );
    expect(tooMany.status).toBe(422);
    expect(await json(tooMany)).toMatchObject({ code: "MaxLimitExceeded", fieldName: "receivers" });
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

describe("restore checks", () => {
  const legacyUrl = "/v1-webhooks/endpoint?key=pqBYqbi51bUmXMQ4vAgQKoFSNjRRcKTfZkG9ZoB7&projectId=1a5";

  /** The environment's webhook-service receivers imported, and the one of generic object 1go1. */
  async function importLegacy() {
    const result = await json(
      await call("/v1-webhooks/receivers?projectId=1a5&action=import", { method: "POST" }),
    );
    const first = result.imported.find((receiver: Json) => receiver.importedFrom === "1go1");
    expect(first).toBeDefined();
    return { all: result.imported as Json[], first: first as Json };
  }

  const removeAll = async (receivers: Json[]) => {
    for (const receiver of receivers) {
      await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, { method: "DELETE" });
    }
  };

  it("skips a receiver whose target the caller could not create a receiver for, with create's reason", async () => {
    const receiver = await createReceiver();
    const entry = entryOf(await exported(), receiver.id);
    // 1s9 is a service of environment 1a7: dev-access, a writer of 1a5, cannot create a receiver for it.
    const refusal = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: scaleServiceBody({ serviceId: "1s9" }),
    });
    expect(refusal.status).toBeGreaterThanOrEqual(400);
    expect(refusal.status).toBeLessThan(500);
    const { message } = await json(refusal);
    const foreign = anotherReceiver(entry, {
      scaleServiceConfig: { ...entry.scaleServiceConfig, serviceId: "1s9" },
    });
    const before = await listing();
    const result = await restored(documentOf([foreign]));
    expect(result.imported).toEqual([]);
    expect(result.skipped).toEqual([{ name: foreign.name, receiverId: foreign.id, reason: message }]);
    expect(await listing()).toEqual(before);
    expect(await env.TARGETS.getByName("scaleService:1a5:1s9").liveReceivers([foreign.id])).toEqual([]);
  });

  it("skips a receiver while Rancher cannot be reached, and a second run restores it", async () => {
    const receiver = await createReceiver();
    const copy = anotherReceiver(entryOf(await exported(), receiver.id));
    const before = await listing();
    await setFaults({ status: 503, count: 1000 });
    let result: Awaited<ReturnType<typeof restored>>;
    try {
      result = await restored(documentOf([copy]));
    } finally {
      await setFaults({ count: 0 });
    }
    expect(result.imported).toEqual([]);
    expect(result.skipped).toEqual([
      {
        name: copy.name,
        receiverId: copy.id,
        reason: "Rancher could not be reached to check its target; run the same restore again to complete it",
      },
    ]);
    expect(await listing()).toEqual(before);
    const again = await restored(documentOf([copy]));
    expect(again.imported.map((item) => item.id)).toEqual([copy.id]);
  }, 60_000);

  it("does not bring back a webhook-service URL a regenerate retired, under any receiver", async () => {
    const { all, first } = await importLegacy();
    await call(`/v1-webhooks/receivers/${first.id}?projectId=1a5&action=regenerate`, { method: "POST" });
    expect((await call(legacyUrl, { method: "POST", key: null })).status).toBe(403);
    const entry = entryOf(await exported(), first.id);
    const [key] = entry.legacyKeys;
    expect(key).toEqual({
      genericObjectId: "1go1",
      originalDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      keyDigest: null,
    });
    const before = await listing();
    // A key digest that is neither the original's nor null is not an export's.
    const otherKey = anotherReceiver(entry, { legacyKeys: [{ ...key, keyDigest: "f".repeat(64) }] });
    const refused = await restore(documentOf([otherKey]));
    expect(refused.status).toBe(422);
    expect(await json(refused)).toMatchObject({
      code: "InvalidOption",
      fieldName: "receivers.0.legacyKeys.0.keyDigest",
    });
    // The retired key claimed as live, for another receiver under another generic object id.
    const revive = anotherReceiver(entry, {
      importedFrom: "1go99",
      legacyKeys: [
        { genericObjectId: "1go99", originalDigest: key.originalDigest, keyDigest: key.originalDigest },
      ],
    });
    const result = await restored(documentOf([revive]));
    expect(result.imported).toEqual([]);
    expect(result.skipped).toEqual([
      {
        name: revive.name,
        receiverId: revive.id,
        reason: `its webhook-service key belongs to receiver ${first.id}, whose original URL a regenerate retired`,
      },
    ]);
    expect((await call(legacyUrl, { method: "POST", key: null })).status).toBe(403);
    expect(await listing()).toEqual(before);
    await removeAll(all);
  });

  it("gives a webhook-service key to one of two restores that race for it: the first keeps its URL", async () => {
    const { all, first } = await importLegacy();
    const entry = entryOf(await exported(), first.id);
    await lose(first);
    const rival = anotherReceiver(entry);
    const results = await Promise.all([restored(documentOf([entry])), restored(documentOf([rival]))]);
    const imported = results.flatMap((result) => result.imported.map((receiver) => receiver.id));
    const skipped = results.flatMap((result) => result.skipped);
    expect(imported).toHaveLength(1);
    const [winner] = imported;
    const loser = winner === entry.id ? rival : entry;
    expect(skipped).toEqual([
      {
        name: loser.name,
        receiverId: loser.id,
        reason: `webhook-service generic object 1go1 is already imported as receiver ${winner}`,
      },
    ]);
    expect(await json(await call(legacyUrl, { method: "POST", key: null }))).toMatchObject({
      receiverId: winner,
      outcome: "applied",
    });
    const ids = (await listing()).map((receiver: Json) => receiver.id);
    expect(ids).toContain(winner);
    expect(ids).not.toContain(loser.id);
    await removeAll([...all.filter((receiver) => receiver.id !== first.id), { id: winner }]);
  });

  it("keeps a restored receiver's webhook-service key from a later webhook-service import", async () => {
    const { all, first } = await importLegacy();
    const entry = entryOf(await exported(), first.id);
    const [key] = entry.legacyKeys;
    await removeAll(all);
    // The same key restored under another generic object id: the key alone decides who holds it.
    const holder = anotherReceiver(entry, {
      importedFrom: "1go99",
      legacyKeys: [{ ...key, genericObjectId: "1go99" }],
    });
    expect((await restored(documentOf([holder]))).imported.map((receiver) => receiver.id)).toEqual([
      holder.id,
    ]);
    const again = await json(
      await call("/v1-webhooks/receivers?projectId=1a5&action=import", { method: "POST" }),
    );
    expect(again.imported.map((receiver: Json) => receiver.importedFrom)).not.toContain("1go1");
    expect(again.skipped).toContainEqual({
      name: first.name,
      genericObjectId: "1go1",
      reason: `its original webhook-service URL already triggers receiver ${holder.id}`,
    });
    expect(await json(await call(legacyUrl, { method: "POST", key: null }))).toMatchObject({
      receiverId: holder.id,
      outcome: "applied",
    });
    expect((await listing()).map((receiver: Json) => receiver.name)).not.toContain(first.name);
    await removeAll([...again.imported, holder]);
  });

  it("repeats at most about 100 characters of a value or key it refuses, whatever its size", async () => {
    const hugeId = await restore({ ...documentOf([]), projectId: "1".repeat(7 * 1024 * 1024) });
    expect(hugeId.status).toBe(422);
    const hugeIdText = await hugeId.text();
    expect(hugeIdText.length).toBeLessThan(2048);
    expect(JSON.parse(hugeIdText)).toMatchObject({ code: "InvalidFormat", fieldName: "projectId" });

    const hugeKey = await restore({ ...documentOf([]), ["k".repeat(1024 * 1024)]: 1 });
    expect(hugeKey.status).toBe(422);
    const hugeKeyText = await hugeKey.text();
    expect(hugeKeyText.length).toBeLessThan(2048);
    expect(JSON.parse(hugeKeyText)).toMatchObject({
      code: "InvalidOption",
      fieldName: expect.stringMatching(/^k{100}…/),
    });
    // Any route: an unknown key in a create body, and an unknown action.
    const create = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: { ...scaleServiceBody(), ["x".repeat(50 * 1024)]: 1 },
    });
    expect(create.status).toBe(422);
    expect((await create.text()).length).toBeLessThan(2048);
    const action = await call(`/v1-webhooks/receivers?projectId=1a5&action=${"a".repeat(50 * 1024)}`);
    expect(action.status).toBe(422);
    expect((await action.text()).length).toBeLessThan(2048);
  });
});

describe("export in parts", () => {
  it("gives `limit` receivers from `marker` and the next part's marker; a part restores as it is", async () => {
    for (let i = 0; i < 3; i++) await createReceiver();
    const whole = await exported();
    const ids: string[] = [];
    const parts: ExportDocument[] = [];
    let marker: string | undefined;
    do {
      const part: ExportDocument & { next?: string } = await exported(
        `&limit=2${marker ? `&marker=${encodeURIComponent(marker)}` : ""}`,
      );
      expect(part.receivers.length).toBeLessThanOrEqual(2);
      parts.push(part);
      ids.push(...part.receivers.map((receiver) => receiver.id));
      marker = part.next;
    } while (marker);
    expect(parts.length).toBeGreaterThan(1);
    expect(ids).toEqual(whole.receivers.map((receiver) => receiver.id));
    expect(whole).not.toHaveProperty("next");

    const [firstPart] = parts;
    const lost = firstPart?.receivers[0] as Json;
    await lose({ ...lost, scaleServiceConfig: { ...lost.scaleServiceConfig } });
    const result = await restored(firstPart);
    expect(result.imported.map((receiver) => receiver.id)).toEqual([lost.id]);

    const badMarker = await call("/v1-webhooks/receivers?projectId=1a5&action=export&marker=nonsense", {});
    expect(badMarker.status).toBe(422);
    expect(await json(badMarker)).toMatchObject({ fieldName: "marker" });
  });

  it("asks a few targets at a time, and the environment's imports once a page", async () => {
    const config = { action: "up", amount: 1, min: 1, max: 2, cooldownSeconds: 0, onResolved: "ignore" };
    const records = Array.from({ length: 20 }, (_, index) => ({
      id: newId("r"),
      projectId: "1a5",
      name: `n${index}`,
      driver: "scaleService",
      config: { serviceId: `1s${index}`, ...config },
      target: `scaleService:1a5:1s${index}`,
      version: 1,
      created: Date.now(),
      importedFrom: `1go${index}`,
    }));
    let open = 0;
    let most = 0;
    const importQueries: string[][] = [];
    const fake = {
      store: { list: async () => ({ records }) },
      project: () => ({
        importsOf: async (ids: string[]) => {
          importQueries.push(ids);
          return {};
        },
      }),
      liveReceivers: async () => {
        open++;
        most = Math.max(most, open);
        await new Promise((resolve) => setTimeout(resolve, 5));
        open--;
        return [];
      },
    };
    const caller = { projectId: "1a5" };
    const document = await exportReceivers(caller as never, fake as never, { includeSecrets: false });
    expect(document.receivers).toHaveLength(20);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(6);
    expect(importQueries).toEqual([records.map((record) => record.id)]);
  });
});
