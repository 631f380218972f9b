import type { Driver } from "./driver";

export type Outcome = "applied" | "noop" | "cooldown" | "ignored" | "deduplicated" | "queued" | "failed";

/** A decided trigger, as recorded in the receiver's history. */
export interface Execution {
  id: string;
  receiverId: string;
  driver: Driver;
  outcome: Outcome;
  reason: string;
  from?: number;
  to?: number;
  at: number;
  /** For work that went on after the answer (upgrades): when it ended. */
  finished?: number;
  sender?: string;
  alertName?: string;
  alertStatus?: string;
}

/** What a driver decided for one delivery, before it is recorded. */
export type Decision = Pick<Execution, "outcome" | "reason" | "from" | "to">;

export const failed = (reason: string): Decision => ({ outcome: "failed", reason });

export const ignored = (reason: string): Decision => ({ outcome: "ignored", reason });
