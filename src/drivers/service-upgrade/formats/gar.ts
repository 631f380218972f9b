import { pushIdentity } from "./distribution";
import { type PayloadFormatDefinition, type PushResult, tagPushed } from "./format";
import { isObject, type Json, text } from "./json";

const FORMAT = "an Artifact Registry notification (a Pub/Sub push message)";

/** Pub/Sub's standard base64 of UTF-8 JSON, or undefined if it is not that. */
function decoded(data: string): unknown {
  try {
    const bytes = Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Google Artifact Registry publishes to the `gcr` topic; a push subscription posts each message
 * wrapped (`message.data` in base64, named by `message.messageId`), or bare when the
 * subscription unwraps payloads (then `x-goog-pubsub-message-id` names it, with the digest and
 * tag pushed). An `INSERT` with a `tag` (`host/project/repository/image:tag`) is an upgrade.
 */
export const gar: PayloadFormatDefinition = {
  label: "Google Artifact Registry (Pub/Sub push)",
  payload: "an Artifact Registry notification",
  hint: "In Google Cloud: a Pub/Sub push subscription to the gcr topic with the receiver's URL as the endpoint.",
  // Pub/Sub push sets no header of the subscriber's choosing and no credentials in the URL; its
  // push authentication is a Google-signed OIDC token that changes every hour, which neither a
  // fixed bearer token nor any other scheme here can verify (docs/registries.md).
  noSenderCheck:
    "a gar receiver takes no sender check: Pub/Sub push sends no fixed token or password, only a Google-signed OIDC token that changes every hour, which no sender check verifies; the Trigger URL is the receiver's credential",
  read(body, { headers }) {
    if (body.action !== undefined) return notification(body, headers["x-goog-pubsub-message-id"]);
    const message = body.message;
    if (!isObject(message) || typeof message.data !== "string")
      return { ok: false, message: `the body is not ${FORMAT}: message.data is missing` };
    const data = decoded(message.data);
    if (!isObject(data))
      return { ok: false, message: `the body is not ${FORMAT}: message.data is not base64 of a JSON object` };
    return notification(data, text(message.messageId) ?? text(message.message_id));
  },
};

function notification(data: Json, messageId: string | undefined): PushResult {
  const action = text(data.action);
  if (!action) return { ok: false, message: `the body is not ${FORMAT}: action is missing` };
  if (action !== "INSERT")
    return { ok: "ignored", reason: `Artifact Registry action ${action} is not a push` };
  const reference = text(data.tag);
  if (!reference) return { ok: "ignored", reason: "the push has no tag (a push by digest)" };
  const colon = reference.lastIndexOf(":");
  if (colon <= reference.lastIndexOf("/"))
    return { ok: false, message: `the body is not ${FORMAT}: tag ${reference} does not end in :tag` };
  const repository = reference.slice(0, colon);
  const tag = reference.slice(colon + 1);
  // `digest` is `host/project/repository/image@sha256:…`: only what follows the `@` is the digest.
  const digested = text(data.digest) ?? "";
  const digest = digested.slice(digested.lastIndexOf("@") + 1);
  return {
    ok: true,
    pushes: [tagPushed(repository, tag, digest)],
    ...(messageId ? { identity: pushIdentity(messageId.trim(), repository, digest, tag) } : {}),
  };
}
