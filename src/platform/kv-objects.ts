import type { ProjectMethods, TargetMethods } from "../domain/ports";

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
