import type { Delivery, Execution, LiveReceiver, TriggerResult } from "../objects/target-types";
import type { ReceiverStore } from "../receivers/store";
import type { SenderCheck, SenderProof } from "../senders/verification";

/** Settings every runtime passes the same way: vars and secrets of the service. */
export interface Settings {
  CATTLE_URL: string;
  CATTLE_ACCESS_KEY: string;
  CATTLE_SECRET_KEY: string;
  WEBHOOK_SIGNING_KEYS: string;
}

/** A target (a service, a host group, an environment's upgrades): serialised, the one place that decides. */
export interface Target {
  register(receiver: LiveReceiver): Promise<void>;
  rotate(receiverId: string, senderCheck?: SenderCheck | null): Promise<number | null>;
  revoke(receiverId: string): Promise<void>;
  executions(receiverId: string, limit?: number): Promise<Execution[]>;
  trigger(
    receiverId: string,
    version: number,
    delivery: Delivery,
    proof?: SenderProof,
  ): Promise<TriggerResult>;
}

/** An environment's name registry. */
export interface Project {
  claimName(name: string, receiverId: string): Promise<boolean>;
  releaseName(name: string, receiverId: string): Promise<void>;
}

/**
 * What the runtime provides: Cloudflare with KV and Durable Objects, Deno with Deno KV and
 * in-process objects over SQLite. Everything else is one core.
 */
export interface Platform {
  receivers: ReceiverStore;
  target(name: string): Target;
  project(projectId: string): Project;
}
