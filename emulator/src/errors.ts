/**
 * Cattle's error envelope. Every failure the emulator reports, expected or not, leaves through here,
 * so clients can rely on one JSON shape whatever went wrong.
 */

export interface ErrorBody {
  status: number;
  code: string;
  message: string;
  fieldName?: string;
}

/** A failure computed inside the state object: returned over RPC as data, never thrown across it. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/**
 * A write that found Cattle's process lock of its resource held: the caller waits (outside the state
 * object, which keeps serving others) until `retryAt` and tries again, handing `since` back so that the
 * whole wait is measured from the first attempt.
 */
export interface Waiting {
  ok: false;
  waiting: { since: number; retryAt: number };
}

export type LockedResult<T> = Result<T> | Waiting;

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const failure = (
  status: number,
  code: string,
  message: string,
  fieldName?: string,
): Result<never> => ({
  ok: false,
  error: { status, code, message, ...(fieldName === undefined ? {} : { fieldName }) },
});

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fieldName?: string,
  ) {
    super(message);
  }

  static from(body: ErrorBody): ApiError {
    return new ApiError(body.status, body.code, body.message, body.fieldName);
  }
}

const CODES: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  408: "RequestTimeout",
  409: "Conflict",
  413: "TooLarge",
  415: "UnsupportedMediaType",
  422: "UnprocessableEntity",
  429: "TooManyRequests",
  500: "InternalError",
  501: "NotImplemented",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "GatewayTimeout",
};

export function codeForStatus(status: number): string {
  return CODES[status] ?? (status >= 500 ? "InternalError" : "BadRequest");
}

/** Cattle's realm wording (api.auth.realm in its defaults.properties). */
export const BASIC_CHALLENGE = 'Basic realm="Enter API access key and secret key as username and password"';

export function errorEnvelope(body: ErrorBody): Record<string, unknown> {
  return {
    id: crypto.randomUUID(),
    type: "error",
    links: {},
    actions: {},
    status: body.status,
    code: body.code,
    message: body.message,
    detail: null,
    ...(body.fieldName === undefined ? {} : { fieldName: body.fieldName }),
  };
}

export function errorResponse(body: ErrorBody, headers: Record<string, string> = {}): Response {
  const response = new Response(JSON.stringify(errorEnvelope(body)), {
    status: body.status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
  return response;
}

export const notFound = (message = "Not Found"): ApiError => new ApiError(404, "NotFound", message);
