import type { CattleApi, CattleFactory } from "../cattle/client";
import type { ProjectMethods, TargetMethods } from "../domain/ports";
import { LeaseLost } from "../storage/kv/lease";
import type { Outgoing } from "../storage/kv/objects";
import { methodsOf } from "../util/async-port";

/**
 * Cattle for an object over KV: each request waits at the object's output gate (its writes in KV,
 * enough lease left). An object that lost its lease sends nothing more; the request answers as
 * Cattle not reached, which the object treats as it treats any request that did not leave.
 */
export function gatedCattle(cattle: CattleFactory, outgoing: Outgoing): CattleFactory {
  return (deadline) => {
    const api = cattle(deadline);
    const gated: Record<string, unknown> = {};
    for (const [name, method] of methodsOf(Object.getPrototypeOf(api) as CattleApi)) {
      gated[name] = async (...args: unknown[]) => {
        try {
          return await outgoing(async () => method.apply(api, args));
        } catch (error) {
          if (!(error instanceof LeaseLost)) throw error;
          return {
            ok: false,
            failure: { kind: "unavailable", message: "not sent: the object moved to another isolate" },
          };
        }
      };
    }
    return gated as unknown as CattleApi;
  };
}

/**
 * The calls that may give an object state (KvObjectKind.writes): only a register gives a target
 * storage (TargetCore), and an environment's writes are a name claimed, an import kept and a
 * deletion recorded (ProjectCore). The simulator's Deno KV mode runs the objects with the same.
 */
export const TARGET_WRITES: ReadonlySet<string> = new Set<keyof TargetMethods>(["register"]);
export const PROJECT_WRITES: ReadonlySet<string> = new Set<keyof ProjectMethods>([
  "claimName",
  "claimImports",
  "recordDeletion",
]);
