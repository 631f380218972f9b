import type { SqlLike } from "./storage";

/**
 * One per environment: the single place where receiver names are claimed, so two concurrent
 * creates of the same name cannot both succeed (KV has no compare-and-set).
 */
export class NameClaims {
  readonly #sql: SqlLike;

  constructor(sql: SqlLike) {
    this.#sql = sql;
    this.#sql.exec("CREATE TABLE IF NOT EXISTS names (name TEXT PRIMARY KEY, receiver_id TEXT NOT NULL)");
  }

  /** Claims `name` for a receiver; false if another receiver holds it. Idempotent for the holder. */
  claimName(name: string, receiverId: string): boolean {
    const holder = this.#sql
      .exec<{ receiver_id: string }>("SELECT receiver_id FROM names WHERE name = ?", name)
      .toArray();
    if (holder[0]) return holder[0].receiver_id === receiverId;
    this.#sql.exec("INSERT INTO names (name, receiver_id) VALUES (?, ?)", name, receiverId);
    return true;
  }

  /** Frees `name` if `receiverId` holds it. */
  releaseName(name: string, receiverId: string): void {
    this.#sql.exec("DELETE FROM names WHERE name = ? AND receiver_id = ?", name, receiverId);
  }
}
