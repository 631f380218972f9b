import type { Driver } from "./driver";
import type { Execution, Outcome } from "./execution";

/** Where a receiver's messages can go (docs/notifications.md). */
export const NOTIFICATION_KINDS = ["slack", "teams", "discord", "webhook"] as const;

export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Destinations one receiver may have. */
export const MAX_DESTINATIONS = 5;

/** The longest destination URL taken. */
export const MAX_DESTINATION_URL_BYTES = 2048;

/** The outcomes a destination is told of when it does not say. */
export const DEFAULT_NOTIFY_ON: readonly Outcome[] = ["applied", "failed", "rolledBack"];

/** `notifyWindowSeconds`: executions decided within it go out as one message. */
export const NOTIFY_WINDOW_SECONDS = { min: 0, max: 300, default: 10 } as const;

/**
 * A destination as its target keeps it. The URL (itself a secret: a Slack or Teams URL is all it
 * takes to post) and a webhook's signing secret live only there; answers show a `DestinationView`.
 */
export interface Destination {
  /** Stable across edits: `setNotifications` keeps a destination that it names by id. */
  id: string;
  kind: NotificationKind;
  url: string;
  on: Outcome[];
  /** `whsec_…`, for the `webhook` kind: Standard Webhooks' signing secret. */
  secret?: string;
}

/** A destination as answers show it: the URL's host and last 4 characters only. */
export interface DestinationView {
  id: string;
  kind: NotificationKind;
  urlHint: string;
  on: Outcome[];
}

/**
 * What a target needs to send a receiver's messages, kept with the receiver's live version: where
 * to, how long to gather executions, and the names and link a message shows (taken when the
 * notifications were set, so that sending never waits on Cattle).
 */
export interface NotifySettings {
  windowSeconds: number;
  destinations: Destination[];
  /** The environment's name in Rancher (its id if Cattle did not say). */
  environment: string;
  /** What the receiver acts on, as a message names it (a service's name), where there is one. */
  targetLabel?: string;
  /** The receiver's History on the page. */
  historyUrl: string;
}

/** What a message is about: one receiver, and the executions gathered in its window. */
export interface NotificationMessage {
  /** Stable across every attempt to send it (Standard Webhooks' `webhook-id`). */
  id: string;
  /** When it was composed (epoch ms). */
  at: number;
  /** A `testNotification`: no executions, a summary that says it is a test. */
  test: boolean;
  environment: { id: string; name: string };
  receiver: { id: string; name: string; driver: Driver; projectId: string };
  /** One line: "scale-web: 37 applied, web 3 → 40; 2 noop at maximum". */
  summary: string;
  /** The executions it sums up, oldest first, as they stood when they were gathered. */
  executions: Execution[];
  historyUrl: string;
}

/** What an attempt to deliver a message came to, as the delivery log and the metrics count it. */
export const DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;

export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One message to one destination, as the delivery log shows it (newest first, the latest 100). */
export interface DeliveryRecord {
  messageId: string;
  destinationId: string;
  kind: NotificationKind;
  urlHint: string;
  status: DeliveryStatus;
  summary: string;
  /** The executions it told of. */
  executionIds: string[];
  test: boolean;
  attempts: number;
  created: number;
  /** The last attempt's time (epoch ms), once there was one. */
  lastAttempt?: number;
  /** Why the last attempt did not deliver it: a status and a clipped body, or a network error. */
  lastError?: string;
  /** When it is tried again, while it is pending. */
  nextAttempt?: number;
}

/**
 * A destination as a create or `setNotifications` gives it. One that names the `id` of a destination
 * the receiver has keeps its URL (and a webhook's secret) unless it gives a new URL: a URL is never
 * shown again, so an edit of the outcomes must not need it.
 */
export interface DestinationInput {
  id?: string;
  kind: NotificationKind;
  url?: string;
  on: Outcome[];
}

/** A change of a receiver's notifications, as management made it (docs/notifications.md). */
export interface NotificationsChange {
  destinations: DestinationInput[];
  /** Absent: the receiver keeps the window it has. */
  windowSeconds?: number;
  environment: string;
  targetLabel?: string;
  historyUrl: string;
}

/** What `testNotification` answers per destination. */
export interface TestResult {
  destinationId: string;
  kind: NotificationKind;
  urlHint: string;
  status: "delivered" | "failed";
  httpStatus?: number;
  error?: string;
}
