import { InvalidMarker } from "../domain/ports";
import { fromBase64Url, toBase64Url } from "../util/base64";

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
