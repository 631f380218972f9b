import type { Context } from "hono";
import { isoDate } from "../domain/ids";
import { type DeliveryRecord, NOTIFY_WINDOW_SECONDS } from "../domain/notifications";
import type { ReceiverRecord } from "../domain/receiver";
import type { Settings } from "../domain/settings";
import { ConfigurationError } from "./errors";

export const API_PREFIX = "/v1-webhooks";

const HOST_PATTERN = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The origin clients reach this service at: `PUBLIC_URL` when it is set, since a header a client
 * sends must not decide where trigger URLs point. Otherwise, behind a proxy the request's own URL
 * is internal, so X-Forwarded-Proto/-Host win when they are well-formed (anything else is ignored,
 * not echoed).
 */
export function publicOrigin(c: Context): string {
  const configured = (c.env as Partial<Settings> | undefined)?.PUBLIC_URL?.trim();
  if (configured) return configuredOrigin(configured);
  const url = new URL(c.req.url);
  const proto = c.req.header("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
  const host = c.req.header("x-forwarded-host")?.split(",")[0]?.trim();
  const scheme = proto === "http" || proto === "https" ? proto : url.protocol.replace(":", "");
  const authority = host && HOST_PATTERN.test(host) ? host : url.host;
  return `${scheme}://${authority}`;
}

const origins = new Map<string, string>();

/** `PUBLIC_URL`'s origin; a value that is not an http(s) URL is a configuration error, said once per value. */
function configuredOrigin(value: string): string {
  let origin = origins.get(value);
  if (origin === undefined) {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
      throw new ConfigurationError("PUBLIC_URL must be an http(s) URL such as https://hooks.example.com");
    }
    origin = url.origin;
    origins.set(value, origin);
  }
  return origin;
}

export const triggerUrl = (origin: string, token: string) => `${origin}${API_PREFIX}/endpoint?token=${token}`;

const receiverUrl = (origin: string, record: ReceiverRecord, suffix = "") =>
  `${origin}${API_PREFIX}/receivers/${record.id}${suffix}?projectId=${record.projectId}`;

export interface ReceiverView {
  origin: string;
  /** Present only for callers who may use it: a read-only key sees no trigger URL. */
  url?: string;
  canWrite: boolean;
  /** Webhook signing secrets made by the call being answered, by destination id: shown this once. */
  secrets?: Record<string, string>;
}

export function receiverResource(record: ReceiverRecord, view: ReceiverView) {
  const configField = `${record.driver}Config`;
  // The config's `type` is its driver's schema id, as webhook-service answered (docs/rancher-ui.md).
  return {
    id: record.id,
    type: "receiver",
    name: record.name,
    driver: record.driver,
    state: "active",
    projectId: record.projectId,
    ...(view.url === undefined ? {} : { url: view.url }),
    [configField]: { type: record.driver, ...record.config },
    ...(record.senderVerification
      ? { senderVerification: { type: "senderVerification", ...record.senderVerification } }
      : {}),
    notifications: (record.notifications ?? []).map((destination) => ({
      type: "notificationDestination",
      ...destination,
      ...(view.secrets?.[destination.id] ? { secret: view.secrets[destination.id] } : {}),
    })),
    notifyWindowSeconds: record.notifyWindowSeconds ?? NOTIFY_WINDOW_SECONDS.default,
    ...(record.importedFrom ? { importedFrom: record.importedFrom } : {}),
    created: isoDate(record.created),
    createdTS: record.created,
    links: {
      self: receiverUrl(view.origin, record),
      executions: receiverUrl(view.origin, record, "/executions"),
      notifications: receiverUrl(view.origin, record, "/notifications"),
    },
    actions: view.canWrite
      ? Object.fromEntries(
          RECEIVER_ACTIONS.map((action) => [action, `${receiverUrl(view.origin, record)}&action=${action}`]),
        )
      : {},
  };
}

/** What `POST …/receivers/{id}?action=` takes. */
export const RECEIVER_ACTIONS = ["regenerate", "setNotifications", "testNotification"] as const;

const optionalDate = (name: string, epochMs: number | undefined) =>
  epochMs === undefined ? {} : { [name]: isoDate(epochMs), [`${name}TS`]: epochMs };

/** One attempt to tell a destination, as the delivery log shows it. */
export function deliveryResource(delivery: DeliveryRecord) {
  const { created, lastAttempt, nextAttempt, ...rest } = delivery;
  return {
    type: "notificationDelivery",
    ...rest,
    ...optionalDate("created", created),
    ...optionalDate("lastAttempt", lastAttempt),
    ...optionalDate("nextAttempt", nextAttempt),
  };
}

export { executionResource } from "../domain/execution-resource";

export interface Pagination {
  limit: number;
  next?: string;
}

export function collection(resourceType: string, self: string, data: unknown[], pagination?: Pagination) {
  return {
    type: "collection",
    resourceType,
    links: { self },
    data,
    ...(pagination
      ? {
          pagination: {
            limit: pagination.limit,
            next: pagination.next ?? null,
            partial: pagination.next !== undefined,
          },
        }
      : {}),
  };
}
