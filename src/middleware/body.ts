import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../api/errors";

/** Bodies larger than this are refused before they are read (docs/api.md). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * A restore's body (an export of a whole environment, docs/backup.md): a receiver takes about 500
 * bytes, so this holds well over 10,000 of them.
 */
export const MAX_RESTORE_BYTES = 8 * 1024 * 1024;

const sizeInWords = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;

export const limitBody = (maxSize = MAX_BODY_BYTES) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, "TooLarge", `the request body is larger than ${sizeInWords(maxSize)}`);
    },
  });

/**
 * The body as JSON, whatever Content-Type says: `curl -d` sends form encoding by default, and
 * Rancher's own clients add `; charset=utf-8`. Anything that does not parse is InvalidFormat.
 */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") throw new ApiError(422, "InvalidFormat", "the request body must be a JSON object");
  return parseJson(text);
}

/** JSON text as a value; anything that does not parse is InvalidFormat. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(422, "InvalidFormat", "the request body is not valid JSON");
  }
}

/**
 * A form post's fields. A body that does not parse as its Content-Type says (multipart without a
 * boundary, a truncated part) is the sender's mistake: 400, not a crash.
 */
export async function formBody(c: Context): Promise<Record<string, string | File | (string | File)[]>> {
  try {
    return await c.req.parseBody();
  } catch {
    throw new ApiError(400, "InvalidFormat", "the form body does not match its Content-Type");
  }
}
