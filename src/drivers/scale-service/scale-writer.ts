import type { CattleApi } from "../../cattle/client";
import type { Delivery } from "../../domain/delivery";
import type { Decision } from "../../domain/execution";
import type { TriggerResult } from "../../domain/ports";
import type { LiveReceiverOf } from "../../domain/receiver";
import type { ExecutorContext } from "../definition";
import { countRule } from "../shared/count-queue";
import {
  type Change,
  type Effect,
  type ProtocolEvent,
  type ProtocolWrite,
  ScaleProtocol,
  type ServiceTarget,
  type Timer,
  type World,
} from "./protocol";
import { protocolStep, restoreFrom, type StepRecord } from "./restore";
import { type StoredStep, type StoredWrite, WriteLog } from "./write-log";

export { PENDING_GIVE_UP_MS, TRIGGER_DEADLINE_MS, WRITE_FATE_WINDOW_MS } from "./protocol";

type ScaleReceiver = LiveReceiverOf<"scaleService">;

/** How long one exchange with Cattle may take. */
const EXCHANGE_MS = 4_500;
const RETRY_AFTER_SECONDS = 5;

/**
 * Runs the scaleService write protocol (protocol.ts, docs/how-it-works.md) against the clock,
 * Cattle and the target's storage. Every event goes through the protocol, and its effects are run
 * here in order: a `persist` is one transaction, and the senders it answers are answered only after
 * it commits. The points where the object may stop are the boundaries between effects: whatever
 * was persisted is what a restart finds (`#restore`).
 */
export class ScaleWriter {
  readonly #context: ExecutorContext;
  readonly #log: WriteLog;
  readonly #protocol = new ScaleProtocol();
  readonly #steps = new Map<number, StepRecord>();
  #seq = 0;
  #target: ServiceTarget | undefined;
  readonly #timers = new Map<Timer, AbortController>();
  /** The Cattle session of the last read: the write planned from it is sent within its deadline. */
  #session: CattleApi | undefined;

  constructor(context: ExecutorContext) {
    this.#context = context;
    this.#log = new WriteLog(context.storage.sql);
    this.#restore();
  }

  decide(receiver: ScaleReceiver, delivery: Delivery): Promise<TriggerResult> {
    const { history, clock } = this.#context;
    const now = clock.now();
    const asked = countRule(receiver, delivery, history.appliedAt(receiver.id), now);
    if ("decision" in asked) {
      return Promise.resolve(
        history.record([{ receiver, delivery, decision: asked.decision }])[0] as TriggerResult,
      );
    }
    this.#target ??= { projectId: receiver.projectId, serviceId: receiver.config.serviceId };
    const { pushes: _pushes, ignoredBecause: _ignored, ...kept } = delivery;
    const stored: StoredStep = {
      seq: ++this.#seq,
      receiverId: receiver.id,
      version: receiver.version,
      rule: asked.rule,
      cooldownSeconds: receiver.config.cooldownSeconds,
      delivery: kept,
      arrived: now,
    };
    return new Promise((resolve) => {
      this.#steps.set(stored.seq, { stored, receiver, delivery, answer: resolve });
      this.#dispatch({
        kind: "arrived",
        step: { ...protocolStep(stored), identified: delivery.identityKey !== undefined },
        target: this.#target as ServiceTarget,
      });
    });
  }

  /**
   * Acknowledged work goes on here when no trigger drives it (after a restart, say). While the loop
   * runs, the alarm only comes back now and then, in case the object is evicted in the middle.
   */
  async alarm(): Promise<void> {
    await Promise.all(this.#dispatch({ kind: "alarm" }));
  }

  fence(receiverId: string, change: "deleted" | "regenerated"): void {
    this.#dispatch({ kind: "fence", receiverId, change });
  }

  #world(): World {
    const { clock, history, live } = this.#context;
    return {
      now: clock.now(),
      cooldowns: () => history.cooldowns(),
      live: (receiverId, version) => live(receiverId, version) !== undefined,
    };
  }

  /** Hands an event to the protocol and runs its effects; the alarms it set, to be awaited. */
  #dispatch(event: ProtocolEvent): Promise<void>[] {
    const alarms: Promise<void>[] = [];
    const effects = this.#protocol.handle(event, this.#world());
    try {
      for (const effect of effects) this.#run(effect, alarms);
    } catch (error) {
      // A bug, not Cattle: the protocol answers who still waits, and the alarm tries again.
      console.error("scale writer failed", error instanceof Error ? error.message : "unknown error");
      if (event.kind !== "broke") alarms.push(...this.#dispatch({ kind: "broke" }));
    }
    return alarms;
  }

  #run(effect: Effect, alarms: Promise<void>[]): void {
    const { clock, storage } = this.#context;
    const target = this.#target as ServiceTarget;
    switch (effect.kind) {
      case "read": {
        const cattle = this.#context.cattle(clock.now() + EXCHANGE_MS);
        this.#session = cattle;
        this.#exchange(cattle.getService(target.projectId, target.serviceId), (result) => ({
          kind: "read",
          result,
        }));
        return;
      }
      case "send": {
        const cattle = this.#session ?? this.#context.cattle(clock.now() + EXCHANGE_MS);
        this.#session = undefined;
        this.#exchange(
          cattle.updateService(target.projectId, target.serviceId, { scale: effect.to }),
          (result) => ({ kind: "written", write: effect.write, result }),
        );
        return;
      }
      case "persist":
        this.#persist(effect.changes);
        return;
      case "answer": {
        const record = this.#steps.get(effect.seq);
        this.#steps.delete(effect.seq);
        if (record)
          this.#answer(
            record,
            effect.result.kind === "revoked"
              ? { kind: "revoked" }
              : {
                  kind: "unavailable",
                  message: effect.result.message,
                  retryAfterSeconds: RETRY_AFTER_SECONDS,
                },
          );
        return;
      }
      case "arm": {
        this.#timers.get(effect.timer)?.abort();
        const armed = new AbortController();
        this.#timers.set(effect.timer, armed);
        void clock.sleep(effect.ms, armed.signal).then(() => {
          if (this.#timers.get(effect.timer) === armed) this.#timers.delete(effect.timer);
          this.#dispatch({ kind: "timer", timer: effect.timer, token: effect.token });
        });
        return;
      }
      case "disarm":
        this.#timers.get(effect.timer)?.abort();
        this.#timers.delete(effect.timer);
        return;
      case "alarm":
        alarms.push(storage.setAlarm(clock.now() + effect.ms));
        return;
    }
  }

  /** A call to Cattle whose answer comes back to the protocol as an event. */
  #exchange<T>(call: Promise<T>, event: (result: T) => ProtocolEvent): void {
    void call.then(
      (result) => this.#dispatch(event(result)),
      (error: unknown) => {
        console.error("scale writer failed", error instanceof Error ? error.message : "unknown error");
        this.#dispatch({ kind: "broke" });
      },
    );
  }

  /**
   * One transaction: new executions (a `pending` one kept as owed), then the other changes in the
   * order given; only then are the recorded triggers' senders answered.
   */
  #persist(changes: readonly Change[]): void {
    const { history, clock } = this.#context;
    const finished = clock.now();
    const fresh = changes.flatMap((change) =>
      change.kind === "record"
        ? change.steps.flatMap(([seq, decision]): [StepRecord, ScaleReceiver, Decision][] => {
            const record = this.#steps.get(seq);
            if (record?.receiver) return [[record, record.receiver, decision]];
            // A trigger of a receiver deleted since it was sent has no history left to be recorded
            // in; nothing more is owed of it once it ends.
            if (decision.outcome !== "pending") this.#steps.delete(seq);
            return [];
          })
        : [],
    );
    if (fresh.length === 0) {
      // Nothing recorded, nobody answered: the changes alone, in one transaction.
      this.#context.storage.transactionSync(() => {
        for (const change of changes) this.#change(change, finished);
      });
      return;
    }
    const results = history.record(
      fresh.map(([record, receiver, decision]) => ({ receiver, delivery: record.delivery, decision })),
      (executions) => {
        fresh.forEach(([record, , decision], i) => {
          if (decision.outcome !== "pending") return;
          record.stored.executionId = executions[i]?.id;
          this.#log.keepPending(record.stored as StoredStep & { executionId: string });
        });
        for (const change of changes) this.#change(change, finished);
      },
    );
    fresh.forEach(([record, , decision], i) => {
      if (decision.outcome !== "pending") this.#steps.delete(record.stored.seq);
      this.#answer(record, results[i] as TriggerResult);
    });
  }

  #change(change: Change, finished: number): void {
    const { history } = this.#context;
    switch (change.kind) {
      case "record":
        return;
      case "settle":
        for (const [seq, decision] of change.steps) {
          const executionId = this.#steps.get(seq)?.stored.executionId;
          this.#steps.delete(seq);
          if (!executionId) continue;
          this.#log.dropPending(executionId);
          history.rewrite(executionId, (execution) => ({ ...execution, ...decision, finished }));
        }
        return;
      case "drop": {
        const executionId = this.#steps.get(change.seq)?.stored.executionId;
        this.#steps.delete(change.seq);
        if (executionId) this.#log.dropPending(executionId);
        return;
      }
      case "cooldowns":
        // A receiver deleted meanwhile took its history with it: no cooldown is kept for it either.
        history.applied(
          new Map([...change.changes].filter(([receiverId]) => this.#context.receiver(receiverId))),
        );
        return;
      case "keepWrite":
        this.#log.sending(this.#stored(change.write));
        return;
      case "resolveWrite":
        this.#log.resolved();
        return;
    }
  }

  #answer(record: StepRecord, result: TriggerResult): void {
    const answer = record.answer;
    record.answer = undefined;
    answer?.(result);
  }

  #stored(write: Readonly<ProtocolWrite>): StoredWrite {
    return {
      ...(this.#target ? { target: this.#target } : {}),
      from: write.from,
      to: write.to,
      sentAt: write.sentAt,
      steps: write.planned.flatMap(([step, decision]) => {
        const record = this.#steps.get(step.seq);
        return record ? [{ step: record.stored, decision }] : [];
      }),
      cooldowns: [...write.cooldowns],
    };
  }

  /** What the object kept before a restart, handed to the protocol before any delivery is admitted. */
  #restore(): void {
    const kept = restoreFrom(this.#log, this.#context.receiver);
    this.#seq = kept.seq;
    this.#target = kept.target;
    for (const record of kept.records) this.#steps.set(record.stored.seq, record);
    if (kept.event) this.#dispatch(kept.event);
  }
}
