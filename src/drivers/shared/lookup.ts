import { meaningOf } from "../../cattle/failures";
import type { CattleFailure } from "../../cattle/types";
import type { TargetProblem } from "../definition";

/**
 * What a failed look-up of a receiver's target (`what`: "service 1s1 in environment 1a5") means
 * for creating the receiver: Cattle not answering, the target not there, or the key not allowed to
 * see it.
 */
export function lookupProblem(failure: CattleFailure, field: string, what: string): TargetProblem {
  switch (meaningOf(failure)) {
    case "transient":
      return { kind: "unavailable" };
    case "unauthorized":
    case "forbidden":
      return { kind: "forbidden", field, message: `${what} cannot be read with this key` };
    default:
      return { kind: "invalid", field, message: `${what} does not exist` };
  }
}
