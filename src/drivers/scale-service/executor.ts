import { describeFailure, fateUnknown, meaningOf } from "../../cattle/failures";
import type { CattleFailure } from "../../cattle/types";
import type { Delivery } from "../../domain/delivery";
import { type Decision, failed } from "../../domain/execution";
import type { LiveReceiverOf } from "../../domain/receiver";
import type { Executor, ExecutorContext } from "../definition";
import { CountQueue, plannedTrigger, type QueuedTrigger, unavailable } from "../shared/count-queue";
import { type BatchStep, planBatch } from "../shared/scaling";
import { unscalableReason } from "./target";

type ScaleReceiver = LiveReceiverOf<"scaleService">;
type Item = QueuedTrigger<ScaleReceiver>;

/**
 * How long a batch may keep retrying its read-modify-write before it is answered 503. Senders
 * such as Alertmanager time out around 10 s and retry 5xx themselves, so give up well before.
 */
export const CYCLE_DEADLINE_MS = 6_000;
const CYCLE_BACKOFF_MS = 150;

/** A scale write whose answer never came: Cattle may or may not have applied it. */
interface UncertainWrite {
  to: number;
  steps: BatchStep[];
  lastApplied: Map<string, number>;
}

/**
 * A service's scale, changed by every trigger of its receivers in arrival order: all triggers that
 * arrive while a Cattle exchange is in flight are combined into the next single read-and-update.
 */
export class ScaleServiceExecutor implements Executor<"scaleService"> {
  readonly #context: ExecutorContext;
  readonly #queue: CountQueue<ScaleReceiver>;

  constructor(context: ExecutorContext) {
    this.#context = context;
    this.#queue = new CountQueue(context, (batch) => this.#apply(batch));
  }

  decide(receiver: ScaleReceiver, delivery: Delivery) {
    return this.#queue.decide(receiver, delivery);
  }

  async #apply(initial: Item[]): Promise<void> {
    const { clock, history } = this.#context;
    const deadline = clock.now() + CYCLE_DEADLINE_MS;
    const cattle = this.#context.cattle(deadline);
    const [first] = initial as [Item, ...Item[]];
    const { projectId } = first.receiver;
    const { serviceId } = first.receiver.config;
    let batch = initial;
    let settled: [Item, Decision][] = [];
    let uncertain: UncertainWrite | undefined;
    let failure: CattleFailure | undefined;
    const finish = (decided: [Item, Decision][]) => this.#queue.settle([...settled, ...decided]);

    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) {
        const pause = CYCLE_BACKOFF_MS * Math.min(2 ** (attempt - 2), 8);
        if (clock.now() + pause >= deadline) break;
        await clock.sleep(pause);
        // Nothing of this batch has been applied, so triggers that arrived meanwhile can join it.
        batch = [...batch, ...this.#queue.takeArrivals()];
      }
      const read = await cattle.getService(projectId, serviceId);
      if (!read.ok) {
        if (meaningOf(read.failure) === "gone") {
          const reason = `service ${serviceId} was not found in environment ${projectId}`;
          return finish(batch.map((item) => [item, failed(reason)]));
        }
        failure = read.failure;
        continue;
      }
      const service = read.value;
      const current = service.scale ?? 0;
      if (uncertain) {
        // A write whose answer was lost may still have been applied. If Cattle now shows exactly
        // what it wrote, its triggers are done: applying them again would count them twice.
        if (current === uncertain.to) {
          const count = uncertain.steps.length;
          const steps = uncertain.steps;
          settled = [
            ...settled,
            ...batch.slice(0, count).map((item, i): [Item, Decision] => [item, steps[i] as BatchStep]),
          ];
          batch = batch.slice(count);
          history.applied(uncertain.lastApplied);
        }
        uncertain = undefined;
        if (batch.length === 0) return finish([]);
      }
      const unscalable = unscalableReason(service);
      if (unscalable) return finish(batch.map((item) => [item, failed(unscalable)]));

      const lastApplied = history.cooldowns();
      const { steps, final } = planBatch(current, batch.map(plannedTrigger), lastApplied, clock.now());
      if (final !== current) {
        const write = await cattle.updateService(projectId, serviceId, { scale: final });
        if (!write.ok) {
          if (meaningOf(write.failure) === "refused") {
            return finish(batch.map((item) => [item, failed("Cattle refused the new scale")]));
          }
          if (fateUnknown(write.failure)) uncertain = { to: final, steps, lastApplied };
          failure = write.failure;
          continue;
        }
      }
      history.applied(lastApplied);
      return finish(batch.map((item, i) => [item, steps[i] as BatchStep]));
    }
    const message = failure ? describeFailure(failure) : "Cattle is unavailable";
    // Triggers settled by a write that did land are answered; only the rest are retried by senders.
    if (settled.length > 0) this.#queue.settle(settled);
    for (const item of batch) unavailable(item, message);
  }
}
