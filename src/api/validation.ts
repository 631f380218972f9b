import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { clipEcho } from "../util/echo";
import { lazy } from "../util/lazy";
import { own } from "../util/own";
import { ApiError, type ErrorCode } from "./errors";

type Issue = z.core.$ZodIssue;

/** The most characters of one user-supplied name, key or value an error message repeats. */
const ECHO_MAX = 100;

/**
 * A user-supplied name, key or value as an error repeats it: at most ECHO_MAX characters, so that
 * a huge key or value cannot make the error as large as the request.
 */
export const clip = (text: string): string => clipEcho(text, ECHO_MAX);

/** A path as `fieldName` has it; a key of the body's own making is clipped. */
const dotted = (path: readonly PropertyKey[]): string => path.map((part) => clip(String(part))).join(".");

const KIND_WORDS: Record<string, string> = {
  int: "an integer",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  object: "an object",
  record: "an object of string values",
  array: "a list",
};

/**
 * Turns the first zod issue into Cattle's validation error: the code a Rancher client expects
 * and `fieldName` as the path from the body's root.
 */
export function issueToApiError(issue: Issue, pathPrefix: readonly PropertyKey[] = []): ApiError {
  const path = [...pathPrefix, ...issue.path];
  const field = dotted(path);
  const subject = field || "the body";
  const error = (code: ErrorCode, message: string, fieldName: string | undefined = field || undefined) =>
    new ApiError(422, code, message, fieldName);

  // zod reports no input for an absent key: that is a missing field, not a malformed one.
  const absent = !("input" in issue) || issue.input === undefined;
  switch (issue.code) {
    case "invalid_type":
      if (absent) return error("MissingRequired", `${subject} is required`);
      return error(
        "InvalidFormat",
        `${subject} must be ${own(KIND_WORDS, issue.expected) ?? issue.expected}`,
      );
    case "invalid_value":
      if (absent) return error("MissingRequired", `${subject} is required`);
      return error("InvalidOption", `${subject} must be one of: ${issue.values.map(String).join(", ")}`);
    case "unrecognized_keys": {
      const unknown = dotted([...path, issue.keys[0] ?? ""]);
      return error("InvalidOption", `${unknown} is not a field of ${subject}`, unknown);
    }
    case "too_small":
      if (issue.origin === "string" && Number(issue.minimum) === 1) {
        return error("MinLimitExceeded", `${subject} must not be empty`);
      }
      return issue.origin === "string"
        ? error("MinLimitExceeded", `${subject} must be at least ${issue.minimum} characters long`)
        : error("MinLimitExceeded", `${subject} must be at least ${issue.minimum}`);
    case "too_big":
      return issue.origin === "string"
        ? error("MaxLimitExceeded", `${subject} must be at most ${issue.maximum} characters long`)
        : error("MaxLimitExceeded", `${subject} must be at most ${issue.maximum}`);
    case "invalid_union":
      // A discriminated union (senderVerification's `scheme`) reports its discriminator here.
      if (issue.discriminator !== undefined && issue.errors.length === 0) {
        const input = issue.input;
        const value =
          input !== null && typeof input === "object"
            ? (input as Record<string, unknown>)[issue.discriminator]
            : input;
        if (value === undefined) return error("MissingRequired", `${subject} is required`);
        const options = "options" in issue && issue.options ? issue.options.map(String).join(", ") : "";
        return error("InvalidOption", `${subject} must be one of: ${options}`);
      }
      return error("InvalidFormat", `${subject} is not valid: ${issue.message}`);
    case "custom": {
      const code = (issue.params?.code as ErrorCode | undefined) ?? "InvalidFormat";
      // A refinement written without knowing where it is used (`must name at least one label`)
      // asks for the field's name in front of its message.
      return error(code, issue.params?.prefixField ? `${subject} ${issue.message}` : issue.message);
    }
    default:
      return error("InvalidFormat", `${subject} is not valid: ${issue.message}`);
  }
}

/** Every issue of a failed parse as API errors (for forms, which show all of them at once). */
export function validationErrors<S extends z.ZodType>(
  schema: S,
  value: unknown,
  pathPrefix: readonly PropertyKey[] = [],
): { ok: true; data: z.output<S> } | { ok: false; errors: ApiError[] } {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, errors: result.error.issues.map((issue) => issueToApiError(issue, pathPrefix)) };
}

/** Parses a value with a schema; a failure becomes the 422 envelope of its first issue. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const [first] = result.error.issues;
  throw first ? issueToApiError(first) : new ApiError(422, "InvalidFormat", "invalid input");
}

/**
 * `@hono/zod-validator` with the one hook of this API: every validation failure becomes the
 * Rancher envelope of its first issue, and missing fields are told apart from malformed ones.
 * The schema is given as a function, so that it is built on first use.
 */
export function validate<T extends keyof ValidationTargets, S extends z.ZodType>(target: T, schema: () => S) {
  const build = (built: S) =>
    zValidator(
      target,
      built,
      (result) => {
        if (result.success) return;
        const [first] = result.error.issues;
        throw first ? issueToApiError(first) : new ApiError(422, "InvalidFormat", "invalid input");
      },
      // reportInput lets the hook tell an absent field from a malformed one; the cast only bridges
      // the validator's zod-v3-or-v4 result type, which TypeScript cannot resolve for a generic S.
      { validationFunction: (s, value) => s.safeParse(value, { reportInput: true }) as never },
    );
  // The schema is built by the first request that needs it, not when the routes are defined.
  const middleware = lazy(() => build(schema()));
  return ((c, next) => middleware()(c, next)) as ReturnType<typeof build>;
}
