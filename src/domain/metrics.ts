import type { Outcome } from "./execution";
import type { NotificationKind } from "./notifications";

/** How many executions of a receiver took one outcome, and when the latest of them did. */
export interface OutcomeCount {
  outcome: Outcome;
  count: number;
  /** Epoch ms of the latest execution that took this outcome. */
  lastAt: number;
}

/** What a target keeps of one receiver for metrics. */
export interface ReceiverMetrics {
  receiverId: string;
  outcomes: OutcomeCount[];
  /** Executions of the receiver now `pending` or `queued`. */
  pending: number;
  /** Epoch ms of the oldest of them, if any. */
  oldestPendingAt?: number;
  /** Notification deliveries of the receiver by destination kind and result. */
  notifications?: DeliveryCount[];
}

/**
 * Attempts to deliver a receiver's messages: `delivered`, `failed` (refused, or given up), and
 * `retried` (an attempt that will be made again).
 */
export interface DeliveryCount {
  kind: NotificationKind;
  result: "delivered" | "failed" | "retried";
  count: number;
}

/** A target's metrics: one entry per receiver it has counted or holds pending work for. */
export interface TargetMetrics {
  receivers: ReceiverMetrics[];
}
