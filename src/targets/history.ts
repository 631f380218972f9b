import type { Clock } from "../domain/clock";
import type { Execution } from "../domain/execution";
import { newId } from "../domain/ids";
import type { TargetMetrics } from "../domain/metrics";
import type { TriggerResult } from "../domain/ports";
import type { History, RecordedDecision } from "../drivers/definition";
import type { TableSet } from "../storage/migrations";
import type { ObjectStorage, SqlLike } from "../storage/object-storage";
import { fromStoredJson, JSON_COLUMNS, toStoredJson } from "../storage/stored-json";
import { clipEcho } from "../util/echo";
import { type LogLevel, logEvent } from "../util/log";
import { ExecutionCounts } from "./metrics";

/** One recorded execution; `body` is the Execution as JSON. */
export type ExecutionRow = { seq: number; receiver_id: string; execution_id: string; body: string };

/** A delivery identity seen recently, with the execution its first delivery got. */
export type DeliveryRow = { receiver_id: string; identity: string; execution: string; expires: number };

/** When a receiver last applied a change. */
export type CooldownRow = { receiver_id: string; last_applied: number };

export const HISTORY_TABLES: TableSet = {
  component: "history",
  migrations: [
    {
      version: 1,
      description: "executions, deliveries (de-duplication) and cooldowns",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(`
          CREATE TABLE IF NOT EXISTS executions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            receiver_id TEXT NOT NULL,
            body TEXT NOT NULL
          );
          CREATE INDEX IF NOT EXISTS executions_by_receiver ON executions (receiver_id, seq);
          CREATE TABLE IF NOT EXISTS deliveries (
            receiver_id TEXT NOT NULL,
            identity TEXT NOT NULL,
            execution TEXT NOT NULL,
            expires INTEGER NOT NULL,
            PRIMARY KEY (receiver_id, identity)
          );
          CREATE INDEX IF NOT EXISTS deliveries_by_expiry ON deliveries (expires);
          CREATE TABLE IF NOT EXISTS cooldowns (receiver_id TEXT PRIMARY KEY, last_applied INTEGER NOT NULL);`),
    },
    {
      version: 2,
      description: "executions.execution_id as a column, so an execution is found without reading JSON",
      olderCodeCanRun: false,
      up: (sql) =>
        sql.exec(`
          ALTER TABLE executions ADD COLUMN execution_id TEXT;
          UPDATE executions SET execution_id = json_extract(body, '$.id');
          CREATE UNIQUE INDEX executions_by_id ON executions (execution_id);`),
    },
  ],
};

/** What else a target keeps of executions: told in the transaction that records or settles them. */
export interface HistoryListener {
  /** Executions that took an outcome now: recorded with it, or settled to it. */
  outcomes(executions: readonly Execution[]): void;
  /** A receiver deleted: everything kept of it goes. */
  forget(receiverId: string): void;
}

/** History kept per receiver. */
export const EXECUTIONS_KEPT = 100;
/** A receiver's history is cut back to EXECUTIONS_KEPT every this many executions. */
const TRIM_EVERY = 16;
/** How often expired delivery identities are deleted. */
const EXPIRY_SWEEP_MS = 60_000;
/**
 * Executions written by one INSERT: a batch of triggers is recorded in a few statements rather than
 * one each. Three parameters a row, under the 100 a Durable Object's SQL statement may bind.
 */
const ROWS_PER_INSERT = 32;

/** Outcomes logged at level error: the change was not made, or was undone. */
const ERROR_OUTCOMES: ReadonlySet<string> = new Set(["failed", "rolledBack"]);

/** How long a delivery identity is remembered: a repeat within it is answered, not applied. */
export const DEDUPLICATION_WINDOW_MS = 10 * 60_000;

/**
 * A target's record of what it decided: executions per receiver (the newest EXECUTIONS_KEPT), the
 * delivery identities that de-duplicate repeats, and when each receiver last applied a change.
 */
export class TargetHistory implements History {
  readonly #storage: ObjectStorage;
  readonly #sql: SqlLike;
  readonly #clock: Clock;
  readonly #counts: ExecutionCounts;
  /** The environment of a receiver of this target, for log lines. */
  readonly #projectOf: (receiverId: string) => string | undefined;
  /** Mirrors the `cooldowns` table. */
  readonly #lastApplied = new Map<string, number>();
  /** Executions recorded per receiver since its history was last trimmed (absent: trim next time). */
  readonly #untrimmed = new Map<string, number>();
  #nextExpirySweep = 0;
  /** Told, in the transaction, of each execution that takes an outcome, and of a receiver forgotten. */
  readonly #listener: HistoryListener | undefined;

  /** Storage calls are synchronous, so the constructor has loaded everything before any call. */
  constructor(
    storage: ObjectStorage,
    clock: Clock,
    projectOf: (receiverId: string) => string | undefined = () => undefined,
    listener?: HistoryListener,
  ) {
    this.#listener = listener;
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#clock = clock;
    this.#counts = new ExecutionCounts(storage.sql);
    this.#projectOf = projectOf;
    for (const row of this.#sql.exec<CooldownRow>("SELECT receiver_id, last_applied FROM cooldowns")) {
      this.#lastApplied.set(row.receiver_id, row.last_applied);
    }
  }

  appliedAt(receiverId: string): number | undefined {
    return this.#lastApplied.get(receiverId);
  }

  cooldowns(): Map<string, number> {
    return new Map(this.#lastApplied);
  }

  /**
   * Kept in storage as well as in memory: a change whose execution was recorded `pending` and
   * settles `applied` later records no new execution, and its cooldown must outlive a restart all
   * the same (docs/how-it-works.md, "Crashes and restarts"). Callers run it inside the transaction
   * that settles the change.
   */
  applied(changes: ReadonlyMap<string, number>): void {
    this.#storage.transactionSync(() => {
      for (const [receiverId, at] of changes) {
        if (this.#lastApplied.get(receiverId) === at) continue;
        this.#sql.exec(
          "INSERT OR REPLACE INTO cooldowns (receiver_id, last_applied) VALUES (?, ?)",
          receiverId,
          at,
        );
      }
    });
    for (const [receiverId, at] of changes) this.#lastApplied.set(receiverId, at);
  }

  /** What the metrics endpoint reads: counts per receiver and outcome, and open executions. */
  metrics(): TargetMetrics {
    return this.#counts.read();
  }

  /** The receiver's latest executions, newest first. */
  executions(receiverId: string, limit = EXECUTIONS_KEPT): Execution[] {
    return this.#sql
      .exec<Pick<ExecutionRow, "body">>(
        "SELECT body FROM executions WHERE receiver_id = ? ORDER BY seq DESC LIMIT ?",
        receiverId,
        Math.min(Math.max(limit, 1), EXECUTIONS_KEPT),
      )
      .toArray()
      .map((row) => fromStoredJson<Execution>(JSON_COLUMNS.executionBody, row.body));
  }

  /**
   * The execution the first delivery with this identity got, while the window lasts, as it stands
   * now: a first delivery acknowledged `pending` and settled since is answered as it ended.
   */
  remembered(receiverId: string, identity: string): Execution | undefined {
    const [row] = this.#sql
      .exec<Pick<DeliveryRow, "execution">>(
        "SELECT execution FROM deliveries WHERE receiver_id = ? AND identity = ? AND expires > ?",
        receiverId,
        identity,
        this.#clock.now(),
      )
      .toArray();
    if (!row) return undefined;
    const first = fromStoredJson<Execution>(JSON_COLUMNS.deliveryExecution, row.execution);
    if (first.outcome !== "pending") return first;
    const [current] = this.#sql
      .exec<Pick<ExecutionRow, "body">>("SELECT body FROM executions WHERE execution_id = ?", first.id)
      .toArray();
    return current ? fromStoredJson<Execution>(JSON_COLUMNS.executionBody, current.body) : first;
  }

  record(
    decisions: readonly RecordedDecision[],
    within?: (executions: Execution[]) => void,
  ): TriggerResult[] {
    const now = this.#clock.now();
    const executions = decisions.map(
      ({ receiver, delivery, decision }): Execution => ({
        id: newId("x", now),
        receiverId: receiver.id,
        driver: receiver.driver,
        ...decision,
        // A reason may quote the delivery (its tags, a field of its body): recorded, answered
        // and logged, it repeats at most MAX_ECHO_CHARS of it.
        reason: clipEcho(decision.reason),
        at: now,
        ...(delivery.userAgent ? { sender: delivery.userAgent } : {}),
        ...(delivery.alertName ? { alertName: delivery.alertName } : {}),
        ...(delivery.alertStatus ? { alertStatus: delivery.alertStatus } : {}),
      }),
    );
    this.#storage.transactionSync(() => {
      const touched = new Map<string, number>();
      const appliedBy = new Set<string>();
      for (let start = 0; start < executions.length; start += ROWS_PER_INSERT) {
        const rows = executions.slice(start, start + ROWS_PER_INSERT);
        this.#sql.exec(
          `INSERT INTO executions (receiver_id, execution_id, body) VALUES ${rows.map(() => "(?, ?, ?)").join(", ")}`,
          ...rows.flatMap((execution) => [
            execution.receiverId,
            execution.id,
            toStoredJson(JSON_COLUMNS.executionBody, execution),
          ]),
        );
      }
      executions.forEach((execution, i) => {
        const { delivery } = decisions[i] as RecordedDecision;
        touched.set(execution.receiverId, (touched.get(execution.receiverId) ?? 0) + 1);
        if (delivery.identityKey !== undefined && execution.outcome !== "deduplicated") {
          this.#sql.exec(
            "INSERT OR REPLACE INTO deliveries (receiver_id, identity, execution, expires) VALUES (?, ?, ?, ?)",
            execution.receiverId,
            delivery.identityKey,
            toStoredJson(JSON_COLUMNS.deliveryExecution, execution),
            now + DEDUPLICATION_WINDOW_MS,
          );
        }
        if (execution.outcome === "applied") appliedBy.add(execution.receiverId);
      });
      for (const receiverId of appliedBy) {
        this.#sql.exec(
          "INSERT OR REPLACE INTO cooldowns (receiver_id, last_applied) VALUES (?, ?)",
          receiverId,
          this.#lastApplied.get(receiverId) ?? now,
        );
      }
      this.#counts.count(executions, now);
      this.#listener?.outcomes(executions);
      this.#housekeeping(touched, now);
      within?.(executions);
    });
    for (const [i, execution] of executions.entries()) {
      this.#log(execution, (decisions[i] as RecordedDecision).receiver.projectId);
    }
    return executions.map((execution) => ({ kind: "decided", execution }));
  }

  rewrite(executionId: string, change: (execution: Execution) => Execution): boolean {
    const [row] = this.#sql
      .exec<Pick<ExecutionRow, "seq" | "body">>(
        "SELECT seq, body FROM executions WHERE execution_id = ?",
        executionId,
      )
      .toArray();
    if (!row) return false;
    const before = fromStoredJson<Execution>(JSON_COLUMNS.executionBody, row.body);
    const settled = change(before);
    const changed = { ...settled, reason: clipEcho(settled.reason) };
    this.#storage.transactionSync(() => {
      this.#sql.exec(
        "UPDATE executions SET body = ? WHERE seq = ?",
        toStoredJson(JSON_COLUMNS.executionBody, changed),
        row.seq,
      );
      // A pending or queued execution settling: its final outcome is counted (and logged) now.
      if (changed.outcome !== before.outcome) {
        this.#counts.count([changed], changed.finished ?? this.#clock.now());
        this.#listener?.outcomes([changed]);
      }
    });
    if (changed.outcome !== before.outcome) this.#log(changed, this.#projectOf(changed.receiverId));
    return true;
  }

  /** One line per decided execution, and again when one settles (docs/monitoring.md). */
  #log(execution: Execution, projectId: string | undefined): void {
    const level: LogLevel = ERROR_OUTCOMES.has(execution.outcome) ? "error" : "info";
    logEvent(level, "execution", {
      projectId,
      receiverId: execution.receiverId,
      driver: execution.driver,
      outcome: execution.outcome,
      reason: execution.reason,
      from: execution.from,
      to: execution.to,
      executionId: execution.id,
    });
  }

  /** Drops everything kept of a receiver (it was deleted). */
  forget(receiverId: string): void {
    for (const table of ["executions", "deliveries", "cooldowns"]) {
      this.#sql.exec(`DELETE FROM ${table} WHERE receiver_id = ?`, receiverId);
    }
    this.#counts.forget(receiverId);
    this.#listener?.forget(receiverId);
    this.#lastApplied.delete(receiverId);
    this.#untrimmed.delete(receiverId);
  }

  /**
   * Runs now and then, not on every trigger: reads never look past the newest EXECUTIONS_KEPT rows
   * or at expired identities, so the extra rows are only storage.
   */
  #housekeeping(touched: ReadonlyMap<string, number>, now: number): void {
    for (const [receiverId, added] of touched) {
      const untrimmed = (this.#untrimmed.get(receiverId) ?? TRIM_EVERY) + added;
      if (untrimmed < TRIM_EVERY) {
        this.#untrimmed.set(receiverId, untrimmed);
        continue;
      }
      this.#untrimmed.set(receiverId, 0);
      // An execution still pending or queued is kept until it settles: its settling is counted and
      // notified from its row (`rewrite`), however many executions came after it meanwhile.
      this.#sql.exec(
        `DELETE FROM executions WHERE receiver_id = ?1 AND seq <= (
           SELECT seq FROM executions WHERE receiver_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)
           AND json_extract(body, '$.outcome') NOT IN ('pending', 'queued')`,
        receiverId,
        EXECUTIONS_KEPT,
      );
    }
    if (now >= this.#nextExpirySweep) {
      this.#nextExpirySweep = now + EXPIRY_SWEEP_MS;
      this.#sql.exec("DELETE FROM deliveries WHERE expires <= ?", now);
    }
  }
}
