import type { ObjectStorage, SqlLike } from "./object-storage";

/** One step of a component's storage, from the version before it to `version`. */
export interface Migration {
  version: number;
  /** What the step changes, for the record and for errors. */
  description: string;
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
 * Brings an object's storage to the versions this code expects, at object start: each pending step
 * of each component in order, each step in its own transaction together with its version. Objects
 * made before versions were kept hold the first version's tables without a version row; the first
 * step of each component creates its tables only if they are missing, so it takes them as they are.
 * Storage newer than the code (a rollback of the Worker) is refused rather than misread.
 */
export function migrate(storage: Pick<ObjectStorage, "sql" | "transactionSync">, sets: readonly TableSet[]) {
  const { sql } = storage;
  sql.exec(
    `CREATE TABLE IF NOT EXISTS ${VERSIONS_TABLE} (component TEXT PRIMARY KEY, version INTEGER NOT NULL)`,
  );
  const stored = new Map(
    sql
      .exec<{ component: string; version: number }>(`SELECT component, version FROM ${VERSIONS_TABLE}`)
      .toArray()
      .map((row) => [row.component, row.version]),
  );
  for (const set of sets) {
    const current = stored.get(set.component) ?? 0;
    const latest = latestVersion(set);
    if (current > latest) {
      throw new Error(
        `storage of ${set.component} is at version ${current}, newer than this code knows (${latest})`,
      );
    }
    for (const step of set.migrations) {
      if (step.version <= current) continue;
      storage.transactionSync(() => {
        step.up(sql);
        sql.exec(
          `INSERT INTO ${VERSIONS_TABLE} (component, version) VALUES (?, ?)
           ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
          set.component,
          step.version,
        );
      });
    }
  }
}
