import type { LegacyImport, LegacyRoute } from "../domain/ports";
import type { TableSet } from "../storage/migrations";
import type { SqlLike } from "../storage/object-storage";
import { fromStoredJson, JSON_COLUMNS, toStoredJson } from "../storage/stored-json";

/**
 * A receiver imported from Rancher's webhook-service: the generic object it came from (its id and
 * the SHA-256 of its key, which together name it), and what the original's URL of it (`?key=` or
 * an RS256 `?token=`) triggers. The original's secret is kept only as its SHA-256; `key_digest` is
 * null once a regenerate retired the old URL. `route` is the LegacyRoute as JSON.
 */
export type LegacyReceiverRow = {
  generic_object_id: string;
  original_digest: string;
  receiver_id: string;
  key_digest: string | null;
  route: string;
};

/** Receiver ids per statement: under the 100 values a Durable Object's statement may bind. */
const IDS_PER_QUERY = 90;

/** Two entries of one import name the same generic object or key: none of them is recorded. */
export class ImportConflict extends Error {}

export const LEGACY_TABLES: TableSet = {
  component: "legacy",
  migrations: [
    {
      version: 1,
      description: "legacy_receivers: receivers imported from webhook-service and their original URLs",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(`
          CREATE TABLE IF NOT EXISTS legacy_receivers (
            generic_object_id TEXT NOT NULL,
            original_digest TEXT NOT NULL,
            receiver_id TEXT NOT NULL,
            key_digest TEXT UNIQUE,
            route TEXT NOT NULL,
            PRIMARY KEY (generic_object_id, original_digest)
          );
          CREATE INDEX IF NOT EXISTS legacy_receivers_by_receiver ON legacy_receivers (receiver_id);`),
    },
  ],
};

/**
 * The environment's imported receivers. Kept in the environment's object, not in KV: the original's
 * URL is decided here, so KV's eventual consistency never decides a trigger, and delete and
 * regenerate stop the old URL at once.
 */
export class LegacyReceivers {
  constructor(private readonly sql: SqlLike) {}

  /** The receiver a generic object (its id and key's SHA-256) was imported as, if it was. */
  importedAs(genericObjectId: string, keyDigest: string): string | null {
    const [row] = this.sql
      .exec<Pick<LegacyReceiverRow, "receiver_id">>(
        "SELECT receiver_id FROM legacy_receivers WHERE generic_object_id = ? AND original_digest = ?",
        genericObjectId,
        keyDigest,
      )
      .toArray();
    return row?.receiver_id ?? null;
  }

  /**
   * Records a receiver's imports, all or none, unless one of them belongs to another receiver here:
   * a row of another receiver with the same generic object, or whose original or current key is
   * one of these keys, retired ones included (a regenerate retired that URL on purpose, so nothing
   * brings it back). Answers why they were refused, or null once recorded. The caller runs it as
   * one transaction of the environment's object, and the rows go in by plain INSERTs, so of two
   * imports of the same key that race, the first keeps it and the second is told. Rows this
   * receiver already has (a restore that stopped part way, run again) are kept as they are.
   */
  claim(entries: readonly LegacyImport[], route: LegacyRoute): string | null {
    for (const entry of entries) {
      const conflict = this.#conflict(entry, route.receiverId);
      if (conflict) return conflict;
    }
    for (const entry of entries) {
      if (this.importedAs(entry.genericObjectId, entry.originalDigest) === route.receiverId) continue;
      try {
        this.sql.exec(
          `INSERT INTO legacy_receivers (generic_object_id, original_digest, receiver_id, key_digest, route)
           VALUES (?, ?, ?, ?, ?)`,
          entry.genericObjectId,
          entry.originalDigest,
          route.receiverId,
          entry.keyDigest,
          toStoredJson(JSON_COLUMNS.legacyRoute, route),
        );
      } catch (error) {
        // After the check only the receiver's own entries can collide (one key listed twice): the
        // conflict is reported, and the transaction's rollback writes none of them.
        if (error instanceof Error && /UNIQUE|constraint/i.test(error.message)) {
          throw new ImportConflict(
            `webhook-service generic object ${entry.genericObjectId} or its key is listed twice`,
          );
        }
        throw error;
      }
    }
    return null;
  }

  /** Why `entry` belongs to a receiver other than `receiverId`, or null. */
  #conflict(entry: LegacyImport, receiverId: string): string | null {
    const keys = [entry.originalDigest, entry.keyDigest ?? entry.originalDigest];
    const [row] = this.sql
      .exec<Pick<LegacyReceiverRow, "generic_object_id" | "original_digest" | "receiver_id" | "key_digest">>(
        `SELECT generic_object_id, original_digest, receiver_id, key_digest FROM legacy_receivers
         WHERE receiver_id != ?
           AND ((generic_object_id = ? AND original_digest = ?)
                OR original_digest IN (?, ?) OR key_digest IN (?, ?))
         ORDER BY (generic_object_id = ? AND original_digest = ?) DESC, key_digest IS NULL
         LIMIT 1`,
        receiverId,
        entry.genericObjectId,
        entry.originalDigest,
        ...keys,
        ...keys,
        entry.genericObjectId,
        entry.originalDigest,
      )
      .toArray();
    if (!row) return null;
    if (row.generic_object_id === entry.genericObjectId && row.original_digest === entry.originalDigest) {
      return `webhook-service generic object ${entry.genericObjectId} is already imported as receiver ${row.receiver_id}`;
    }
    if (row.key_digest !== null) {
      return `its original webhook-service URL already triggers receiver ${row.receiver_id}`;
    }
    return `its webhook-service key belongs to receiver ${row.receiver_id}, whose original URL a regenerate retired`;
  }

  /** The imports of each of `receiverIds` (those that have any), as an export carries them. */
  importsOf(receiverIds: readonly string[]): Record<string, LegacyImport[]> {
    const imports: Record<string, LegacyImport[]> = {};
    // A Durable Object's statement binds at most 100 values: the ids are asked in slices.
    for (let start = 0; start < receiverIds.length; start += IDS_PER_QUERY) {
      const slice = receiverIds.slice(start, start + IDS_PER_QUERY);
      const rows = this.sql
        .exec<LegacyReceiverRow>(
          `SELECT generic_object_id, original_digest, receiver_id, key_digest, route FROM legacy_receivers
           WHERE receiver_id IN (${slice.map(() => "?").join(", ")})
           ORDER BY receiver_id, generic_object_id`,
          ...slice,
        )
        .toArray();
      for (const row of rows) {
        const entry: LegacyImport = {
          genericObjectId: row.generic_object_id,
          originalDigest: row.original_digest,
          keyDigest: row.key_digest,
        };
        const list = imports[row.receiver_id];
        if (list) list.push(entry);
        else imports[row.receiver_id] = [entry];
      }
    }
    return imports;
  }

  /** What the original URL with this key triggers, while it works. */
  route(keyDigest: string): LegacyRoute | null {
    const [row] = this.sql
      .exec<Pick<LegacyReceiverRow, "route">>(
        "SELECT route FROM legacy_receivers WHERE key_digest = ?",
        keyDigest,
      )
      .toArray();
    return row ? fromStoredJson<LegacyRoute>(JSON_COLUMNS.legacyRoute, row.route) : null;
  }

  /** Regenerate: the original URL stops working; the receiver stays imported. */
  retire(receiverId: string): void {
    this.sql.exec("UPDATE legacy_receivers SET key_digest = NULL WHERE receiver_id = ?", receiverId);
  }

  /** Delete: the receiver is gone, so its generic object may be imported again. */
  forget(receiverId: string): void {
    this.sql.exec("DELETE FROM legacy_receivers WHERE receiver_id = ?", receiverId);
  }
}
