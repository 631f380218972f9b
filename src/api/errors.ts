import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { clipEcho } from "../util/echo";

/** Error codes as Cattle names them (gdapi's ValidationErrorCodes and ResponseCodes). */
export type ErrorCode =
  | "InvalidFormat"
  | "MissingRequired"
  | "InvalidOption"
  | "MinLimitExceeded"
  | "MaxLimitExceeded"
  | "NotUnique"
  | "InvalidReference"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "MethodNotAllowed"
  | "Conflict"
  | "TooLarge"
  | "ServiceUnavailable"
  | "InternalError";

/** The Rancher error envelope (docs/api.md). */
export interface ErrorBody {
  type: "error";
  status: number;
  code: ErrorCode;
  message: string;
  fieldName?: string;
}

/**
 * The one error type of the service. Everything a client may see as an error is an ApiError;
 * anything else that escapes a handler is a bug and becomes a bare 500. A message that repeats
 * what was sent (a path, a field of a registry's body) is cut to MAX_ECHO_CHARS.
 */
export class ApiError extends Error {
  readonly headers: Record<string, string>;

  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly fieldName?: string,
    headers: Record<string, string> = {},
  ) {
    super(clipEcho(message));
    this.name = "ApiError";
    this.headers = headers;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { type: "error", status: this.status, code: this.code, message: this.message };
    if (this.fieldName !== undefined) body.fieldName = this.fieldName;
    return body;
  }
}

// Declared with the settings, so that the layers below the API (the Cattle client) can raise it too.
export { ConfigurationError } from "../domain/settings";

export const errorResponse = (c: Context, error: ApiError): Response =>
  c.json(error.toBody(), error.status, error.headers);

export const notFound = (what = "resource"): ApiError => new ApiError(404, "NotFound", `${what} not found`);

/** 401 with the challenge that makes a browser ask for a Rancher API key. */
export const unauthorized = (
  message = "a Rancher API key is required (HTTP Basic: access key and secret key)",
) =>
  new ApiError(401, "Unauthorized", message, undefined, {
    "www-authenticate": 'Basic realm="Rancher API key"',
  });

/** Cattle could not be asked: a transient failure, worth a retry. */
export const rancherUnavailable = (purpose: string) =>
  new ApiError(503, "ServiceUnavailable", `Rancher could not be reached ${purpose}; try again`, undefined, {
    "retry-after": "5",
  });
