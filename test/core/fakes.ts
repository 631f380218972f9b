import { DatabaseSync } from "node:sqlite";
import type { CattleApi } from "../../src/cattle/client";
import type {
  CattleFailure,
  CattleResult,
  Collection,
  Host,
  Instance,
  Service,
} from "../../src/cattle/types";
import type { Clock } from "../../src/domain/clock";
import type { ObjectStorage } from "../../src/storage/object-storage";
import { SqliteObjectStorage } from "../../src/storage/sqlite";
import { TargetCore } from "../../src/targets/core";

export { scaleReceiver } from "../fixtures/receivers";

/**
 * A clock that moves only when told: sleeps wait for `run` or `advance` to reach their time, so a
 * test decides every interleaving of time and I/O, and a minute passes in no time.
 */
/** How much real time a fake clock gives work that waits on something outside it (WebCrypto). */
const REAL_WAIT_MS = 2_000;

export class FakeClock implements Clock {
  #now: number;
  #sequence = 0;
  readonly #timers: { at: number; sequence: number; wake: () => void }[] = [];

  constructor(start = 1_800_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((wake) => {
      if (signal?.aborted) return;
      const timer = { at: this.#now + Math.max(0, ms), sequence: ++this.#sequence, wake };
      this.#timers.push(timer);
      this.#timers.sort((a, b) => a.at - b.at || a.sequence - b.sequence);
      signal?.addEventListener(
        "abort",
        () => {
          const index = this.#timers.indexOf(timer);
          if (index >= 0) this.#timers.splice(index, 1);
        },
        { once: true },
      );
    });
  }

  /** Sleepers not woken yet. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Lets everything run that can run without time passing. */
  async flush(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  }

  /** Moves time forward by `ms`, waking each sleeper at its time in order. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await this.flush();
    for (let next = this.#timers[0]; next && next.at <= until; next = this.#timers[0]) {
      this.#timers.shift();
      this.#now = next.at;
      next.wake();
      await this.flush();
    }
    this.#now = until;
  }

  /** Waits for `work`, moving time to the next sleeper whenever nothing else can run. */
  async run<T>(work: Promise<T>, limitMs = 10 * 60_000): Promise<T> {
    let settled = false;
    const watched = work.finally(() => {
      settled = true;
    });
    const deadline = this.#now + limitMs;
    await this.flush();
    while (!settled) {
      const next = this.#timers[0];
      if (!next || next.at > deadline) {
        // WebCrypto (a webhook's signature, a sender check) answers after real time, from outside
        // the event loop: while no sleeper is there to wake, that time is given before the work is
        // called stuck.
        if (
          await this.#realTime(() => settled || (this.#timers[0]?.at ?? Number.POSITIVE_INFINITY) <= deadline)
        ) {
          continue;
        }
        throw new Error("the work waits for something that never comes");
      }
      await this.advance(next.at - this.#now);
    }
    return watched;
  }

  /** Waits up to REAL_WAIT_MS of real time for `ready`; answers whether it came. */
  async #realTime(ready: () => boolean): Promise<boolean> {
    for (let waited = 0; waited < REAL_WAIT_MS; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (ready()) return true;
    }
    return false;
  }
}

/** What the fake does with the next write: answer it, refuse it, or apply it and answer late or never. */
export type WriteFate =
  | { kind: "answered" }
  /** Not applied; Cattle answers with this failure (a 409, a 503 of its own, …). */
  | { kind: "refused"; failure: CattleFailure }
  /** Applied at once, answered after `ms` (past the client's deadline: no answer at all). */
  | { kind: "late"; ms: number }
  /** Applied at once; the connection is then reset. */
  | { kind: "lost" }
  /** Applied only `ms` later (Cattle still working on it), never answered in time. */
  | { kind: "delayed"; ms: number };

/** What the fake does with the next read. */
export type ReadFate = { kind: "answered" } | { kind: "refused"; failure: CattleFailure };

const unavailable: CattleFailure = {
  kind: "unavailable",
  status: 503,
  code: "ServiceUnavailable",
  message: "Cattle answered 503",
};
const conflict: CattleFailure = { kind: "conflict", status: 409, message: "Cattle answered 409" };
const notFound: CattleFailure = { kind: "notFound", status: 404, message: "Cattle answered 404" };
const timedOut: CattleFailure = { kind: "unavailable", message: "Cattle did not answer in time" };

/**
 * Cattle in memory, on the fake clock: services with a scale, a state and Cattle's process lock,
 * hosts, and the fates of coming calls, so a test can make any write late, lost, delayed or refused
 * and any read fail. `at(deadline)` is the client the target gets: calls past the deadline time out.
 */
export class FakeCattle implements CattleApi {
  readonly services = new Map<string, Service>();
  readonly hosts: Host[] = [];
  /** Every call, in the order Cattle received it. */
  readonly calls: string[] = [];
  /** Every value a service's scale took, in order (the first is its value at the start). */
  readonly scales: number[] = [];
  /** Fates of the coming writes and reads, first first; when empty, calls are answered. */
  readonly writes: WriteFate[] = [];
  readonly reads: ReadFate[] = [];
  /** How long every call takes there and back, and extra time for the coming calls, one each. */
  latencyMs = 0;
  readonly jitterMs: [there: number, back: number][] = [];
  /** How long a scale change keeps the service `updating-active`, and how long a write waits for it. */
  transitionMs = 0;
  lockWaitMs = 3_000;
  /** The client's deadline (epoch ms on the fake clock) of this session. */
  deadline = Number.POSITIVE_INFINITY;
  readonly busyUntil = new Map<string, number>();
  /**
   * Counters shared by every session (a session is an object over this one, so a number kept on
   * `this` would be the session's own): hosts made, and the order writes were sent and applied in.
   */
  readonly counters = { hosts: 100, sent: 0, applied: 0, inFlight: 0, overlapping: 0 };
  /** Writes Cattle applied after a write sent later than them: an older value over a newer one. */
  readonly outOfOrder: string[] = [];

  constructor(readonly clock: FakeClock) {
    this.services.set("1s1", {
      id: "1s1",
      type: "service",
      name: "web",
      kind: "service",
      state: "active",
      scale: 1,
      launchConfig: { imageUuid: "docker:nginx:1.25", labels: { app: "web" } },
    });
    this.scales.push(1);
  }

  /** The client a target gets for work due by `deadline`. */
  at(deadline: number): CattleApi {
    const session = Object.create(this) as FakeCattle;
    session.deadline = deadline;
    return session;
  }

  service(id = "1s1"): Service {
    const service = this.services.get(id);
    if (!service) throw new Error(`no service ${id}`);
    return service;
  }

  /** The service as Cattle shows it now: a running process keeps it transitioning. */
  shown(id: string): Service | undefined {
    const service = this.services.get(id);
    if (!service) return undefined;
    const busy = (this.busyUntil.get(id) ?? 0) > this.clock.now();
    if (service.state === "active" || service.state === "updating-active") {
      service.state = busy ? "updating-active" : "active";
      service.transitioning = busy ? "yes" : "no";
    }
    return structuredClone(service);
  }

  /** Sleeps `ms`, or until the session's deadline: false if the client gave up first. */
  async waited(ms: number): Promise<boolean> {
    const left = this.deadline - this.clock.now();
    await this.clock.sleep(Math.max(0, Math.min(ms, left)));
    return ms <= left;
  }

  /** A call's way there and back: each half of the latency, plus the call's own delays each way. */
  trip(): [number, number] {
    const [there = 0, back = 0] = this.jitterMs.shift() ?? [];
    const half = Math.floor(this.latencyMs / 2);
    return [half + there, this.latencyMs - half + back];
  }

  async read<T>(call: string, answer: () => CattleResult<T>): Promise<CattleResult<T>> {
    this.calls.push(call);
    const fate = this.reads.shift() ?? { kind: "answered" };
    const [there, back] = this.trip();
    if (!(await this.waited(there))) return { ok: false, failure: timedOut };
    // Cattle reads when the request arrives; what it saw travels back while other calls go on.
    const result: CattleResult<T> = fate.kind === "refused" ? { ok: false, failure: fate.failure } : answer();
    if (!(await this.waited(back))) return { ok: false, failure: timedOut };
    return result;
  }

  /**
   * A write, counted while it is on its way (sent, not yet answered or given up by the client):
   * `counters.overlapping` counts writes sent while another was, which the service never does.
   */
  async write<T>(call: string, apply: () => CattleResult<T>, locks?: string): Promise<CattleResult<T>> {
    if (this.counters.inFlight > 0) this.counters.overlapping++;
    this.counters.inFlight++;
    try {
      return await this.writeOnce(call, apply, locks);
    } finally {
      this.counters.inFlight--;
    }
  }

  async writeOnce<T>(call: string, apply: () => CattleResult<T>, locks?: string): Promise<CattleResult<T>> {
    this.calls.push(call);
    const fate = this.writes.shift() ?? { kind: "answered" };
    const [there, back] = this.trip();
    if (!(await this.waited(there))) return { ok: false, failure: timedOut };
    if (fate.kind === "refused") {
      if (!(await this.waited(back))) return { ok: false, failure: timedOut };
      return { ok: false, failure: fate.failure };
    }
    if (fate.kind === "delayed") {
      void this.clock.sleep(fate.ms).then(apply);
      await this.waited(Number.POSITIVE_INFINITY);
      return { ok: false, failure: timedOut };
    }
    // Cattle's process lock: a write waits for the running process, up to lockWaitMs, then 409.
    if (locks) {
      const until = this.busyUntil.get(locks) ?? 0;
      const now = this.clock.now();
      if (until > now) {
        const held = Math.min(until, now + this.lockWaitMs) - now;
        if (!(await this.waited(held))) return { ok: false, failure: timedOut };
        if ((this.busyUntil.get(locks) ?? 0) > this.clock.now()) return { ok: false, failure: conflict };
      }
    }
    // Applied when Cattle receives it, whatever becomes of the answer.
    const result = apply();
    if (fate.kind === "lost") {
      await this.waited(back);
      return { ok: false, failure: { kind: "unavailable", message: "Cattle unreachable" } };
    }
    const answered = await this.waited(back + (fate.kind === "late" ? fate.ms : 0));
    return answered ? result : { ok: false, failure: timedOut };
  }

  getService(_projectId: string, serviceId: string) {
    return this.read(`GET service ${serviceId}`, (): CattleResult<Service> => {
      const service = this.shown(serviceId);
      return service ? { ok: true, value: service } : { ok: false, failure: notFound };
    });
  }

  updateService(_projectId: string, serviceId: string, changes: Partial<Service>) {
    const sent = ++this.counters.sent;
    return this.write(
      `PUT service ${serviceId} ${JSON.stringify(changes)}`,
      (): CattleResult<Service> => {
        const service = this.services.get(serviceId);
        if (!service) return { ok: false, failure: notFound };
        if (sent < this.counters.applied)
          this.outOfOrder.push(`write ${sent} applied after write ${this.counters.applied}`);
        this.counters.applied = Math.max(this.counters.applied, sent);
        Object.assign(service, changes);
        if (changes.scale !== undefined) {
          this.scales.push(changes.scale);
          if (this.transitionMs > 0) this.busyUntil.set(serviceId, this.clock.now() + this.transitionMs);
        }
        return { ok: true, value: this.shown(serviceId) as Service };
      },
      serviceId,
    );
  }

  listServices() {
    return this.read(
      "GET services",
      (): CattleResult<Collection<Service>> => ({
        ok: true,
        value: {
          type: "collection",
          data: [...this.services.keys()].map((id) => this.shown(id) as Service),
        },
      }),
    );
  }

  serviceAction(_projectId: string, serviceId: string, action: string, body?: unknown) {
    return this.write(`POST service ${serviceId} ${action}`, (): CattleResult<Service> => {
      const service = this.services.get(serviceId);
      if (!service) return { ok: false, failure: notFound };
      if (action === "upgrade") {
        const strategy = (body as { inServiceStrategy: { launchConfig?: Service["launchConfig"] } })
          .inServiceStrategy;
        if (strategy.launchConfig) service.launchConfig = strategy.launchConfig;
        service.state = "upgrading";
      } else if (action === "finishupgrade") {
        service.state = "finishing-upgrade";
      } else if (action === "rollback") {
        service.state = "rolling-back";
      }
      return { ok: true, value: structuredClone(service) };
    });
  }

  /** The containers each service's `instances` link lists, by service id; a test sets them. */
  readonly instances = new Map<string, Instance[]>();

  listInstances(_projectId: string, serviceId: string) {
    return this.read(
      `GET instances ${serviceId}`,
      (): CattleResult<Collection<Instance>> =>
        this.services.has(serviceId)
          ? {
              ok: true,
              value: { type: "collection", data: structuredClone(this.instances.get(serviceId) ?? []) },
            }
          : { ok: false, failure: notFound },
    );
  }

  listHosts() {
    return this.read(
      "GET hosts",
      (): CattleResult<Collection<Host>> => ({
        ok: true,
        value: {
          type: "collection",
          data: this.hosts.filter((host) => !host.removed).map((host) => structuredClone(host)),
        },
      }),
    );
  }

  createHost(_projectId: string, body: unknown) {
    const request = body as { hostname: string; labels: Record<string, string> };
    return this.write(`POST host ${request.hostname}`, (): CattleResult<Host> => {
      const host: Host = {
        id: `1h${++this.counters.hosts}`,
        type: "host",
        hostname: request.hostname,
        labels: request.labels,
        state: "active",
        driver: "amazonec2",
        createdTS: this.clock.now(),
      };
      this.hosts.push(host);
      return { ok: true, value: structuredClone(host) };
    });
  }

  evacuateHost(_projectId: string, hostId: string) {
    return this.write(`POST evacuate ${hostId}`, (): CattleResult<unknown> => {
      const host = this.hosts.find((candidate) => candidate.id === hostId);
      if (host) host.state = "removing";
      return { ok: true, value: {} };
    });
  }

  listGenericObjects() {
    return this.read(
      "GET genericobjects",
      (): CattleResult<Collection<never>> => ({
        ok: true,
        value: { type: "collection", data: [] },
      }),
    );
  }

  getHostTemplate() {
    return this.read("GET hostTemplate", (): CattleResult<never> => ({ ok: false, failure: notFound }));
  }

  getProject() {
    return this.read("GET project", (): CattleResult<never> => ({ ok: false, failure: notFound }));
  }

  listProjects() {
    return this.read("GET projects", (): CattleResult<never> => ({ ok: false, failure: notFound }));
  }

  getSchema() {
    return this.read("GET schema", (): CattleResult<never> => ({ ok: false, failure: notFound }));
  }
}

export const CATTLE_409 = conflict;
export const CATTLE_503 = unavailable;

/**
 * A target core over in-memory SQLite, with the fake clock and the fake Cattle. `stop()` is the end
 * of its object, as a crash is: no sleep of it ends and no call of it comes back from then on (a
 * write already sent may still be applied by Cattle), so a new core can take over the same storage
 * as after a restart.
 */
export function newTarget<S extends ObjectStorage = ReturnType<typeof memoryStorage>>(
  clock = new FakeClock(),
  cattle = new FakeCattle(clock),
  storage: S = memoryStorage() as unknown as S,
  send: typeof fetch = () => Promise.reject(new TypeError("no network in this test")),
) {
  let stopped = false;
  const never = new Promise<never>(() => {});
  /** Nothing of a stopped object runs again: its sleeps never end and its calls never come back. */
  const untilStopped = <T>(work: Promise<T>): Promise<T> => work.then((value) => (stopped ? never : value));
  const session = (deadline: number): CattleApi =>
    new Proxy(cattle.at(deadline), {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver);
        return typeof value === "function"
          ? (...args: unknown[]) => (stopped ? never : untilStopped(value.apply(target, args)))
          : value;
      },
    });
  const objectClock: Clock = {
    now: () => clock.now(),
    sleep: (ms, signal) => (stopped ? never : untilStopped(clock.sleep(ms, signal))),
  };
  const core = new TargetCore(storage, {
    clock: objectClock,
    cattle: session,
    fetch: (input, init) => (stopped ? never : untilStopped(send(input, init))),
  });
  return {
    core,
    clock,
    cattle,
    storage,
    stop: () => {
      stopped = true;
    },
    /** Whether the target still owes anything: acknowledged triggers, or a write whose fate is unknown. */
    owes: () =>
      (storage.sql
        .exec<{ owed: number }>(
          "SELECT (SELECT COUNT(*) FROM pending_steps) + (SELECT COUNT(*) FROM unresolved_write) AS owed",
        )
        .toArray()[0]?.owed ?? 0) > 0,
  };
}

/** Runs the target's alarms until it owes nothing more, as the runtime would if no trigger came. */
export async function settle(target: ReturnType<typeof newTarget>, rounds = 400): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await target.clock.run(target.core.alarm());
    if (!target.owes()) return;
    await target.clock.advance(1_000);
  }
  throw new Error("the target still owes triggers an outcome");
}

/**
 * In-memory SQLite as the Deno adapter has it, but with alarms only noted: the tests run them on
 * the fake clock (`settle`).
 */
export function memoryStorage(): ObjectStorage & { alarms: number[] } {
  const storage = new SqliteObjectStorage(new DatabaseSync(":memory:"));
  const alarms: number[] = [];
  return {
    sql: storage.sql,
    transactionSync: (closure) => storage.transactionSync(closure),
    setAlarm: async (at) => {
      alarms.push(at);
    },
    alarms,
  };
}
