import * as z from "zod";
import { OUTCOMES } from "../domain/execution";
import { newId } from "../domain/ids";
import {
  DEFAULT_NOTIFY_ON,
  type Destination,
  type DestinationInput,
  type DestinationView,
  MAX_DESTINATION_URL_BYTES,
  MAX_DESTINATIONS,
  NOTIFICATION_KINDS,
  NOTIFY_WINDOW_SECONDS,
  type NotifySettings,
} from "../domain/notifications";
import { toBase64 } from "../util/base64";
import { lazy } from "../util/lazy";

const LOOPBACK_HOSTS = new Set(["localhost", "[::1]"]);

/** `127.0.0.0/8`, `::1` and `localhost`: what `http:` may name (development and tests). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (LOOPBACK_HOSTS.has(host) || host.endsWith(".localhost")) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Why a destination URL is refused, or undefined. */
export function destinationUrlProblem(url: string): string | undefined {
  if (new TextEncoder().encode(url).length > MAX_DESTINATION_URL_BYTES) {
    return `must be at most ${MAX_DESTINATION_URL_BYTES} bytes`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute URL";
  }
  if (parsed.username || parsed.password) return "must not carry a user name or password";
  if (parsed.protocol === "https:") return undefined;
  if (parsed.protocol === "http:") {
    return isLoopbackHost(parsed.hostname)
      ? undefined
      : "must be https: (http: is taken only for a loopback address, for development)";
  }
  return "must be an https: URL";
}

export const destinationSchema = lazy(() =>
  z.strictObject({
    type: z.literal("notificationDestination").optional(),
    id: z
      .string()
      .regex(/^d[0-9a-z]{26}$/, "must be the id of one of this receiver's destinations")
      .optional(),
    kind: z.enum(NOTIFICATION_KINDS),
    url: z
      .string()
      .superRefine((url, ctx) => {
        const problem = destinationUrlProblem(url);
        if (problem) ctx.addIssue({ code: "custom", message: problem, params: { code: "InvalidFormat" } });
      })
      .optional(),
    on: z
      .array(z.enum(OUTCOMES))
      .min(1)
      .max(OUTCOMES.length)
      .refine((on) => new Set(on).size === on.length, "must not name an outcome twice")
      .default([...DEFAULT_NOTIFY_ON]),
    // Shown by answers; a client that sends back what it fetched is not refused for it.
    urlHint: z.string().max(512).optional(),
  }),
);

/** A receiver's destinations: at most MAX_DESTINATIONS, each new one with its URL, none twice. */
const destinationList = () =>
  z
    .array(destinationSchema())
    .max(MAX_DESTINATIONS, `a receiver has at most ${MAX_DESTINATIONS} destinations`)
    .superRefine((list, ctx) => {
      const ids = new Set<string>();
      list.forEach((destination, i) => {
        if (destination.id === undefined) {
          if (destination.url === undefined) {
            ctx.addIssue({
              code: "custom",
              path: [i, "url"],
              message: "is required for a new destination",
              params: { code: "MissingRequired" },
            });
          }
        } else if (ids.has(destination.id)) {
          ctx.addIssue({ code: "custom", path: [i, "id"], message: "names a destination twice" });
        } else {
          ids.add(destination.id);
        }
      });
    });

const windowSeconds = () => z.int().min(NOTIFY_WINDOW_SECONDS.min).max(NOTIFY_WINDOW_SECONDS.max);

/** The fields a create takes; `null` (as Rancher's clients send an unset field) is none. */
export const notificationFields = () => ({
  notifications: destinationList().nullish(),
  notifyWindowSeconds: windowSeconds().nullish(),
});

/** The body of `?action=setNotifications`: the whole list, which replaces the receiver's. */
export const setNotificationsSchema = lazy(() =>
  z.strictObject({
    type: z.literal("setNotificationsInput").optional(),
    notifications: destinationList(),
    notifyWindowSeconds: windowSeconds().optional(),
  }),
);

/** A new Standard Webhooks signing secret: `whsec_` and 24 random bytes in base64. */
export const newSigningSecret = (): string => `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(24)))}`;

/**
 * How answers and the page name a destination without giving it away (its URL is all it takes to
 * post to a Slack channel): the host and the URL's last 4 characters, `hooks.slack.com ...abcd`.
 * Plain ASCII around them, as a record's KV metadata travels in a header.
 */
export function urlHint(url: string): string {
  let host = "";
  try {
    host = new URL(url).host;
  } catch {
    host = "";
  }
  const tail = [...url].slice(-4).join("");
  return host ? `${host} ...${tail}` : `...${tail}`;
}

export const viewOf = ({ id, kind, url, on }: Destination): DestinationView => ({
  id,
  kind,
  urlHint: urlHint(url),
  on: [...on],
});

/** Why an input's destination cannot be made (an id the receiver does not have, a kind changed), or undefined. */
export function destinationsProblem(
  input: readonly DestinationInput[],
  current: readonly Destination[],
): { index: number; field: string; message: string } | undefined {
  const byId = new Map(current.map((destination) => [destination.id, destination]));
  for (const [index, destination] of input.entries()) {
    if (destination.id === undefined) continue;
    const kept = byId.get(destination.id);
    if (!kept) return { index, field: "id", message: "is not one of this receiver's destinations" };
    if (kept.kind !== destination.kind && destination.url === undefined) {
      return { index, field: "url", message: "is required to change a destination's kind" };
    }
  }
  return undefined;
}

/**
 * The destinations an input makes, over those the receiver has: a kept destination keeps its URL
 * and secret unless it gives a new URL (a webhook given a new URL gets a new secret too); a new one
 * gets an id, and a webhook a secret. Answers the destinations and the secrets made now, shown once.
 */
export function destinationsFrom(
  input: readonly DestinationInput[],
  current: readonly Destination[],
  now = Date.now(),
): { destinations: Destination[]; secrets: Record<string, string> } {
  const byId = new Map(current.map((destination) => [destination.id, destination]));
  const secrets: Record<string, string> = {};
  const destinations = input.map((given): Destination => {
    const kept = given.id === undefined ? undefined : byId.get(given.id);
    const id = kept?.id ?? newId("d", now);
    const url = given.url ?? (kept?.url as string);
    const sameEndpoint = kept !== undefined && kept.url === url && kept.kind === given.kind;
    let secret: string | undefined;
    if (given.kind === "webhook") {
      secret = sameEndpoint && kept.secret ? kept.secret : newSigningSecret();
      if (secret !== kept?.secret) secrets[id] = secret;
    }
    return { id, kind: given.kind, url, on: [...given.on], ...(secret ? { secret } : {}) };
  });
  return { destinations, secrets };
}

/** The window a receiver gathers executions over, when it does not say. */
export const windowSecondsOf = (settings: Pick<NotifySettings, "windowSeconds"> | undefined): number =>
  settings?.windowSeconds ?? NOTIFY_WINDOW_SECONDS.default;
