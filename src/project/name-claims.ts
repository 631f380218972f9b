import type { NameClaim, NameHolder } from "../domain/ports";
import type { TableSet } from "../storage/migrations";
import type { SqlLike } from "../storage/object-storage";

/**
 * A receiver name of the environment, the receiver that holds it, and the target object its create
 * registers it at with the time it claimed the name (both null for a claim kept by a release that
 * did not record them).
 */
export type NameRow = { name: string; receiver_id: string; target: string | null; claimed_at: number | null };

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
    {
      version: 2,
      description: "names.target, names.claimed_at: where a name's receiver is registered, and since when",
      olderCodeCanRun: true,
      up: (sql) => {
        sql.exec("ALTER TABLE names ADD COLUMN target TEXT");
        sql.exec("ALTER TABLE names ADD COLUMN claimed_at INTEGER");
      },
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

  /**
   * Claims `name` for a receiver (to be registered at `claim.target`); false if another receiver
   * holds it. Idempotent for the holder.
   */
  claimName(name: string, receiverId: string, claim?: NameClaim): boolean {
    const holder = this.holderOf(name);
    if (holder) return holder.receiverId === receiverId;
    this.#sql.exec(
      "INSERT INTO names (name, receiver_id, target, claimed_at) VALUES (?, ?, ?, ?)",
      name,
      receiverId,
      claim?.target ?? null,
      claim?.at ?? null,
    );
    return true;
  }

  holderOf(name: string): NameHolder | null {
    const [row] = this.#sql
      .exec<Omit<NameRow, "name">>("SELECT receiver_id, target, claimed_at FROM names WHERE name = ?", name)
      .toArray();
    return row ? { receiverId: row.receiver_id, target: row.target, claimedAt: row.claimed_at } : null;
  }

  /** Hands `name` from `fromId` to `toId`; false, changing nothing, if `fromId` no longer holds it. */
  takeOverName(name: string, fromId: string, toId: string, claim: NameClaim): boolean {
    if (this.holderOf(name)?.receiverId !== fromId) return false;
    this.#sql.exec(
      "UPDATE names SET receiver_id = ?, target = ?, claimed_at = ? WHERE name = ?",
      toId,
      claim.target,
      claim.at,
      name,
    );
    return true;
  }

  /** Frees `name` if `receiverId` holds it. */
  releaseName(name: string, receiverId: string): void {
    this.#sql.exec("DELETE FROM names WHERE name = ? AND receiver_id = ?", name, receiverId);
  }
}
