import type { AddressType } from "../config";
import { acr } from "./acr";
import { alicloud } from "./alicloud";
import { dockerhub } from "./dockerhub";
import type { PayloadFormatDefinition, PushResult } from "./format";
import { ghcr } from "./ghcr";
import { isObject } from "./json";
import { quay } from "./quay";

export type { PushResult } from "./format";

/** The registries whose push webhooks an upgrade receiver reads: a format is one module and one line here. */
export const PAYLOAD_FORMATS = { dockerhub, quay, acr, alicloud, ghcr } as const;

export type PayloadFormat = keyof typeof PAYLOAD_FORMATS;

export const PAYLOAD_FORMAT_NAMES = Object.keys(PAYLOAD_FORMATS) as [PayloadFormat, ...PayloadFormat[]];

/**
 * Reads a registry's push webhook. The body comes from the internet: every field is checked,
 * and a body of the wrong shape is described, not trusted.
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
  return definition.read(body, { addressType, headers });
}
