import type { Driver } from "./driver";

export const OUTCOMES = [
  "applied",
  "noop",
  "cooldown",
  "ignored",
  "deduplicated",
  /** Work that goes on after the answer (an upgrade), ending applied or failed. */
  "queued",
  /** Acknowledged, but Cattle has not yet confirmed it (a write whose answer is late or lost, a busy service). */
  "pending",
  "failed",
] as const;

export type Outcome = (typeof OUTCOMES)[number];

/** Outcomes whose work continues after the answer: the sender is told 202 Accepted. */
export const continuesAfterAnswer = (outcome: Outcome): boolean =>
  outcome === "queued" || outcome === "pending";

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
