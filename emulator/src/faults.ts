import * as z from "zod";
import { ApiError } from "./errors";

const COUNT = z.int().min(0).max(1_000_000).optional();
const MILLIS = z.int().min(0).max(600_000).optional();

/** `POST /_emulator/faults`: every field optional, since fields not sent keep their value. */
export const faultsPatch = z.strictObject({
  status: z.int().min(400).max(599).optional(),
  count: COUNT,
  delayMs: z.int().min(0).max(60_000).optional(),
  upgradeFailure: z.string().min(1).max(2000).nullable().optional(),
  lateMs: z.int().min(0).max(60_000).optional(),
  lateCount: COUNT,
  dropCount: COUNT,
  hostFailures: COUNT,
  // An image reference (`myorg/api:1.1.0`); Cattle's `docker:` prefix is ignored on either side.
  unhealthyImage: z.string().min(1).max(512).regex(/^\S+$/, "an image reference").nullable().optional(),
});

/** An HTTP field name (RFC 9110 token) and a value without line breaks or other control characters. */
const HEADER_NAME = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/, "not an HTTP header name");
const HEADER_VALUE = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[\x20-\x7e\t]*$/, "not a plain header value");

/**
 * `POST /_emulator/config`: how long emulated processes last, how long a write waits for one, and
 * which headers every Cattle request must carry (`{}` clears them).
 */
export const configPatch = z.strictObject({
  transitionMs: MILLIS,
  lockWaitMs: MILLIS,
  hostProvisionMs: MILLIS,
  healthyMs: MILLIS,
  requireHeaders: z
    .record(HEADER_NAME, HEADER_VALUE)
    .refine((headers) => Object.keys(headers).length <= 16, "at most 16 headers")
    .optional(),
});

/** Turns the first zod issue into the envelope's code and field, as the rest of the API reports them. */
export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ApiError(422, "InvalidFormat", "Invalid body");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    throw new ApiError(422, "InvalidOption", `Unknown field ${key}`, key);
  }
  const fieldName = issue.path.map(String).join(".") || undefined;
  const code =
    issue.code === "too_small"
      ? "MinLimitExceeded"
      : issue.code === "too_big"
        ? "MaxLimitExceeded"
        : "InvalidFormat";
  throw new ApiError(422, code, `${fieldName ?? "body"}: ${issue.message}`, fieldName);
}

/** `POST /_emulator/inbox/{name}/answers`: what the inbox answers next, in order (then 200). */
export const inboxAnswers = z.strictObject({
  answers: z
    .array(
      z.strictObject({
        status: z.int().min(200).max(599),
        retryAfter: z.int().min(0).max(86_400).optional(),
        body: z.string().max(4096).optional(),
      }),
    )
    .max(100),
});
