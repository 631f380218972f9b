import type { Clock } from "../../src/domain/clock";
import type { Random } from "./random";

/**
 * Who a timer belongs to: an incarnation of an object. Once it dies, none of its timers fire, so
 * its outstanding awaits never resume, as after a real process died.
 */
export interface Owner {
  readonly label: string;
  alive: boolean;
  /**
   * Set while the owner is stalled (a process paused: a long GC, a frozen VM): its timers that
   * come due meanwhile wait here instead of firing, and fire once it is released.
   */
  held?: Timer[];
}

export interface Timer {
  at: number;
  seq: number;
  fire: () => void;
  owner: Owner | undefined;
  cancelled: boolean;
}

/** Simulated time starts here (2027-01-15): far from any real clock, so a leak of Date.now() shows. */
export const SIM_START = 1_800_000_000_000;

/**
 * WebCrypto (SHA-256, jose's signatures) resolves on Node's thread pool, the one source of
 * asynchrony that is not the simulation's: its operations are counted, and the scheduler waits
 * until none is in flight before it decides anything.
 */
let cryptoInFlight = 0;
let randomSource: Random | undefined;
let patched = false;

function patchCrypto(): void {
  if (patched) return;
  patched = true;
  const subtle = crypto.subtle as unknown as Record<string, unknown>;
  for (const name of [
    "digest",
    "sign",
    "verify",
    "importKey",
    "exportKey",
    "generateKey",
    "deriveBits",
    "deriveKey",
    "encrypt",
    "decrypt",
  ]) {
    const original = subtle[name];
    if (typeof original !== "function") continue;
    subtle[name] = (...args: unknown[]) => {
      cryptoInFlight++;
      return (original.apply(crypto.subtle, args) as Promise<unknown>).finally(() => {
        cryptoInFlight--;
      });
    };
  }
  // Ids and salts come from the run's seed, so a run's records are the same every time.
  const writable = crypto as unknown as { getRandomValues: <T extends ArrayBufferView>(array: T) => T };
  const originalRandom = writable.getRandomValues.bind(crypto);
  writable.getRandomValues = <T extends ArrayBufferView>(array: T): T => {
    if (!randomSource) return originalRandom(array);
    randomSource.fill(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    return array;
  };
}

/** Random bytes drawn by the code under test come from this generator while a run lasts. */
export function useRandomSource(source: Random | undefined): void {
  patchCrypto();
  randomSource = source;
}

/**
 * The simulated clock and the one queue of everything that happens: timers of the cores, answers
 * of the simulated Cattle, hops between the Worker and the objects, the plan's events. Time moves
 * only from one timer to the next, and after each the world is drained until it is still.
 */
export class Scheduler {
  now = SIM_START;
  #seq = 0;
  #timers: Timer[] = [];
  /** Bumped whenever something is scheduled: the drain loop waits until it stops moving. */
  #activity = 0;
  /** Timers fired, for the run's statistics. */
  fired = 0;

  constructor() {
    patchCrypto();
  }

  /** Runs `fire` at `at` (not before now), unless `owner` died by then. Answers a cancel. */
  at(at: number, fire: () => void, owner?: Owner): () => void {
    const timer: Timer = { at: Math.max(at, this.now), seq: ++this.#seq, fire, owner, cancelled: false };
    this.#insert(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  #insert(timer: Timer): void {
    // Insertion keeps the queue ordered by time, then by scheduling order: deterministic ties.
    let low = 0;
    let high = this.#timers.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const other = this.#timers[middle] as Timer;
      if (other.at < timer.at || (other.at === timer.at && other.seq < timer.seq)) low = middle + 1;
      else high = middle;
    }
    this.#timers.splice(low, 0, timer);
    this.#activity++;
  }

  /** Stalls `owner`: none of its timers fires until `release`, and then all of them, in order. */
  stall(owner: Owner): void {
    owner.held ??= [];
  }

  release(owner: Owner): void {
    const held = owner.held ?? [];
    owner.held = undefined;
    for (const timer of held) {
      timer.at = this.now;
      timer.seq = ++this.#seq;
      this.#insert(timer);
    }
  }

  after(ms: number, fire: () => void, owner?: Owner): () => void {
    return this.at(this.now + Math.max(0, ms), fire, owner);
  }

  /** Resolves after `ms` of simulated time, as `owner` (never, if it dies first). */
  sleep(ms: number, owner?: Owner): Promise<void> {
    return new Promise((resolve) => {
      this.after(ms, resolve, owner);
    });
  }

  /** The Clock an incarnation of an object gets: its sleeps die with it. */
  clockFor(owner?: Owner): Clock {
    return {
      now: () => this.now,
      sleep: (ms, signal) =>
        new Promise<void>((resolve) => {
          if (signal?.aborted) return;
          const cancel = this.after(ms, resolve, owner);
          signal?.addEventListener("abort", cancel, { once: true });
        }),
    };
  }

  /** Time of the next live timer, if any. */
  nextAt(): number | undefined {
    this.#prune();
    return this.#timers[0]?.at;
  }

  #prune(): void {
    while (this.#timers[0] && (this.#timers[0].cancelled || this.#timers[0].owner?.alive === false)) {
      this.#timers.shift();
    }
  }

  /** Fires the next timer and lets everything it started run until the world is still. */
  async step(): Promise<boolean> {
    this.#prune();
    const timer = this.#timers.shift();
    if (!timer) return false;
    this.now = timer.at;
    if (timer.owner?.held) {
      timer.owner.held.push(timer);
      return true;
    }
    this.fired++;
    timer.fire();
    await this.quiesce();
    return true;
  }

  /** Runs every timer due by `until`, then sets the clock to it. */
  async runUntil(until: number, stop?: () => boolean): Promise<void> {
    await this.quiesce();
    for (let next = this.nextAt(); next !== undefined && next <= until; next = this.nextAt()) {
      await this.step();
      if (stop?.()) return;
    }
    this.now = Math.max(this.now, until);
  }

  /**
   * Waits until nothing moves: no WebCrypto operation in flight and no timer scheduled for a few
   * turns of the event loop (promise chains finish within one turn; a crypto answer comes in one).
   */
  async quiesce(): Promise<void> {
    let calm = 0;
    let guard = 0;
    while (calm < 3) {
      const before = this.#activity;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (++guard > 1_000_000) throw new Error("the simulation never became still");
      if (cryptoInFlight > 0 || this.#activity !== before) calm = 0;
      else calm++;
    }
  }

  /** Marks that something happened that the drain loop must wait past. */
  touch(): void {
    this.#activity++;
  }
}
