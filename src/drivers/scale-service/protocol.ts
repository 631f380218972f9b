import { cattleAnswered, describeFailure, fateUnknown, meaningOf } from "../../cattle/failures";
import type { CattleFailure, CattleResult, Service } from "../../cattle/types";
import type { Decision } from "../../domain/execution";
import { type BatchStep, planBatch } from "../shared/scaling";
import { SenderDeadlines } from "./deadlines";
import {
  ALARM_MS,
  type Change,
  type Effect,
  PAUSE_MAX_MS,
  PAUSE_MIN_MS,
  PENDING_GIVE_UP_MS,
  type ProtocolEvent,
  type ProtocolStep,
  type ProtocolWrite,
  READ_BACK_MS,
  type ServiceTarget,
  type Timer,
  type World,
  WRITE_FATE_WINDOW_MS,
} from "./protocol-events";
import { unscalableReason } from "./target";

export * from "./protocol-events";

/**
 * The write protocol of a service's scale as a state machine without I/O (docs/how-it-works.md,
 * "The write protocol"): events in (a trigger arrived, a timer fired, a read or a write came back,
 * a fence, the alarm, what storage kept), effects out (read the service, send a write, persist in one
 * transaction, answer a sender, arm a timer, set the alarm). It holds no clock, no promise and no
 * storage: the time and what it must ask of the target's history come with each event, so a test
 * or a simulator drives it directly. ScaleWriter (scale-writer.ts) runs its effects.
 */

/** Service states in which Cattle refuses an update until someone finishes or undoes the upgrade. */
const REFUSING_STATES = new Set(["upgraded", "canceled-upgrade"]);
/** Processes a scale change runs itself, short ones: a write may wait for them behind Cattle's lock. */
const SHORT_PROCESSES = new Set(["updating-active", "activating"]);

type Mode =
  | { kind: "idle" }
  /** Waiting for the write's answer, or the read-back timer, whichever comes first. */
  | { kind: "answer"; token: number }
  | { kind: "read"; resolutions: number }
  | { kind: "pause"; token: number };

/**
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
export class ScaleProtocol {
  #queue: ProtocolStep[] = [];
  #write: ProtocolWrite | undefined;
  /**
   * The write whose request has not ended yet, even once a read showed it landed: no other write
   * leaves while it is out, so at most one write to the service is ever on its way. Its request
   * ends by the Cattle client's timeout at the latest.
   */
  #open: number | undefined;
  #writes = 0;
  readonly #deadlines = new SenderDeadlines();
  /** Whether Cattle answered the last read: a trigger waiting then is acknowledged, not told 503. */
  #reachable = false;
  #lastFailure: CattleFailure | undefined;
  /** Why waiting triggers wait, for their `pending` execution. */
  #waitingFor = "waiting for Cattle";
  /** After a 409, wait for the service to settle before writing again. */
  #waitForSettle = false;
  #target: ServiceTarget | undefined;
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
  #mode: Mode = { kind: "idle" };
  #pause = PAUSE_MIN_MS;
  #tokens = 0;
  #effects: Effect[] = [];
  #world: World = { now: 0, cooldowns: () => new Map(), live: () => true };
  /**
   * Cooldowns this event started: its effects run only after it returns, so a batch planned in the
   * same event (right after a write read back as landed) sees them here, not in the world's.
   */
  #started = new Map<string, number>();

  /** Handles one event; the effects are to be run in order. */
  handle(event: ProtocolEvent, world: World): Effect[] {
    this.#world = world;
    this.#effects = [];
    this.#started = new Map();
    switch (event.kind) {
      case "arrived":
        this.#target ??= event.target;
        this.#arrived({ ...event.step, waiting: true, owed: false });
        break;
      case "restored":
        this.#restored(event);
        break;
      case "alarm":
        if (this.#queue.length > 0 || this.#write) this.#kick();
        if (this.#mode.kind !== "idle") this.#emit({ kind: "alarm", ms: ALARM_MS });
        break;
      case "fence":
        this.#fence(event.receiverId, event.change);
        break;
      case "timer":
        this.#timer(event.timer, event.token);
        break;
      case "read":
        if (this.#mode.kind === "read") this.#afterRead(event.result, this.#mode.resolutions);
        break;
      case "written":
        this.#written(event.write, event.result);
        break;
      case "broke":
        this.#broke();
        break;
    }
    return this.#effects;
  }

  /** The unresolved write, if any: what a check may compare with storage. */
  get write(): Readonly<ProtocolWrite> | undefined {
    return this.#write;
  }

  /** Triggers waiting to be written, in order. */
  get queue(): readonly Readonly<ProtocolStep>[] {
    return this.#queue;
  }

  get running(): boolean {
    return this.#mode.kind !== "idle";
  }

  #emit(effect: Effect): void {
    this.#effects.push(effect);
  }

  #arrived(step: ProtocolStep): void {
    this.#queue.push(step);
    this.#deadlines.add(step);
    this.#armDeadline();
    this.#kick();
  }

  #restored(event: Extract<ProtocolEvent, { kind: "restored" }>): void {
    this.#target = event.target ?? this.#target;
    this.#queue = [...event.queue];
    // Acknowledged triggers of a receiver deleted or regenerated before they were written end now,
    // with the reason: nothing may drive the loop for them again.
    this.#live();
    const restored = event.write;
    if (!restored) return;
    const write: ProtocolWrite = { ...restored, id: ++this.#writes, settled: false, inFlight: false };
    this.#write = write;
    // A trigger of the write whose sender still waited when the object stopped was never recorded,
    // nor its delivery's identity: a retry of it would be applied again. It is recorded now, before
    // any delivery is admitted, and owed an outcome like one acknowledged (docs/how-it-works.md,
    // "Crashes and restarts"). One without identity cannot be told from its retry: it stays as it
    // was, settled with the write if it landed, dropped (its sender retries) if not.
    const unrecorded = write.planned.map(([step]) => step).filter((step) => !step.owed && step.identified);
    if (unrecorded.length > 0) {
      const reason = `scale ${write.from} → ${write.to} was written to Cattle, which has not confirmed it yet`;
      for (const step of unrecorded) step.owed = true;
      this.#emit({
        kind: "persist",
        changes: [
          { kind: "record", steps: unrecorded.map((step) => [step.seq, { outcome: "pending", reason }]) },
          { kind: "keepWrite", write: snapshot(write) },
        ],
      });
    }
    // Nobody may come to drive the loop: the alarm reads the write's fate.
    this.#emit({ kind: "alarm", ms: 0 });
  }

  #armDeadline(): void {
    const ms = this.#deadlines.toArm(this.#world.now);
    if (ms !== undefined) this.#emit({ kind: "arm", timer: "deadline", token: ++this.#tokens, ms });
  }

  #timer(timer: Timer, token: number): void {
    if (timer === "deadline") {
      for (const step of this.#deadlines.due(this.#world.now)) this.#atDeadline(step);
      this.#armDeadline();
      return;
    }
    const mode = this.#mode;
    if ((mode.kind === "answer" || mode.kind === "pause") && mode.token === token) {
      if (mode.kind === "answer") this.#read();
      else this.#turn();
    }
  }

  /** At its deadline a trigger still waiting is acknowledged `pending`, or told 503 if nothing of it was written. */
  #atDeadline(step: ProtocolStep): void {
    if (!step.waiting) return;
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
    step.waiting = false;
    this.#emit({
      kind: "answer",
      seq: step.seq,
      result: {
        kind: "unavailable",
        message: this.#lastFailure
          ? describeFailure(this.#lastFailure)
          : "Cattle did not answer in time; try again",
      },
    });
  }

  /** Records the trigger `pending` and keeps it, then answers 202: from now on it is owed an outcome. */
  #acknowledge(step: ProtocolStep, reason: string): void {
    step.waiting = false;
    step.owed = true;
    const changes: Change[] = [{ kind: "record", steps: [[step.seq, { outcome: "pending", reason }]] }];
    const write = this.#write;
    if (write?.planned.some(([planned]) => planned === step))
      changes.push({ kind: "keepWrite", write: snapshot(write) });
    this.#emit({ kind: "persist", changes });
    this.#emit({ kind: "alarm", ms: ALARM_MS });
  }

  #fence(receiverId: string, change: "deleted" | "regenerated"): void {
    const fenced = this.#queue.filter((step) => step.receiverId === receiverId);
    if (fenced.length === 0) return;
    this.#queue = this.#queue.filter((step) => step.receiverId !== receiverId);
    this.#refuse(fenced, change);
  }

  /** Triggers of a receiver deleted or regenerated before they were written: refused, or failed if acknowledged. */
  #refuse(steps: ProtocolStep[], change: "deleted" | "regenerated"): void {
    const changes: Change[] = [];
    for (const step of steps) {
      if (step.waiting) {
        step.waiting = false;
        this.#emit({ kind: "answer", seq: step.seq, result: { kind: "revoked" } });
      } else if (step.owed) {
        step.owed = false;
        changes.push(
          change === "regenerated"
            ? {
                kind: "settle",
                steps: [
                  [
                    step.seq,
                    {
                      outcome: "failed",
                      reason:
                        "the receiver was regenerated before this trigger was written to Cattle; nothing was applied",
                    },
                  ],
                ],
              }
            : { kind: "drop", seq: step.seq },
        );
      }
    }
    if (changes.length > 0) this.#emit({ kind: "persist", changes });
  }

  /**
   * How triggers ended, in one transaction: the answered ones' executions are recorded (and their
   * senders answered after it), the acknowledged ones' `pending` executions rewritten.
   */
  #settle(decided: readonly [ProtocolStep, Decision][], extra: Change[] = []): void {
    const fresh = decided.filter(([step]) => !step.owed);
    const owed = decided.filter(([step]) => step.owed);
    const changes: Change[] = [];
    if (fresh.length > 0)
      changes.push({ kind: "record", steps: fresh.map(([step, decision]) => [step.seq, decision]) });
    if (owed.length > 0)
      changes.push({ kind: "settle", steps: owed.map(([step, decision]) => [step.seq, decision]) });
    for (const [step] of decided) {
      step.waiting = false;
      step.owed = false;
    }
    changes.push(...extra);
    if (changes.length > 0) this.#emit({ kind: "persist", changes });
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
    this.#settle(write.planned, [this.#cooldownsStart(write.cooldowns), { kind: "resolveWrite" }]);
  }

  /** Cooldowns that start with a change known to have landed, as planning sees them from now on. */
  #cooldownsStart(changes: Map<string, number>): Change {
    for (const [receiverId, at] of changes) this.#started.set(receiverId, at);
    return { kind: "cooldowns", changes };
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
    this.#emit({ kind: "persist", changes: [{ kind: "resolveWrite" }] });
    const owed = write.planned.map(([step]) => step).filter((step) => step.waiting || step.owed);
    this.#queue = [...owed, ...this.#queue].sort((a, b) => a.seq - b.seq);
  }

  /** The write cannot have landed and will not: its triggers end with the reason. */
  #writeFailed(reason: string): void {
    const write = this.#write;
    if (!write) return;
    this.#write = undefined;
    this.#resolutions++;
    this.#settle(
      write.planned.map(([step]) => [step, { outcome: "failed", reason }]),
      [{ kind: "resolveWrite" }],
    );
  }

  #kick(): void {
    if (this.#mode.kind !== "idle") return;
    this.#pause = PAUSE_MIN_MS;
    this.#turn();
  }

  /** One turn of the loop: wait for the write's answer, or read the service (or take the answer just had). */
  #turn(): void {
    if ((this.#queue.length === 0 && !this.#write) || !this.#target) {
      // Nothing left to write: whatever comes next is planned from a fresh read.
      this.#mode = { kind: "idle" };
      this.#answered = undefined;
      return;
    }
    if (this.#write?.inFlight) {
      // The write's answer, or after a while its fate read back from the service.
      const token = ++this.#tokens;
      this.#mode = { kind: "answer", token };
      this.#emit({ kind: "arm", timer: "readBack", token, ms: READ_BACK_MS });
      return;
    }
    this.#read();
  }

  #read(): void {
    const resolutions = this.#resolutions;
    const answered = this.#answered;
    this.#answered = undefined;
    this.#mode = { kind: "read", resolutions };
    if (answered) {
      this.#afterRead({ ok: true, value: answered }, resolutions);
      return;
    }
    this.#emit({ kind: "read" });
  }

  #wait(): void {
    const token = ++this.#tokens;
    this.#mode = { kind: "pause", token };
    this.#emit({ kind: "arm", timer: "pause", token, ms: this.#pause });
    this.#pause = Math.min(this.#pause * 2, PAUSE_MAX_MS);
  }

  #afterRead(read: CattleResult<Service>, resolutions: number): void {
    // A write resolved while the read was on its way: the read may show the service before it.
    if (this.#resolutions !== resolutions) {
      this.#turn();
      return;
    }
    const target = this.#target as ServiceTarget;
    // A write is given up only while Cattle cannot be read: a read that answers tells its fate
    // exactly, however late (it was sent long before the fate window closed).
    this.#giveUpStale(!read.ok);
    if (!read.ok) {
      if (meaningOf(read.failure) === "transient") {
        this.#reachable = false;
        this.#lastFailure = read.failure;
        this.#wait();
        return;
      }
      // Gone, or the service's credential refused: nothing will change that by waiting.
      const reason =
        meaningOf(read.failure) === "gone"
          ? `service ${target.serviceId} was not found in environment ${target.projectId}`
          : describeFailure(read.failure);
      this.#writeFailed(reason);
      this.#failQueued(reason);
      this.#turn();
      return;
    }
    this.#reachable = true;
    this.#lastFailure = undefined;
    const service = read.value;
    const current = service.scale ?? 0;

    const write = this.#write;
    if (write) {
      if (current === write.to) {
        this.#landed();
      } else if (write.inFlight) {
        // Its answer has not come yet and Cattle does not show it: wait for one or the other.
        this.#waitingFor = "waiting for Cattle to confirm an earlier write";
        this.#turn();
        return;
      } else if (write.settled || this.#world.now - write.sentAt >= WRITE_FATE_WINDOW_MS) {
        this.#notLanded();
      } else {
        this.#waitingFor = "waiting for Cattle to confirm an earlier write";
        this.#wait();
        return;
      }
    }
    if (this.#live().length === 0) {
      this.#turn();
      return;
    }

    const unscalable = unscalableReason(service);
    if (unscalable) {
      this.#failQueued(unscalable);
      this.#turn();
      return;
    }
    if (this.#busy(service)) {
      this.#waitingFor = `service ${target.serviceId} is ${service.state}; waiting for it to settle`;
      this.#wait();
      return;
    }
    if (this.#open !== undefined) {
      // The last write landed, but its request is still out: the next leaves once it ends.
      this.#waitingFor = "waiting for Cattle to answer an earlier write";
      this.#wait();
      return;
    }
    this.#pause = PAUSE_MIN_MS;
    this.#writeBatch(current);
    this.#turn();
  }

  /** The queued triggers whose receivers are live at their version; the others are fenced now. */
  #live(): ProtocolStep[] {
    const live: ProtocolStep[] = [];
    const fenced: ProtocolStep[] = [];
    for (const step of this.#queue)
      (this.#world.live(step.receiverId, step.version) ? live : fenced).push(step);
    this.#queue = live;
    if (fenced.length > 0) this.#refuse(fenced, "regenerated");
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
  #writeBatch(current: number): void {
    const { now } = this.#world;
    const batch = this.#queue;
    this.#queue = [];
    const before = new Map([...this.#world.cooldowns(), ...this.#started]);
    const cooldowns = new Map(before);
    const plan = planBatch(
      current,
      batch.map((step) => ({
        receiverId: step.receiverId,
        rule: step.rule,
        cooldownSeconds: step.cooldownSeconds,
      })),
      cooldowns,
      now,
    );
    const planned = batch.map((step, i): [ProtocolStep, BatchStep] => [step, plan.steps[i] as BatchStep]);
    // Only the cooldowns this batch starts are kept when it lands, not a copy of every receiver's.
    for (const [receiverId, at] of before) if (cooldowns.get(receiverId) === at) cooldowns.delete(receiverId);
    if (plan.final === current) {
      this.#settle(planned, [this.#cooldownsStart(cooldowns)]);
      return;
    }
    const write: ProtocolWrite = {
      id: ++this.#writes,
      from: current,
      to: plan.final,
      sentAt: now,
      planned,
      cooldowns,
      settled: false,
      inFlight: true,
    };
    this.#write = write;
    // Kept before it is sent: a restart then knows a write may be on its way.
    this.#emit({ kind: "persist", changes: [{ kind: "keepWrite", write: snapshot(write) }] });
    this.#open = write.id;
    this.#emit({ kind: "send", write: write.id, to: write.to });
  }

  #written(id: number, result: CattleResult<Service>): void {
    const write = this.#write;
    const waitedFor = this.#open === id;
    if (waitedFor) this.#open = undefined;
    // Read back already: the answer comes late and says nothing new, but the next write may leave.
    if (write?.id !== id) {
      if (waitedFor && this.#mode.kind === "pause") {
        this.#emit({ kind: "disarm", timer: "pause" });
        this.#turn();
      }
      return;
    }
    write.inFlight = false;
    if (result.ok) {
      this.#landed();
      const took = this.#world.now - write.sentAt;
      if (result.value.scale === write.to && took <= READ_BACK_MS) this.#answered = result.value;
    } else if (fateUnknown(result.failure)) {
      // The read that follows tells: now, if Cattle answered; after the fate window, if it did not.
      write.settled = cattleAnswered(result.failure);
    } else if (meaningOf(result.failure) === "transient") {
      // 409: Cattle held the write behind a running process and gave up; nothing was applied.
      this.#waitForSettle = true;
      this.#waitingFor = `service ${this.#target?.serviceId} is busy in Cattle; waiting for it to settle`;
      this.#notLanded();
    } else {
      this.#writeFailed(
        meaningOf(result.failure) === "refused"
          ? "Cattle refused the new scale"
          : describeFailure(result.failure),
      );
    }
    if (this.#mode.kind === "answer") {
      this.#emit({ kind: "disarm", timer: "readBack" });
      this.#turn();
    }
  }

  /** Acknowledged triggers that could not be written, or confirmed, for PENDING_GIVE_UP_MS end failed. */
  #giveUpStale(unread: boolean): void {
    const cutoff = this.#world.now - PENDING_GIVE_UP_MS;
    if (unread && this.#write && this.#write.sentAt < cutoff) {
      const { from, to } = this.#write;
      this.#writeFailed(
        `Cattle did not confirm scale ${from} → ${to} in 30 minutes; whether it was applied is unknown`,
      );
    }
    const stale = this.#queue.filter((step) => step.owed && step.arrived < cutoff);
    if (stale.length === 0) return;
    this.#queue = this.#queue.filter((step) => !stale.includes(step));
    const why = this.#lastFailure ? describeFailure(this.#lastFailure) : this.#waitingFor;
    this.#settle(
      stale.map((step) => [step, { outcome: "failed", reason: `not written in 30 minutes: ${why}` }]),
    );
  }

  /**
   * An effect failed (a bug, not Cattle): who still waits is answered (nothing of theirs was
   * written, or it is kept as the unresolved write), and the alarm tries again.
   */
  #broke(): void {
    const waiting = this.#queue.filter((step) => step.waiting && !step.owed);
    this.#queue = this.#queue.filter((step) => !waiting.includes(step));
    for (const step of waiting) {
      step.waiting = false;
      this.#emit({
        kind: "answer",
        seq: step.seq,
        result: { kind: "unavailable", message: "internal error" },
      });
    }
    this.#mode = { kind: "idle" };
    this.#answered = undefined;
    // Its answer may never be told now: the loop must not wait for it forever.
    this.#open = undefined;
    this.#emit({ kind: "alarm", ms: ALARM_MS });
  }
}

/** The write as it stands now: an effect carries values, never the protocol's own state. */
const snapshot = (write: ProtocolWrite): ProtocolWrite => ({
  ...write,
  planned: write.planned.map(([step, decision]) => [{ ...step }, decision]),
  cooldowns: new Map(write.cooldowns),
});
