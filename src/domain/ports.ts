import type { AsyncPort } from "../util/async-port";
import type { Delivery } from "./delivery";
import type { Driver } from "./driver";
import type { Execution } from "./execution";
import type { TargetMetrics } from "./metrics";
import type { DeliveryRecord, NotificationsChange, TestResult } from "./notifications";
import type { LiveReceiver, ReceiverRecord } from "./receiver";
import type { SenderCheck, SenderProof } from "./sender";

export type TriggerResult =
  | { kind: "decided"; execution: Execution }
  /** The receiver is not live at the token's version: deleted, regenerated, or never registered here. */
  | { kind: "revoked" }
  /** The delivery did not prove it comes from the receiver's sender; nothing was recorded. */
  | { kind: "unverified"; reason: string; challenge?: string }
  /** Nothing changed; the sender should retry the same delivery later. */
  | { kind: "unavailable"; message: string; retryAfterSeconds: number };

/** What a target knows of a receiver: live at a version, deleted there for good, or nothing at all. */
export type ReceiverState =
  | { kind: "live"; receiver: LiveReceiver }
  | { kind: "revoked" }
  | { kind: "unknown" };

/**
 * A target (a service, a host group, an environment's upgrades): serialised, the one place that
 * decides. These are the calls of its object as the object runs them, over synchronous storage, so
 * every call but a trigger and a test notification answers at once; `TargetCore` implements them, and every runtime offers
 * them as the `Target` port.
 */
export interface TargetMethods {
  /** Makes a receiver live; false, changing nothing, for a receiver revoked there. */
  register(receiver: LiveReceiver): boolean;
  rotate(receiverId: string, senderCheck?: SenderCheck | null): number | null;
  /** Rotates a receiver and answers it as it is live from then on, or why it could not. */
  regenerate(receiverId: string, senderCheck?: SenderCheck | null): ReceiverState;
  /** Deletes a receiver for good (a tombstone stays); false if it was deleted already. */
  revoke(receiverId: string): boolean;
  /** Takes back a register that its create or restore could not finish; no tombstone. */
  unregister(receiverId: string): void;
  /**
   * Takes back a create's register for good (a tombstone stays, even where the register never
   * arrived), so that a register of unknown fate that runs late cannot make it live.
   */
  withdraw(receiverId: string): void;
  receiverState(receiverId: string): ReceiverState;
  executions(receiverId: string, limit?: number): Execution[];
  /** The receivers of `ids` live here, at their current version and with their sender checks. */
  liveReceivers(ids: readonly string[]): LiveReceiver[];
  /** Counts and open work of its receivers; an object that never had a receiver answers none, and stays without storage. */
  metrics(): TargetMetrics;
  trigger(
    receiverId: string,
    version: number,
    delivery: Delivery,
    proof?: SenderProof,
  ): Promise<TriggerResult>;
  /** Replaces a receiver's notifications at its version (its URL stays), or says why not. */
  setNotifications(receiverId: string, change: NotificationsChange): NotificationsResult;
  /** The receiver's latest notification deliveries, newest first. */
  notificationLog(receiverId: string): DeliveryRecord[];
  /** Sends a test message to each destination now and answers each result; null if not live here. */
  testNotification(receiverId: string): Promise<TestResult[] | null>;
}

/** What `setNotifications` answers: the receiver as it is live now and the secrets made, or why not. */
export type NotificationsResult =
  | { kind: "live"; receiver: LiveReceiver; secrets: Record<string, string> }
  | { kind: "revoked" }
  | { kind: "unknown" }
  | { kind: "invalid"; index: number; field: string; message: string };

/** A target as the rest of the service reaches it: a Durable Object's stub, or an in-process object. */
export type Target = AsyncPort<TargetMethods>;

/** What an original webhook-service URL of an imported receiver triggers. */
export interface LegacyRoute {
  receiverId: string;
  target: string;
  version: number;
  driver: Driver;
  config: Record<string, unknown>;
}

/**
 * A receiver's import from webhook-service as the environment keeps it: the generic object (its id
 * and its key's SHA-256), and the SHA-256 of the key whose original URL still triggers it (null once
 * a regenerate retired that URL).
 */
export interface LegacyImport {
  genericObjectId: string;
  originalDigest: string;
  keyDigest: string | null;
}

/** Where the receiver that claims a name is to be registered, and when it claimed it. */
export interface NameClaim {
  target: string;
  at: number;
}

/** Who holds a name, as a create that finds it taken needs to know to judge the claim. */
export interface NameHolder {
  receiverId: string;
  target: string | null;
  claimedAt: number | null;
}

/**
 * An environment: its receiver names, and the receivers it imported from webhook-service. These are
 * the calls of its object as the object runs them, over synchronous storage; `ProjectCore`
 * implements them, and every runtime offers them as the `Project` port.
 */
export interface ProjectMethods {
  /** Claims a name for a receiver (to be registered at `claim.target`); false if another receiver holds it. */
  claimName(name: string, receiverId: string, claim?: NameClaim): boolean;
  /** Who holds a name, where its receiver is registered and since when (null where not recorded). */
  nameHolder(name: string): NameHolder | null;
  /** Hands a name from one receiver to another; false, changing nothing, if `fromId` no longer holds it. */
  takeOverName(name: string, fromId: string, toId: string, claim: NameClaim): boolean;
  releaseName(name: string, receiverId: string): void;
  /** The receiver a webhook-service generic object (its id, its key's SHA-256) was imported as, if it was. */
  importedAs(genericObjectId: string, keyDigest: string): string | null;
  /**
   * Keeps a receiver's imports (from webhook-service, or an export's): each key whose digest is set
   * now triggers `route`. All or none, in one transaction, and refused when another receiver here
   * holds one of the generic objects or keys, a retired key included: answers that reason, or null.
   */
  claimImports(entries: readonly LegacyImport[], route: LegacyRoute): string | null;
  /** What the original URL with this key (SHA-256) triggers, while it works. */
  legacyRoute(keyDigest: string): LegacyRoute | null;
  /** Stops the original URL of a receiver (regenerate); `forget` also forgets the import (delete). */
  retireLegacyKey(receiverId: string): void;
  forgetImport(receiverId: string): void;
  /** The imports from webhook-service of each of these receivers that has any, for an export. */
  importsOf(receiverIds: readonly string[]): Record<string, LegacyImport[]>;
  /** Remembers that a receiver was deleted here, so that a restore does not bring it back. */
  recordDeletion(receiverId: string): void;
  wasDeleted(receiverId: string): boolean;
}

/** An environment as the rest of the service reaches it: a Durable Object's stub, or an in-process object. */
export type Project = AsyncPort<ProjectMethods>;

export interface ReceiverPage {
  records: ReceiverRecord[];
  /** Opaque marker of the next page, absent on the last. */
  next?: string;
}

/**
 * Receiver records: the index that management reads, scoped by environment. It is never consulted
 * to decide a trigger (the target is), so a store's eventual consistency only delays what a list
 * shows. Cloudflare keeps it in KV, Deno in Deno KV.
 */
export interface ReceiverStore {
  get(projectId: string, id: string): Promise<ReceiverRecord | null>;
  put(record: ReceiverRecord): Promise<void>;
  delete(projectId: string, id: string): Promise<void>;
  /**
   * Receivers of one environment in creation order (ids sort by time). Throws InvalidMarker for a
   * marker this environment's listing did not hand out.
   */
  list(projectId: string, limit: number, marker?: string): Promise<ReceiverPage>;
}

export class InvalidMarker extends Error {}

/**
 * What the runtime provides: Cloudflare with KV and Durable Objects, Deno with Deno KV and
 * in-process objects over SQLite. Everything else is one core.
 */
export interface Platform {
  receivers: ReceiverStore;
  target(name: string): Target;
  project(projectId: string): Project;
}
