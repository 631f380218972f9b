import type { Delivery } from "../../domain/delivery";
import type { TableSet } from "../../storage/migrations";
import type { SqlLike } from "../../storage/object-storage";
import { fromStoredJson, JSON_COLUMNS, toStoredJson } from "../../storage/stored-json";
import type { BatchStep, ScaleRule } from "../shared/scaling";
import type { ServiceTarget } from "./protocol-events";

/**
 * What a scaleService target must not forget across a restart: the triggers it acknowledged
 * `pending` and has not settled yet, and the one write to Cattle whose fate is not known.
 */

/** A trigger as the target keeps it until it is settled. */
export interface StoredStep {
  /** Arrival order within the target. */
  seq: number;
  receiverId: string;
  version: number;
  rule: ScaleRule;
  cooldownSeconds: number;
  delivery: Omit<Delivery, "push" | "ignoredBecause">;
  arrived: number;
  /** The `pending` execution it was acknowledged with; absent while its sender still waits. */
  executionId?: string;
}

/** The write of `to` over `from` that Cattle may or may not have applied. */
export interface StoredWrite {
  /**
   * The service written: a restart reads the write's fate from it even when every receiver of its
   * triggers was deleted meanwhile. Absent from writes kept by releases before it was stored.
   */
  target?: ServiceTarget;
  from: number;
  to: number;
  sentAt: number;
  /** Each trigger of the write with what it does if the write landed. */
  steps: { step: StoredStep; decision: BatchStep }[];
  /** When each receiver applied a change, as the write's plan has it (cooldowns), to keep if it landed. */
  cooldowns: [string, number][];
}

/** An acknowledged trigger waiting for Cattle; `step` is the StoredStep as JSON. */
export type PendingStepRow = { execution_id: string; seq: number; step: string };

/** The unresolved write, at most one; `write` is the StoredWrite as JSON. */
export type UnresolvedWriteRow = { id: number; write: string };

export const WRITE_LOG_TABLES: TableSet = {
  component: "scaleService",
  migrations: [
    {
      version: 1,
      description:
        "pending_steps and unresolved_write: acknowledged triggers and the write whose fate is unknown",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(`
          CREATE TABLE IF NOT EXISTS pending_steps (
            execution_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            step TEXT NOT NULL
          );
          CREATE TABLE IF NOT EXISTS unresolved_write (id INTEGER PRIMARY KEY CHECK (id = 1), write TEXT NOT NULL);`),
    },
  ],
};

/** The two tables as the writer reads and changes them. */
export class WriteLog {
  constructor(private readonly sql: SqlLike) {}

  pending(): StoredStep[] {
    return this.sql
      .exec<Pick<PendingStepRow, "step">>("SELECT step FROM pending_steps ORDER BY seq")
      .toArray()
      .map((row) => fromStoredJson<StoredStep>(JSON_COLUMNS.pendingStep, row.step));
  }

  keepPending(step: StoredStep & { executionId: string }): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO pending_steps (execution_id, seq, step) VALUES (?, ?, ?)",
      step.executionId,
      step.seq,
      toStoredJson(JSON_COLUMNS.pendingStep, step),
    );
  }

  dropPending(executionId: string): void {
    this.sql.exec("DELETE FROM pending_steps WHERE execution_id = ?", executionId);
  }

  unresolved(): StoredWrite | undefined {
    const [row] = this.sql
      .exec<Pick<UnresolvedWriteRow, "write">>("SELECT write FROM unresolved_write")
      .toArray();
    return row ? fromStoredJson<StoredWrite>(JSON_COLUMNS.unresolvedWrite, row.write) : undefined;
  }

  /** Kept before the write is sent, so a restart knows a write may be on its way. */
  sending(write: StoredWrite): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO unresolved_write (id, write) VALUES (1, ?)",
      toStoredJson(JSON_COLUMNS.unresolvedWrite, write),
    );
  }

  resolved(): void {
    this.sql.exec("DELETE FROM unresolved_write");
  }
}
