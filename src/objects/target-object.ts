import { DurableObject } from "cloudflare:workers";
import type { SenderCheck, SenderProof } from "../senders/verification";
import { TargetCore } from "./target-core";
import type { Delivery, LiveReceiver } from "./target-types";

/**
 * The Durable Object of one target: a thin shell that gives the core its storage and alarm and
 * exposes the core's methods over RPC. One object per target name serialises its triggers.
 */
export class TargetObject extends DurableObject<Env> {
  readonly #core: TargetCore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#core = new TargetCore(ctx.storage, env);
  }

  register(receiver: LiveReceiver) {
    return this.#core.register(receiver);
  }

  rotate(receiverId: string, senderCheck?: SenderCheck | null) {
    return this.#core.rotate(receiverId, senderCheck);
  }

  revoke(receiverId: string) {
    return this.#core.revoke(receiverId);
  }

  executions(receiverId: string, limit?: number) {
    return this.#core.executions(receiverId, limit);
  }

  trigger(receiverId: string, version: number, delivery: Delivery, proof?: SenderProof) {
    return this.#core.trigger(receiverId, version, delivery, proof);
  }

  override alarm() {
    return this.#core.alarm();
  }
}
