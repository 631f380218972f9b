import { DurableObject } from "cloudflare:workers";
import type { LegacyImport, LegacyRoute } from "../domain/ports";
import { ProjectCore } from "../project/core";

/** The Durable Object of one environment: a thin shell over its core, exposed over RPC. */
export class ProjectObject extends DurableObject<Env> {
  readonly #core: ProjectCore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#core = new ProjectCore(ctx.storage);
  }

  claimName(name: string, receiverId: string) {
    return this.#core.claimName(name, receiverId);
  }

  releaseName(name: string, receiverId: string) {
    return this.#core.releaseName(name, receiverId);
  }

  importedAs(genericObjectId: string, keyDigest: string) {
    return this.#core.importedAs(genericObjectId, keyDigest);
  }

  claimImports(entries: readonly LegacyImport[], route: LegacyRoute) {
    return this.#core.claimImports(entries, route);
  }

  legacyRoute(keyDigest: string) {
    return this.#core.legacyRoute(keyDigest);
  }

  retireLegacyKey(receiverId: string) {
    return this.#core.retireLegacyKey(receiverId);
  }

  forgetImport(receiverId: string) {
    return this.#core.forgetImport(receiverId);
  }

  importsOf(receiverIds: readonly string[]) {
    return this.#core.importsOf(receiverIds);
  }

  recordDeletion(receiverId: string) {
    return this.#core.recordDeletion(receiverId);
  }

  wasDeleted(receiverId: string) {
    return this.#core.wasDeleted(receiverId);
  }
}
