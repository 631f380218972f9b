import type { TableSet } from "../storage/migrations";
import type { SqlLike } from "../storage/object-storage";

/** A receiver deleted in the environment, and when. */
export type DeletedReceiverRow = { receiver_id: string; deleted_at: number };

export const DELETIONS_TABLES: TableSet = {
  component: "deletions",
  migrations: [
    {
      version: 1,
      description: "deleted_receivers: receivers deleted in this environment, never restored",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(
          "CREATE TABLE IF NOT EXISTS deleted_receivers (receiver_id TEXT PRIMARY KEY, deleted_at INTEGER NOT NULL)",
        ),
    },
  ],
};

/**
 * The receivers deleted in an environment. A restore from an older export must not bring one back:
 * its delete stopped its URL on purpose (docs/backup.md), and the URL would work again with the
 * same signing keys. Kept by id only, a few dozen bytes a receiver.
 */
export class Deletions {
  readonly #sql: SqlLike;

  constructor(sql: SqlLike) {
    this.#sql = sql;
  }

  record(receiverId: string, now = Date.now()): void {
    this.#sql.exec(
      "INSERT INTO deleted_receivers (receiver_id, deleted_at) VALUES (?, ?) ON CONFLICT (receiver_id) DO NOTHING",
      receiverId,
      now,
    );
  }

  has(receiverId: string): boolean {
    return (
      this.#sql.exec("SELECT 1 FROM deleted_receivers WHERE receiver_id = ?", receiverId).toArray().length > 0
    );
  }
}
