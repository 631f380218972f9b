import { DatabaseSync } from "node:sqlite";
import { type Clock, systemClock } from "../../domain/clock";
import type { ObjectStorage, SqlLike, SqlValue } from "../object-storage";
import { SqliteObjectStorage } from "../sqlite";
import {
  fromChunks,
  type KvAtomic,
  type KvEntry,
  type KvKey,
  type KvKeyPart,
  type KvLike,
  keyId,
  listAll,
  MAX_COMMIT_BYTES,
  MAX_COMMIT_MUTATIONS,
  toChunks,
} from "./kv";
import type { Fence } from "./lease";

/**
 * An object's storage over Deno KV (docs/deno-deploy.md, "State in KV"): the object runs over an
 * SQLite database in memory, exactly as over a Durable Object's, and every row it writes is copied
 * to KV. The writes of one synchronous turn (all a call did before its next await) go to KV in ONE
 * atomic commit that checks the holder's lease, and a new holder reads the rows back into a fresh
 * database before the object is built. The object sees KV only through `flushed()`: a call's
 * answer and every request it sends wait until what it wrote is in KV, as a Durable Object's
 * output gate makes them wait until its writes are durable.
 *
 * Keys, under the object's prefix P: P+["schema", name] the CREATE statements; P+["row", table,
 * rowid] a row (V8-serialized column values), or the number of its chunks, which are under
 * P+["chunk", table, rowid, i] when it is over 60 KB (in a table WITHOUT ROWID, the rowid is the
 * primary key as SQL literals, `'a',1`); P+["seq", table] an AUTOINCREMENT counter;
 * P+["head"] and P+["journal", seq, i] a commit too large for one atomic operation, while it is
 * applied.
 */

/**
 * A row's identity: its rowid (a BigInt past 2^53, which KV keys hold exactly), or a WITHOUT
 * ROWID table's primary key as SQL literals.
 */
type RowId = number | bigint | string;

/** A rowid read as a BigInt, as a number when it is one exactly. */
const rowIdOf = (value: unknown): RowId =>
  typeof value === "bigint" &&
  value >= BigInt(Number.MIN_SAFE_INTEGER) &&
  value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : (value as RowId);

/** The rowids (or keys) a query's `rid` column names, exact past 2^53. */
function ridsOf<T extends { rid: RowId }>(db: DatabaseSync, sql: string): T[] {
  const statement = db.prepare(sql);
  statement.setReadBigInts(true);
  return (statement.all() as T[]).map((row) => ({ ...row, rid: rowIdOf(row.rid) }));
}

/** One key written, or deleted (null). */
export interface Mutation {
  key: KvKey;
  value: unknown;
}

interface StoredSchema {
  type: string;
  sql: string;
}

interface JournalHead {
  seq: number;
  parts: number;
}

const TABLES_QUERY =
  "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
const SCHEMA_QUERY =
  "SELECT type, name, sql FROM main.sqlite_master WHERE type IN ('table', 'index', 'trigger', 'view') AND sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

/** Statements that cannot change a row (a read with RETURNING is an INSERT, UPDATE or DELETE). */
const READ_ONLY = /^\s*(SELECT|PRAGMA)\b/i;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A mutation's size in a commit: its key and its value, as KV counts them (roughly, from above). */
export function mutationBytes(mutation: Mutation): number {
  const value = mutation.value;
  const valueBytes =
    value instanceof Uint8Array
      ? value.length
      : typeof value === "number"
        ? 9
        : JSON.stringify(value).length * 2;
  return keyId(mutation.key).length * 2 + valueBytes + 16;
}

/** Cuts mutations into batches that each fit one atomic operation. */
export function batchesOf(mutations: readonly Mutation[]): Mutation[][] {
  const batches: Mutation[][] = [];
  let batch: Mutation[] = [];
  let bytes = 0;
  for (const mutation of mutations) {
    const size = mutationBytes(mutation);
    if (batch.length > 0 && (batch.length >= MAX_COMMIT_MUTATIONS || bytes + size > MAX_COMMIT_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(mutation);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

export function applyMutations(atomic: KvAtomic, mutations: readonly Mutation[]): KvAtomic {
  for (const { key, value } of mutations) {
    if (value === null) atomic.delete(key);
    else atomic.set(key, value);
  }
  return atomic;
}

/**
 * Everything under an object's prefix, with a committed journal applied over it; also the journal
 * (to be finished by the holder) and the parts of journals never committed (to be deleted).
 */
async function readObject(
  kv: KvLike,
  clock: Clock,
  prefix: KvKey,
): Promise<{ entries: KvEntry<unknown>[]; head?: JournalHead; journal?: Mutation[]; leftovers: Mutation[] }> {
  const entries = new Map<string, KvEntry<unknown>>();
  for (const entry of await listAll(kv, clock, { prefix })) entries.set(keyId(entry.key), entry);
  const at = (...parts: (string | number)[]) => [...prefix, ...parts];
  const head = entries.get(keyId(at("head")))?.value as JournalHead | undefined;
  const leftovers: Mutation[] = [];
  for (const entry of entries.values()) {
    if (entry.key[prefix.length] !== "journal") continue;
    if (!head || entry.key[prefix.length + 1] !== head.seq) leftovers.push({ key: entry.key, value: null });
  }
  if (!head) return { entries: [...entries.values()], leftovers };
  const chunks: Uint8Array[] = [];
  for (let part = 0; part < head.parts; part++) {
    chunks.push(entries.get(keyId(at("journal", head.seq, part)))?.value as Uint8Array);
  }
  const journal = fromChunks<Mutation[]>(chunks);
  for (const mutation of journal) {
    if (mutation.value === null) entries.delete(keyId(mutation.key));
    else entries.set(keyId(mutation.key), { key: mutation.key, value: mutation.value, versionstamp: "" });
  }
  return { entries: [...entries.values()], head, journal, leftovers };
}

export class KvObjectStorage implements ObjectStorage {
  readonly sql: SqlLike;
  readonly #inner: SqliteObjectStorage;
  readonly #db: DatabaseSync;
  readonly #prefix: KvKey;
  readonly #fence: Fence;
  /** Chunks of each stored row, by table then rowid: 1 for a row in one value. */
  readonly #stored = new Map<string, Map<RowId, number>>();
  /**
   * A WITHOUT ROWID table's primary key columns, by table: its rows are known by them (SQLite's
   * `quote()` of each, joined by commas), as other tables' rows are by their rowid.
   */
  readonly #keyed = new Map<string, string[]>();
  /** The CREATE statements in KV, by name. */
  readonly #schema = new Map<string, StoredSchema>();
  /**
   * AUTOINCREMENT's counters (SQLite's own `sqlite_sequence`, which no trigger can watch), as they
   * are in KV: kept so that a number once given is never given again after a restore.
   */
  readonly #sequences = new Map<string, number>();
  #schemaVersion = -1;
  /** Set when the schema changed: the next flush writes every table (a migration rewrote them). */
  #rewriteAll = false;
  #flushing: Promise<void> | undefined;
  /** Counts turns that wrote, and the last of them whose writes are in KV. */
  #writeSeq = 0;
  #committedSeq = 0;
  readonly #waiters: { seq: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  #failure: Error | undefined;
  #journalSeq = 0;
  /** Told of every alarm set or cleared (after the write that made it). */
  onAlarmChange: ((at: number | undefined) => void) | undefined;
  /** Told when a write could not be committed: the object must be dropped. */
  onFailure: ((error: Error) => void) | undefined;
  /** The alarm's index key in KV (for the sweep that finds due follow-ups), as it is there now. */
  #indexedAlarm: number | undefined;
  readonly #alarmIndex: (at: number) => KvKey;

  private constructor(db: DatabaseSync, prefix: KvKey, fence: Fence, alarmIndex: (at: number) => KvKey) {
    this.#db = db;
    this.#prefix = prefix;
    this.#fence = fence;
    this.#alarmIndex = alarmIndex;
    // REPLACE deletes the row it replaces without firing delete triggers unless they may recurse.
    db.exec("PRAGMA recursive_triggers = ON");
    // No key on it: a statement's own conflict clause (OR REPLACE, OR ROLLBACK…) would also govern
    // the triggers' inserts here. A row changed twice is noted twice and read once.
    db.exec("CREATE TEMP TABLE _kv_changes (tbl TEXT NOT NULL, rid NOT NULL)");
    this.#inner = new SqliteObjectStorage(db);
    const inner = this.#inner.sql;
    this.sql = {
      exec: <T extends Record<string, SqlValue>>(query: string, ...bindings: unknown[]) => {
        const result = inner.exec<T>(query, ...bindings);
        if (!READ_ONLY.test(query)) this.#written();
        return result;
      },
    };
  }

  /**
   * Reads an object's state from KV into a new storage (the caller holds `fence`). A commit left
   * half applied by a holder that stopped is finished first.
   */
  static async load(
    kv: KvLike,
    prefix: KvKey,
    fence: Fence,
    alarmIndex: (at: number) => KvKey,
  ): Promise<KvObjectStorage> {
    const { entries, head, journal, leftovers } = await readObject(kv, fence.clock, prefix);
    const storage = new KvObjectStorage(new DatabaseSync(":memory:"), prefix, fence, alarmIndex);
    storage.#restore(entries);
    if (head && journal) {
      await storage.#finishJournal(head, journal);
    } else if (leftovers.length > 0) {
      for (const batch of batchesOf(leftovers)) await fence.commit((atomic) => applyMutations(atomic, batch));
    }
    storage.#journalSeq = (head?.seq ?? 0) + 1;
    return storage;
  }

  /**
   * An object's state as it is in KV, in a database of its own, without holding its lease: what
   * an operator (or a test) reads to see what an object keeps. Nothing is written.
   */
  static async read(kv: KvLike, prefix: KvKey): Promise<DatabaseSync> {
    const db = new DatabaseSync(":memory:");
    const storage = new KvObjectStorage(db, prefix, undefined as unknown as Fence, () => prefix);
    storage.#restore((await readObject(kv, systemClock, prefix)).entries);
    return db;
  }

  #restore(entries: Iterable<KvEntry<unknown>>): void {
    const depth = this.#prefix.length;
    const schemas: [string, StoredSchema][] = [];
    const rows = new Map<string, Map<RowId, Uint8Array[]>>();
    const counts = new Map<string, Map<RowId, number>>();
    for (const entry of entries) {
      const [kind, table, rowid, part] = entry.key.slice(depth) as [string, string, RowId, number];
      if (kind === "schema") schemas.push([table, entry.value as StoredSchema]);
      if (kind === "seq") this.#sequences.set(table, entry.value as number);
      if (kind === "row") {
        const byRow = counts.get(table) ?? new Map<RowId, number>();
        counts.set(table, byRow);
        if (typeof entry.value === "number") {
          byRow.set(rowid, entry.value);
        } else {
          byRow.set(rowid, 1);
          const chunks = rows.get(table) ?? new Map<RowId, Uint8Array[]>();
          rows.set(table, chunks);
          chunks.set(rowid, [entry.value as Uint8Array]);
        }
      }
      if (kind === "chunk") {
        const chunks = rows.get(table) ?? new Map<RowId, Uint8Array[]>();
        rows.set(table, chunks);
        const list = chunks.get(rowid) ?? [];
        list[part] = entry.value as Uint8Array;
        chunks.set(rowid, list);
      }
    }
    // Tables first, then what depends on them; triggers only once the rows are back, so that
    // putting a row back does not run the object's own triggers again (their effects are rows too).
    const order = ["table", "index", "view", "trigger"];
    schemas.sort(([, a], [, b]) => order.indexOf(a.type) - order.indexOf(b.type));
    const create = (name: string, schema: StoredSchema) => {
      // The storage's own alarm table exists already.
      if (name !== "_alarm") this.#db.exec(schema.sql);
      this.#schema.set(name, schema);
    };
    for (const [name, schema] of schemas) if (schema.type !== "trigger") create(name, schema);
    // Rows come back table by table, a child's before its parent's: foreign keys are checked by
    // the object's own writes, not by putting back rows that met them when they were written.
    const [foreignKeys] = this.#db.prepare("PRAGMA foreign_keys").all() as { foreign_keys: number }[];
    this.#db.exec("PRAGMA foreign_keys = OFF");
    for (const [table, byRow] of counts) {
      const chunks = rows.get(table);
      const stored = new Map<RowId, number>();
      this.#stored.set(table, stored);
      for (const [rowid, count] of byRow) {
        const parts = chunks?.get(rowid) ?? [];
        if (parts.length !== count || parts.some((part) => part === undefined)) continue;
        const values = fromChunks<Record<string, SqlValue>>(parts);
        const columns = Object.keys(values);
        const bound = columns.map((column) => values[column]) as (string | number | bigint | null)[];
        // A WITHOUT ROWID table's row is known by its primary key, which is among its columns.
        const names = columns.map(quote);
        const byRowid = typeof rowid !== "string";
        if (byRowid) names.unshift("rowid");
        this.#db
          .prepare(
            `INSERT INTO ${quote(table)} (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")})`,
          )
          .run(...(byRowid ? [rowid, ...bound] : bound));
        stored.set(rowid, count);
      }
    }
    if (foreignKeys?.foreign_keys) this.#db.exec("PRAGMA foreign_keys = ON");
    for (const [name, schema] of schemas) if (schema.type === "trigger") create(name, schema);
    if (this.#sequences.size > 0) {
      for (const [name, seq] of this.#sequences) {
        this.#db.prepare("DELETE FROM sqlite_sequence WHERE name = ?").run(name);
        this.#db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)").run(name, seq);
      }
    }
    this.#captureChanges();
    this.#db.exec("DELETE FROM _kv_changes");
    this.#rewriteAll = false;
    const [alarm] = this.#inner.sql.exec<{ at: number }>("SELECT at FROM _alarm WHERE id = 1").toArray();
    this.#indexedAlarm = alarm?.at;
  }

  transactionSync<T>(closure: () => T): T {
    const result = this.#inner.transactionSync(closure);
    this.#written();
    return result;
  }

  async setAlarm(scheduledTime: number): Promise<void> {
    this.#inner.sql.exec("INSERT OR REPLACE INTO _alarm (id, at) VALUES (1, ?)", scheduledTime);
    this.#written();
  }

  /** The alarm stored now, if any. */
  alarmAt(): number | undefined {
    const [row] = this.#inner.sql.exec<{ at: number }>("SELECT at FROM _alarm WHERE id = 1").toArray();
    return row?.at;
  }

  /** Clears the alarm once it ran, unless another time was set meanwhile. */
  alarmDone(at: number): void {
    this.#inner.sql.exec("DELETE FROM _alarm WHERE id = 1 AND at = ?", at);
    this.#written();
  }

  /** Moves a failed alarm to the time of its next try. */
  alarmRetry(at: number, retryAt: number): void {
    this.#inner.sql.exec("UPDATE _alarm SET at = ? WHERE id = 1 AND at = ?", retryAt, at);
    this.#written();
  }

  /**
   * Resolves once everything written so far is in KV; rejects if it never can be. Writes made after
   * the call are not waited for, so a steady stream of them does not hold an answer back.
   */
  flushed(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#committedSeq >= this.#writeSeq) return Promise.resolve();
    const seq = this.#writeSeq;
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ seq, resolve, reject });
      this.#schedule();
    });
  }

  /** Whether every write has reached KV. */
  get settled(): boolean {
    return this.#committedSeq >= this.#writeSeq && !this.#flushing;
  }

  /** After every write: a schema change re-installs the capture; the turn's writes are committed once it ends. */
  #written(): void {
    this.#writeSeq += 1;
    const [row] = this.#db.prepare("PRAGMA main.schema_version").all() as { schema_version: number }[];
    if (row && row.schema_version !== this.#schemaVersion) {
      this.#captureChanges();
      this.#rewriteAll = true;
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#failure || this.#flushing) return;
    const flushing = new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => this.#flushLoop());
    this.#flushing = flushing;
    flushing.catch(() => {});
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#committedSeq < this.#writeSeq) {
        const seq = this.#writeSeq;
        const mutations = this.#collect();
        if (mutations.length > 0) await this.#commit(mutations);
        this.#committedSeq = seq;
        for (const waiter of this.#waiters.filter((waiter) => waiter.seq <= seq)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#failure);
      this.onFailure?.(this.#failure);
    } finally {
      this.#flushing = undefined;
    }
  }

  /** (Re)installs the triggers that note each changed row, on every table there is now. */
  #captureChanges(): void {
    const tables = this.#db.prepare(TABLES_QUERY).all() as { name: string }[];
    this.#keyed.clear();
    for (const { name } of tables) {
      const [listed] = this.#db
        .prepare("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?")
        .all(name) as { wr: number }[];
      if (listed?.wr) {
        const columns = this.#db
          .prepare("SELECT name, pk FROM pragma_table_info(?, 'main') WHERE pk > 0 ORDER BY pk")
          .all(name) as {
          name: string;
        }[];
        this.#keyed.set(
          name,
          columns.map((column) => column.name),
        );
      }
      const noted = (row: "NEW" | "OLD") =>
        `INSERT INTO temp._kv_changes (tbl, rid) VALUES ('${name.replaceAll("'", "''")}', ${this.#rowIdOf(name, row)});`;
      for (const [suffix, event, body] of [
        ["i", "INSERT", noted("NEW")],
        ["u", "UPDATE", `${noted("OLD")} ${noted("NEW")}`],
        ["d", "DELETE", noted("OLD")],
      ] as const) {
        const trigger = quote(`_kv_${suffix}_${name}`);
        this.#db.exec(`DROP TRIGGER IF EXISTS temp.${trigger}`);
        this.#db.exec(
          `CREATE TEMP TRIGGER ${trigger} AFTER ${event} ON main.${quote(name)} BEGIN ${body} END`,
        );
      }
    }
    const [row] = this.#db.prepare("PRAGMA main.schema_version").all() as { schema_version: number }[];
    this.#schemaVersion = row?.schema_version ?? 0;
  }

  /** The SQL that gives a row's identity (RowId), the row named `row` (NEW, OLD, or the table's). */
  #rowIdOf(table: string, row: string): string {
    const keys = this.#keyed.get(table);
    if (!keys) return `${row}.rowid`;
    return keys.map((key) => `quote(${row}.${quote(key)})`).join(" || ',' || ");
  }

  /** The mutations that make KV what the database is now; what they cover is no longer pending. */
  #collect(): Mutation[] {
    const at = (...parts: KvKeyPart[]): KvKey => [...this.#prefix, ...parts];
    const mutations: Mutation[] = [];
    const changed = new Map<string, Set<RowId>>();
    const note = (table: string, rowid: RowId) => {
      const set = changed.get(table) ?? new Set<RowId>();
      changed.set(table, set);
      set.add(rowid);
    };
    const tables = new Set(
      (this.#db.prepare(TABLES_QUERY).all() as { name: string }[]).map((row) => row.name),
    );
    if (this.#rewriteAll) {
      const current = new Map<string, StoredSchema>();
      for (const row of this.#db.prepare(SCHEMA_QUERY).all() as {
        type: string;
        name: string;
        sql: string;
      }[]) {
        current.set(row.name, { type: row.type, sql: row.sql });
      }
      for (const [name, schema] of current) {
        const stored = this.#schema.get(name);
        if (stored?.sql !== schema.sql || stored.type !== schema.type) {
          mutations.push({ key: at("schema", name), value: schema });
        }
      }
      for (const name of this.#schema.keys()) {
        if (!current.has(name)) mutations.push({ key: at("schema", name), value: null });
      }
      this.#schema.clear();
      for (const [name, schema] of current) this.#schema.set(name, schema);
      for (const [table, stored] of this.#stored) for (const rowid of stored.keys()) note(table, rowid);
      for (const table of tables) {
        for (const row of ridsOf(
          this.#db,
          `SELECT ${this.#rowIdOf(table, quote(table))} AS rid FROM ${quote(table)}`,
        )) {
          note(table, row.rid);
        }
      }
      this.#rewriteAll = false;
    } else {
      for (const row of ridsOf<{ tbl: string; rid: RowId }>(
        this.#db,
        "SELECT DISTINCT tbl, rid FROM _kv_changes",
      )) {
        note(row.tbl, row.rid);
      }
    }
    this.#db.exec("DELETE FROM _kv_changes");
    for (const [table, rowids] of changed) {
      const stored = this.#stored.get(table) ?? new Map<RowId, number>();
      this.#stored.set(table, stored);
      const keys = this.#keyed.get(table);
      const exists = tables.has(table);
      const byRowid =
        exists && !keys ? this.#db.prepare(`SELECT * FROM ${quote(table)} WHERE rowid = ?`) : undefined;
      const select = (rowid: RowId) => {
        // A row known the other way (the table was rebuilt with or without rowid) is gone.
        if (!exists || (typeof rowid === "string") !== (keys !== undefined)) return undefined;
        // A WITHOUT ROWID table's row by its key's literals, as SQLite's quote() wrote them (they
        // round-trip exactly), so that its primary key index finds it.
        const statement =
          byRowid ??
          this.#db.prepare(
            `SELECT * FROM ${quote(table)} WHERE (${(keys ?? []).map(quote).join(", ")}) = (${rowid})`,
          );
        // Integers as BigInt: one past 2^53 is kept exactly, and an INTEGER stays an INTEGER (a
        // JavaScript number is put back as a REAL, which an untyped column would keep as one).
        statement.setReadBigInts(true);
        return (byRowid ? statement.all(rowid) : statement.all())[0] as Record<string, SqlValue> | undefined;
      };
      for (const rowid of rowids) {
        const row = select(rowid);
        const before = stored.get(rowid) ?? 0;
        const chunks = row ? toChunks({ ...row }) : [];
        if (chunks.length === 1) {
          mutations.push({ key: at("row", table, rowid), value: chunks[0] as Uint8Array });
        } else if (chunks.length > 1) {
          mutations.push({ key: at("row", table, rowid), value: chunks.length });
          for (const [part, chunk] of chunks.entries()) {
            mutations.push({ key: at("chunk", table, rowid, part), value: chunk });
          }
        } else if (before > 0) {
          mutations.push({ key: at("row", table, rowid), value: null });
        }
        // Chunks of a longer version of the row, now past its end.
        for (let part = chunks.length > 1 ? chunks.length : 0; part < before && before > 1; part++) {
          mutations.push({ key: at("chunk", table, rowid, part), value: null });
        }
        if (chunks.length > 0) stored.set(rowid, chunks.length);
        else stored.delete(rowid);
      }
      if (stored.size === 0 && !tables.has(table)) this.#stored.delete(table);
    }
    const hasSequences =
      this.#db.prepare("SELECT 1 FROM main.sqlite_master WHERE name = 'sqlite_sequence'").all().length > 0;
    const sequences = hasSequences
      ? (this.#db.prepare("SELECT name, seq FROM sqlite_sequence").all() as { name: string; seq: number }[])
      : [];
    for (const { name, seq } of sequences) {
      if (this.#sequences.get(name) === seq) continue;
      this.#sequences.set(name, seq);
      mutations.push({ key: at("seq", name), value: seq });
    }
    const alarm = this.alarmAt();
    if (alarm !== this.#indexedAlarm) {
      if (this.#indexedAlarm !== undefined)
        mutations.push({ key: this.#alarmIndex(this.#indexedAlarm), value: null });
      if (alarm !== undefined) mutations.push({ key: this.#alarmIndex(alarm), value: 1 });
      this.#indexedAlarm = alarm;
      const told = alarm;
      queueMicrotask(() => this.onAlarmChange?.(told));
    }
    return mutations;
  }

  /** One atomic commit, or, past its limits, a journal written first and then applied. */
  async #commit(mutations: Mutation[]): Promise<void> {
    const batches = batchesOf(mutations);
    if (batches.length === 1) {
      await this.#fence.commit((atomic) => applyMutations(atomic, batches[0] as Mutation[]));
      return;
    }
    const seq = this.#journalSeq++;
    const parts = toChunks(mutations);
    const at = (...rest: (string | number)[]): KvKey => [...this.#prefix, ...rest];
    const partMutations = parts.map(
      (part, index): Mutation => ({ key: at("journal", seq, index), value: part }),
    );
    for (const batch of batchesOf(partMutations)) {
      await this.#fence.commit((atomic) => applyMutations(atomic, batch));
    }
    // The commit point: from here on a new holder applies the journal over what it reads.
    await this.#fence.commit((atomic) => atomic.set(at("head"), { seq, parts: parts.length }));
    await this.#finishJournal({ seq, parts: parts.length }, mutations);
  }

  async #finishJournal(head: JournalHead, mutations: readonly Mutation[]): Promise<void> {
    const at = (...rest: (string | number)[]): KvKey => [...this.#prefix, ...rest];
    for (const batch of batchesOf(mutations)) {
      await this.#fence.commit((atomic) => applyMutations(atomic, batch));
    }
    const cleanup: Mutation[] = [{ key: at("head"), value: null }];
    for (let part = 0; part < head.parts; part++)
      cleanup.push({ key: at("journal", head.seq, part), value: null });
    for (const batch of batchesOf(cleanup)) {
      await this.#fence.commit((atomic) => applyMutations(atomic, batch));
    }
  }
}
