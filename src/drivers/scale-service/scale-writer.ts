import type { CattleApi } from "../../cattle/client";
import { cattleAnswered, describeFailure, fateUnknown, meaningOf } from "../../cattle/failures";
import type { CattleFailure, Service } from "../../cattle/types";
import type { Delivery } from "../../domain/delivery";
import type { Decision } from "../../domain/execution";
import type { TriggerResult } from "../../domain/ports";
import type { LiveReceiverOf } from "../../domain/receiver";
import type { ExecutorContext } from "../definition";
import { countRule } from "../shared/count-queue";
import { type BatchStep, planBatch } from "../shared/scaling";
import { unscalableReason } from "./target";
import { type StoredStep, type StoredWrite, WriteLog } from "./write-log";

type ScaleReceiver = LiveReceiverOf<"scaleService">;

/** How long a trigger's sender waits for its answer: then it is acknowledged `pending`, or told 503. */
export const TRIGGER_DEADLINE_MS = 6_000;
/**
 * How long after it was sent a write whose answer never came may still be applied by Cattle (which
 * holds a write up to about 3 s for a lock before it runs it): a read after that which does not
 * show the write means it was not applied.
 */
export const WRITE_FATE_WINDOW_MS = 10_000;
/** Triggers acknowledged `pending` that still cannot be written after this long are failed, with the reason. */
export const PENDING_GIVE_UP_MS = 30 * 60_000;
/** How long one exchange with Cattle may take. */
const EXCHANGE_MS = 4_500;
/** How long a write's answer is waited for before its fate is read back from the service instead. */
const READ_BACK_MS = 1_000;
/** Pause between looks at a busy service or at Cattle after a failure: doubled each time, up to the maximum. */
const PAUSE_MIN_MS = 150;
const PAUSE_MAX_MS = 2_000;
/** When the alarm looks again at acknowledged work, should the object have been idle meanwhile. */
const ALARM_MS = 5_000;
const RETRY_AFTER_SECONDS = 5;

/** Service states in which Cattle refuses an update until someone finishes or undoes the upgrade. */
const REFUSING_STATES = new Set(["upgraded", "canceled-upgrade"]);
/** Processes a scale change runs itself, short ones: a write may wait for them behind Cattle's lock. */
const SHORT_PROCESSES = new Set(["updating-active", "activating"]);

/** A trigger waiting for Cattle. */
interface Step {
  stored: StoredStep;
  receiver: ScaleReceiver;
  delivery: Delivery;
  /** Answers the trigger's sender; absent once answered (or after a restart: nobody waits). */
  answer?: (result: TriggerResult) => void;
}

/** The one write Cattle may or may not have applied. */
interface Write {
  from: number;
  to: number;
  sentAt: number;
  planned: [Step, BatchStep][];
  cooldowns: Map<string, number>;
  /** Whether the next read tells its fate: Cattle answered (or it never left), so it is done with it. */
  settled: boolean;
  /** The exchange with Cattle while its answer is awaited. */
  exchange?: Promise<void>;
}

const unavailable = (message: string): TriggerResult => ({
  kind: "unavailable",
  message,
  retryAfterSeconds: RETRY_AFTER_SECONDS,
});

/**
 * The write protocol of a service's scale (docs/api.md, docs/how-it-works.md): every acknowledged step applied once
 * and the end value that of applying the triggers one after another, whatever Cattle does.
 *
 * - One loop per target reads the service, then writes the sequential result of every trigger
 *   waiting, so triggers that arrive during an exchange are combined into the next write. Right
 *   after a write landed, Cattle's answer to it is that read.
 * - At most one write is unresolved at a time, and nothing is written while it is: Cattle writes
 *   absolute values, so a late write would otherwise undo a later one. Its fate is read back: the
 *   service shows its value (applied), or Cattle is done with it and does not (not applied: its
 *   triggers are planned again).
 * - A trigger not settled by its deadline is acknowledged `pending` (202) and kept in storage; its
 *   execution is rewritten once the fate is known, by an alarm if no trigger comes. A 503 is only
 *   for a trigger of which nothing was written while Cattle could not be reached.
 * - A busy service (a process that holds Cattle's lock for long, an upgrade waiting to be finished)
 *   is waited out, and everything that arrives meanwhile is written once it settles.
 * - Delete and regenerate fence: triggers of an older version not yet written are refused (403) or,
 *   if already acknowledged, failed; a write already sent is the only exception.
 */
export class ScaleWriter {
  readonly #context: ExecutorContext;
  readonly #log: WriteLog;
  #queue: Step[] = [];
  #write: Write | undefined;
  #seq = 0;
  #running: Promise<void> | undefined;
  /** Steps whose senders may still wait, in arrival order; the answered ones are dropped lazily. */
  #awaiting: Step[] = [];
  #deadlineArmed = false;
  /** Whether Cattle answered the last read: a trigger waiting then is acknowledged, not told 503. */
  #reachable = false;
  #lastFailure: CattleFailure | undefined;
  /** Why waiting triggers wait, for their `pending` execution. */
  #waitingFor = "waiting for Cattle";
  /** After a 409, wait for the service to settle before writing again. */
  #waitForSettle = false;
  #target: { projectId: string; serviceId: string } | undefined;
  /** Counts writes resolved: a read that overlapped a resolution may show the service before it. */
  #resolutions = 0;
  /**
   * The service as Cattle answered the write that just landed. The loop's next turn, which follows
   * at once, plans from it instead of reading the service again: a round trip less per batch while
   * triggers keep arriving during writes, and what the batch is planned from is no older than a
   * read's answer would be. Any later turn reads afresh, and so does the turn after an answer that
   * came later than the read-back time (it may have waited on its way back).
   */
  #answered: Service | undefined;

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
    const step: Step = {
      stored: {
        seq: ++this.#seq,
        receiverId: receiver.id,
        version: receiver.version,
        rule: asked.rule,
        cooldownSeconds: receiver.config.cooldownSeconds,
        delivery: kept,
        arrived: now,
      },
      receiver,
      delivery,
    };
    return new Promise((resolve) => {
      step.answer = resolve;
      this.#queue.push(step);
      this.#awaiting.push(step);
      this.#armDeadline();
      this.#kick();
    });
  }

  /**
   * One timer for every waiting sender, set for the oldest one's deadline, rather than one per
   * trigger: in a steady stream of triggers it fires once per deadline period, not once per trigger.
   */
  #armDeadline(): void {
    if (this.#deadlineArmed) return;
    while (this.#awaiting[0] && !this.#awaiting[0].answer) this.#awaiting.shift();
    const oldest = this.#awaiting[0];
    if (!oldest) return;
    this.#deadlineArmed = true;
    const { clock } = this.#context;
    const due = oldest.stored.arrived + TRIGGER_DEADLINE_MS;
    void clock.sleep(Math.max(0, due - clock.now())).then(() => {
      this.#deadlineArmed = false;
      const now = clock.now();
      for (;;) {
        const step = this.#awaiting[0];
        if (!step || (step.answer && step.stored.arrived + TRIGGER_DEADLINE_MS > now)) break;
        this.#awaiting.shift();
        this.#atDeadline(step);
      }
      this.#armDeadline();
    });
  }

  /**
   * Acknowledged work goes on here when no trigger drives it (after a restart, say). While the loop
   * runs, the alarm only comes back now and then, in case the object is evicted in the middle.
   */
  async alarm(): Promise<void> {
    if (this.#queue.length > 0 || this.#write) this.#kick();
    if (this.#running) await this.#context.storage.setAlarm(this.#context.clock.now() + ALARM_MS);
  }

  fence(receiverId: string, change: "deleted" | "regenerated"): void {
    const fenced = this.#queue.filter((step) => step.stored.receiverId === receiverId);
    if (fenced.length === 0) return;
    this.#queue = this.#queue.filter((step) => step.stored.receiverId !== receiverId);
    this.#context.storage.transactionSync(() => {
      for (const step of fenced) this.#refuse(step, change);
    });
  }

  /** A trigger of a receiver deleted or regenerated before it was written: refused, or failed if acknowledged. */
  #refuse(step: Step, change: "deleted" | "regenerated"): void {
    if (step.answer) {
      this.#answer(step, { kind: "revoked" });
      return;
    }
    const executionId = step.stored.executionId;
    if (!executionId) return;
    this.#log.dropPending(executionId);
    if (change === "regenerated") {
      const finished = this.#context.clock.now();
      this.#context.history.rewrite(executionId, (execution) => ({
        ...execution,
        outcome: "failed",
        reason: "the receiver was regenerated before this trigger was written to Cattle; nothing was applied",
        finished,
      }));
    }
  }

  #answer(step: Step, result: TriggerResult): void {
    const answer = step.answer;
    step.answer = undefined;
    answer?.(result);
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = this.#loop()
      .catch((error: unknown) => {
        // A bug, not Cattle: answer who still waits (nothing of theirs was written, or it is kept
        // as the unresolved write), and let the alarm try again.
        console.error("scale writer failed", error instanceof Error ? error.message : "unknown error");
        const waiting = this.#queue.filter((step) => step.answer && !step.stored.executionId);
        this.#queue = this.#queue.filter((step) => !waiting.includes(step));
        for (const step of waiting) this.#answer(step, unavailable("internal error"));
        void this.#context.storage.setAlarm(this.#context.clock.now() + ALARM_MS);
      })
      .finally(() => {
        this.#running = undefined;
      });
  }

  /** At its deadline a trigger still waiting is acknowledged `pending`, or told 503 if nothing of it was written. */
  #atDeadline(step: Step): void {
    if (!step.answer) return;
    const write = this.#write;
    if (write?.planned.some(([planned]) => planned === step)) {
      this.#acknowledge(
        step,
        `scale ${write.from} → ${write.to} was written to Cattle, which has not confirmed it yet`,
      );
      return;
    }
    if (!this.#queue.includes(step)) return;
    if (this.#reachable) {
      this.#acknowledge(step, this.#waitingFor);
      return;
    }
    this.#queue = this.#queue.filter((queued) => queued !== step);
    this.#answer(
      step,
      unavailable(
        this.#lastFailure ? describeFailure(this.#lastFailure) : "Cattle did not answer in time; try again",
      ),
    );
  }

  /** Records the trigger `pending` and keeps it, then answers 202: from now on it is owed an outcome. */
  #acknowledge(step: Step, reason: string): void {
    const { history, clock, storage } = this.#context;
    const [result] = history.record(
      [{ receiver: step.receiver, delivery: step.delivery, decision: { outcome: "pending", reason } }],
      ([execution]) => {
        step.stored.executionId = execution?.id;
        this.#log.keepPending(step.stored as StoredStep & { executionId: string });
        if (this.#write?.planned.some(([planned]) => planned === step))
          this.#log.sending(this.#stored(this.#write));
      },
    );
    this.#answer(step, result as TriggerResult);
    void storage.setAlarm(clock.now() + ALARM_MS);
  }

  /**
   * Records how triggers ended, in one transaction: the answered ones' executions are added and
   * their senders answered; the acknowledged ones' `pending` executions are rewritten.
   */
  #settle(decided: readonly [Step, Decision][], within?: () => void): void {
    const { history, clock } = this.#context;
    const finished = clock.now();
    const fresh = decided.filter(([step]) => !step.stored.executionId);
    const results = history.record(
      fresh.map(([step, decision]) => ({ receiver: step.receiver, delivery: step.delivery, decision })),
      () => {
        for (const [step, decision] of decided) {
          const executionId = step.stored.executionId;
          if (!executionId) continue;
          this.#log.dropPending(executionId);
          history.rewrite(executionId, (execution) => ({ ...execution, ...decision, finished }));
        }
        within?.();
      },
    );
    fresh.forEach(([step], i) => {
      this.#answer(step, results[i] as TriggerResult);
    });
  }

  #failQueued(reason: string): void {
    const queued = this.#queue;
    this.#queue = [];
    this.#settle(queued.map((step) => [step, { outcome: "failed", reason }]));
  }

  /** The write landed: its triggers are applied as planned, and their receivers' cooldowns start. */
  #landed(): void {
    const write = this.#write;
    if (!write) return;
    this.#write = undefined;
    this.#resolutions++;
    this.#settle(write.planned, () => {
      this.#context.history.applied(write.cooldowns);
      this.#log.resolved();
    });
  }

  /**
   * The write was not applied: its triggers wait again, in their order, to be planned anew. Those
   * nobody is owed an outcome for (their request ended with the object that sent the write, so
   * their sender was told to retry) are dropped: the retry is the trigger now.
   */
  #notLanded(): void {
    const write = this.#write;
    if (!write) return;
    this.#write = undefined;
    this.#resolutions++;
    this.#log.resolved();
    const owed = write.planned.map(([step]) => step).filter((step) => step.answer || step.stored.executionId);
    this.#queue = [...owed, ...this.#queue].sort((a, b) => a.stored.seq - b.stored.seq);
  }

  /** The write cannot have landed and will not: its triggers end with the reason. */
  #writeFailed(reason: string): void {
    const write = this.#write;
    if (!write) return;
    this.#write = undefined;
    this.#resolutions++;
    this.#settle(
      write.planned.map(([step]) => [step, { outcome: "failed", reason }]),
      () => this.#log.resolved(),
    );
  }

  async #loop(): Promise<void> {
    const { clock } = this.#context;
    let pause = PAUSE_MIN_MS;
    const wait = async () => {
      await clock.sleep(pause);
      pause = Math.min(pause * 2, PAUSE_MAX_MS);
    };
    while ((this.#queue.length > 0 || this.#write) && this.#target) {
      const { projectId, serviceId } = this.#target;
      const exchange = this.#write?.exchange;
      if (exchange) {
        // The write's answer, or after a while its fate read back from the service.
        const lost = new AbortController();
        const answered = await Promise.race([
          exchange.then(() => true),
          clock.sleep(READ_BACK_MS, lost.signal).then(() => false),
        ]);
        lost.abort();
        if (answered) continue;
      }
      const resolutions = this.#resolutions;
      const cattle = this.#context.cattle(clock.now() + EXCHANGE_MS);
      const answered = this.#answered;
      this.#answered = undefined;
      const read = answered
        ? { ok: true as const, value: answered }
        : await cattle.getService(projectId, serviceId);
      // A write resolved while the read was on its way: the read may show the service before it.
      if (this.#resolutions !== resolutions) continue;
      this.#giveUpStale();
      if (!read.ok) {
        if (meaningOf(read.failure) === "transient") {
          this.#reachable = false;
          this.#lastFailure = read.failure;
          await wait();
          continue;
        }
        // Gone, or the service's credential refused: nothing will change that by waiting.
        const reason =
          meaningOf(read.failure) === "gone"
            ? `service ${serviceId} was not found in environment ${projectId}`
            : describeFailure(read.failure);
        this.#writeFailed(reason);
        this.#failQueued(reason);
        continue;
      }
      this.#reachable = true;
      this.#lastFailure = undefined;
      const service = read.value;
      const current = service.scale ?? 0;

      const write = this.#write;
      if (write) {
        if (current === write.to) {
          this.#landed();
        } else if (write.exchange) {
          // Its answer has not come yet and Cattle does not show it: wait for one or the other.
          this.#waitingFor = "waiting for Cattle to confirm an earlier write";
          continue;
        } else if (write.settled || clock.now() - write.sentAt >= WRITE_FATE_WINDOW_MS) {
          this.#notLanded();
        } else {
          this.#waitingFor = "waiting for Cattle to confirm an earlier write";
          await wait();
          continue;
        }
      }
      const steps = this.#live();
      if (steps.length === 0) continue;

      const unscalable = unscalableReason(service);
      if (unscalable) {
        this.#failQueued(unscalable);
        continue;
      }
      if (this.#busy(service)) {
        this.#waitingFor = `service ${serviceId} is ${service.state}; waiting for it to settle`;
        await wait();
        continue;
      }
      pause = PAUSE_MIN_MS;
      this.#writeBatch(cattle, service, current);
    }
    // Nothing left to write: whatever comes next is planned from a fresh read.
    this.#answered = undefined;
  }

  /** The queued triggers whose receivers are live at their version; the others are fenced now. */
  #live(): Step[] {
    const live: Step[] = [];
    const fenced: Step[] = [];
    for (const step of this.#queue) {
      (this.#context.live(step.stored.receiverId, step.stored.version) ? live : fenced).push(step);
    }
    this.#queue = live;
    if (fenced.length > 0) {
      this.#context.storage.transactionSync(() => {
        for (const step of fenced) this.#refuse(step, "regenerated");
      });
    }
    return live;
  }

  #busy(service: Service): boolean {
    if (REFUSING_STATES.has(service.state ?? "")) return true;
    if (service.transitioning !== "yes") {
      this.#waitForSettle = false;
      return false;
    }
    return this.#waitForSettle || !SHORT_PROCESSES.has(service.state ?? "");
  }

  /** Plans every waiting trigger from the current scale and sends the result once. */
  #writeBatch(cattle: CattleApi, service: Service, current: number): void {
    const { history, clock } = this.#context;
    const batch = this.#queue;
    this.#queue = [];
    const before = history.cooldowns();
    const cooldowns = new Map(before);
    const plan = planBatch(
      current,
      batch.map((step) => ({
        receiverId: step.stored.receiverId,
        rule: step.stored.rule,
        cooldownSeconds: step.stored.cooldownSeconds,
      })),
      cooldowns,
      clock.now(),
    );
    const planned = batch.map((step, i): [Step, BatchStep] => [step, plan.steps[i] as BatchStep]);
    // Only the cooldowns this batch starts are kept when it lands, not a copy of every receiver's.
    for (const [receiverId, at] of before) if (cooldowns.get(receiverId) === at) cooldowns.delete(receiverId);
    if (plan.final === current) {
      this.#settle(planned, () => history.applied(cooldowns));
      return;
    }
    const write: Write = {
      from: current,
      to: plan.final,
      sentAt: clock.now(),
      planned,
      cooldowns,
      settled: false,
    };
    this.#write = write;
    this.#log.sending(this.#stored(write));
    const projectId = this.#target?.projectId ?? "";
    write.exchange = cattle.updateService(projectId, service.id, { scale: plan.final }).then((result) => {
      write.exchange = undefined;
      // Read back already: the answer comes late and says nothing new.
      if (this.#write !== write) return;
      if (result.ok) {
        this.#landed();
        const took = this.#context.clock.now() - write.sentAt;
        if (result.value.scale === write.to && took <= READ_BACK_MS) this.#answered = result.value;
        return;
      }
      const { failure } = result;
      if (fateUnknown(failure)) {
        // The read that follows tells: now, if Cattle answered; after the fate window, if it did not.
        write.settled = cattleAnswered(failure);
        return;
      }
      if (meaningOf(failure) === "transient") {
        // 409: Cattle held the write behind a running process and gave up; nothing was applied.
        this.#waitForSettle = true;
        this.#waitingFor = `service ${service.id} is busy in Cattle; waiting for it to settle`;
        return this.#notLanded();
      }
      this.#writeFailed(
        meaningOf(failure) === "refused" ? "Cattle refused the new scale" : describeFailure(failure),
      );
    });
  }

  /** Acknowledged triggers that could not be written, or confirmed, for PENDING_GIVE_UP_MS end failed. */
  #giveUpStale(): void {
    const cutoff = this.#context.clock.now() - PENDING_GIVE_UP_MS;
    if (this.#write && this.#write.sentAt < cutoff) {
      const { from, to } = this.#write;
      this.#writeFailed(
        `Cattle did not confirm scale ${from} → ${to} in 30 minutes; whether it was applied is unknown`,
      );
    }
    const stale = this.#queue.filter((step) => step.stored.executionId && step.stored.arrived < cutoff);
    if (stale.length === 0) return;
    this.#queue = this.#queue.filter((step) => !stale.includes(step));
    const why = this.#lastFailure ? describeFailure(this.#lastFailure) : this.#waitingFor;
    this.#settle(
      stale.map((step) => [step, { outcome: "failed", reason: `not written in 30 minutes: ${why}` }]),
    );
  }

  #stored(write: Write): StoredWrite {
    return {
      from: write.from,
      to: write.to,
      sentAt: write.sentAt,
      steps: write.planned.map(([step, decision]) => ({ step: step.stored, decision })),
      cooldowns: [...write.cooldowns],
    };
  }

  /**
   * A trigger of the restored write whose sender was still waiting when the object stopped was
   * never recorded, so its delivery identity was not either: a retry of it would be admitted and
   * applied a second time over a write that landed. It is recorded `pending` now, before any
   * delivery is admitted (docs/how-it-works.md, "Crashes and restarts"): the retry is answered
   * `deduplicated`, and the trigger itself is owed an outcome, written again if the write did not
   * land. A trigger without an identity cannot be told from its retry and stays as it was: settled
   * with the write if it landed, dropped (its sender retries) if not.
   */
  #oweRestored(write: Write): void {
    const unrecorded = write.planned
      .map(([step]) => step)
      .filter((step) => !step.stored.executionId && step.delivery.identityKey !== undefined);
    const { history, clock, storage } = this.#context;
    if (unrecorded.length > 0) {
      const reason = `scale ${write.from} → ${write.to} was written to Cattle, which has not confirmed it yet`;
      history.record(
        unrecorded.map((step) => ({
          receiver: step.receiver,
          delivery: step.delivery,
          decision: { outcome: "pending", reason },
        })),
        (executions) => {
          unrecorded.forEach((step, i) => {
            step.stored.executionId = executions[i]?.id;
            this.#log.keepPending(step.stored as StoredStep & { executionId: string });
          });
          this.#log.sending(this.#stored(write));
        },
      );
    }
    // Nobody may come to drive the loop: the alarm reads the write's fate.
    void storage.setAlarm(clock.now());
  }

  /** What the object kept before a restart: acknowledged triggers, and the write that may have landed. */
  #restore(): void {
    const restored = (stored: StoredStep): Step | undefined => {
      const receiver = this.#context.live(stored.receiverId, stored.version);
      if (receiver?.driver !== "scaleService") return undefined;
      this.#target ??= { projectId: receiver.projectId, serviceId: receiver.config.serviceId };
      return { stored, receiver, delivery: stored.delivery };
    };
    const write = this.#log.unresolved();
    const inWrite = new Set<string>();
    if (write) {
      const planned = write.steps.flatMap(({ step, decision }): [Step, BatchStep][] => {
        const restoredStep = restored(step);
        if (step.executionId) inWrite.add(step.executionId);
        return restoredStep ? [[restoredStep, decision]] : [];
      });
      this.#write = {
        from: write.from,
        to: write.to,
        sentAt: write.sentAt,
        planned,
        cooldowns: new Map(write.cooldowns),
        settled: false,
      };
      this.#oweRestored(this.#write);
      for (const [step] of planned) if (step.stored.executionId) inWrite.add(step.stored.executionId);
    }
    for (const stored of this.#log.pending()) {
      this.#seq = Math.max(this.#seq, stored.seq);
      if (stored.executionId && inWrite.has(stored.executionId)) continue;
      const step = restored(stored);
      if (step) this.#queue.push(step);
    }
    for (const { step } of write?.steps ?? []) this.#seq = Math.max(this.#seq, step.seq);
  }
}
