import type { LegacyImport, LegacyRoute } from "../domain/ports";
import type { TableSet } from "../storage/migrations";
import type { SqlLike } from "../storage/object-storage";

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

  record(genericObjectId: string, keyDigest: string, route: LegacyRoute): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO legacy_receivers (generic_object_id, original_digest, receiver_id, key_digest, route)
       VALUES (?, ?, ?, ?, ?)`,
      genericObjectId,
      keyDigest,
      route.receiverId,
      keyDigest,
      JSON.stringify(route),
    );
  }

  /** A receiver's imports, as an export carries them. */
  importsOf(receiverId: string): LegacyImport[] {
    return this.sql
      .exec<Pick<LegacyReceiverRow, "generic_object_id" | "original_digest" | "key_digest">>(
        "SELECT generic_object_id, original_digest, key_digest FROM legacy_receivers WHERE receiver_id = ? ORDER BY generic_object_id",
        receiverId,
      )
      .toArray()
      .map((row) => ({
        genericObjectId: row.generic_object_id,
        originalDigest: row.original_digest,
        keyDigest: row.key_digest,
      }));
  }

  /**
   * An import as an export holds it (a restore): the caller has checked that neither the generic
   * object nor the key belongs to another receiver here, and the UNIQUE key makes sure of the key.
   */
  restore(entry: LegacyImport, route: LegacyRoute): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO legacy_receivers (generic_object_id, original_digest, receiver_id, key_digest, route)
       VALUES (?, ?, ?, ?, ?)`,
      entry.genericObjectId,
      entry.originalDigest,
      route.receiverId,
      entry.keyDigest,
      JSON.stringify(route),
    );
  }

  /** What the original URL with this key triggers, while it works. */
  route(keyDigest: string): LegacyRoute | null {
    const [row] = this.sql
      .exec<Pick<LegacyReceiverRow, "route">>(
        "SELECT route FROM legacy_receivers WHERE key_digest = ?",
        keyDigest,
      )
      .toArray();
    return row ? (JSON.parse(row.route) as LegacyRoute) : null;
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
