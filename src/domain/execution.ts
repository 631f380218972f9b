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
  /** An upgrade whose new containers failed their checks, rolled back to the image the service ran before. */
  "rolledBack",
] as const;

export type Outcome = (typeof OUTCOMES)[number];

/** Outcomes whose work continues after the answer: the sender is told 202 Accepted. */
export const continuesAfterAnswer = (outcome: Outcome): boolean =>
  outcome === "queued" || outcome === "pending";

/**
 * The steps of one service's upgrade, in the order they can happen: it waits its turn, Cattle upgrades
 * it, the new containers are watched, then the upgrade is finished or rolled back (docs/upgrades.md).
 */
export const UPGRADE_STEPS = [
  "waiting",
  "upgrading",
  "upgraded",
  "verifying",
  "finishing",
  "rolling back",
  "finished",
  "rolled back",
  "failed",
  "skipped",
] as const;

export type UpgradeStep = (typeof UPGRADE_STEPS)[number];

/** One service's upgrade within an execution, written as each step starts. */
export interface UpgradeProgress {
  serviceId: string;
  serviceName: string;
  /** The image it moves to, as `repository:tag`. */
  image: string;
  /** The image it ran before, once the upgrade has started. */
  previousImage?: string;
  /** Each step with when it started (epoch ms); the last is where the upgrade is now. */
  steps: { step: UpgradeStep; at: number }[];
  /** Why it was rolled back, failed or skipped, naming the containers and what they showed. */
  message?: string;
}

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
  /** For a registry push: each service's upgrade, step by step. */
  upgrades?: UpgradeProgress[];
  sender?: string;
  alertName?: string;
  alertStatus?: string;
}

/** What a driver decided for one delivery, before it is recorded. */
export type Decision = Pick<Execution, "outcome" | "reason" | "from" | "to" | "upgrades">;

export const failed = (reason: string): Decision => ({ outcome: "failed", reason });

export const ignored = (reason: string): Decision => ({ outcome: "ignored", reason });
