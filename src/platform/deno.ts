import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { serviceCattle } from "../cattle/client";
import { type Clock, systemClock } from "../domain/clock";
import type {
  Platform,
  Project,
  ProjectMethods,
  ReceiverPage,
  ReceiverStore,
  Target,
  TargetMethods,
} from "../domain/ports";
import type { ReceiverRecord } from "../domain/receiver";
import type { Settings } from "../domain/settings";
import { ATTEMPT_TIMEOUT_MS } from "../notifications/outbox";
import { ProjectCore } from "../project/core";
import { type KvLike, retryingBusy } from "../storage/kv/kv";
import { KvObjects, type Outgoing, WATCHED_MAX_POLL_MS } from "../storage/kv/objects";
import { decodeMarker, encodeMarker } from "../storage/markers";
import { SqliteObjectStorage } from "../storage/sqlite";
import { TargetCore } from "../targets/core";
import { type AsyncPort, asyncPortOf, methodsOf } from "../util/async-port";
import { PROJECT_WRITES, spacedFetch, TARGET_WRITES } from "./kv-objects";

/**
 * The data directory holds every receiver's sender secret and every target's history: only the
 * user the server runs as may read it (docs/deno-server.md). Directories are 0700 and files 0600.
 */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** Makes `dir` (and its missing parents) as only this user may enter, and tightens it if it was there. */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  chmodSync(dir, PRIVATE_DIR);
}

/**
 * An SQLite database's file and the journals beside it. SQLite gives a new `-wal` or `-shm` the
 * mode of its database, so a database tightened right after it is opened keeps them tight too.
 */
function privateDatabase(file: string): void {
  for (const path of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(path)) chmodSync(path, PRIVATE_FILE);
  }
}

/**
 * Tightens everything under `dir` that an earlier version left readable by others. Symbolic links
 * are left alone (and not followed): the data directory is the server's own, not what it points to.
 */
function tightenTree(dir: string): void {
  chmodSync(dir, PRIVATE_DIR);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) tightenTree(path);
    else if (entry.isFile()) chmodSync(path, PRIVATE_FILE);
  }
}

/** The entries of a data directory that the server writes; anything else there is left as it is. */
const OWN_ENTRY = /^(targets|projects|receivers\.kv(-wal|-shm|-journal)?)$/;

/**
 * Tightens what the server keeps under `dataDir` (the directory itself, `targets/`, `projects/`,
 * `receivers.kv` and its journals), whatever an earlier version or a restored backup left; other
 * files someone put there are not the server's to change.
 */
function tightenDataDir(dataDir: string): void {
  privateDir(dataDir);
  for (const entry of readdirSync(dataDir, { withFileTypes: true })) {
    if (!OWN_ENTRY.test(entry.name)) continue;
    const path = join(dataDir, entry.name);
    if (entry.isDirectory()) tightenTree(path);
    else if (entry.isFile()) chmodSync(path, PRIVATE_FILE);
  }
}

/** Where each object's database lives: a file under `dataDir`, or memory. */
class ObjectDatabases {
  constructor(private readonly dataDir: string | undefined) {}

  #file(kind: "targets" | "projects", name: string): string | undefined {
    if (this.dataDir === undefined) return undefined;
    return join(this.dataDir, kind, `${createHash("sha256").update(name).digest("hex")}.sqlite`);
  }

  /** Whether the object has a database already (always false in memory, where nothing outlives the process). */
  exists(kind: "targets" | "projects", name: string): boolean {
    const file = this.#file(kind, name);
    return file !== undefined && existsSync(file);
  }

  open(kind: "targets" | "projects", name: string): DatabaseSync {
    const file = this.#file(kind, name);
    if (file === undefined) return new DatabaseSync(":memory:");
    privateDir(dirname(file));
    const db = new DatabaseSync(file);
    // Before the first write, so the journals SQLite creates next take the file's mode.
    privateDatabase(file);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("CREATE TABLE IF NOT EXISTS _object (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL)");
    db.prepare("INSERT OR IGNORE INTO _object (id, name) VALUES (1, ?)").run(name);
    return db;
  }

  /** Names of the stored objects of a kind that have an alarm waiting. */
  withAlarms(kind: "targets" | "projects"): string[] {
    if (this.dataDir === undefined) return [];
    const dir = join(this.dataDir, kind);
    let files: string[];
    try {
      files = readdirSync(dir).filter((file) => file.endsWith(".sqlite"));
    } catch {
      return [];
    }
    const names: string[] = [];
    for (const file of files) {
      const db = new DatabaseSync(join(dir, file));
      try {
        const hasAlarm = db.prepare("SELECT name FROM sqlite_master WHERE name = '_alarm'").all().length > 0;
        const alarm = hasAlarm ? db.prepare("SELECT at FROM _alarm").all() : [];
        const [object] = db.prepare("SELECT name FROM _object").all() as { name: string }[];
        if (alarm.length > 0 && object) names.push(object.name);
      } finally {
        db.close();
      }
    }
    return names;
  }
}

/**
 * Receiver records in Deno KV, keyed `["receiver", projectId, id]`, so a list is one environment's.
 * A KV file that another process is writing may answer `database is locked`: each operation is then
 * made again, as the objects' own are, rather than failing its request.
 */
export class DenoKvReceiverStore implements ReceiverStore {
  constructor(
    private readonly kv: Deno.Kv,
    private readonly clock: Clock = systemClock,
  ) {}

  async get(projectId: string, id: string): Promise<ReceiverRecord | null> {
    const { value: record } = await retryingBusy(this.clock, () =>
      this.kv.get<ReceiverRecord>(["receiver", projectId, id]),
    );
    return record && record.projectId === projectId ? record : null;
  }

  async put(record: ReceiverRecord): Promise<void> {
    await retryingBusy(this.clock, () => this.kv.set(["receiver", record.projectId, record.id], record));
  }

  async delete(projectId: string, id: string): Promise<void> {
    await retryingBusy(this.clock, () => this.kv.delete(["receiver", projectId, id]));
  }

  async list(projectId: string, limit: number, marker?: string): Promise<ReceiverPage> {
    const cursor = marker === undefined ? undefined : await decodeMarker(projectId, marker);
    const { records, next } = await retryingBusy(this.clock, async () => {
      const entries = this.kv.list<ReceiverRecord>(
        { prefix: ["receiver", projectId] },
        { limit: limit + 1, ...(cursor ? { cursor } : {}) },
      );
      const records: ReceiverRecord[] = [];
      let next: string | undefined;
      let after = "";
      for await (const entry of entries) {
        if (records.length === limit) {
          next = after;
          break;
        }
        records.push(entry.value);
        after = entries.cursor;
      }
      return { records, next };
    });
    return { records, next: next === undefined ? undefined : await encodeMarker(projectId, next) };
  }
}

export interface DenoPlatformOptions {
  settings: Settings;
  /** Deno KV path for receiver records (and, without `dataDir`, for every object); `Deno.openKv()`'s default when absent. */
  kvPath?: string;
  /** Directory for the objects' SQLite databases; without it every object's state is in Deno KV. */
  dataDir?: string;
  /** This process's name among those sharing the KV (a fresh one when absent). */
  isolate?: string;
  /** Whether holders watch for calls rather than look often (Deno Deploy; see `KvTiming.watch`). */
  watch?: boolean;
}

/** The Deno platform, and, over KV, what finds follow-ups no one runs and what gives the objects up. */
export interface DenoPlatform extends Platform {
  /** Takes the objects whose follow-up is due and that no isolate holds (`Deno.cron`). */
  sweep(): Promise<void>;
  /** Gives up this isolate's objects so that another may take them at once. */
  close(): Promise<void>;
}

/**
 * The settings an object over KV reaches Cattle with: each request (each attempt of it) waits at
 * the object's output gate, so it leaves only once the object's writes are in KV and with enough
 * of its lease left to be over before another isolate could take the object. An object that lost
 * its lease sends nothing more: its request fails as a request that could not leave.
 */
function gatedSettings(settings: Settings, outgoing: Outgoing): Settings {
  const binding = settings.CATTLE;
  const send = binding
    ? (input: RequestInfo | URL, init?: RequestInit) => binding.fetch(input, init)
    : (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init);
  return { ...settings, CATTLE: { fetch: (input, init) => outgoing(() => send(input, init)) } };
}

/** Objects of both kinds over Deno KV, shared by every process and isolate that opens the same KV. */
export function kvObjects(kv: KvLike, settings: Settings, isolate: string, watch: boolean) {
  // Watching for calls, holders need to look for them seldom (docs/deno-deploy.md, "What it costs").
  const timing = watch ? { watch, maxPollMs: WATCHED_MAX_POLL_MS } : {};
  const targets = new KvObjects<TargetCore>(
    kv,
    systemClock,
    isolate,
    {
      kind: "targets",
      open: (storage, outgoing) =>
        new TargetCore(storage, {
          clock: systemClock,
          cattle: serviceCattle(gatedSettings(settings, outgoing)),
          // A notification's attempt may take ATTEMPT_TIMEOUT_MS: it leaves only with that much lease.
          fetch: spacedFetch(systemClock, (input, init, depart) =>
            outgoing(() => {
              depart();
              return fetch(input, init);
            }, ATTEMPT_TIMEOUT_MS),
          ),
        }),
      alarm: (core) => core.alarm(),
      writes: TARGET_WRITES,
    },
    timing,
  );
  const projects = new KvObjects<ProjectCore>(
    kv,
    systemClock,
    isolate,
    {
      kind: "projects",
      open: (storage) => new ProjectCore(storage),
      writes: PROJECT_WRITES,
    },
    timing,
  );
  return {
    target: (name: string): Target =>
      kvPort<TargetMethods>(TargetCore.prototype, (method, args) => targets.call(name, method, args)),
    project: (projectId: string): Project =>
      kvPort<ProjectMethods>(ProjectCore.prototype, (method, args) => projects.call(projectId, method, args)),
    sweep: async () => {
      await targets.sweep();
    },
    close: async () => {
      await Promise.all([targets.close(), projects.close()]);
    },
  };
}

/** A port whose every method is `call(method, args)`: the object may be run by another isolate. */
function kvPort<T extends object>(
  prototype: T,
  call: (method: string, args: unknown[]) => Promise<unknown>,
): AsyncPort<T> {
  const port: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [method] of methodsOf(prototype)) port[method] = (...args) => call(method, args);
  return port as AsyncPort<T>;
}

/**
 * Deno: receiver records in Deno KV, and one in-process object per target and per environment.
 * Each object's storage is synchronous SQLite, so a call runs without interleaving until it awaits
 * Cattle, exactly as a Durable Object's does; one instance per name serialises its target. Each
 * object is its core's methods answering promises, as a Durable Object's stub answers them.
 */
export async function denoPlatform(options: DenoPlatformOptions): Promise<DenoPlatform> {
  if (options.dataDir !== undefined) {
    tightenDataDir(options.dataDir);
  }
  const file = options.kvPath !== undefined && options.kvPath !== ":memory:" ? options.kvPath : undefined;
  if (file) privateDir(dirname(file));
  const kv = await Deno.openKv(options.kvPath);
  if (file) privateDatabase(file);
  const receivers = new DenoKvReceiverStore(kv);
  if (options.dataDir === undefined) {
    const objects = kvObjects(
      kv as unknown as KvLike,
      options.settings,
      options.isolate ?? crypto.randomUUID(),
      options.watch ?? false,
    );
    return { receivers, ...objects };
  }
  const databases = new ObjectDatabases(options.dataDir);
  const targets = new Map<string, TargetCore>();
  const projects = new Map<string, ProjectCore>();

  const openTarget = (name: string): TargetCore => {
    const storage = new SqliteObjectStorage(databases.open("targets", name));
    const core = new TargetCore(storage, { clock: systemClock, cattle: serviceCattle(options.settings) });
    storage.onAlarm = () => core.alarm();
    storage.resume();
    targets.set(name, core);
    return core;
  };

  const openProject = (projectId: string): ProjectCore => {
    const core = new ProjectCore(new SqliteObjectStorage(databases.open("projects", projectId)));
    projects.set(projectId, core);
    return core;
  };

  /**
   * The object of `name` for a call that may write: opened (its database made if it has none) and
   * kept. For a call that only reads, an object without a database is answered by a core over
   * empty memory that is dropped after the call: anyone may name an environment or a target in a
   * URL, and that must not leave a file (or an object in memory) behind (docs/storage.md).
   */
  const objectOf = <Core>(
    opened: Map<string, Core>,
    kind: "targets" | "projects",
    open: (name: string) => Core,
    empty: () => Core,
  ) => {
    return (name: string, writes: boolean): Core =>
      opened.get(name) ?? (writes || databases.exists(kind, name) ? open(name) : empty());
  };
  const emptyStorage = () => new SqliteObjectStorage(new DatabaseSync(":memory:"));
  const targetCore = objectOf(
    targets,
    "targets",
    openTarget,
    () => new TargetCore(emptyStorage(), { clock: systemClock, cattle: serviceCattle(options.settings) }),
  );
  const projectCore = objectOf(projects, "projects", openProject, () => new ProjectCore(emptyStorage()));

  // Every other call of an object without a database answers as its core does over empty storage.
  const target = (name: string): Target =>
    asyncPortOf<TargetMethods>(TargetCore.prototype, (method) => targetCore(name, TARGET_WRITES.has(method)));
  const project = (projectId: string): Project =>
    asyncPortOf<ProjectMethods>(ProjectCore.prototype, (method) =>
      projectCore(projectId, PROJECT_WRITES.has(method)),
    );

  // Follow-ups (upgrades) that were running when the process stopped go on now.
  for (const name of databases.withAlarms("targets")) openTarget(name);

  return { receivers, target, project, sweep: async () => {}, close: async () => {} };
}
