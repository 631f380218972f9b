import type { ObjectStorage, SqlCursor, SqlLike, SqlValue } from "./object-storage";

/** The synchronous SQLite API this storage needs: `node:sqlite`'s DatabaseSync (Node and Deno) has it. */
export interface SyncDatabase {
  exec(sql: string): void;
  prepare(sql: string): SyncStatement;
}

export interface SyncStatement {
  all(...values: (string | number | null)[]): unknown[];
  run(...values: (string | number | null)[]): unknown;
}

/** Statements that return rows; everything else is run for its effect. */
const READS = /^\s*(SELECT|WITH|PRAGMA)\b|\bRETURNING\b/i;
/** How often, and how far apart, a failing alarm is tried again (as Durable Objects do). */
const ALARM_RETRIES = 6;
const ALARM_RETRY_MS = 1_000;

const rows = <T>(list: T[]): SqlCursor<T> => ({
  toArray: () => list,
  [Symbol.iterator]: () => list[Symbol.iterator](),
});

/** One SQLite database per object, as a Durable Object has: SQL, nested transactions, one alarm. */
export class SqliteObjectStorage implements ObjectStorage {
  readonly sql: SqlLike;
  readonly #db: SyncDatabase;
  readonly #statements = new Map<string, SyncStatement>();
  #depth = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Set by the owner once it exists: what the alarm runs. */
  onAlarm: (() => Promise<void>) | undefined;
  /** The alarm running now, if any: the next one waits for it, as a Durable Object's does. */
  #running: Promise<void> = Promise.resolve();

  constructor(db: SyncDatabase) {
    this.#db = db;
    db.exec("CREATE TABLE IF NOT EXISTS _alarm (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL)");
    this.sql = {
      exec: <T extends Record<string, SqlValue>>(query: string, ...bindings: unknown[]) => {
        const reads = READS.test(query);
        // Schema scripts (several statements, no bindings) run as a whole.
        if (bindings.length === 0 && !reads) {
          db.exec(query);
          return rows<T>([]);
        }
        let statement = this.#statements.get(query);
        if (!statement) {
          statement = db.prepare(query);
          this.#statements.set(query, statement);
        }
        const values = bindings as (string | number | null)[];
        if (reads) return rows(statement.all(...values) as T[]);
        statement.run(...values);
        return rows<T>([]);
      },
    };
  }

  transactionSync<T>(closure: () => T): T {
    const savepoint = `t${this.#depth++}`;
    this.#db.exec(`SAVEPOINT ${savepoint}`);
    try {
      const result = closure();
      this.#db.exec(`RELEASE ${savepoint}`);
      return result;
    } catch (error) {
      this.#db.exec(`ROLLBACK TO ${savepoint}`);
      this.#db.exec(`RELEASE ${savepoint}`);
      throw error;
    } finally {
      this.#depth--;
    }
  }

  async setAlarm(scheduledTime: number): Promise<void> {
    this.sql.exec("INSERT OR REPLACE INTO _alarm (id, at) VALUES (1, ?)", scheduledTime);
    this.#arm(scheduledTime, 0);
  }

  /** Re-arms an alarm stored before a restart. */
  resume(): void {
    const [row] = this.sql.exec<{ at: number }>("SELECT at FROM _alarm WHERE id = 1").toArray();
    if (row) this.#arm(row.at, 0);
  }

  #arm(at: number, attempt: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#fire(at, attempt), Math.max(0, at - Date.now()));
  }

  async #fire(at: number, attempt: number): Promise<void> {
    // A Durable Object never runs two alarms at once: one that comes due while another runs (set by
    // a call meanwhile) waits for it, and runs only if it is still the one set then.
    const earlier = this.#running;
    let finished = () => {};
    this.#running = new Promise((resolve) => {
      finished = resolve;
    });
    try {
      await earlier;
      const [row] = this.sql.exec<{ at: number }>("SELECT at FROM _alarm WHERE id = 1").toArray();
      if (row?.at === at) await this.#deliver(at, attempt);
    } finally {
      finished();
    }
  }

  async #deliver(at: number, attempt: number): Promise<void> {
    // As with Durable Objects, an alarm counts as delivered only once alarm() has returned: its
    // row stays until then, so a process that dies mid-alarm runs it again when it starts. A new
    // alarm set by alarm() itself has another time and is kept.
    try {
      await this.onAlarm?.();
      this.sql.exec("DELETE FROM _alarm WHERE id = 1 AND at = ?", at);
    } catch (error) {
      console.error("alarm failed", error instanceof Error ? error.message : "unknown error");
      if (attempt + 1 < ALARM_RETRIES) {
        const retryAt = Date.now() + ALARM_RETRY_MS * 2 ** attempt;
        this.sql.exec("UPDATE _alarm SET at = ? WHERE id = 1 AND at = ?", retryAt, at);
        this.#arm(retryAt, attempt + 1);
      } else {
        this.sql.exec("DELETE FROM _alarm WHERE id = 1 AND at = ?", at);
      }
    }
  }
}
