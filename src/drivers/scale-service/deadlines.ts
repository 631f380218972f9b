import { type ProtocolStep, TRIGGER_DEADLINE_MS } from "./protocol-events";

/**
 * The senders' deadlines of the write protocol (docs/how-it-works.md, "The write protocol"): a
 * trigger's sender waits TRIGGER_DEADLINE_MS for its answer, then it is acknowledged `pending` or
 * told 503. One timer serves every waiting sender, set for the oldest one's deadline, rather than
 * one per trigger: in a steady stream of triggers it fires once per deadline period, not once per
 * trigger.
 */
export class SenderDeadlines {
  /** Steps whose senders may still wait, in arrival order; the answered ones are dropped lazily. */
  #awaiting: ProtocolStep[] = [];
  #armed = false;

  /** A sender starts waiting. */
  add(step: ProtocolStep): void {
    this.#awaiting.push(step);
  }

  /** How long the timer is to be set for, if it is not set and a sender waits. */
  toArm(now: number): number | undefined {
    if (this.#armed) return undefined;
    while (this.#awaiting[0] && !this.#awaiting[0].waiting) this.#awaiting.shift();
    const oldest = this.#awaiting[0];
    if (!oldest) return undefined;
    this.#armed = true;
    return Math.max(0, oldest.arrived + TRIGGER_DEADLINE_MS - now);
  }

  /** The timer fired: the steps whose deadline has come (or that no longer wait), oldest first. */
  due(now: number): ProtocolStep[] {
    this.#armed = false;
    const due: ProtocolStep[] = [];
    for (;;) {
      const step = this.#awaiting[0];
      if (!step || (step.waiting && step.arrived + TRIGGER_DEADLINE_MS > now)) break;
      this.#awaiting.shift();
      due.push(step);
    }
    return due;
  }
}
