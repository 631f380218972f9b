import { logEvent } from "../util/log";
import type { ObjectStorage, SqlLike } from "./object-storage";

/** One step of a component's storage, from the version before it to `version`. */
export interface Migration {
  version: number;
  /** What the step changes, for the record and for errors. */
  description: string;
  /**
   * Whether code that knows only the versions before this step still reads and writes correctly
   * over what it leaves: true for additive steps (a new table the older code never touches, a new
   * nullable column it never names), false for anything the older code would misread or break. A
   * rollback of the Worker past a step that keeps older code running goes on working; past one that
   * does not, the object refuses to run (docs/storage.md, "Rolling back a deploy").
   */
  olderCodeCanRun: boolean;
  up(sql: SqlLike): void;
}

/**
 * The tables one component of an object keeps (the target's history, a driver's follow-ups, …), with
 * the ordered steps that build them. A component's version moves on its own, so a driver adds tables
 * without touching anyone else's.
 */
export interface TableSet {
  component: string;
  migrations: readonly Migration[];
}

/** Where each component's version is kept: a table of its own in every object's storage. */
export const VERSIONS_TABLE = "schema_versions";

export const latestVersion = (set: TableSet): number => set.migrations.at(-1)?.version ?? 0;

/**
 * The oldest code (by this component's version) that can run over the component once it is at
 * `version`: the version of the last step that older code could not run over, or 0 if every step so
 * far left older code running.
 */
export function runnableFrom(set: TableSet, version: number): number {
  let from = 0;
  for (const step of set.migrations) {
    if (step.version > version) break;
    if (!step.olderCodeCanRun) from = step.version;
  }
  return from;
}

/**
 * Storage that a newer release migrated past what this code can run over. Its message starts with
 * STORAGE_TOO_NEW, which survives a Durable Object's RPC boundary (the class does not), so the
 * Worker can tell it and answer 503 (`isStorageTooNew`).
 */
export const STORAGE_TOO_NEW = "storage_too_new";

export class StorageTooNew extends Error {
  override readonly name = "StorageTooNew";

  constructor(
    readonly component: string,
    readonly storedVersion: number,
    readonly runnableFromVersion: number,
    readonly codeVersion: number,
  ) {
    super(
      `${STORAGE_TOO_NEW}: storage of ${component} is at version ${storedVersion} and needs code at version ${runnableFromVersion} or newer; this code is at ${codeVersion}`,
    );
  }

  /** The one log line that says why this object refuses to run. */
  log(): void {
    logEvent("error", STORAGE_TOO_NEW, {
      component: this.component,
      storedVersion: this.storedVersion,
      runnableFrom: this.runnableFromVersion,
      codeVersion: this.codeVersion,
    });
  }
}

/**
 * Whether an error, possibly rethrown across an RPC boundary, is a StorageTooNew: there it arrives
 * as a plain Error whose message is led by the class's name (`StorageTooNew: storage_too_new: …`).
 */
export const isStorageTooNew = (error: unknown): boolean =>
  error instanceof Error && /^(StorageTooNew: )?storage_too_new: /.test(error.message);

/**
 * Whether an object keeps any table of ours. The runtime's own tables start with `_` (workerd's
 * `_cf_…`, the Deno adapter's `_object` and `_alarm`) or `sqlite_`: an object holding only those
 * has never been written by this code, and reading it must not make it.
 */
export const hasOwnTables = (sql: SqlLike): boolean =>
  sql
    .exec(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\' LIMIT 1",
    )
    .toArray().length > 0;

/**
 * Brings an object's storage to the versions this code expects, at object start: each pending step
 * of each component in order, each step in its own transaction together with its version and the
 * oldest code that can still run over it (`runnable_from`). Objects made before versions were kept
 * hold the first version's tables without a version row; the first step of each component creates
 * its tables only if they are missing, so it takes them as they are.
 *
 * Storage newer than the code (a rollback of the Worker) is run over when every step past this
 * code's version left older code running (`runnable_from` at or below this code's version), and
 * refused with StorageTooNew otherwise, before anything is read or written. Components this code
 * does not know are tables it never touches, and are left alone.
 */
export function migrate(storage: Pick<ObjectStorage, "sql" | "transactionSync">, sets: readonly TableSet[]) {
  const { sql } = storage;
  sql.exec(
    `CREATE TABLE IF NOT EXISTS ${VERSIONS_TABLE} (component TEXT PRIMARY KEY, version INTEGER NOT NULL, runnable_from INTEGER)`,
  );
  // Storage versioned before `runnable_from` was kept: the column is added (nullable, so the
  // release before it, which names only `component` and `version`, still reads and writes the table).
  const [versions] = sql
    .exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", VERSIONS_TABLE)
    .toArray();
  if (versions && !versions.sql.includes("runnable_from")) {
    sql.exec(`ALTER TABLE ${VERSIONS_TABLE} ADD COLUMN runnable_from INTEGER`);
  }
  const stored = new Map(
    sql
      .exec<{ component: string; version: number; runnable_from: number | null }>(
        `SELECT component, version, runnable_from FROM ${VERSIONS_TABLE}`,
      )
      .toArray()
      .map((row) => [row.component, row]),
  );
  // Every component is checked before any is migrated: a refusal leaves the storage as it was.
  for (const set of sets) {
    const row = stored.get(set.component);
    const latest = latestVersion(set);
    if (!row || row.version <= latest) continue;
    // A row that code without `runnable_from` wrote says nothing of older code: it needs its own version.
    const from = row.runnable_from ?? row.version;
    if (from > latest) throw new StorageTooNew(set.component, row.version, from, latest);
  }
  for (const set of sets) {
    const current = stored.get(set.component)?.version ?? 0;
    for (const step of set.migrations) {
      if (step.version <= current) continue;
      storage.transactionSync(() => {
        step.up(sql);
        sql.exec(
          `INSERT INTO ${VERSIONS_TABLE} (component, version, runnable_from) VALUES (?, ?, ?)
           ON CONFLICT (component) DO UPDATE SET version = excluded.version, runnable_from = excluded.runnable_from`,
          set.component,
          step.version,
          runnableFrom(set, step.version),
        );
      });
    }
  }
}
