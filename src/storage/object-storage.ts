/**
 * The storage a target or an environment object needs: synchronous SQL, transactions and one
 * alarm. A Durable Object's `ctx.storage` is one; the Deno adapter provides another over SQLite.
 */
export type SqlValue = ArrayBuffer | string | number | null;

export interface SqlCursor<T> extends Iterable<T> {
  toArray(): T[];
}

export interface SqlLike {
  exec<T extends Record<string, SqlValue>>(query: string, ...bindings: unknown[]): SqlCursor<T>;
}

export interface ObjectStorage {
  readonly sql: SqlLike;
  transactionSync<T>(closure: () => T): T;
  /** Runs the owner's `alarm()` at `scheduledTime` (epoch ms), replacing any alarm already set. */
  setAlarm(scheduledTime: number): Promise<void>;
}
