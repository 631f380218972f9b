import type { Driver, DriverConfig } from "../api/receiver-schema";
import type { Signal } from "../drivers/delivery";
import type { Push } from "../drivers/service-upgrade";
import type { SenderCheck } from "../senders/verification";

/** What a target needs to know of a receiver to decide its triggers. */
export type LiveReceiver = DriverConfig & {
  id: string;
  projectId: string;
  name: string;
  version: number;
  /** How deliveries must prove their sender, when the receiver asks for it. */
  senderCheck?: SenderCheck;
};

/** Facts about one delivery to a trigger URL, as the Worker read them. */
export interface Delivery {
  userAgent?: string;
  /** firing and plain deliveries run the receiver's action; resolved ones follow `onResolved`. */
  signal?: Signal;
  /** SHA-256 of the delivery's identity, when it has one: the de-duplication key. */
  identityKey?: string;
  alertName?: string;
  alertStatus?: string;
  /** For serviceUpgrade: what the registry says was pushed, read by the Worker. */
  push?: Push;
  /** For serviceUpgrade: why the payload asks for nothing (an event other than a push, say). */
  ignoredBecause?: string;
}

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

export type TriggerResult =
  | { kind: "decided"; execution: Execution }
  /** The receiver is not live at the token's version: deleted, regenerated, or never registered here. */
  | { kind: "revoked" }
  /** The delivery did not prove it comes from the receiver's sender; nothing was recorded. */
  | { kind: "unverified"; reason: string; challenge?: string }
  /** Nothing changed; the sender should retry the same delivery later. */
  | { kind: "unavailable"; message: string; retryAfterSeconds: number };
