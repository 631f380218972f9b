import type { DriverConfig } from "../api/receiver-schema";
import type { SenderVerificationView } from "../senders/verification";
import { fromBase64Url, toBase64Url } from "../util/base64";

/** A receiver as stored. The token is never stored: it is derived by signing this record. */
export type ReceiverRecord = DriverConfig & {
  id: string;
  projectId: string;
  name: string;
  /** Name of the Durable Object that owns the receiver's live version and its executions. */
  target: string;
  /** Bumped by regenerate; tokens of other versions are refused by the target. */
  version: number;
  created: number;
  /** Which sender verification the receiver asks for; its secret lives only in the target object. */
  senderVerification?: SenderVerificationView;
};

export interface ReceiverPage {
  records: ReceiverRecord[];
  /** Opaque marker of the next page, absent on the last. */
  next?: string;
}

/**
 * Receiver records: the index that management reads, scoped by environment. It is never consulted
 * to decide a trigger (the target is), so a store's eventual consistency only delays what a list
 * shows. Cloudflare keeps it in KV, Deno in Deno KV.
 */
export interface ReceiverStore {
  get(projectId: string, id: string): Promise<ReceiverRecord | null>;
  put(record: ReceiverRecord): Promise<void>;
  delete(projectId: string, id: string): Promise<void>;
  /**
   * Receivers of one environment in creation order (ids sort by time). Throws InvalidMarker for a
   * marker this environment's listing did not hand out.
   */
  list(projectId: string, limit: number, marker?: string): Promise<ReceiverPage>;
}

export class InvalidMarker extends Error {}

async function markerCheck(projectId: string, cursor: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${projectId}\n${cursor}`));
  return toBase64Url(new Uint8Array(digest).slice(0, 6));
}

/**
 * A page marker is the store's cursor plus a short check bound to the environment, so a mistyped marker,
 * or one from another environment's listing, is refused instead of silently listing nothing.
 */
export async function encodeMarker(projectId: string, cursor: string): Promise<string> {
  return `${toBase64Url(new TextEncoder().encode(cursor))}.${await markerCheck(projectId, cursor)}`;
}

export async function decodeMarker(projectId: string, marker: string): Promise<string> {
  const [encoded, check, extra] = marker.split(".");
  if (!encoded || !check || extra !== undefined) throw new InvalidMarker();
  let cursor: string;
  try {
    cursor = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(encoded));
  } catch {
    throw new InvalidMarker();
  }
  if (check !== (await markerCheck(projectId, cursor))) throw new InvalidMarker();
  return cursor;
}
