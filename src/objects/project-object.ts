import { DurableObject } from "cloudflare:workers";
import type { ProjectMethods } from "../domain/ports";
import { ProjectCore } from "../project/core";

type Args<Name extends keyof ProjectMethods> = Parameters<ProjectMethods[Name]>;

/**
 * The Durable Object of one environment: a thin shell over its core, exposed over RPC (which only
 * reaches methods of the class, so each is forwarded here). It implements the core's calls, so a
 * call added to them and not forwarded here does not compile.
 */
export class ProjectObject extends DurableObject<Env> implements ProjectMethods {
  readonly #core: ProjectCore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#core = new ProjectCore(ctx.storage);
  }

  claimName(...args: Args<"claimName">) {
    return this.#core.claimName(...args);
  }

  nameHolder(...args: Args<"nameHolder">) {
    return this.#core.nameHolder(...args);
  }

  takeOverName(...args: Args<"takeOverName">) {
    return this.#core.takeOverName(...args);
  }

  releaseName(...args: Args<"releaseName">) {
    return this.#core.releaseName(...args);
  }

  importedAs(...args: Args<"importedAs">) {
    return this.#core.importedAs(...args);
  }

  claimImports(...args: Args<"claimImports">) {
    return this.#core.claimImports(...args);
  }

  legacyRoute(...args: Args<"legacyRoute">) {
    return this.#core.legacyRoute(...args);
  }

  retireLegacyKey(...args: Args<"retireLegacyKey">) {
    return this.#core.retireLegacyKey(...args);
  }

  forgetImport(...args: Args<"forgetImport">) {
    return this.#core.forgetImport(...args);
  }

  importsOf(...args: Args<"importsOf">) {
    return this.#core.importsOf(...args);
  }

  recordDeletion(...args: Args<"recordDeletion">) {
    return this.#core.recordDeletion(...args);
  }

  wasDeleted(...args: Args<"wasDeleted">) {
    return this.#core.wasDeleted(...args);
  }
}
