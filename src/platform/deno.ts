/// <reference path="./node-sqlite.d.ts" />
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { NameClaims } from "../objects/name-claims";
import type { ObjectStorage, SqlCursor, SqlLike, SqlValue } from "../objects/storage";
import { TargetCore } from "../objects/target-core";
import {
  decodeMarker,
  encodeMarker,
  type ReceiverPage,
  type ReceiverRecord,
  type ReceiverStore,
} from "../receivers/store";
import type { Platform, Project, Settings, Target } from "./types";

/** Statements that return rows; everything else is run for its effect. */
const READS = /^\s*(SELECT|WITH|PRAGMA)\b|\bRETURNING\b/i;
/** How often, and how far apart, a failing alarm is tried again (as Durable Objects do). */
const ALARM_RETRIES = 6;
const ALARM_RETRY_MS = 1_000;

const rows = <T>(list: T[]): SqlCursor<T> => ({
  toArray: () => list,
  [Symbol.iterator]: () => list[Symbol.iterator](),
});

/** One SQLite database per object, as a Durable Object has: SQL, nested transactions, one alarm. */
class SqliteObjectStorage implements ObjectStorage {
  readonly sql: SqlLike;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #depth = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Set by the owner once it exists: what the alarm runs. */
  onAlarm: (() => Promise<void>) | undefined;

  constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec("CREATE TABLE IF NOT EXISTS _alarm (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL)");
    this.sql = {
      exec: <T extends Record<string, SqlValue>>(query: string, ...bindings: unknown[]) => {
        const reads = READS.test(query);
        // Schema scripts (several statements, no bindings) run as a whole.
        if (bindings.length === 0 && !reads) {
          db.exec(query);
          return rows<T>([]);
        }
        let statement = this.#statements.get(query);
        if (!statement) {
          statement = db.prepare(query);
          this.#statements.set(query, statement);
        }
        const values = bindings as (string | number | null)[];
        if (reads) return rows(statement.all(...values) as T[]);
        statement.run(...values);
        return rows<T>([]);
      },
    };
  }

  transactionSync<T>(closure: () => T): T {
    const savepoint = `t${this.#depth++}`;
    this.#db.exec(`SAVEPOINT ${savepoint}`);
    try {
      const result = closure();
      this.#db.exec(`RELEASE ${savepoint}`);
      return result;
    } catch (error) {
      this.#db.exec(`ROLLBACK TO ${savepoint}`);
      this.#db.exec(`RELEASE ${savepoint}`);
      throw error;
    } finally {
      this.#depth--;
    }
  }

  async setAlarm(scheduledTime: number): Promise<void> {
    this.sql.exec("INSERT OR REPLACE INTO _alarm (id, at) VALUES (1, ?)", scheduledTime);
    this.#arm(scheduledTime, 0);
  }

  /** Re-arms an alarm stored before a restart. */
  resume(): void {
    const [row] = this.sql.exec<{ at: number }>("SELECT at FROM _alarm WHERE id = 1").toArray();
    if (row) this.#arm(row.at, 0);
  }

  #arm(at: number, attempt: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#fire(at, attempt), Math.max(0, at - Date.now()));
  }

  async #fire(at: number, attempt: number): Promise<void> {
    // As with Durable Objects, an alarm counts as delivered only once alarm() has returned: its
    // row stays until then, so a process that dies mid-alarm runs it again when it starts. A new
    // alarm set by alarm() itself has another time and is kept.
    try {
      await this.onAlarm?.();
      this.sql.exec("DELETE FROM _alarm WHERE id = 1 AND at = ?", at);
    } catch (error) {
      console.error("alarm failed", error instanceof Error ? error.message : "unknown error");
      if (attempt + 1 < ALARM_RETRIES) {
        const retryAt = Date.now() + ALARM_RETRY_MS * 2 ** attempt;
        this.sql.exec("UPDATE _alarm SET at = ? WHERE id = 1 AND at = ?", retryAt, at);
        this.#arm(retryAt, attempt + 1);
      } else {
        this.sql.exec("DELETE FROM _alarm WHERE id = 1 AND at = ?", at);
      }
    }
  }
}

/** Where each object's database lives: a file under `dataDir`, or memory. */
class ObjectDatabases {
  constructor(private readonly dataDir: string | undefined) {}

  open(kind: "targets" | "projects", name: string): DatabaseSync {
    if (this.dataDir === undefined) return new DatabaseSync(":memory:");
    const dir = join(this.dataDir, kind);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${createHash("sha256").update(name).digest("hex")}.sqlite`);
    const db = new DatabaseSync(file);
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

/** Receiver records in Deno KV, keyed `["receiver", projectId, id]`, so a list is one environment's. */
export class DenoKvReceiverStore implements ReceiverStore {
  constructor(private readonly kv: Deno.Kv) {}

  async get(projectId: string, id: string): Promise<ReceiverRecord | null> {
    const record = (await this.kv.get<ReceiverRecord>(["receiver", projectId, id])).value;
    return record && record.projectId === projectId ? record : null;
  }

  async put(record: ReceiverRecord): Promise<void> {
    await this.kv.set(["receiver", record.projectId, record.id], record);
  }

  async delete(projectId: string, id: string): Promise<void> {
    await this.kv.delete(["receiver", projectId, id]);
  }

  async list(projectId: string, limit: number, marker?: string): Promise<ReceiverPage> {
    const cursor = marker === undefined ? undefined : await decodeMarker(projectId, marker);
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
    return { records, next: next === undefined ? undefined : await encodeMarker(projectId, next) };
  }
}

export interface DenoPlatformOptions {
  settings: Settings;
  /** Deno KV path for receiver records; in memory when absent. */
  kvPath?: string;
  /** Directory for the objects' SQLite databases; in memory when absent. */
  dataDir?: string;
}

/**
 * Deno: receiver records in Deno KV, and one in-process object per target and per environment.
 * Each object's storage is synchronous SQLite, so a call runs without interleaving until it awaits
 * Cattle, exactly as a Durable Object's does; one instance per name serialises its target.
 */
export async function denoPlatform(options: DenoPlatformOptions): Promise<Platform> {
  if (options.kvPath) mkdirSync(dirname(options.kvPath), { recursive: true });
  const kv = await Deno.openKv(options.kvPath);
  const databases = new ObjectDatabases(options.dataDir);
  const targets = new Map<string, Target>();
  const projects = new Map<string, Project>();

  const target = (name: string): Target => {
    let found = targets.get(name);
    if (!found) {
      const storage = new SqliteObjectStorage(databases.open("targets", name));
      const core = new TargetCore(storage, options.settings);
      storage.onAlarm = () => core.alarm();
      storage.resume();
      found = {
        register: async (receiver) => core.register(receiver),
        rotate: async (receiverId, senderCheck) => core.rotate(receiverId, senderCheck),
        revoke: async (receiverId) => core.revoke(receiverId),
        executions: async (receiverId, limit) => core.executions(receiverId, limit),
        trigger: (receiverId, version, delivery, proof) => core.trigger(receiverId, version, delivery, proof),
      };
      targets.set(name, found);
    }
    return found;
  };

  const project = (projectId: string): Project => {
    let found = projects.get(projectId);
    if (!found) {
      const names = new NameClaims(new SqliteObjectStorage(databases.open("projects", projectId)).sql);
      found = {
        claimName: async (name, receiverId) => names.claimName(name, receiverId),
        releaseName: async (name, receiverId) => names.releaseName(name, receiverId),
      };
      projects.set(projectId, found);
    }
    return found;
  };

  // Follow-ups (upgrades) that were running when the process stopped go on now.
  for (const name of databases.withAlarms("targets")) target(name);

  return { receivers: new DenoKvReceiverStore(kv), target, project };
}
