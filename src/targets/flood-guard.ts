import type { Clock } from "../domain/clock";
import type { TableSet } from "../storage/migrations";
import type { SqlLike } from "../storage/object-storage";

/**
 * A component of its own: a release that predates it leaves its table alone and runs on, keeping
 * its allowances in memory as it did (docs/storage.md).
 */
export const FLOOD_GUARD_TABLES: TableSet = {
  component: "floodGuard",
  migrations: [
    {
      version: 1,
      description: "flood_allowances: each receiver's flood allowance, as it stood after its latest delivery",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(
          "CREATE TABLE IF NOT EXISTS flood_allowances (receiver_id TEXT PRIMARY KEY, tokens REAL NOT NULL, updated INTEGER NOT NULL)",
        ),
    },
  ],
};

/** A receiver's allowance: `tokens` deliveries left at `updated` (epoch ms). */
export type FloodAllowanceRow = { receiver_id: string; tokens: number; updated: number };

/**
 * A token bucket per receiver: `limit` deliveries at once, refilled at `limit` a minute. Kept in
 * storage with each delivery it lets through, before that delivery is answered, so a restart or an
 * eviction in the middle of a flood does not forgive it (docs/how-it-works.md, "Crashes and
 * restarts"). A refused delivery changes nothing stored: the bucket as kept, refilled to now, is
 * the bucket it left.
 */
export class FloodGuard {
  readonly #sql: SqlLike;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, { tokens: number; updated: number }>();

  constructor(sql: SqlLike, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
    for (const row of sql.exec<FloodAllowanceRow>(
      "SELECT receiver_id, tokens, updated FROM flood_allowances",
    )) {
      this.#buckets.set(row.receiver_id, { tokens: row.tokens, updated: row.updated });
    }
  }

  /** Whether a delivery to `receiverId` is within its allowance; if so, it is spent and kept. */
  admit(receiverId: string, limit: number): boolean {
    const now = this.#clock.now();
    const kept = this.#buckets.get(receiverId);
    const tokens = kept ? Math.min(limit, kept.tokens + ((now - kept.updated) * limit) / 60_000) : limit;
    if (tokens < 1) return false;
    const bucket = { tokens: tokens - 1, updated: now };
    this.#sql.exec(
      "INSERT INTO flood_allowances (receiver_id, tokens, updated) VALUES (?, ?, ?) ON CONFLICT (receiver_id) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated",
      receiverId,
      bucket.tokens,
      bucket.updated,
    );
    this.#buckets.set(receiverId, bucket);
    return true;
  }

  /** Drops a receiver's allowance (delete); call inside the transaction that removes the receiver. */
  forget(receiverId: string): void {
    this.#sql.exec("DELETE FROM flood_allowances WHERE receiver_id = ?", receiverId);
    this.#buckets.delete(receiverId);
  }
}
