import type { Clock } from "../../domain/clock";
import { type KvAtomic, type KvEntryMaybe, type KvKey, type KvLike, retryingBusy } from "./kv";

/**
 * How long a lease lasts, how early its holder renews it, and how much of it must be left when a
 * request leaves for Cattle (docs/deno-deploy.md, "One writer per object"). A request is given at
 * most 5 s by the Cattle client, so one that leaves with 6 s of lease left ends before anyone else
 * can hold the object; a holder that died is replaced once its lease has run out, plus a second
 * for clocks that differ between machines.
 */
export const LEASE_MS = 12_000;
export const RENEW_BEFORE_MS = 8_000;
export const OUTGOING_MIN_LEFT_MS = 6_000;
export const CLOCK_SKEW_MS = 1_000;

export interface LeaseValue {
  /** The isolate that holds it. */
  holder: string;
  /** Counts holders: each new holder takes a greater one (at least the time it took the lease). */
  epoch: number;
  /** Epoch ms, by the holder's clock, when it runs out unless renewed. */
  until: number;
}

/** The object can no longer write: another isolate holds it now, or its lease ran out. */
export class LeaseLost extends Error {
  constructor(message = "this isolate no longer holds the object") {
    super(message);
    this.name = "LeaseLost";
  }
}

/** Whether a lease read from KV is free for another isolate to take at `now`. */
export function leaseFree(entry: KvEntryMaybe<LeaseValue>, now: number): boolean {
  return entry.value === null || entry.value.until + CLOCK_SKEW_MS < now;
}

/**
 * One isolate's hold on one object: every state change it commits checks the lease's
 * versionstamp in the same atomic operation, so once the lease is renewed by this holder only,
 * or taken by another, nothing this holder still has in flight can land. Commits (and renewals,
 * which change the versionstamp) run one after another.
 */
export class Fence {
  #versionstamp: string;
  #value: LeaseValue;
  #chain: Promise<unknown> = Promise.resolve();
  #lost: LeaseLost | undefined;

  private constructor(
    private readonly kv: KvLike,
    readonly clock: Clock,
    readonly key: KvKey,
    versionstamp: string,
    value: LeaseValue,
  ) {
    this.#versionstamp = versionstamp;
    this.#value = value;
  }

  /** Takes the lease if `seen` (read just before) is still what KV has and it is free; else undefined. */
  static async take(
    kv: KvLike,
    clock: Clock,
    key: KvKey,
    seen: KvEntryMaybe<LeaseValue>,
    holder: string,
  ): Promise<Fence | undefined> {
    // A lease given up is deleted, so the next holder cannot count on from it: it starts from the
    // time instead, so that no two holders of an object share an epoch (a caller waiting for a
    // call's answer tells by the epoch whether the holder that took the call still runs).
    const epoch = Math.max((seen.value?.epoch ?? 0) + 1, clock.now());
    const value: LeaseValue = { holder, epoch, until: clock.now() + LEASE_MS };
    const result = await retryingBusy(clock, () =>
      kv.atomic().check({ key, versionstamp: seen.versionstamp }).set(key, value).commit(),
    );
    return result.ok ? new Fence(kv, clock, key, result.versionstamp, value) : undefined;
  }

  get epoch(): number {
    return this.#value.epoch;
  }

  get lost(): boolean {
    return this.#lost !== undefined;
  }

  /** Time left on the lease by this holder's clock (negative once it ran out). */
  left(): number {
    return this.#value.until - this.clock.now();
  }

  /**
   * Commits what `build` adds, with the lease checked. Answers false when another check of
   * `build`'s failed; throws LeaseLost (and stays lost) when the lease is no longer this holder's.
   */
  commit(build: (atomic: KvAtomic) => KvAtomic): Promise<boolean> {
    return this.#serially(async () => {
      if (this.left() <= 0) this.#lose(new LeaseLost("the lease ran out before the write"));
      const result = await retryingBusy(this.clock, () =>
        build(this.kv.atomic().check({ key: this.key, versionstamp: this.#versionstamp })).commit(),
      );
      if (result.ok) return true;
      const now = await retryingBusy(this.clock, () => this.kv.get<LeaseValue>(this.key));
      if (now.versionstamp !== this.#versionstamp) this.#lose(new LeaseLost());
      return false;
    });
  }

  /**
   * Makes the lease last LEASE_MS from now; throws LeaseLost if it is another's. With `belowMs`,
   * only if less than that is left when its turn comes: requests that all find too little lease
   * left at once renew it once, not once each.
   */
  renew(belowMs = Number.POSITIVE_INFINITY): Promise<void> {
    return this.#serially(async () => {
      if (this.left() <= 0) this.#lose(new LeaseLost("the lease ran out before it was renewed"));
      if (this.left() >= belowMs) return;
      const value: LeaseValue = { ...this.#value, until: this.clock.now() + LEASE_MS };
      const result = await retryingBusy(this.clock, () =>
        this.kv
          .atomic()
          .check({ key: this.key, versionstamp: this.#versionstamp })
          .set(this.key, value)
          .commit(),
      );
      if (!result.ok) this.#lose(new LeaseLost());
      this.#versionstamp = result.versionstamp;
      this.#value = value;
    });
  }

  /**
   * Renews the lease first if less than `ms` of it is left. If even the renewed lease has less
   * than `ms` left (this isolate stalled while it renewed: a long pause, a frozen VM), another
   * isolate may hold the object by the time a request leaves: the fence counts as lost.
   */
  async ensure(ms: number): Promise<void> {
    if (this.#lost) throw this.#lost;
    if (this.left() < ms) await this.renew(ms);
    if (this.#lost) throw this.#lost;
    if (this.left() < ms) this.#lose(new LeaseLost("the lease ran short while it was renewed"));
  }

  /** Gives the lease up (anyone may take the object at once); nothing more can be committed. */
  release(): Promise<void> {
    return this.#serially(async () => {
      await retryingBusy(this.clock, () =>
        this.kv.atomic().check({ key: this.key, versionstamp: this.#versionstamp }).delete(this.key).commit(),
      );
      this.#lose(new LeaseLost("the lease was given up"));
    }).catch(() => {});
  }

  /** Marks the fence lost from outside (the object was dropped); later commits throw. */
  abandon(): void {
    this.#lost ??= new LeaseLost("the object was dropped");
  }

  /**
   * Abandons the fence at once, then deletes the lease once what is in flight has ended, if it is
   * still this holder's: an object dropped for a failed write can be taken by another isolate now
   * rather than once its lease runs out. A lease renewed or taken by another since is left alone.
   */
  giveUp(): Promise<void> {
    this.abandon();
    const run = this.#chain.then(() =>
      retryingBusy(this.clock, () =>
        this.kv.atomic().check({ key: this.key, versionstamp: this.#versionstamp }).delete(this.key).commit(),
      ),
    );
    this.#chain = run.catch(() => {});
    return this.#chain.then(() => {});
  }

  #lose(error: LeaseLost): never {
    this.#lost ??= error;
    throw this.#lost;
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(() => {
      if (this.#lost) throw this.#lost;
      return work();
    });
    this.#chain = run.catch(() => {});
    return run;
  }
}
