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

  recordImport(genericObjectId: string, keyDigest: string, route: LegacyRoute) {
    return this.#core.recordImport(genericObjectId, keyDigest, route);
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

  importsOf(receiverId: string) {
    return this.#core.importsOf(receiverId);
  }

  restoreImport(entry: LegacyImport, route: LegacyRoute) {
    return this.#core.restoreImport(entry, route);
  }

  recordDeletion(receiverId: string) {
    return this.#core.recordDeletion(receiverId);
  }

  wasDeleted(receiverId: string) {
    return this.#core.wasDeleted(receiverId);
  }
}
