import type { Push } from "../../../domain/delivery";
import { type PayloadFormatDefinition, type PushResult, tagPushed } from "./format";
import { at, isObject, text } from "./json";

const FORMAT = "a registry notification (an events envelope)";

/**
 * CNCF Distribution's notifications, which the Docker registry and GitLab's registry send: an
 * envelope of events, each named by its `id`. Only a manifest pushed by tag is an upgrade; layer
 * pushes, pushes by digest, pulls (which carry a tag when a client pulled by tag), mounts and
 * deletes are not.
 */
export const distribution: PayloadFormatDefinition = {
  label: "Docker registry / GitLab (distribution notifications)",
  payload: "a registry notification",
  hint: "In the registry's config.yml (GitLab: gitlab.rb registry['notifications']), an endpoint with the receiver's URL.",
  read(body) {
    const events = body.events;
    if (!Array.isArray(events) || events.length === 0)
      return { ok: false, message: `the body is not ${FORMAT}: events is missing or empty` };
    const pushes: Push[] = [];
    const identities: string[] = [];
    const skipped: string[] = [];
    for (const [index, event] of events.entries()) {
      const field = (name: string) => `events[${index}].${name}`;
      if (!isObject(event))
        return { ok: false, message: `the body is not ${FORMAT}: ${field("")} is not an object` };
      const action = text(event.action);
      if (!action) return { ok: false, message: `the body is not ${FORMAT}: ${field("action")} is missing` };
      const tag = text(at(event, "target", "tag"));
      if (action !== "push") {
        skipped.push(action === "pull" ? "a pull" : action === "delete" ? "a delete" : `a ${action}`);
        continue;
      }
      if (!tag) {
        const mediaType = text(at(event, "target", "mediaType")) ?? "";
        skipped.push(mediaType.includes("manifest") ? "a manifest pushed by digest" : "a layer push");
        continue;
      }
      const host = text(at(event, "request", "host"));
      if (!host)
        return { ok: false, message: `the body is not ${FORMAT}: ${field("request.host")} is missing` };
      const repository = text(at(event, "target", "repository"));
      if (!repository)
        return { ok: false, message: `the body is not ${FORMAT}: ${field("target.repository")} is missing` };
      const digest = text(at(event, "target", "digest"));
      pushes.push(tagPushed(`${host}/${repository}`, tag, digest));
      // A redelivery sends the very same event again, id included. The id alone is not trusted to
      // be unique (a registry that reuses ids would have a new push taken for a replay), so what
      // was pushed is part of the name too.
      const id = text(event.id);
      if (id) identities.push(pushIdentity(id, `${host}/${repository}`, digest ?? "", tag));
    }
    return collected(pushes, identities, skipped);
  },
};

/**
 * What names one pushed tag: the registry's id for the event or message with what was pushed
 * (repository, digest, tag), so that two different pushes that happen to carry one id are never
 * taken for a replay of each other, while a redelivery, identical in all four, still is.
 */
export const pushIdentity = (id: string, repository: string, digest: string, tag: string): string =>
  `${id}\n${repository}\n${digest}\n${tag}`;

/** The pushes of an event list, or why none of its events is one. */
export function collected(pushes: Push[], identities: string[], skipped: string[]): PushResult {
  if (pushes.length === 0) {
    if (skipped.length === 1)
      return { ok: "ignored", reason: `the event is ${skipped[0]}, not a tagged push` };
    const counts = new Map<string, number>();
    for (const reason of skipped) counts.set(reason, (counts.get(reason) ?? 0) + 1);
    const listed = [...counts].map(([reason, n]) => (n === 1 ? reason : `${reason} (×${n})`)).join(", ");
    return { ok: "ignored", reason: `none of the ${skipped.length} events is a tagged push: ${listed}` };
  }
  return {
    ok: true,
    pushes,
    ...(identities.length === pushes.length ? { identity: identities.join("\n") } : {}),
  };
}
