import type { Execution, Outcome } from "../domain/execution";
import type { ReceiverMetrics, TargetMetrics } from "../domain/metrics";
import type { TableSet } from "../storage/migrations";
import type { SqlLike } from "../storage/object-storage";

/** How many executions of a receiver took an outcome, and when the latest did. */
export type ExecutionCountRow = { receiver_id: string; outcome: string; count: number; last_at: number };

/**
 * A component of its own, so that the release before it (which ignores components it does not know)
 * still runs over storage that has it.
 */
export const METRICS_TABLES: TableSet = {
  component: "metrics",
  migrations: [
    {
      version: 1,
      description: "execution_counts: executions per receiver and outcome, kept past history trimming",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(`
          CREATE TABLE IF NOT EXISTS execution_counts (
            receiver_id TEXT NOT NULL,
            outcome TEXT NOT NULL,
            count INTEGER NOT NULL,
            last_at INTEGER NOT NULL,
            PRIMARY KEY (receiver_id, outcome)
          );`),
    },
  ],
};

/** Outcomes that mean the work is not over yet. */
const OPEN: readonly Outcome[] = ["pending", "queued"];

/**
 * The counters behind `rancher_hooks_executions_total`: each time an execution takes an outcome (it
 * is recorded with it, or a `pending`/`queued` one settles to it), that outcome's count goes up by
 * one, in the caller's transaction. History trimming and restarts leave the counts alone.
 */
export class ExecutionCounts {
  readonly #sql: SqlLike;

  constructor(sql: SqlLike) {
    this.#sql = sql;
  }

  /** Counts executions that took their outcome at `at` (epoch ms). */
  count(executions: readonly Pick<Execution, "receiverId" | "outcome">[], at: number): void {
    const tally = new Map<string, { receiverId: string; outcome: Outcome; count: number }>();
    for (const { receiverId, outcome } of executions) {
      const key = `${receiverId}\n${outcome}`;
      const entry = tally.get(key) ?? { receiverId, outcome, count: 0 };
      entry.count++;
      tally.set(key, entry);
    }
    for (const { receiverId, outcome, count } of tally.values()) {
      this.#sql.exec(
        `INSERT INTO execution_counts (receiver_id, outcome, count, last_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (receiver_id, outcome) DO UPDATE
         SET count = count + excluded.count, last_at = MAX(last_at, excluded.last_at)`,
        receiverId,
        outcome,
        count,
        at,
      );
    }
  }

  forget(receiverId: string): void {
    this.#sql.exec("DELETE FROM execution_counts WHERE receiver_id = ?", receiverId);
  }

  /** Every counted receiver with its counts, and the executions still open in the history. */
  read(): TargetMetrics {
    const receivers = new Map<string, ReceiverMetrics>();
    const of = (receiverId: string) => {
      let entry = receivers.get(receiverId);
      if (!entry) {
        entry = { receiverId, outcomes: [], pending: 0 };
        receivers.set(receiverId, entry);
      }
      return entry;
    };
    for (const row of this.#sql.exec<ExecutionCountRow>(
      "SELECT receiver_id, outcome, count, last_at FROM execution_counts ORDER BY receiver_id, outcome",
    )) {
      of(row.receiver_id).outcomes.push({
        outcome: row.outcome as Outcome,
        count: row.count,
        lastAt: row.last_at,
      });
    }
    // At most EXECUTIONS_KEPT rows a receiver: what the history shows open is what is open.
    for (const row of this.#sql.exec<{ receiver_id: string; open: number; oldest: number }>(
      `SELECT receiver_id, COUNT(*) AS open, MIN(json_extract(body, '$.at')) AS oldest FROM executions
       WHERE json_extract(body, '$.outcome') IN (${OPEN.map(() => "?").join(", ")})
       GROUP BY receiver_id`,
      ...OPEN,
    )) {
      const entry = of(row.receiver_id);
      entry.pending = row.open;
      entry.oldestPendingAt = row.oldest;
    }
    return { receivers: [...receivers.values()] };
  }
}
