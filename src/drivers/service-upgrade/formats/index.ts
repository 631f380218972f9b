import type { Push } from "../../../domain/delivery";
import { own } from "../../../util/own";
import { acr } from "./acr";
import { alicloud } from "./alicloud";
import { distribution } from "./distribution";
import { dockerhub } from "./dockerhub";
import { ecr } from "./ecr";
import type { AddressType, PayloadFormatDefinition, PushResult } from "./format";
import { gar } from "./gar";
import { generic } from "./generic";
import { ghcr } from "./ghcr";
import { harbor } from "./harbor";
import { isObject } from "./json";
import { quay } from "./quay";
import { isDigest, isRepository, isTag, unwantedTag } from "./references";

export { ADDRESS_TYPES, type AddressType, type PushResult } from "./format";

/** The registries whose push webhooks an upgrade receiver reads: a format is one module and one line here. */
export const PAYLOAD_FORMATS = {
  dockerhub,
  quay,
  acr,
  alicloud,
  ghcr,
  distribution,
  harbor,
  ecr,
  gar,
  generic,
} as const;

export type PayloadFormat = keyof typeof PAYLOAD_FORMATS;

export const PAYLOAD_FORMAT_NAMES = Object.keys(PAYLOAD_FORMATS) as [PayloadFormat, ...PayloadFormat[]];

/**
 * Reads a registry's push webhook. The body comes from the internet: every field is checked,
 * and a body of the wrong shape is described, not trusted. What every format shares is checked
 * here: repositories and tags are names a registry could hold, a digest or a signature in the
 * place of a tag is no upgrade, and a tag's digest is kept only if it is one.
 */
export function parsePush(
  format: PayloadFormat,
  addressType: AddressType,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): PushResult {
  const definition: PayloadFormatDefinition = PAYLOAD_FORMATS[format];
  if (!isObject(body)) {
    return { ok: false, message: `the body is not ${definition.payload} payload: expected a JSON object` };
  }
  const result = definition.read(body, { addressType, headers });
  if (result.ok !== true) return result;
  const unwanted: string[] = [];
  const pushes = [];
  for (const push of result.pushes) {
    if (!isRepository(push.repository.toLowerCase()))
      return { ok: false, message: `${push.repository} is not a repository name` };
    const invalid = push.tags.find((tag) => !isTag(tag) && unwantedTag(tag) === undefined);
    if (invalid !== undefined) return { ok: false, message: `${invalid} is not a tag` };
    const tags = push.tags.filter((tag) => {
      const reason = unwantedTag(tag);
      if (reason) unwanted.push(reason);
      return reason === undefined;
    });
    if (tags.length > 0) pushes.push(narrowed(push, tags));
  }
  if (pushes.length === 0) return { ok: "ignored", reason: unwanted.join("; ") };
  return { ...result, pushes };
}

/**
 * The push with only `tags`, each with its digest where the payload gave one that is a digest,
 * in lower case as registries write them. A malformed digest is left out rather than refusing the
 * push: the push is then taken as one of a format without digests, by repository and tag alone.
 */
function narrowed(push: Push, tags: string[]): Push {
  const digests = Object.fromEntries(
    tags.flatMap((tag) => {
      const digest = push.digests ? own(push.digests, tag) : undefined;
      return digest !== undefined && isDigest(digest) ? [[tag, digest.toLowerCase()]] : [];
    }),
  );
  return { repository: push.repository, tags, ...(Object.keys(digests).length > 0 ? { digests } : {}) };
}
