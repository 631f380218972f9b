import { DurableObject } from "cloudflare:workers";
import { NameClaims } from "../project/name-claims";

/** The Durable Object of one environment: its receiver names, claimed one at a time. */
export class ProjectObject extends DurableObject<Env> {
  readonly #names: NameClaims;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#names = new NameClaims(ctx.storage);
  }

  claimName(name: string, receiverId: string) {
    return this.#names.claimName(name, receiverId);
  }

  releaseName(name: string, receiverId: string) {
    return this.#names.releaseName(name, receiverId);
  }
}
