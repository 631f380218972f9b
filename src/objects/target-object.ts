import { DurableObject } from "cloudflare:workers";
import { serviceCattle } from "../cattle/client";
import { systemClock } from "../domain/clock";
import type { TargetMethods } from "../domain/ports";
import { TargetCore } from "../targets/core";

type Args<Name extends keyof TargetMethods> = Parameters<TargetMethods[Name]>;

/**
 * The Durable Object of one target: a thin shell that gives the core its storage, clock and Cattle,
 * and exposes the core's methods over RPC (which only reaches methods of the class, so each is
 * forwarded here). It implements the core's calls, so a call added to them and not forwarded here
 * does not compile. One object per target name serialises its triggers.
 */
export class TargetObject extends DurableObject<Env> implements TargetMethods {
  readonly #core: TargetCore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#core = new TargetCore(ctx.storage, { clock: systemClock, cattle: serviceCattle(env) });
  }

  register(...args: Args<"register">) {
    return this.#core.register(...args);
  }

  rotate(...args: Args<"rotate">) {
    return this.#core.rotate(...args);
  }

  regenerate(...args: Args<"regenerate">) {
    return this.#core.regenerate(...args);
  }

  revoke(...args: Args<"revoke">) {
    return this.#core.revoke(...args);
  }

  unregister(...args: Args<"unregister">) {
    return this.#core.unregister(...args);
  }

  withdraw(...args: Args<"withdraw">) {
    return this.#core.withdraw(...args);
  }

  receiverState(...args: Args<"receiverState">) {
    return this.#core.receiverState(...args);
  }

  executions(...args: Args<"executions">) {
    return this.#core.executions(...args);
  }

  liveReceivers(...args: Args<"liveReceivers">) {
    return this.#core.liveReceivers(...args);
  }

  metrics() {
    return this.#core.metrics();
  }

  trigger(...args: Args<"trigger">) {
    return this.#core.trigger(...args);
  }

  setNotifications(...args: Args<"setNotifications">) {
    return this.#core.setNotifications(...args);
  }

  notificationLog(...args: Args<"notificationLog">) {
    return this.#core.notificationLog(...args);
  }

  testNotification(...args: Args<"testNotification">) {
    return this.#core.testNotification(...args);
  }

  override alarm() {
    return this.#core.alarm();
  }
}
