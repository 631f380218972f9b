import { DatabaseSync } from "node:sqlite";
import type { CattleApi } from "../../src/cattle/client";
import type { CattleFailure, CattleResult, Collection, Host, Service } from "../../src/cattle/types";
import type { Clock } from "../../src/domain/clock";
import { SqliteObjectStorage } from "../../src/storage/sqlite";
import { TargetCore } from "../../src/target/core";

export { scaleReceiver } from "../fixtures/receivers";

/**
 * A clock that moves only when told: sleeps wait for `run` or `advance` to reach their time, so a
 * test decides every interleaving of time and I/O, and a minute passes in no time.
 */
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

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      this.#timers.push({ at: this.#now + Math.max(0, ms), sequence: ++this.#sequence, wake });
      this.#timers.sort((a, b) => a.at - b.at || a.sequence - b.sequence);
    });
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
      if (!next || next.at > deadline) throw new Error("the work waits for something that never comes");
      await this.advance(next.at - this.#now);
    }
    return watched;
  }
}

/** What the fake does with the next write: answer it, refuse it, or apply it and answer late or never. */
export type WriteFate =
  | { kind: "answered" }
  | { kind: "refused"; failure: CattleFailure }
  | { kind: "late"; ms: number }
  | { kind: "lost" };

/** What the fake does with the next read. */
export type ReadFate = { kind: "answered" } | { kind: "refused"; failure: CattleFailure };

const unavailable: CattleFailure = { kind: "unavailable", status: 503, message: "Cattle answered 503" };
const notFound: CattleFailure = { kind: "notFound", status: 404, message: "Cattle answered 404" };

/**
 * Cattle in memory, on the fake clock: services with a scale and a state, hosts, and the fates of
 * coming calls, so a test can make any write late, lost or refused and any read fail.
 */
export class FakeCattle implements CattleApi {
  readonly services = new Map<string, Service>();
  readonly hosts: Host[] = [];
  /** Every call, in the order Cattle received it. */
  readonly calls: string[] = [];
  /** Fates of the coming writes and reads, first first; when empty, calls are answered. */
  readonly writes: WriteFate[] = [];
  readonly reads: ReadFate[] = [];
  /** How long every answer takes. */
  latencyMs = 0;
  #hostNumber = 100;

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
  }

  service(id = "1s1"): Service {
    const service = this.services.get(id);
    if (!service) throw new Error(`no service ${id}`);
    return service;
  }

  async #read<T>(call: string, answer: () => CattleResult<T>): Promise<CattleResult<T>> {
    this.calls.push(call);
    const fate = this.reads.shift() ?? { kind: "answered" };
    await this.clock.sleep(this.latencyMs);
    return fate.kind === "refused" ? { ok: false, failure: fate.failure } : answer();
  }

  async #write<T>(call: string, apply: () => CattleResult<T>): Promise<CattleResult<T>> {
    this.calls.push(call);
    const fate = this.writes.shift() ?? { kind: "answered" };
    if (fate.kind === "refused") {
      await this.clock.sleep(this.latencyMs);
      return { ok: false, failure: fate.failure };
    }
    // Applied when Cattle receives it, whatever becomes of the answer.
    const result = apply();
    if (fate.kind === "lost") {
      await this.clock.sleep(this.latencyMs);
      return { ok: false, failure: { kind: "unavailable", message: "Cattle unreachable" } };
    }
    await this.clock.sleep(this.latencyMs + (fate.kind === "late" ? fate.ms : 0));
    return result;
  }

  getService(_projectId: string, serviceId: string) {
    return this.#read(`GET service ${serviceId}`, (): CattleResult<Service> => {
      const service = this.services.get(serviceId);
      return service ? { ok: true, value: structuredClone(service) } : { ok: false, failure: notFound };
    });
  }

  updateService(_projectId: string, serviceId: string, changes: Partial<Service>) {
    return this.#write(`PUT service ${serviceId} ${JSON.stringify(changes)}`, (): CattleResult<Service> => {
      const service = this.services.get(serviceId);
      if (!service) return { ok: false, failure: notFound };
      Object.assign(service, changes);
      return { ok: true, value: structuredClone(service) };
    });
  }

  listServices() {
    return this.#read(
      "GET services",
      (): CattleResult<Collection<Service>> => ({
        ok: true,
        value: {
          type: "collection",
          data: [...this.services.values()].map((service) => structuredClone(service)),
        },
      }),
    );
  }

  serviceAction(_projectId: string, serviceId: string, action: string, body?: unknown) {
    return this.#write(`POST service ${serviceId} ${action}`, (): CattleResult<Service> => {
      const service = this.services.get(serviceId);
      if (!service) return { ok: false, failure: notFound };
      if (action === "upgrade") {
        const strategy = (body as { inServiceStrategy: { launchConfig?: Service["launchConfig"] } })
          .inServiceStrategy;
        if (strategy.launchConfig) service.launchConfig = strategy.launchConfig;
        service.state = "upgrading";
      } else if (action === "finishupgrade") {
        service.state = "finishing-upgrade";
      }
      return { ok: true, value: structuredClone(service) };
    });
  }

  listHosts() {
    return this.#read(
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
    return this.#write(`POST host ${request.hostname}`, (): CattleResult<Host> => {
      const host: Host = {
        id: `1h${++this.#hostNumber}`,
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
    return this.#write(`POST evacuate ${hostId}`, (): CattleResult<unknown> => {
      const host = this.hosts.find((candidate) => candidate.id === hostId);
      if (host) host.state = "removing";
      return { ok: true, value: {} };
    });
  }

  getHostTemplate() {
    return this.#read("GET hostTemplate", (): CattleResult<never> => ({ ok: false, failure: notFound }));
  }

  getProject() {
    return this.#read("GET project", (): CattleResult<never> => ({ ok: false, failure: notFound }));
  }

  listProjects() {
    return this.#read("GET projects", (): CattleResult<never> => ({ ok: false, failure: notFound }));
  }

  getSchema() {
    return this.#read("GET schema", (): CattleResult<never> => ({ ok: false, failure: notFound }));
  }
}

export const CATTLE_503 = unavailable;

/** A target core over in-memory SQLite, with the fake clock and the fake Cattle. */
export function newTarget(
  clock = new FakeClock(),
  cattle = new FakeCattle(clock),
  storage = memoryStorage(),
) {
  const core = new TargetCore(storage, { clock, cattle: () => cattle });
  return { core, clock, cattle, storage };
}

export const memoryStorage = () => new SqliteObjectStorage(new DatabaseSync(":memory:"));
