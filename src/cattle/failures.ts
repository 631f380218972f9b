import type { CattleFailure } from "./types";

/**
 * What a Cattle failure means, decided here once for every caller (STYLE: failures are interpreted
 * once). Cattle's own message is kept for logs, never shown to clients.
 */
export type FailureMeaning =
  /**
   * Cattle could not answer now (network, timeout, 5xx, 429, 408), is busy with the resource (409),
   * or does not offer the action in the resource's present state (422 ActionNotAvailable): try again.
   */
  | "transient"
  /** 401: the credential is not accepted at all. */
  | "unauthorized"
  /** 403: the credential is accepted but may not do this. */
  | "forbidden"
  /** 404: the resource is not there (or not visible to the credential). */
  | "gone"
  /** Any other 4xx: Cattle refused this request; asking again will not help. */
  | "refused";

export function meaningOf(failure: CattleFailure): FailureMeaning {
  switch (failure.kind) {
    case "unavailable":
    case "conflict":
      return "transient";
    case "unauthorized":
      return "unauthorized";
    case "forbidden":
      return "forbidden";
    case "notFound":
      return "gone";
    case "rejected":
      return failure.code === "ActionNotAvailable" ? "transient" : "refused";
  }
}

export const isTransient = (failure: CattleFailure): boolean => meaningOf(failure) === "transient";

/**
 * Whether a write that failed this way may still have been applied. Without an answer (a timeout, a
 * reset connection, a gateway's 5xx) Cattle may have carried it out; an answer from Cattle itself
 * that refuses it (4xx, 409) says it did not.
 */
export const fateUnknown = (failure: CattleFailure): boolean => failure.kind === "unavailable";

/**
 * Whether Cattle itself finished with the request, even though it failed (its own error envelope,
 * not a gateway's timeout): whatever the write did is then visible to the next read. Without that,
 * Cattle may still be working on it (waiting for a lock) and apply it later.
 */
export const cattleAnswered = (failure: CattleFailure): boolean =>
  failure.kind !== "unavailable" ||
  (failure.code !== undefined && failure.status !== undefined && ![502, 504].includes(failure.status));

/**
 * How a management check reads a failure to look at something with the caller's own key: refused
 * credentials, no right to it, or Rancher not answering.
 */
export function accessRefusal(failure: CattleFailure): "unauthorized" | "forbidden" | "unavailable" {
  switch (meaningOf(failure)) {
    case "unauthorized":
      return "unauthorized";
    case "transient":
      return "unavailable";
    default:
      return "forbidden";
  }
}

/** A failure as a sender or a user is told it: what happened and what to do, never Cattle's text. */
export function describeFailure(failure: CattleFailure): string {
  switch (failure.kind) {
    case "unauthorized":
    case "forbidden":
      return "Cattle refused the service's credentials (check CATTLE_ACCESS_KEY and CATTLE_SECRET_KEY)";
    case "conflict":
      return "the service stayed busy in Cattle; try again";
    default:
      return "Cattle is unavailable; try again";
  }
}
