import { missing, type PayloadFormatDefinition } from "./format";
import { isObject, text } from "./json";

/** Quay: `docker_url` and every one of `updated_tags` (a list, or an object keyed by tag). */
export const quay: PayloadFormatDefinition = {
  label: "Quay",
  payload: "a Quay push",
  hint: "In Quay: the repository → Settings → Events and Notifications, Push to Repository, Webhook POST to the receiver's URL.",
  read(body) {
    const repository = text(body.docker_url);
    if (!repository) return missing(this, "docker_url");
    const updated = body.updated_tags;
    const tags = Array.isArray(updated)
      ? updated.map(text).filter((tag): tag is string => tag !== undefined)
      : isObject(updated)
        ? Object.keys(updated)
        : undefined;
    if (!tags || tags.length === 0) return missing(this, "updated_tags");
    return { ok: true, pushes: [{ repository, tags }] };
  },
};
