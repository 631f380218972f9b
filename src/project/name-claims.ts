import type { TableSet } from "../storage/migrations";
import type { SqlLike } from "../storage/object-storage";

/** A receiver name of the environment and the receiver that holds it. */
export type NameRow = { name: string; receiver_id: string };

export const NAMES_TABLES: TableSet = {
  component: "names",
  migrations: [
    {
      version: 1,
      description: "names: each receiver name of the environment, claimed by one receiver",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec("CREATE TABLE IF NOT EXISTS names (name TEXT PRIMARY KEY, receiver_id TEXT NOT NULL)"),
    },
  ],
};

/**
 * One per environment: the single place where receiver names are claimed, so two concurrent
 * creates of the same name cannot both succeed (KV has no compare-and-set).
 */
export class NameClaims {
  readonly #sql: SqlLike;

  constructor(sql: SqlLike) {
    this.#sql = sql;
  }

  /** Claims `name` for a receiver; false if another receiver holds it. Idempotent for the holder. */
  claimName(name: string, receiverId: string): boolean {
    const [holder] = this.#sql
      .exec<Pick<NameRow, "receiver_id">>("SELECT receiver_id FROM names WHERE name = ?", name)
      .toArray();
    if (holder) return holder.receiver_id === receiverId;
    this.#sql.exec("INSERT INTO names (name, receiver_id) VALUES (?, ?)", name, receiverId);
    return true;
  }

  /** Frees `name` if `receiverId` holds it. */
  releaseName(name: string, receiverId: string): void {
    this.#sql.exec("DELETE FROM names WHERE name = ? AND receiver_id = ?", name, receiverId);
  }
}
