import { DurableObject } from "cloudflare:workers";
import { serviceCattle } from "../cattle/client";
import { systemClock } from "../domain/clock";
import type { Delivery } from "../domain/delivery";
import type { LiveReceiver } from "../domain/receiver";
import type { SenderCheck, SenderProof } from "../domain/sender";
import { TargetCore } from "../target/core";

/**
 * The Durable Object of one target: a thin shell that gives the core its storage, clock and Cattle,
 * and exposes the core's methods over RPC. One object per target name serialises its triggers.
 */
export class TargetObject extends DurableObject<Env> {
  readonly #core: TargetCore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#core = new TargetCore(ctx.storage, { clock: systemClock, cattle: serviceCattle(env) });
  }

  register(receiver: LiveReceiver) {
    return this.#core.register(receiver);
  }

  rotate(receiverId: string, senderCheck?: SenderCheck | null) {
    return this.#core.rotate(receiverId, senderCheck);
  }

  regenerate(receiverId: string, senderCheck?: SenderCheck | null) {
    return this.#core.regenerate(receiverId, senderCheck);
  }

  revoke(receiverId: string) {
    return this.#core.revoke(receiverId);
  }

  unregister(receiverId: string) {
    return this.#core.unregister(receiverId);
  }

  receiverState(receiverId: string) {
    return this.#core.receiverState(receiverId);
  }

  executions(receiverId: string, limit?: number) {
    return this.#core.executions(receiverId, limit);
  }

  liveReceivers(ids: readonly string[]) {
    return this.#core.liveReceivers(ids);
  }

  metrics() {
    return this.#core.metrics();
  }

  trigger(receiverId: string, version: number, delivery: Delivery, proof?: SenderProof) {
    return this.#core.trigger(receiverId, version, delivery, proof);
  }

  override alarm() {
    return this.#core.alarm();
  }
}
