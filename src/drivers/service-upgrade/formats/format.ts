import type { Push } from "../../../domain/delivery";
import type { Json } from "./json";

/**
 * The endpoints an Alibaba Cloud registry is reached at (public, internal, VPC): the address a push
 * names its repository by. Kept with the formats, which read it, so the config imports it from here.
 */
export const ADDRESS_TYPES = ["registry", "registry-internal", "registry-vpc"] as const;
export type AddressType = (typeof ADDRESS_TYPES)[number];

export type PushResult =
  /**
   * The pushes the delivery reports (an event list may carry several); `identity`: what names this
   * delivery, when the format has it, so a replay of it is recognised.
   */
  | { ok: true; pushes: Push[]; identity?: string }
  /** Not this format's payload: the sender's mistake. */
  | { ok: false; message: string }
  /** This format's payload, but not a push worth an upgrade (another event, a push by digest). */
  | { ok: "ignored"; reason: string };

/** What the reader of a registry's payload is told of the receiver. */
export interface FormatSettings {
  addressType: AddressType;
  /** The delivery's headers (lower-case names), for formats that name a delivery there. */
  headers: Readonly<Record<string, string>>;
}

/** One registry's push webhook. */
export interface PayloadFormatDefinition {
  /** The form's name of the registry. */
  label: string;
  /** What a body of this format is, in an error message: "a Docker Hub push". */
  payload: string;
  /** One line on where the sender of these pushes is configured, for the form. */
  hint: string;
  /**
   * Why a receiver of this format can have no sender check, when its sender can send nothing any
   * check verifies: such a check would refuse every delivery, so it is refused when set.
   */
  noSenderCheck?: string;
  read(body: Json, settings: FormatSettings): PushResult;
}

/**
 * One tag pushed to `repository`, with the manifest digest the payload gives for it, if any (checked
 * by `parsePush`, which leaves out one that is no digest).
 */
export const tagPushed = (repository: string, tag: string, digest?: string): Push => ({
  repository,
  tags: [tag],
  // A computed key is an own property even for a tag spelled `__proto__`.
  ...(digest ? { digests: { [tag]: digest } } : {}),
});

/** The refusal of a body that lacks a field this format always has. */
export const missing = (format: PayloadFormatDefinition, field: string): PushResult => ({
  ok: false,
  message: `the body is not ${format.payload} payload: ${field} is missing or not text`,
});
