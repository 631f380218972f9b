import type { Signal } from "../domain/delivery";

/**
 * What a delivery to a trigger URL says, read defensively from its headers and body. Nothing here
 * throws: a body this service does not recognise is simply a plain trigger.
 */

export interface DeliveryFacts {
  signal: Signal;
  /** Identity of the delivery for de-duplication, when the sender gives one. */
  identity?: { source: "header" | "alert"; value: string };
  /** For alert notifications: the alert's name and the notification's status, as recorded. */
  alertName?: string;
  alertStatus?: string;
  /** Which kind of sender the body came from. */
  format?: "alertmanager" | "grafana" | "grafana-legacy";
}

/** Headers that name a delivery, in order of preference (Stripe style, GitHub, Standard Webhooks). */
const IDENTITY_HEADERS = ["idempotency-key", "x-github-delivery", "webhook-id"] as const;
const MAX_IDENTITY_LENGTH = 200;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;

function parseJson(body: string): unknown {
  const trimmed = body.trim();
  if (!trimmed.startsWith("{")) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return undefined;
  }
}

/**
 * Alertmanager's webhook payload (version "4", and the older "2"/"3" of the same shape) and
 * Grafana's unified alerting (version "1", the same shape plus title/state): a `status` of firing or
 * resolved and a list of alerts.
 */
function alertNotification(body: Json): DeliveryFacts | undefined {
  const status = body.status;
  if ((status !== "firing" && status !== "resolved") || !Array.isArray(body.alerts)) return undefined;
  const alerts = body.alerts.filter(isObject);
  const common = isObject(body.commonLabels) ? body.commonLabels : {};
  const group = isObject(body.groupLabels) ? body.groupLabels : {};
  const firstLabels = alerts[0] && isObject(alerts[0].labels) ? alerts[0].labels : {};
  const alertName =
    text(common.alertname) ?? text(group.alertname) ?? text(firstLabels.alertname) ?? text(body.title);
  const isGrafana = body.version === "1" || "orgId" in body || "state" in body;
  return {
    signal: status,
    alertName: alertName?.slice(0, 200),
    alertStatus: status,
    format: isGrafana ? "grafana" : "alertmanager",
  };
}

/** Grafana's legacy dashboard alerting: `state` alerting / ok, `ruleName`. */
function legacyGrafana(body: Json): DeliveryFacts | undefined {
  const state = body.state;
  if (typeof state !== "string" || !("ruleName" in body || "ruleId" in body)) return undefined;
  const signal: Signal = state === "alerting" ? "firing" : state === "ok" ? "resolved" : "plain";
  if (signal === "plain") return undefined;
  return {
    signal,
    alertName: text(body.ruleName)?.slice(0, 200),
    alertStatus: state,
    format: "grafana-legacy",
  };
}

/**
 * The identity of an alert notification: the group, its status, and which alerts (fingerprint and
 * start) it carries. An HA pair of Alertmanagers sends the same notification twice and a sender
 * re-sends it every repeat_interval; both carry the same identity. A new alert in the group, or the
 * group resolving, is a new notification.
 */
function alertIdentity(body: Json): string | undefined {
  const groupKey = text(body.groupKey) ?? text(body.ruleUrl) ?? text(body.ruleName);
  if (!groupKey || !Array.isArray(body.alerts)) {
    return groupKey && typeof body.state === "string" ? `${groupKey}\n${body.state}` : undefined;
  }
  const members = body.alerts
    .filter(isObject)
    .map(
      (alert) =>
        `${text(alert.fingerprint) ?? JSON.stringify(alert.labels ?? {})}@${text(alert.startsAt) ?? ""}`,
    )
    .sort();
  return [groupKey, String(body.status), ...members].join("\n");
}

export function readDelivery(headers: Headers, body: string): DeliveryFacts {
  const parsed = parseJson(body);
  const json = isObject(parsed) ? parsed : undefined;
  const facts: DeliveryFacts = (json && (alertNotification(json) ?? legacyGrafana(json))) || {
    signal: "plain",
  };

  for (const name of IDENTITY_HEADERS) {
    const value = headers.get(name)?.trim();
    if (value) {
      facts.identity = { source: "header", value: `${name}:${value.slice(0, MAX_IDENTITY_LENGTH)}` };
      return facts;
    }
  }
  if (json && facts.signal !== "plain") {
    const identity = alertIdentity(json);
    if (identity) facts.identity = { source: "alert", value: identity };
  }
  return facts;
}
