import { DatabaseSync } from "node:sqlite";
import type { Clock } from "../../domain/clock";
import type { ObjectStorage } from "../object-storage";
import { SqliteObjectStorage } from "../sqlite";
import { GroupCommit, type GroupWrite } from "./group-commit";
import {
  fromChunks,
  type KvEntryMaybe,
  type KvKey,
  type KvLike,
  listAll,
  MAX_COMMIT_CHECKS,
  MAX_GET_MANY,
  retryingBusy,
  toChunks,
} from "./kv";
import {
  CLOCK_SKEW_MS,
  Fence,
  LEASE_MS,
  LeaseLost,
  type LeaseValue,
  leaseFree,
  OUTGOING_MIN_LEFT_MS,
  RENEW_BEFORE_MS,
} from "./lease";
import { batchesOf, KvObjectStorage } from "./mirror";

/**
 * Objects over Deno KV, for any number of isolates and processes at once (docs/deno-deploy.md,
 * "One writer per object"): each object is run by the one isolate that holds its lease. A call
 * that reaches the holder runs there; one that reaches another isolate is written to KV as a call
 * record, which the holder takes (in an atomic commit that checks its lease) and answers with a
 * reply record. An isolate takes a free lease itself, reads the object's state from KV and runs
 * it; a lease whose holder died runs out, and a call not yet taken is taken back by its caller.
 */

/** How an object of a kind is made and run. */
export interface KvObjectKind<Core> {
  /** "targets" or "projects": the object's keys are under ["obj", kind, name]. */
  kind: string;
  /** The object over its storage; `outgoing` wraps every request it sends (the output gate). */
  open(storage: ObjectStorage, outgoing: Outgoing): Core;
  /** Its alarm, if it has one. */
  alarm?: (core: Core) => Promise<void>;
  /** Methods that may give an object state; any other call of an object without state answers from an empty one. */
  writes: ReadonlySet<string>;
}

/**
 * What an object's outgoing requests go through: they leave once its writes are in KV and its
 * lease lasts longer than they can: `lastsMs` is the longest the request may take (a Cattle
 * request's 5 s unless told), so that it is over before anyone else could hold the object.
 */
export type Outgoing = <T>(send: () => Promise<T>, lastsMs?: number) => Promise<T>;

export interface KvTiming {
  /** How often a holder looks for calls while they come, and a caller for its reply. */
  pollMs: number;
  /** How far apart a holder's looks for calls grow (doubling) while none come. */
  maxPollMs: number;
  /**
   * Whether calls ring a bell key that holders watch (`Deno.Kv.watch`), so that a holder hears of
   * a call at once and looks for calls seldom otherwise: on Deno Deploy. A KV file's watch does
   * not see other processes' writes, so there holders look every `pollMs` to `maxPollMs`.
   */
  watch: boolean;
  /** How long a call may wait to be taken before its caller takes it back (the object is busy: 503). */
  takeWaitMs: number;
  /** How long a taken call may go unanswered before its caller gives up on it. */
  replyWaitMs: number;
  /** How long a holder keeps an object it has nothing to do for. */
  idleMs: number;
  /**
   * How long a stopping isolate lets the calls, requests and alarms its objects run finish before
   * it stops them: a Cattle request's 5 s and a little (Deno Deploy and `docker stop` wait ~10 s).
   */
  closeWaitMs: number;
}

export const DEFAULT_TIMING: KvTiming = {
  pollMs: 20,
  maxPollMs: 250,
  watch: false,
  takeWaitMs: 8_000,
  replyWaitMs: 60_000,
  idleMs: 30_000,
  closeWaitMs: 6_000,
};

/**
 * How far apart a holder's looks for calls grow where it watches the bell (Deno Deploy): the bell
 * tells it of a call at once, and the looks are only for a bell that was missed.
 */
export const WATCHED_MAX_POLL_MS = 2_000;

/** How often a caller that watches for its reply looks at its call and the holder's lease anyway. */
const WATCHED_LOOK_MS = 1_000;

/** A failed alarm is tried again after 1, 2, 4, 8 and 16 s, as a Durable Object's is. */
const ALARM_RETRIES = 6;
const ALARM_RETRY_MS = 1_000;

/** The object could not answer this call (its holder stopped while it ran): as a reset Durable Object's stub throws. */
export class ObjectUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ObjectUnavailable";
  }
}

interface Held<Core> {
  name: string;
  fence: Fence;
  storage: KvObjectStorage;
  core: Core;
  /** Calls running, requests out, alarms running: the object is idle only when all are 0. */
  busy: number;
  lastUsed: number;
  stop: AbortController;
  alarmTimer: AbortController | undefined;
  /** The alarm time `alarmTimer` waits for. */
  alarmArmedAt: number | undefined;
  /** The alarm running now: the next waits for it, as a Durable Object's does. */
  alarmRunning: Promise<void>;
}

interface CallRecord {
  method: string;
  args: unknown[];
  from: string;
}

type Reply = { ok: true; value: unknown } | { ok: false; name: string; message: string };

const leaseKey = (kind: string, name: string): KvKey => ["lease", kind, name];
const objectPrefix = (kind: string, name: string): KvKey => ["obj", kind, name];
const callPrefix = (kind: string, name: string): KvKey => ["call", kind, name];
const bellKey = (kind: string, name: string): KvKey => ["bell", kind, name];
export const alarmIndexKey = (kind: string, at: number, name: string): KvKey => ["alarms", kind, at, name];
/** A call's id starts with when it was made (its caller's clock), so calls list oldest first. */
const callStamp = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(15, "0");

/** A value in one KV value when it fits, else its chunks under `chunkKey(i)`, the value saying how many. */
function packed(
  value: unknown,
  key: KvKey,
  chunkKey: (part: number) => KvKey,
): { key: KvKey; value: unknown }[] {
  const chunks = toChunks(value);
  if (chunks.length === 1) return [{ key, value: chunks[0] }];
  return [
    { key, value: chunks.length },
    ...chunks.map((chunk, part) => ({ key: chunkKey(part), value: chunk })),
  ];
}

async function unpacked<T>(
  kv: KvLike,
  clock: Clock,
  stored: unknown,
  chunkKey: (part: number) => KvKey,
): Promise<T> {
  if (typeof stored !== "number") return fromChunks<T>([stored as Uint8Array]);
  const chunks: Uint8Array[] = [];
  // Read MAX_GET_MANY at a time: one getMany takes no more keys.
  for (let first = 0; first < stored; first += MAX_GET_MANY) {
    const keys = Array.from({ length: Math.min(MAX_GET_MANY, stored - first) }, (_, part) =>
      chunkKey(first + part),
    );
    const entries = await retryingBusy(clock, () => kv.getMany<Uint8Array[]>(keys));
    for (const entry of entries) chunks.push(entry.value as Uint8Array);
  }
  return fromChunks<T>(chunks);
}

export class KvObjects<Core extends object> {
  readonly #held = new Map<string, Held<Core>>();
  readonly #opening = new Map<string, Promise<Held<Core> | undefined>>();
  readonly #timing: KvTiming;
  /** This isolate's calls, replies and forgotten replies, committed together when they come together. */
  readonly #group: GroupCommit;
  #sequence = 0;
  #closed = false;
  /** Aborted when the isolate stops: ends the timers of follow-ups of objects it let go. */
  readonly #stopping = new AbortController();

  constructor(
    private readonly kv: KvLike,
    private readonly clock: Clock,
    /** This isolate's name in leases and call records: unique among all that share the KV. */
    private readonly isolate: string,
    private readonly kind: KvObjectKind<Core>,
    timing: Partial<KvTiming> = {},
  ) {
    this.#timing = { ...DEFAULT_TIMING, ...timing };
    this.#group = new GroupCommit(kv, clock);
  }

  /** Names of the objects this isolate holds now. */
  get held(): string[] {
    return [...this.#held.keys()];
  }

  /** Runs `method` of object `name` with `args`, wherever its holder is; answers what it answers. */
  async call(name: string, method: string, args: unknown[]): Promise<unknown> {
    for (;;) {
      if (this.#closed) throw new ObjectUnavailable("the server is stopping");
      const held = this.#held.get(name) ?? (await this.#opening.get(name));
      if (held && !held.fence.lost) return this.#runHere(held, method, args);
      const lease = await retryingBusy(this.clock, () =>
        this.kv.get<LeaseValue>(leaseKey(this.kind.kind, name)),
      );
      // A lease of this isolate's own with no object here is one it dropped: as good as free.
      if (leaseFree(lease, this.clock.now()) || lease.value?.holder === this.isolate) {
        if (!this.kind.writes.has(method) && !(await this.#hasState(name)))
          return this.#runEmpty(method, args);
        const taken = await this.#take(name, lease);
        if (taken) return this.#runHere(taken, method, args);
        continue;
      }
      const forwarded = await this.#forward(name, method, args);
      if (forwarded.done) return forwarded.value;
    }
  }

  /**
   * Takes every object whose follow-up is due and that no one holds, so its alarm runs: what
   * `Deno.cron` calls each minute, and each isolate now and then (docs/deno-deploy.md).
   */
  async sweep(): Promise<number> {
    // A stopping isolate takes nothing more: it would hold what it took until its lease ran out.
    if (this.#closed) return 0;
    const now = this.clock.now();
    // Each object's index keys that are due: one, unless an older holder left one behind.
    const due = new Map<string, number[]>();
    const entries = await listAll(this.kv, this.clock, {
      start: ["alarms", this.kind.kind],
      end: ["alarms", this.kind.kind, now + 1],
    });
    for (const entry of entries) {
      const [, , at, name] = entry.key;
      if (typeof name === "string" && typeof at === "number") due.set(name, [...(due.get(name) ?? []), at]);
    }
    let taken = 0;
    for (const [name, ats] of due) {
      if (this.#closed) break;
      if (this.#held.has(name)) continue;
      const lease = await retryingBusy(this.clock, () =>
        this.kv.get<LeaseValue>(leaseKey(this.kind.kind, name)),
      );
      if (!leaseFree(lease, this.clock.now())) continue;
      try {
        // An index key of an object without state is a leftover: taking the object would give it
        // state (its schema), and sweeps would find the key again and again.
        if (!(await this.#hasState(name))) {
          const atomic = this.kv.atomic();
          for (const at of ats) atomic.delete(alarmIndexKey(this.kind.kind, at, name));
          await retryingBusy(this.clock, () => atomic.commit());
          continue;
        }
        const held = await this.#take(name, lease);
        if (!held) continue;
        const alarm = held.storage.alarmAt();
        // Index keys its alarm is not at are leftovers too: deleted, so that no sweep takes the
        // object for them again.
        const stale = ats.filter((at) => at !== alarm);
        if (stale.length > 0) {
          await held.fence.commit((atomic) => {
            for (const at of stale) atomic.delete(alarmIndexKey(this.kind.kind, at, name));
            return atomic;
          });
        }
        if (alarm !== undefined && alarm <= this.clock.now()) taken += 1;
      } catch (error) {
        // One object that cannot load (its lease is given up again) does not hold back the others'.
        console.error("follow-up not started", error instanceof Error ? error.message : "unknown error");
      }
    }
    return taken;
  }

  /**
   * Gives up every lease this isolate holds, for a clean stop: no call is taken any more, what
   * runs is let finish (for up to `closeWaitMs`) and what it wrote reach KV, then each lease goes.
   * An object with work still running then is stopped and its lease left to run out: a request
   * it sent may still be out, and no one may hold the object before that request is over.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopping.abort();
    // An object being taken now is let go once it is in (see #take), not held past the stop.
    await Promise.all([...this.#opening.values()].map((opening) => opening.catch(() => {})));
    const until = this.clock.now() + this.#timing.closeWaitMs;
    await Promise.all(
      [...this.#held.values()].map(async (held) => {
        // The holder's loop goes on renewing the lease meanwhile.
        while (held.busy > 0 && !held.fence.lost && this.clock.now() < until) {
          await this.clock.sleep(this.#timing.pollMs);
        }
        if (held.busy > 0) this.#drop(held, false);
        else await this.#release(held);
      }),
    );
  }

  async #hasState(name: string): Promise<boolean> {
    const entries = await listAll(
      this.kv,
      this.clock,
      { prefix: objectPrefix(this.kind.kind, name) },
      { limit: 1 },
    );
    return entries.length > 0;
  }

  /** A call of an object without state: answered by the object over empty memory, which is then dropped. */
  async #runEmpty(method: string, args: unknown[]): Promise<unknown> {
    const core = this.kind.open(new SqliteObjectStorage(new DatabaseSync(":memory:")), (send) => send());
    return (core as unknown as Record<string, (...args: unknown[]) => unknown>)[method]?.(...args);
  }

  async #runHere(held: Held<Core>, method: string, args: unknown[]): Promise<unknown> {
    held.busy += 1;
    held.lastUsed = this.clock.now();
    try {
      const run = (held.core as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
      if (typeof run !== "function") throw new TypeError(`no method ${method}`);
      const value = await run.apply(held.core, args);
      // The answer waits until what the call wrote is in KV (a Durable Object's output gate).
      await held.storage.flushed();
      return value;
    } catch (error) {
      if (error instanceof LeaseLost || held.fence.lost) {
        this.#drop(held);
        throw new ObjectUnavailable(
          error instanceof LeaseLost || !(error instanceof Error)
            ? "the object moved to another isolate while it ran this call"
            : `the object stopped while it ran this call: its writes could not be kept (${error.message})`,
        );
      }
      throw error;
    } finally {
      held.busy -= 1;
      held.lastUsed = this.clock.now();
    }
  }

  /** Takes the lease read as `seen` and loads the object; undefined if another isolate was first. */
  #take(name: string, seen: KvEntryMaybe<LeaseValue>): Promise<Held<Core> | undefined> {
    const opening = this.#opening.get(name);
    if (opening) return opening;
    const open = (async () => {
      if (this.#closed) return undefined;
      const fence = await Fence.take(this.kv, this.clock, leaseKey(this.kind.kind, name), seen, this.isolate);
      if (!fence) return undefined;
      try {
        const storage = await KvObjectStorage.load(this.kv, objectPrefix(this.kind.kind, name), fence, (at) =>
          alarmIndexKey(this.kind.kind, at, name),
        );
        const held: Held<Core> = {
          name,
          fence,
          storage,
          core: undefined as unknown as Core,
          busy: 0,
          lastUsed: this.clock.now(),
          stop: new AbortController(),
          alarmTimer: undefined,
          alarmArmedAt: undefined,
          alarmRunning: Promise.resolve(),
        };
        held.core = this.kind.open(storage, (send, lastsMs) => this.#outgoing(held, send, lastsMs));
        storage.onFailure = () => this.#drop(held);
        storage.onAlarmChange = (at) => this.#arm(held, at);
        if (this.#closed) {
          // The isolate began to stop while the object loaded: it is given up at once.
          await this.#release(held);
          return undefined;
        }
        await this.#deleteStaleCalls(held);
        this.#held.set(name, held);
        void this.#serve(held);
        this.#arm(held, storage.alarmAt());
        return held;
      } catch (error) {
        // Given up, not just abandoned: another isolate may take the object at once rather than
        // once the lease runs out (an abandoned fence can no longer give its lease up).
        await fence.release();
        throw error;
      }
    })();
    this.#opening.set(name, open);
    return open.finally(() => this.#opening.delete(name));
  }

  /** The output gate: a request leaves once the object's writes are in KV and enough of its lease is left. */
  async #outgoing<T>(held: Held<Core>, send: () => Promise<T>, lastsMs?: number): Promise<T> {
    // A request that may outlast a whole lease could still be out when another isolate holds the
    // object: it is refused rather than sent.
    const needs = lastsMs === undefined ? OUTGOING_MIN_LEFT_MS : lastsMs + CLOCK_SKEW_MS;
    if (needs > LEASE_MS) throw new RangeError(`a request of up to ${lastsMs} ms outlasts an object's lease`);
    held.busy += 1;
    try {
      await held.storage.flushed();
      await held.fence.ensure(needs);
      return await send();
    } finally {
      held.busy -= 1;
      held.lastUsed = this.clock.now();
    }
  }

  /** The holder's loop: takes calls, renews the lease, and lets the object go once it has been idle a while. */
  async #serve(held: Held<Core>): Promise<void> {
    let interval = this.#timing.pollMs;
    const bell = this.#watch([bellKey(this.kind.kind, held.name)]);
    try {
      while (!held.stop.signal.aborted) {
        const taken = await this.#takeCalls(held);
        // Looks follow each other closely while calls come, and grow apart while none do.
        interval = taken > 0 ? this.#timing.pollMs : Math.min(interval * 2, this.#timing.maxPollMs);
        const now = this.clock.now();
        if (held.fence.left() < RENEW_BEFORE_MS) await held.fence.renew();
        if (this.#idle(held, now)) {
          const alarm = held.storage.alarmAt();
          await this.#release(held);
          if (alarm !== undefined) this.#wakeAt(held.name, alarm);
          return;
        }
        await Promise.race([this.clock.sleep(interval, held.stop.signal), bell.rung()]);
      }
    } catch (error) {
      // A KV error that `retryingBusy` did not outlast: the object is let go (a call finds it
      // again), as an object whose lease was lost is.
      if (!(error instanceof LeaseLost)) {
        console.error("object holder failed", error instanceof Error ? error.message : "unknown error");
      }
      this.#drop(held);
    } finally {
      bell.stop();
    }
  }

  /**
   * What wakes a waiter when one of `keys` changes: a watch of them where holders and callers
   * watch (`KvTiming.watch`); elsewhere nothing, and the waiter looks when its time comes.
   */
  #watch(keys: KvKey[]): { rung(): Promise<void>; stop(): void } {
    const watch = this.kv.watch;
    if (!this.#timing.watch || !watch) return { rung: () => new Promise<void>(() => {}), stop: () => {} };
    let ring = () => {};
    let next = new Promise<void>((resolve) => {
      ring = resolve;
    });
    const reader = watch.call(this.kv, keys).getReader();
    void (async () => {
      try {
        for (;;) {
          const { done } = await reader.read();
          if (done) return;
          ring();
          next = new Promise<void>((resolve) => {
            ring = resolve;
          });
        }
      } catch {
        // The watch ended: the waiter goes on looking when its time comes.
      }
    })();
    return {
      rung: () => next,
      stop: () => void reader.cancel().catch(() => {}),
    };
  }

  /**
   * Takes the object back when the alarm of an object let go while idle comes due, so that it runs
   * on time rather than at the next sweep; unless another isolate holds the object by then, or its
   * alarm moved (then its index key at `at` is gone).
   */
  #wakeAt(name: string, at: number): void {
    void this.clock
      .sleep(Math.max(0, at - this.clock.now()), this.#stopping.signal)
      .then(async () => {
        if (this.#closed || this.#held.has(name) || this.#opening.has(name)) return;
        const [lease, index] = await retryingBusy(this.clock, () =>
          this.kv.getMany<[LeaseValue, unknown]>([
            leaseKey(this.kind.kind, name),
            alarmIndexKey(this.kind.kind, at, name),
          ]),
        );
        if (index.value !== null && leaseFree(lease, this.clock.now())) await this.#take(name, lease);
      })
      .catch((error) => {
        console.error("follow-up not started", error instanceof Error ? error.message : "unknown error");
      });
  }

  #idle(held: Held<Core>, now: number): boolean {
    if (held.busy > 0 || !held.storage.settled) return false;
    if (now - held.lastUsed < this.#timing.idleMs) return false;
    const alarm = held.storage.alarmAt();
    return alarm === undefined || alarm - now > this.#timing.idleMs;
  }

  /** Takes the calls waiting for the object and runs them; answers how many it took. */
  async #takeCalls(held: Held<Core>): Promise<number> {
    // A stopping isolate leaves calls to whoever holds the object next (their callers wait for it).
    if (this.#closed) return 0;
    const prefix = callPrefix(this.kind.kind, held.name);
    // Only calls whose callers still wait for them: an older one is being taken back by its caller,
    // or its caller stopped, and running it now would run a call no one asked for any more.
    const recent = this.clock.now() - this.#timing.takeWaitMs - CLOCK_SKEW_MS;
    // One check per call and one for the lease, within what one atomic operation may check.
    const calls = await listAll(
      this.kv,
      this.clock,
      { start: [...prefix, callStamp(recent)], end: [...prefix, "~"] },
      { limit: MAX_COMMIT_CHECKS - 1 },
    );
    if (calls.length === 0) return 0;
    const read = await Promise.all(
      calls.map(async (entry) => {
        const id = entry.key[prefix.length] as string;
        try {
          const record = await unpacked<CallRecord>(this.kv, this.clock, entry.value, (part) => [
            "callpart",
            id,
            part,
          ]);
          return { entry, id, record };
        } catch {
          // Its parts went meanwhile: its caller took it back (the commit's check would fail).
          return undefined;
        }
      }),
    );
    const records = read.filter((call) => call !== undefined);
    if (records.length === 0) return 0;
    // Taken in one commit that checks the lease and that each call is still there: a caller that
    // took its call back, or another holder, cannot have it run twice.
    const taken = await held.fence.commit((atomic) => {
      for (const { entry, id } of records) {
        atomic.check({ key: entry.key, versionstamp: entry.versionstamp }).delete(entry.key);
        if (typeof entry.value === "number") {
          for (let part = 0; part < entry.value; part++) atomic.delete(["callpart", id, part]);
        }
      }
      return atomic;
    });
    if (!taken) return 0;
    held.lastUsed = this.clock.now();
    for (const { id, record } of records) void this.#answer(held, id, record);
    return records.length;
  }

  /** How long a call record may stay in KV: past it, no caller waits for it or its reply. */
  #callLifeMs(): number {
    return this.#timing.takeWaitMs + this.#timing.replyWaitMs + CLOCK_SKEW_MS;
  }

  /** Deletes the calls left by callers that stopped (the holder's, checked against its lease). */
  async #deleteStaleCalls(held: Held<Core>): Promise<void> {
    const prefix = callPrefix(this.kind.kind, held.name);
    const stale = this.clock.now() - this.#callLifeMs();
    for (;;) {
      const calls = await listAll(
        this.kv,
        this.clock,
        { start: [...prefix, ""], end: [...prefix, callStamp(stale)] },
        { limit: MAX_COMMIT_CHECKS - 1 },
      );
      if (calls.length === 0) return;
      const deleted = await held.fence.commit((atomic) => {
        for (const entry of calls) {
          const id = entry.key[prefix.length] as string;
          atomic.check({ key: entry.key, versionstamp: entry.versionstamp }).delete(entry.key);
          if (typeof entry.value === "number") {
            for (let part = 0; part < entry.value; part++) atomic.delete(["callpart", id, part]);
          }
        }
        return atomic;
      });
      if (!deleted || calls.length < MAX_COMMIT_CHECKS - 1) return;
    }
  }

  async #answer(held: Held<Core>, id: string, record: CallRecord): Promise<void> {
    // Busy until the reply is in KV: a stopping isolate gives the object up only after, so the
    // caller reads the answer of a call that ran rather than "stopped before it answered".
    held.busy += 1;
    try {
      const failure = (error: unknown): Reply => ({
        ok: false,
        name: error instanceof Error ? error.name : "Error",
        message: error instanceof Error ? error.message : "unknown error",
      });
      let reply: Reply;
      try {
        reply = { ok: true, value: await this.#runHere(held, record.method, record.args) };
      } catch (error) {
        reply = failure(error);
      }
      let writes: { key: KvKey; value: unknown }[];
      try {
        writes = packed(reply, ["reply", id], (part) => ["replypart", id, part]);
      } catch (error) {
        // An answer that cannot be copied (a function in it): the caller is told, not left waiting.
        writes = packed(failure(error), ["reply", id], (part) => ["replypart", id, part]);
      }
      await this.#writePacked(writes, this.#timing.replyWaitMs * 2);
    } catch (error) {
      console.error("reply not written", error instanceof Error ? error.message : "unknown error");
    } finally {
      held.busy -= 1;
    }
  }

  /** Sends a call to the holder through KV and waits for its reply; `done: false` if the lease came free first. */
  async #forward(
    name: string,
    method: string,
    args: unknown[],
  ): Promise<{ done: true; value: unknown } | { done: false }> {
    // Reply keys are shared by both kinds of object: the kind is in the id, as each kind counts its own calls.
    const id = `${callStamp(this.clock.now())}-${this.isolate}-${this.kind.kind}-${++this.#sequence}`;
    const key = [...callPrefix(this.kind.kind, name), id];
    const record: CallRecord = { method, args, from: this.isolate };
    const writes = packed(record, key, (part) => ["callpart", id, part]);
    // A call whose caller stopped before taking it back is never run (a holder takes only recent
    // calls) and is deleted by the next holder, or by KV once it expires if the object is never
    // held again: every key costs on Deno Deploy.
    const expireIn = this.#callLifeMs();
    await this.#writePacked(
      writes,
      expireIn,
      this.#timing.watch ? [{ key: bellKey(this.kind.kind, name), value: id, expireIn }] : [],
    );
    const started = this.clock.now();
    let takenUnder: number | undefined;
    const replied = this.#watch([["reply", id]]);
    try {
      for (;;) {
        // Watching, a look each second tells whether the call was taken and its holder still runs.
        await (this.#timing.watch
          ? Promise.race([this.clock.sleep(WATCHED_LOOK_MS), replied.rung()])
          : this.clock.sleep(this.#timing.pollMs));
        // A look that fails (KV out of reach a moment) is made again until the call's time is up:
        // the call may run meanwhile, so failing at once would tell its caller it did not.
        const looked = await this.#looking(started, () =>
          retryingBusy(this.clock, () =>
            this.kv.getMany<[unknown, unknown, LeaseValue]>([
              ["reply", id],
              key,
              leaseKey(this.kind.kind, name),
            ]),
          ),
        );
        if (!looked) continue;
        const [reply, call, lease] = looked;
        const now = this.clock.now();
        if (reply.value !== null) {
          const answer = await this.#looking(started, () =>
            unpacked<Reply>(this.kv, this.clock, reply.value, (part) => ["replypart", id, part]),
          );
          if (!answer) continue;
          void this.#forget(id, reply.value).catch(() => {});
          if (answer.ok) return { done: true, value: answer.value };
          const error = new Error(answer.message);
          error.name = answer.name;
          throw error;
        }
        if (call.value !== null) {
          const free = leaseFree(lease, now);
          if (free || now - started >= this.#timing.takeWaitMs) {
            // Not taken: take it back, so that it can never run, and run it here or say the object is busy.
            const result = await this.#looking(started, () =>
              retryingBusy(this.clock, () => {
                const back = this.kv.atomic().check({ key, versionstamp: call.versionstamp }).delete(key);
                for (const write of writes.slice(1)) back.delete(write.key);
                return back.commit();
              }),
            );
            if (result?.ok) {
              if (free) return { done: false };
              throw new ObjectUnavailable("the object did not take the call in time");
            }
          }
          continue;
        }
        // Taken: the holder that took it answers, unless it stops first.
        takenUnder ??= lease.value?.epoch;
        if (
          leaseFree(lease, now) ||
          lease.value?.epoch !== takenUnder ||
          now - started >= this.#timing.replyWaitMs
        ) {
          throw new ObjectUnavailable("the object stopped before it answered this call");
        }
      }
    } finally {
      replied.stop();
    }
  }

  /** `work`'s answer, or undefined if it failed while a forwarded call made at `started` may still be answered. */
  async #looking<T>(started: number, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      if (this.clock.now() - started >= this.#timing.replyWaitMs) {
        throw new ObjectUnavailable(
          `the object could not be reached: ${error instanceof Error ? error.message : "unknown error"}`,
        );
      }
      return undefined;
    }
  }

  /**
   * Writes a value `packed` cut up (a call or a reply): its parts first, in as many atomic
   * operations as KV's limits need (an answer may be larger than one operation takes), then its
   * key, which readers look for, so none sees it before all its parts are in. Parts left by a
   * write that stopped halfway expire.
   */
  async #writePacked(
    writes: { key: KvKey; value: unknown }[],
    expireIn: number,
    also: GroupWrite[] = [],
  ): Promise<void> {
    const [head, ...parts] = writes;
    for (const batch of batchesOf(parts)) {
      await retryingBusy(this.clock, () => {
        const atomic = this.kv.atomic();
        for (const { key, value } of batch) atomic.set(key, value, { expireIn });
        return atomic.commit();
      });
    }
    if (!head) return;
    // With the other calls and replies this process writes meanwhile, in one commit.
    await this.#group.write([{ key: head.key, value: head.value, expireIn }, ...also]);
  }

  async #forget(id: string, stored: unknown): Promise<void> {
    const parts = typeof stored === "number" ? stored : 0;
    await this.#group.write([
      { key: ["reply", id], value: null },
      ...Array.from({ length: parts }, (_, part) => ({ key: ["replypart", id, part], value: null })),
    ]);
  }

  /**
   * Sets the holder's timer for the object's alarm (none: no timer). A timer already set for that
   * time is kept: a failed alarm's next try is set with its count, and the write that moved the
   * alarm must not start the count again (a Durable Object gives up after 6 tries).
   */
  #arm(held: Held<Core>, at: number | undefined, attempt = 0): void {
    if (at !== undefined && held.alarmArmedAt === at && held.alarmTimer && !held.alarmTimer.signal.aborted)
      return;
    held.alarmTimer?.abort();
    held.alarmTimer = undefined;
    held.alarmArmedAt = undefined;
    if (at === undefined || !this.kind.alarm || held.stop.signal.aborted) return;
    const timer = new AbortController();
    held.alarmTimer = timer;
    held.alarmArmedAt = at;
    void this.clock
      .sleep(Math.max(0, at - this.clock.now()), timer.signal)
      .then(() => this.#fire(held, at, attempt));
  }

  async #fire(held: Held<Core>, at: number, attempt: number): Promise<void> {
    const earlier = held.alarmRunning;
    let finished = () => {};
    held.alarmRunning = new Promise((resolve) => {
      finished = resolve;
    });
    held.busy += 1;
    try {
      await earlier;
      // A stopping isolate leaves the alarm to the object's next holder (or a sweep).
      if (held.fence.lost || this.#closed || held.storage.alarmAt() !== at) return;
      try {
        await this.kind.alarm?.(held.core);
        held.storage.alarmDone(at);
      } catch (error) {
        if (held.fence.lost) return;
        console.error("alarm failed", error instanceof Error ? error.message : "unknown error");
        if (attempt + 1 < ALARM_RETRIES) {
          const retryAt = this.clock.now() + ALARM_RETRY_MS * 2 ** attempt;
          this.#arm(held, retryAt, attempt + 1);
          held.storage.alarmRetry(at, retryAt);
        } else {
          held.storage.alarmDone(at);
        }
      }
      await held.storage.flushed().catch(() => {});
    } finally {
      held.busy -= 1;
      held.lastUsed = this.clock.now();
      finished();
    }
  }

  /** Lets the object go: its writes are in KV, then the lease is given up for anyone to take. */
  async #release(held: Held<Core>): Promise<void> {
    held.stop.abort();
    held.alarmTimer?.abort();
    await held.storage.flushed().catch(() => {});
    if (this.#held.get(held.name) === held) this.#held.delete(held.name);
    await held.fence.release();
  }

  /**
   * Forgets an object whose lease was lost or whose write failed: nothing it still does can reach
   * KV or Cattle, and its lease, if still this isolate's, is given up for another to take at once
   * (unless `giveUp` is false: a request it sent may still be out, and the lease runs out first).
   */
  #drop(held: Held<Core>, giveUp = true): void {
    if (giveUp) void held.fence.giveUp();
    else held.fence.abandon();
    held.stop.abort();
    held.alarmTimer?.abort();
    if (this.#held.get(held.name) === held) this.#held.delete(held.name);
  }
}
