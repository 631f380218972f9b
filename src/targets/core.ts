import type { CattleFactory } from "../cattle/client";
import type { Clock } from "../domain/clock";
import type { Delivery } from "../domain/delivery";
import type { Driver } from "../domain/driver";
import type { Execution } from "../domain/execution";
import type { TargetMetrics } from "../domain/metrics";
import type { DeliveryRecord, NotificationsChange, TestResult } from "../domain/notifications";
import type { NotificationsResult, ReceiverState, TargetMethods, TriggerResult } from "../domain/ports";
import type { LiveReceiver } from "../domain/receiver";
import type { SenderCheck, SenderProof } from "../domain/sender";
import { DRIVER_NAMES, driverOf } from "../drivers";
import type { Executor, ExecutorContext } from "../drivers/definition";
import { destinationsFrom, destinationsProblem, windowSecondsOf } from "../notifications/destinations";
import { Outbox } from "../notifications/outbox";
import { hasOwnTables, migrate, StorageTooNew } from "../storage/migrations";
import type { ObjectStorage } from "../storage/object-storage";
import { Admission } from "./admission";
import { TargetHistory } from "./history";
import { TARGET_TABLES } from "./schema";

/** What a target needs from its runtime besides storage: time, and a way to reach Cattle. */
export interface TargetDependencies {
  clock: Clock;
  cattle: CattleFactory;
  /** How notifications leave: the runtime's `fetch` unless a test gives its own. */
  fetch?: typeof fetch;
}

/** The parts of a target that exist once its storage does. */
interface Loaded {
  admission: Admission;
  history: TargetHistory;
  outbox: Outbox;
  context: ExecutorContext;
}

/**
 * One per target (for scaleService: one per service), whatever runs it: a Durable Object on
 * Cloudflare, an in-process object on Deno, a test with a fake Cattle and a fake clock. It holds
 * the live version of each of its receivers, so revocation is immediate and global, and it owns
 * everything that must be exact. Admission decides what reaches a driver; the driver's executor
 * decides the rest.
 *
 * An object gets storage when its first receiver is registered, never before: reads (executions,
 * metrics) and refused triggers of an object that has none answer empty without creating any.
 */
export class TargetCore implements TargetMethods {
  readonly #storage: ObjectStorage;
  readonly #dependencies: TargetDependencies;
  #loaded: Loaded | undefined;
  /** Set when the storage is newer than this code can run over: every call is refused. */
  #refusal: StorageTooNew | undefined;
  readonly #executors = new Map<Driver, Executor<Driver>>();
  /** The alarm this incarnation set and that has not run yet: what every part of the target asked for, earliest. */
  #alarmAt: number | undefined;
  /** The storage the parts see: one alarm, shared, never set later than one a part still needs. */
  readonly #shared: ObjectStorage;
  /** Alarms running now (on Deno a second may start before the first returns). */
  #running = 0;
  /** The earliest time a part asked for while an alarm ran: asked for again once it returns. */
  #askedWhileRunning: number | undefined;
  /**
   * Set while an alarm an earlier incarnation left may still be stored: this one cannot read it,
   * and a part restored from storage may count on it without asking again.
   */
  #inherited = false;

  /**
   * Storage calls are synchronous, so for an object that has storage the constructor has migrated
   * and loaded everything before any call; one that has none loads when its first receiver comes.
   */
  constructor(storage: ObjectStorage, dependencies: TargetDependencies) {
    this.#storage = storage;
    this.#dependencies = dependencies;
    this.#shared = {
      sql: storage.sql,
      transactionSync: (closure) => storage.transactionSync(closure),
      setAlarm: (at) => this.#wake(at),
    };
    if (hasOwnTables(storage.sql)) {
      this.#inherited = true;
      this.#load();
    }
  }

  #load(): Loaded | undefined {
    try {
      migrate(this.#storage, TARGET_TABLES);
      return this.#restore();
    } catch (error) {
      // Tables, or a JSON value in one, newer than this code: nothing is read or decided over them.
      if (!(error instanceof StorageTooNew)) throw error;
      // Logged once, when the object starts; every call after it is refused without another line.
      error.log();
      this.#refusal = error;
      this.#loaded = undefined;
      this.#executors.clear();
      return undefined;
    }
  }

  /** Everything the target kept, read back, before any call is served. */
  #restore(): Loaded {
    const { clock } = this.#dependencies;
    const history: TargetHistory = new TargetHistory(
      this.#storage,
      clock,
      (id): string | undefined => admission.receiver(id)?.projectId,
      {
        outcomes: (executions) => outbox.gather(executions),
        forget: (receiverId) => outbox.forget(receiverId),
      },
    );
    const admission: Admission = new Admission(this.#storage, clock, history);
    const outbox: Outbox = new Outbox({
      storage: this.#storage,
      clock,
      fetch: this.#dependencies.fetch ?? ((input, init) => fetch(input, init)),
      wake: (at) => void this.#wake(at),
      receiver: (receiverId) => admission.receiver(receiverId),
    });
    const loaded: Loaded = {
      admission,
      history,
      outbox,
      context: {
        storage: this.#shared,
        ...this.#dependencies,
        history,
        live: (receiverId, version) => admission.live(receiverId, version),
        receiver: (receiverId) => admission.receiver(receiverId),
      },
    };
    this.#loaded = loaded;
    // Every executor restores what it kept (acknowledged triggers, a write whose fate is unknown,
    // the identities of their deliveries) now, before the first delivery is admitted: a retry
    // admitted earlier would be decided as new (docs/how-it-works.md, "Crashes and restarts").
    for (const driver of DRIVER_NAMES) this.#executor(loaded, driver);
    return loaded;
  }

  /** The loaded target, creating its storage if it has none. */
  #ready(): Loaded {
    const loaded = this.#existing() ?? this.#load();
    if (!loaded) throw this.#refusal;
    return loaded;
  }

  /** The loaded target if it has storage; undefined for an object that never had a receiver. */
  #existing(): Loaded | undefined {
    if (this.#refusal) throw this.#refusal;
    return this.#loaded;
  }

  /** Makes a receiver live (create, restore); false, changing nothing, for one deleted here. */
  register(receiver: LiveReceiver): boolean {
    return this.#ready().admission.register(receiver);
  }

  rotate(receiverId: string, senderCheck?: SenderCheck | null): number | null {
    const rotated = this.regenerate(receiverId, senderCheck);
    return rotated.kind === "live" ? rotated.receiver.version : null;
  }

  /**
   * Moves a receiver to its next version (its old tokens stop now) and answers it as it is live
   * from now on; or says it was deleted here, or that this target does not know it. One call, so a
   * regenerate and a delete of the receiver are ordered here, once (docs/api.md, "Management").
   */
  regenerate(receiverId: string, senderCheck?: SenderCheck | null): ReceiverState {
    const loaded = this.#existing();
    if (!loaded) return { kind: "unknown" };
    const receiver = loaded.admission.rotate(receiverId, senderCheck);
    if (!receiver) return loaded.admission.state(receiverId);
    this.#fence(loaded, receiverId, "regenerated");
    return { kind: "live", receiver };
  }

  /**
   * Deletes a receiver here for good: its tokens stop now, and nothing registers it again. False if
   * it was deleted already.
   */
  revoke(receiverId: string): boolean {
    // An object without storage never had a receiver: there is nothing to revoke, nor to remember.
    const loaded = this.#existing();
    if (!loaded) return true;
    const revoked = loaded.admission.revoke(receiverId);
    if (revoked) this.#fence(loaded, receiverId, "deleted");
    return revoked;
  }

  /** Takes back the register of a create or restore that failed part way, without a tombstone. */
  unregister(receiverId: string): void {
    const loaded = this.#existing();
    if (!loaded) return;
    loaded.admission.unregister(receiverId);
    this.#fence(loaded, receiverId, "deleted");
  }

  /**
   * Takes back the register of a create that failed, and remembers its id as deleted, storage made
   * if need be: the id is new and was never answered, and a register of unknown fate (a call over
   * Deno KV whose caller stopped, run by the holder after the create gave up) must find it deleted
   * rather than make it live without a record.
   */
  withdraw(receiverId: string): void {
    const loaded = this.#ready();
    if (loaded.admission.revoke(receiverId)) this.#fence(loaded, receiverId, "deleted");
  }

  /** What this target knows of a receiver: live (at which version), deleted here, or nothing. */
  receiverState(receiverId: string): ReceiverState {
    return this.#existing()?.admission.state(receiverId) ?? { kind: "unknown" };
  }

  #fence(loaded: Loaded, receiverId: string, change: "deleted" | "regenerated"): void {
    for (const driver of DRIVER_NAMES) this.#executor(loaded, driver).fence?.(receiverId, change);
  }

  /** The receiver's latest executions, newest first. */
  executions(receiverId: string, limit?: number): Execution[] {
    return this.#existing()?.history.executions(receiverId, limit) ?? [];
  }

  /** Counts per receiver and outcome, and open executions (docs/monitoring.md). */
  metrics(): TargetMetrics {
    const loaded = this.#existing();
    if (!loaded) return { receivers: [] };
    const metrics = loaded.history.metrics();
    const deliveries = loaded.outbox.counts();
    if (deliveries.size === 0) return metrics;
    const receivers = metrics.receivers.map((entry) => {
      const counted = deliveries.get(entry.receiverId);
      deliveries.delete(entry.receiverId);
      return counted ? { ...entry, notifications: counted } : entry;
    });
    for (const [receiverId, notifications] of deliveries) {
      receivers.push({ receiverId, outcomes: [], pending: 0, notifications });
    }
    return { receivers };
  }

  /** The receivers of `ids` live here, with their sender checks: what an export and a restore ask. */
  liveReceivers(ids: readonly string[]): LiveReceiver[] {
    return this.#existing()?.admission.liveOf(ids) ?? [];
  }

  trigger(
    receiverId: string,
    version: number,
    delivery: Delivery,
    proof?: SenderProof,
  ): Promise<TriggerResult> {
    if (this.#refusal) {
      // Nothing is decided over storage this code could misread; the sender retries after the
      // deploy is rolled forward again.
      return Promise.resolve({
        kind: "unavailable",
        message: "the service cannot use this receiver's storage until it is upgraded again; try again later",
        retryAfterSeconds: 60,
      });
    }
    const loaded = this.#loaded;
    if (!loaded) return Promise.resolve({ kind: "revoked" });
    return loaded.admission.admit(receiverId, version, delivery, proof, (receiver, admitted) =>
      this.#executor(loaded, receiver.driver).decide(receiver as never, admitted),
    );
  }

  /**
   * Replaces a receiver's destinations and window, keeping its version (its URL is unchanged).
   * Nothing changes when the change names a destination the receiver does not have.
   */
  setNotifications(receiverId: string, change: NotificationsChange): NotificationsResult {
    const loaded = this.#existing();
    if (!loaded) return { kind: "unknown" };
    const receiver = loaded.admission.receiver(receiverId);
    if (!receiver) {
      const state = loaded.admission.state(receiverId);
      return state.kind === "revoked" ? state : { kind: "unknown" };
    }
    const current = receiver.notify?.destinations ?? [];
    const problem = destinationsProblem(change.destinations, current);
    if (problem) return { kind: "invalid", ...problem };
    const { destinations, secrets } = destinationsFrom(
      change.destinations,
      current,
      this.#dependencies.clock.now(),
    );
    const windowSeconds = change.windowSeconds ?? windowSecondsOf(receiver.notify);
    const { notify: _replaced, ...rest } = receiver;
    const next: LiveReceiver = {
      ...rest,
      ...(destinations.length > 0 || change.windowSeconds !== undefined
        ? {
            notify: {
              windowSeconds,
              destinations,
              environment: change.environment,
              ...(change.targetLabel ? { targetLabel: change.targetLabel } : {}),
              historyUrl: change.historyUrl,
            },
          }
        : {}),
    };
    // What the open window gathered goes out now, to the destinations that wanted it when it was
    // decided: the new list applies to what is decided from now on.
    loaded.outbox.close(receiverId);
    loaded.admission.replace(next);
    const before = new Map(current.map((destination) => [destination.id, destination.url]));
    loaded.outbox.settingsChanged(
      destinations.flatMap(({ id, url }) => (before.has(id) && before.get(id) !== url ? [id] : [])),
    );
    return { kind: "live", receiver: next, secrets };
  }

  /** The receiver's latest notification deliveries, newest first. */
  notificationLog(receiverId: string): DeliveryRecord[] {
    return this.#existing()?.outbox.log(receiverId) ?? [];
  }

  /** Sends a test message to each of the receiver's destinations; null if it is not live here. */
  async testNotification(receiverId: string): Promise<TestResult[] | null> {
    const loaded = this.#existing();
    const receiver = loaded?.admission.receiver(receiverId);
    if (!loaded || !receiver) return null;
    return loaded.outbox.test(receiver);
  }

  /** Follow-ups the executors scheduled (upgrades), then notifications: each runs its own. */
  async alarm(): Promise<void> {
    // The alarm that woke this call is spent: what the parts need next, they ask for again.
    this.#alarmAt = undefined;
    this.#inherited = false;
    const loaded = this.#existing();
    if (!loaded) return;
    const started = this.#dependencies.clock.now();
    this.#running++;
    // Each part runs whatever another's alarm throws (a broken upgrade step must not hold up every
    // message of the target); the first error is thrown once all have run, so the alarm is retried.
    const errors: unknown[] = [];
    const parts = [
      ...DRIVER_NAMES.map((driver) => () => this.#executor(loaded, driver).alarm?.()),
      () => loaded.outbox.alarm(),
    ];
    try {
      for (const part of parts) {
        try {
          await part();
        } catch (error) {
          errors.push(error);
        }
      }
    } finally {
      this.#running--;
      // Cloudflare takes an alarm set while alarm() runs, to the very time that is running, for the
      // one that ran, and drops it once alarm() returns: what a part asked for meanwhile for no
      // later than that (an execution decided then, in a window of 0 s) is asked for again, later
      // than now. A later time asked for is an alarm of its own, and stays.
      const asked = this.#askedWhileRunning;
      this.#askedWhileRunning = undefined;
      if (asked !== undefined && asked <= started) {
        this.#alarmAt = undefined;
        await this.#wake(Math.max(asked, this.#dependencies.clock.now() + 1));
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  /**
   * The one alarm an object has, shared by its parts: set to the earliest time any of them asked for
   * since it last ran. Every part asks again for what it still needs when it is loaded and when the
   * alarm runs, so an alarm left from an earlier incarnation is replaced by the earliest of those.
   * Until this incarnation's first alarm, though, the alarm left may be earlier than anything asked
   * for (the scaleService writer counts on it for triggers it acknowledged), so the first request
   * sets it for now: every part runs then and asks again for what it needs.
   */
  #wake(asked: number): Promise<void> {
    const at = this.#inherited ? Math.min(asked, this.#dependencies.clock.now()) : asked;
    if (this.#running > 0) this.#askedWhileRunning = Math.min(this.#askedWhileRunning ?? at, at);
    if (this.#alarmAt !== undefined && this.#alarmAt <= at) return Promise.resolve();
    this.#alarmAt = at;
    return this.#storage.setAlarm(at);
  }

  #executor(loaded: Loaded, driver: Driver): Executor<Driver> {
    let executor = this.#executors.get(driver);
    if (!executor) {
      executor = driverOf({ driver }).executor(loaded.context) as Executor<Driver>;
      this.#executors.set(driver, executor);
    }
    return executor;
  }
}
