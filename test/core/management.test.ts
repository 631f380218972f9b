import { describe, expect, it, vi } from "vitest";
import type { Caller } from "../../src/access/authorize";
import type { DriverConfig } from "../../src/domain/driver";
import type { Platform, Project, ReceiverPage, ReceiverStore, Target } from "../../src/domain/ports";
import type { ReceiverRecord } from "../../src/domain/receiver";
import type { Settings } from "../../src/domain/settings";
import { ProjectCore } from "../../src/project/core";
import { importFromWebhookService } from "../../src/receivers/import";
import { type ReceiverCreate, receiverCreateSchema } from "../../src/receivers/input";
import { NAME_CLAIM_GRACE_MS, Receivers } from "../../src/receivers/manage";
import { sha256Hex } from "../../src/util/sha256";
import { memoryStorage, newTarget } from "./fakes";

/**
 * Management of one receiver, raced: each test holds one call to a target, the environment's
 * object or the record store at the point a red team found, lets the other operation run, then
 * releases it. The end state and every answer must be those of some serial order of the two
 * (docs/api.md, "Management").
 */

const PROJECT = "1a5";
const TARGET = `scaleService:${PROJECT}:1s1`;
const KEY = "pqBYqbi51bUmXMQ4vAgQKoFSNjRRcKTfZkG9ZoB7";

/** Holds chosen calls (`target.revoke`, `store.put`, …) until the test lets them go. */
class Gates {
  readonly #holds = new Map<string, { reached: () => void; released: Promise<void> }[]>();

  /** Holds the next call named `name`: `reached` settles when it is made, `release` lets it run. */
  hold(name: string): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const list = this.#holds.get(name) ?? [];
    list.push({ reached, released });
    this.#holds.set(name, list);
    return { reached: arrived, release };
  }

  async pass(name: string): Promise<void> {
    const hold = this.#holds.get(name)?.shift();
    if (!hold) return;
    hold.reached();
    await hold.released;
  }

  /** Every method of `core` as an asynchronous call that passes `label.method` first. */
  wrap<T>(label: string, core: object): T {
    return new Proxy(core, {
      get: (target, name) => {
        const value = Reflect.get(target, name);
        if (typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          await this.pass(`${label}.${String(name)}`);
          // Copied both ways, as a call to another object is.
          return structuredClone(await value.apply(target, structuredClone(args)));
        };
      },
    }) as T;
  }
}

/** Records in memory, as KV keeps them, by environment and id. */
class MemoryStore implements ReceiverStore {
  readonly records = new Map<string, ReceiverRecord>();

  async get(projectId: string, id: string) {
    const record = this.records.get(`${projectId}:${id}`);
    return record ? structuredClone(record) : null;
  }

  async put(record: ReceiverRecord) {
    this.records.set(`${record.projectId}:${record.id}`, structuredClone(record));
  }

  async delete(projectId: string, id: string) {
    this.records.delete(`${projectId}:${id}`);
  }

  async list(projectId: string): Promise<ReceiverPage> {
    return { records: [...this.records.values()].filter((record) => record.projectId === projectId) };
  }
}

/** The receivers of one environment whose targets are cores over node:sqlite; Cattle says yes. */
class CheckedReceivers extends Receivers {
  override async resolveTarget(_caller: Caller, _input: DriverConfig): Promise<string> {
    return TARGET;
  }
}

/** webhook-service's generic objects as Cattle lists them, for an import. */
const genericObjects: Record<string, unknown>[] = [];

function world() {
  const gates = new Gates();
  const target = newTarget();
  const project = new ProjectCore(memoryStorage());
  const store = new MemoryStore();
  const platform: Platform = {
    receivers: gates.wrap<ReceiverStore>("store", store),
    target: () => gates.wrap<Target>("target", target.core),
    project: () => gates.wrap<Project>("project", project),
  };
  const settings: Settings = {
    CATTLE_URL: "http://cattle.test/v2-beta",
    CATTLE_ACCESS_KEY: "service",
    CATTLE_SECRET_KEY: "secret",
    WEBHOOK_SIGNING_KEYS: "",
    CATTLE: {
      fetch: async () => Response.json({ type: "collection", data: genericObjects }),
    },
  };
  const receivers = new CheckedReceivers(platform, settings);
  const caller: Caller = {
    credentials: { accessKey: "dev", secretKey: "secret" },
    projectId: PROJECT,
    canWrite: async () => ({ ok: true, value: true }) as never,
  };
  const input = (name: string): ReceiverCreate =>
    receiverCreateSchema().parse({
      name,
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 10 },
    }) as ReceiverCreate;

  /** Where a receiver stands, from every side: what management, KV, the target and triggers say. */
  const standing = async (record: ReceiverRecord, versions: number[]) => ({
    found: (await receivers.find(PROJECT, record.id))?.version ?? null,
    stored: store.records.get(`${PROJECT}:${record.id}`)?.version ?? null,
    live: target.core.liveReceivers([record.id]).map((receiver) => receiver.version),
    triggers: await Promise.all(
      versions.map(async (version) => (await target.core.trigger(record.id, version, {})).kind),
    ),
  });

  /** Gone for good: no side shows it, no URL of it works, and (unless another took it) its name is free. */
  const expectGone = async (record: ReceiverRecord, versions: number[], nameFree = true) => {
    expect(await standing(record, versions)).toEqual({
      found: null,
      stored: null,
      live: [],
      triggers: versions.map(() => "revoked"),
    });
    if (nameFree) expect(project.claimName(record.name, "r-someone-else")).toBe(true);
  };

  return { gates, target, project, store, receivers, caller, input, standing, expectGone, settings };
}

describe("delete and regenerate of one receiver, raced", () => {
  it("a regenerate that reaches the target after a delete answers 404 and brings nothing back", async () => {
    const { gates, receivers, caller, input, expectGone } = world();
    const record = await receivers.create(caller, input("web"));
    const held = gates.hold("project.recordDeletion");
    const deleting = receivers.remove(record);
    await held.reached;
    // The delete has revoked at the target; KV still holds the record the regenerate read.
    expect(await receivers.find(PROJECT, record.id)).toBeNull();
    await expect(receivers.regenerate(record)).rejects.toMatchObject({ status: 404 });
    held.release();
    expect(await deleting).toBe(true);
    await expectGone(record, [1, 2]);
  });

  it("a regenerate that reaches the target first, its KV write landing after the delete's, leaves it gone", async () => {
    const { gates, receivers, caller, input, expectGone } = world();
    const record = await receivers.create(caller, input("web"));
    const held = gates.hold("store.put");
    const regenerating = receivers.regenerate(record);
    await held.reached;
    expect(await receivers.remove(record)).toBe(true);
    held.release();
    // Serially: regenerated (version 2), then deleted.
    expect((await regenerating).version).toBe(2);
    await expectGone(record, [1, 2]);
  });
});

describe("delete and sender-check change of one receiver, raced", () => {
  const change = { senderVerification: { scheme: "bearer" as const, token: "bearer-secret-0123456789" } };

  it("a sender-check change after the delete at the target answers 404 and brings nothing back", async () => {
    const { gates, receivers, caller, input, expectGone } = world();
    const record = await receivers.create(caller, input("web"));
    const held = gates.hold("project.recordDeletion");
    const deleting = receivers.remove(record);
    await held.reached;
    await expect(receivers.regenerate(record, change)).rejects.toMatchObject({ status: 404 });
    held.release();
    expect(await deleting).toBe(true);
    await expectGone(record, [1, 2]);
  });

  it("a sender-check change first at the target, its KV write after the delete's, leaves it gone", async () => {
    const { gates, receivers, caller, input, expectGone } = world();
    const record = await receivers.create(caller, input("web"));
    const held = gates.hold("store.put");
    const changing = receivers.regenerate(record, change);
    await held.reached;
    expect(await receivers.remove(record)).toBe(true);
    held.release();
    expect(await changing).toMatchObject({ version: 2, senderVerification: { scheme: "bearer" } });
    await expectGone(record, [1, 2]);
  });
});

describe("two regenerates of one receiver, raced", () => {
  const bearer = { senderVerification: { scheme: "bearer" as const, token: "bearer-secret-0123456789" } };

  it("the KV record ends at the target's version when the first one's write lands last", async () => {
    const { gates, receivers, caller, input, standing } = world();
    const record = await receivers.create(caller, input("web"));
    const held = gates.hold("store.put");
    const first = receivers.regenerate(record, bearer);
    await held.reached;
    // The second read the record before the first wrote it: it keeps the sender check the target has.
    const second = await receivers.regenerate(record);
    held.release();
    expect(await first).toMatchObject({ version: 2, senderVerification: { scheme: "bearer" } });
    expect(second).toMatchObject({ version: 3, senderVerification: { scheme: "bearer" } });
    expect(await standing(record, [1, 2])).toMatchObject({
      found: 3,
      stored: 3,
      live: [3],
      triggers: ["revoked", "revoked"],
    });
    expect((await receivers.find(PROJECT, record.id))?.senderVerification).toEqual({ scheme: "bearer" });
  });

  it("the sender check the target ended with is the record's, whichever write lands last", async () => {
    const { gates, receivers, store, caller, input } = world();
    const record = await receivers.create(caller, input("web"));
    const held = gates.hold("store.put");
    const first = receivers.regenerate(record);
    await held.reached;
    const second = await receivers.regenerate(record, bearer);
    held.release();
    expect(await first).toMatchObject({ version: 2 });
    expect((await first).senderVerification).toBeUndefined();
    expect(second).toMatchObject({ version: 3, senderVerification: { scheme: "bearer" } });
    expect(store.records.get(`${PROJECT}:${record.id}`)).toMatchObject({
      version: 3,
      senderVerification: { scheme: "bearer" },
    });
  });
});

describe("two deletes of one receiver, raced", () => {
  it("the one the target took first answers deleted, the other not found", async () => {
    const { gates, receivers, caller, input, expectGone } = world();
    const record = await receivers.create(caller, input("web"));
    const held = gates.hold("project.recordDeletion");
    const first = receivers.remove(record);
    await held.reached;
    expect(await receivers.remove(record)).toBe(false);
    held.release();
    expect(await first).toBe(true);
    await expectGone(record, [1]);
  });

  it("also when the later one at the target finishes first", async () => {
    const { gates, receivers, caller, input, expectGone } = world();
    const record = await receivers.create(caller, input("web"));
    const held = gates.hold("target.revoke");
    const first = receivers.remove(record);
    await held.reached;
    expect(await receivers.remove(record)).toBe(true);
    held.release();
    expect(await first).toBe(false);
    await expectGone(record, [1]);
  });
});

describe("delete and import of one receiver, raced", () => {
  const importedAs = async () => {
    genericObjects.length = 0;
    genericObjects.push({
      id: "1go1",
      type: "genericObject",
      kind: "webhookReceiver",
      name: "scale-web-up",
      key: KEY,
      resourceData: {
        driver: "scaleService",
        config: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 5 },
      },
    });
  };

  it("an import of its generic object during the delete makes a new receiver, the only one with its URL", async () => {
    await importedAs();
    const { gates, receivers, project, caller, settings, expectGone } = world();
    const [record] = (await importFromWebhookService(caller, receivers, settings)).imported;
    if (!record) throw new Error("nothing imported");
    const held = gates.hold("project.recordDeletion");
    const deleting = receivers.remove(record);
    await held.reached;
    // Serially: deleted, then imported again.
    const again = await importFromWebhookService(caller, receivers, settings);
    held.release();
    expect(await deleting).toBe(true);
    expect(again.skipped).toEqual([]);
    const [next] = again.imported;
    expect(next?.id).not.toBe(record.id);
    expect(project.legacyRoute(await sha256Hex(KEY))?.receiverId).toBe(next?.id);
    expect(project.importedAs("1go1", await sha256Hex(KEY))).toBe(next?.id);
    // The first receiver is gone; its name went to the new one.
    await expectGone(record, [1], false);
    expect(await receivers.find(PROJECT, next?.id ?? "")).toMatchObject({ name: record.name });
  });

  it("an import before the delete at the target is skipped, and the delete then frees the URL", async () => {
    await importedAs();
    const { gates, receivers, project, caller, settings, expectGone } = world();
    const [record] = (await importFromWebhookService(caller, receivers, settings)).imported;
    if (!record) throw new Error("nothing imported");
    const held = gates.hold("target.revoke");
    const deleting = receivers.remove(record);
    await held.reached;
    const again = await importFromWebhookService(caller, receivers, settings);
    expect(again.imported).toEqual([]);
    expect(again.skipped).toEqual([
      { name: "scale-web-up", genericObjectId: "1go1", reason: `already imported as receiver ${record.id}` },
    ]);
    held.release();
    expect(await deleting).toBe(true);
    await expectGone(record, [1]);
    expect(project.legacyRoute(await sha256Hex(KEY))).toBeNull();
  });
});

describe("delete and restore of one receiver, raced", () => {
  it("a restore during the delete is skipped, and one after it too", async () => {
    const { gates, receivers, caller, input, expectGone } = world();
    const record = await receivers.create(caller, input("web"));
    const checked = new Map([[JSON.stringify([record.driver, record.config]), Promise.resolve(null)]]);
    const held = gates.hold("store.delete");
    const deleting = receivers.remove(record);
    await held.reached;
    expect(await receivers.restore(caller, record, undefined, [], checked)).toMatch(
      /already present|was deleted/,
    );
    held.release();
    expect(await deleting).toBe(true);
    expect(await receivers.restore(caller, record, undefined, [], checked)).toMatch(/was deleted/);
    await expectGone(record, [1]);
  });

  it("a restore never brings back a receiver its target deleted, even where the environment forgot it", async () => {
    const { receivers, caller, input, expectGone } = world();
    const record = await receivers.create(caller, input("web"));
    const checked = new Map([[JSON.stringify([record.driver, record.config]), Promise.resolve(null)]]);
    // A restore that passed the environment's check (a release before deletions were kept, or a
    // delete that had not recorded it yet) reaches the target after the delete.
    const wasDeleted = ProjectCore.prototype.wasDeleted;
    ProjectCore.prototype.wasDeleted = () => false;
    try {
      expect(await receivers.remove(record)).toBe(true);
      expect(await receivers.restore(caller, record, undefined, [], checked)).toMatch(/was deleted/);
    } finally {
      ProjectCore.prototype.wasDeleted = wasDeleted;
    }
    await expectGone(record, [1]);
  });
});

describe("one key, one receiver", () => {
  it("a restore whose import names a key another receiver holds is skipped, and that receiver keeps its URL", async () => {
    const { receivers, project, caller, input, standing } = world();
    const digest = await sha256Hex(KEY);
    const first = await receivers.create(caller, input("first"), {
      importedFrom: "1go1",
      legacyKeyDigest: digest,
    });
    const second = await receivers.create(caller, input("second"));
    await receivers.remove(second);
    // An edited export: the deleted receiver's id is refused first; a fresh one meets the key.
    const edited = { ...second, id: `r${"1".repeat(26)}`, name: "edited" };
    const checked = new Map([[JSON.stringify([edited.driver, edited.config]), Promise.resolve(null)]]);
    const imports = [{ genericObjectId: "1go9", originalDigest: digest, keyDigest: digest }];
    expect(await receivers.restore(caller, edited, undefined, imports, checked)).toBe(
      `its original webhook-service URL already triggers receiver ${first.id}`,
    );
    expect(project.legacyRoute(digest)?.receiverId).toBe(first.id);
    expect(await standing(edited, [1])).toEqual({
      found: null,
      stored: null,
      live: [],
      triggers: ["revoked"],
    });
    // Its name was given back: another may take it (and gives it back here).
    expect(project.claimName("edited", "r-someone-else")).toBe(true);
    project.releaseName("edited", "r-someone-else");
    // A regenerate retires the URL, and the key stays the first receiver's.
    await receivers.regenerate(first);
    expect(project.legacyRoute(digest)).toBeNull();
    expect(await receivers.restore(caller, edited, undefined, imports, checked)).toBe(
      `its webhook-service key belongs to receiver ${first.id}, whose original URL a regenerate retired`,
    );
    // Only its delete frees the key.
    await receivers.remove(first);
    expect(await receivers.restore(caller, edited, undefined, imports, checked)).toBeNull();
    expect(project.legacyRoute(digest)?.receiverId).toBe(edited.id);
  });
});

/**
 * The Worker may stop at any instant of a management request (an eviction, a deploy): the calls it
 * made still land, it makes no more and never answers. Each test cuts a request off at one call (a
 * gate never released) and checks that the next access of the receiver, or a create of its name,
 * leaves it whole or gone (docs/api.md, "Management").
 */
describe("management requests cut off part way", () => {
  const start = Date.now();
  const later = start + NAME_CLAIM_GRACE_MS + 1;

  it("a create cut off after claiming its name frees the name to a create once the claim's grace is over", async () => {
    const { gates, project, receivers, caller, input, target, store } = world();
    const held = gates.hold("target.register");
    const first = receivers.create(caller, input("web"), {}, start);
    await held.reached;
    const cut = project.nameHolder("web")?.receiverId as string;
    // Within the grace the first create may still be running: the name stays its own.
    await expect(receivers.create(caller, input("web"), {}, later - 2)).rejects.toMatchObject({
      status: 422,
    });
    const next = await receivers.create(caller, input("web"), {}, later);
    expect(project.nameHolder("web")?.receiverId).toBe(next.id);
    // Had that create only been slow, it could not make its receiver live now: it undoes itself.
    held.release();
    await expect(first).rejects.toMatchObject({ status: 409 });
    expect(target.core.liveReceivers([cut])).toEqual([]);
    expect([...store.records.values()].map((record) => record.id)).toEqual([next.id]);
    expect(project.nameHolder("web")?.receiverId).toBe(next.id);
  });

  it("a create cut off after its target registered it is rolled back by the next create of its name", async () => {
    const { gates, project, receivers, caller, input, target, store } = world();
    void gates.hold("store.put");
    void receivers.create(caller, input("web"), {}, start);
    await vi.waitFor(() =>
      expect(target.core.liveReceivers([project.nameHolder("web")?.receiverId ?? ""])).toHaveLength(1),
    );
    const cut = project.nameHolder("web")?.receiverId as string;
    const next = await receivers.create(caller, input("web"), {}, later);
    expect(target.core.liveReceivers([cut])).toEqual([]);
    expect(target.core.liveReceivers([next.id]).map((live) => live.version)).toEqual([1]);
    expect([...store.records.values()].map((record) => record.id)).toEqual([next.id]);
  });

  it("a create still running past the grace loses its name and is undone, never answered", async () => {
    const { gates, project, receivers, caller, input, target, store } = world();
    const held = gates.hold("store.put");
    const slow = receivers.create(caller, input("web"), {}, start);
    await held.reached;
    const cut = project.nameHolder("web")?.receiverId as string;
    const next = await receivers.create(caller, input("web"), {}, later);
    held.release();
    await expect(slow).rejects.toMatchObject({ status: 409 });
    expect(target.core.receiverState(cut)).toEqual({ kind: "revoked" });
    expect([...store.records.values()].map((record) => record.id)).toEqual([next.id]);
    expect(project.nameHolder("web")?.receiverId).toBe(next.id);
  });

  it("a create whose last check fails after its record was written answers the failure and leaves no record", async () => {
    // Over Deno KV an object call may fail with its fate unknown (its holder stopped): the create
    // undoes itself, record included, so no receiver is left whose name was freed.
    const { receivers, caller, input, target, store, project } = world();
    const nameHolder = project.nameHolder.bind(project);
    let failing = true;
    vi.spyOn(project, "nameHolder").mockImplementation((name) => {
      if (!failing) return nameHolder(name);
      failing = false;
      throw Object.assign(new Error("the object stopped before it answered this call"), {
        name: "ObjectUnavailable",
      });
    });
    await expect(receivers.create(caller, input("web"), {}, start)).rejects.toThrow("the object stopped");
    expect([...store.records.values()]).toEqual([]);
    expect(project.nameHolder("web")).toBeFalsy();
    const next = await receivers.create(caller, input("web"), {}, start + 1);
    expect([...store.records.values()].map((record) => record.id)).toEqual([next.id]);
    expect(target.core.liveReceivers([next.id]).map((live) => live.version)).toEqual([1]);
  });

  it("a create whose target cannot be reached to undo it keeps its name, and the next create of the name revokes it", async () => {
    // Its register landed but its answer was lost, and so was the withdrawal: the receiver may be
    // live at its target, so its name is not freed for another to take without revoking it.
    const { receivers, caller, input, target, project, store } = world();
    const unavailable = () =>
      Object.assign(new Error("the object stopped before it answered this call"), {
        name: "ObjectUnavailable",
      });
    const register = target.core.register.bind(target.core);
    const registerSpy = vi.spyOn(target.core, "register").mockImplementation((...args) => {
      register(...args);
      throw unavailable();
    });
    const withdrawSpy = vi.spyOn(target.core, "withdraw").mockImplementation(() => {
      throw unavailable();
    });
    await expect(receivers.create(caller, input("web"), {}, start)).rejects.toThrow("the object stopped");
    registerSpy.mockRestore();
    withdrawSpy.mockRestore();
    const cut = project.nameHolder("web")?.receiverId as string;
    expect(target.core.liveReceivers([cut])).toHaveLength(1);
    const next = await receivers.create(caller, input("web"), {}, later);
    expect(target.core.liveReceivers([cut])).toEqual([]);
    expect(project.nameHolder("web")?.receiverId).toBe(next.id);
    expect([...store.records.values()].map((record) => record.id)).toEqual([next.id]);
  });

  it("a register of unknown fate that runs after its create gave up finds the receiver withdrawn, not live", async () => {
    // Over Deno KV a call whose isolate stopped may still be taken by the object's holder, seconds
    // after its create failed and undid itself: the id must stay deleted there.
    const { receivers, caller, input, target, project, store } = world();
    const register = target.core.register.bind(target.core);
    let late: Parameters<typeof register>[0] | undefined;
    const registerSpy = vi.spyOn(target.core, "register").mockImplementation((receiver) => {
      late = receiver;
      throw Object.assign(new Error("the isolate stopped"), { name: "ObjectUnavailable" });
    });
    await expect(receivers.create(caller, input("web"), {}, start)).rejects.toThrow("the isolate stopped");
    registerSpy.mockRestore();
    expect(late).toBeDefined();
    const id = (late as NonNullable<typeof late>).id;
    // The call runs now: it is refused, and nothing is live without a record.
    expect(register(late as NonNullable<typeof late>)).toBe(false);
    expect(target.core.liveReceivers([id])).toEqual([]);
    expect(target.core.receiverState(id)).toEqual({ kind: "revoked" });
    expect([...store.records.values()]).toEqual([]);
    expect(project.nameHolder("web")).toBeFalsy();
  });

  it("a delete cut off before it freed the name is finished by the next GET, which frees the name", async () => {
    const { gates, receivers, caller, input, expectGone } = world();
    const record = await receivers.create(caller, input("web"), {}, start);
    const held = gates.hold("project.releaseName");
    void receivers.remove(record);
    await held.reached;
    await expectGone(record, [1]);
  });

  it("a regenerate cut off before its KV write is written by the next GET: KV takes the target's version", async () => {
    const { gates, receivers, caller, input, store } = world();
    const record = await receivers.create(caller, input("web"), {}, start);
    const held = gates.hold("store.put");
    void receivers.regenerate(record);
    await held.reached;
    expect(store.records.get(`${PROJECT}:${record.id}`)?.version).toBe(1);
    expect((await receivers.find(PROJECT, record.id))?.version).toBe(2);
    expect(store.records.get(`${PROJECT}:${record.id}`)?.version).toBe(2);
  });
});
