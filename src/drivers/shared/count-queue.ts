import type { Delivery } from "../../domain/delivery";
import type { Decision } from "../../domain/execution";
import type { TriggerResult } from "../../domain/ports";
import type { LiveReceiver } from "../../domain/receiver";
import type { ExecutorContext } from "../definition";
import { cooldownReason, opposite, type PlannedTrigger, type ScaleRule } from "./scaling";

/** The rule of a receiver that moves a count within [min, max]. */
export interface CountConfig {
  action: "up" | "down";
  amount: number;
  min: number;
  max: number;
  cooldownSeconds: number;
  onResolved: "ignore" | "reverse";
}

export type CountReceiver = LiveReceiver & { config: CountConfig };

/** A trigger waiting for Cattle, with the rule it applies (the opposite one for a resolved alert). */
export interface QueuedTrigger<R extends CountReceiver> {
  receiver: R;
  delivery: Delivery;
  rule: ScaleRule;
  resolve: (result: TriggerResult) => void;
}

export const plannedTrigger = <R extends CountReceiver>(item: QueuedTrigger<R>): PlannedTrigger => ({
  receiverId: item.receiver.id,
  rule: item.rule,
  cooldownSeconds: item.receiver.config.cooldownSeconds,
});

const RETRY_AFTER_SECONDS = 5;

/**
 * What a count receiver's trigger asks for, decided before Cattle is asked: a decision now (a
 * resolved alert to ignore, a receiver cooling down), or the rule to apply (the opposite one for a
 * resolved alert with `onResolved: reverse`).
 */
export function countRule(
  receiver: CountReceiver,
  delivery: Delivery,
  appliedAt: number | undefined,
  now: number,
): { decision: Decision } | { rule: ScaleRule } {
  const { config } = receiver;
  let action = config.action;
  if (delivery.signal === "resolved") {
    if (config.onResolved === "ignore") {
      return { decision: { outcome: "ignored", reason: "alert resolved; onResolved is ignore" } };
    }
    action = opposite(action);
  }
  const cooling = cooldownReason(config.cooldownSeconds, appliedAt, now);
  if (cooling) return { decision: { outcome: "cooldown", reason: cooling } };
  return { rule: { action, amount: config.amount, min: config.min, max: config.max } };
}

/**
 * The part of the count drivers that needs no Cattle call (a resolved alert to ignore, a receiver
 * cooling down) decided at once; the rest queued and handed to `apply` one batch at a time.
 * Requests delivered while a batch waits on Cattle (the input gate is open during fetch) only
 * append to the queue, so every batch sees a stable prefix of arrivals.
 */
export class CountQueue<R extends CountReceiver> {
  readonly #context: ExecutorContext;
  readonly #apply: (batch: QueuedTrigger<R>[]) => Promise<void>;
  #pending: QueuedTrigger<R>[] = [];
  #draining = false;

  constructor(context: ExecutorContext, apply: (batch: QueuedTrigger<R>[]) => Promise<void>) {
    this.#context = context;
    this.#apply = apply;
  }

  decide(receiver: R, delivery: Delivery): Promise<TriggerResult> {
    const { history, clock } = this.#context;
    const asked = countRule(receiver, delivery, history.appliedAt(receiver.id), clock.now());
    if ("decision" in asked) {
      return Promise.resolve(
        history.record([{ receiver, delivery, decision: asked.decision }])[0] as TriggerResult,
      );
    }
    return new Promise((resolve) => {
      this.#pending.push({ receiver, delivery, rule: asked.rule, resolve });
      void this.#drain();
    });
  }

  /** Triggers that arrived since the running batch was taken: a batch not yet applied may take them in. */
  takeArrivals(): QueuedTrigger<R>[] {
    const arrived = this.#pending;
    this.#pending = [];
    return arrived;
  }

  /** Records decided triggers in one transaction, then answers each. */
  settle(decided: readonly [QueuedTrigger<R>, Decision][]): void {
    const results = this.#context.history.record(
      decided.map(([item, decision]) => ({ receiver: item.receiver, delivery: item.delivery, decision })),
    );
    decided.forEach(([item], i) => {
      item.resolve(results[i] as TriggerResult);
    });
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.takeArrivals();
        try {
          await this.#apply(batch);
        } catch (error) {
          console.error("trigger batch failed", error instanceof Error ? error.message : "unknown error");
          for (const item of batch) unavailable(item, "internal error");
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}

/** Answers a trigger that changed nothing and should be retried by its sender. */
export const unavailable = <R extends CountReceiver>(item: QueuedTrigger<R>, message: string): void =>
  item.resolve({ kind: "unavailable", message, retryAfterSeconds: RETRY_AFTER_SECONDS });
