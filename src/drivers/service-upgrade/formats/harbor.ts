import type { Push } from "../../../domain/delivery";
import { collected } from "./distribution";
import { type PayloadFormatDefinition, type PushResult, tagPushed } from "./format";
import type { Json } from "./json";
import { at, isObject, text } from "./json";

const FORMAT = "a Harbor webhook";

/** Harbor's event types in its Default payload and in its CloudEvents payload. */
const PUSH_TYPES = new Set(["PUSH_ARTIFACT", "harbor.artifact.pushed"]);

/** `harbor.example.com:8443/team/web:1.4.2` or `…/web@sha256:…` → `harbor.example.com:8443/team/web`. */
function withoutReference(url: string): string {
  const at = url.lastIndexOf("@");
  if (at >= 0) return url.slice(0, at);
  const colon = url.lastIndexOf(":");
  return colon > url.lastIndexOf("/") ? url.slice(0, colon) : url;
}

/**
 * Harbor's webhook, `PUSH_ARTIFACT`, in either of its payload formats: Default (`type`,
 * `occur_at`, `event_data`) or CloudEvents (`specversion`, `id`, `data`). Every resource of the
 * event is a push; Harbor writes the digest where the tag goes when an artifact has no tag.
 */
export const harbor: PayloadFormatDefinition = {
  label: "Harbor",
  payload: "a Harbor webhook",
  hint: "In Harbor: the project → Webhooks → New Webhook, event Artifact pushed, the receiver's URL as the endpoint.",
  read(body) {
    const type = text(body.type);
    if (!type) return { ok: false, message: `the body is not ${FORMAT}: type is missing` };
    const cloudEvent = text(body.specversion) !== undefined;
    const data: unknown = cloudEvent ? body.data : body.event_data;
    if (!isObject(data))
      return {
        ok: false,
        message: `the body is not ${FORMAT}: ${cloudEvent ? "data" : "event_data"} is missing`,
      };
    if (!PUSH_TYPES.has(type)) return { ok: "ignored", reason: `Harbor event ${type} is not a push` };
    return resources(body, data, cloudEvent);
  },
};

function resources(body: Json, data: Json, cloudEvent: boolean): PushResult {
  const list = data.resources;
  if (!Array.isArray(list) || list.length === 0)
    return { ok: false, message: `the body is not ${FORMAT}: resources is missing or empty` };
  const repositoryName = text(at(data, "repository", "repo_full_name")) ?? "";
  // Harbor keeps the payload it formatted and sends it again on a retry: the CloudEvents id, or
  // the Default format's second of the event with what was pushed, names the delivery.
  const eventId = cloudEvent ? text(body.id) : String(body.occur_at ?? "");
  const pushes: Push[] = [];
  const identities: string[] = [];
  for (const [index, resource] of list.entries()) {
    const url = isObject(resource) ? text(resource.resource_url) : undefined;
    const tag = isObject(resource) ? text(resource.tag) : undefined;
    if (!url || !tag)
      return {
        ok: false,
        message: `the body is not ${FORMAT}: resources[${index}] lacks resource_url or tag`,
      };
    const digest = isObject(resource) ? text(resource.digest) : undefined;
    pushes.push(tagPushed(withoutReference(url), tag, digest));
    if (eventId) identities.push(`${eventId}\n${repositoryName}\n${digest ?? ""}\n${tag}`);
  }
  return collected(pushes, identities, []);
}
