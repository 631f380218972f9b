import type { CattleApi, CattleFactory } from "../../src/cattle/client";
import type { Clock } from "../../src/domain/clock";
import type { Platform, Project, Target } from "../../src/domain/ports";
import { PROJECT_WRITES, spacedFetch, TARGET_WRITES } from "../../src/platform/kv-objects";
import { ProjectCore } from "../../src/project/core";
import type { KvLike } from "../../src/storage/kv/kv";
import { Fence, LeaseLost } from "../../src/storage/kv/lease";
import { KvObjectStorage } from "../../src/storage/kv/mirror";
import {
  alarmIndexKey,
  KvObjects,
  type KvTiming,
  ObjectUnavailable,
  type Outgoing,
} from "../../src/storage/kv/objects";
import type { ObjectStorage } from "../../src/storage/object-storage";
import { TargetCore } from "../../src/targets/core";
import { methodsOf } from "../../src/util/async-port";
import type { SimCattle } from "./cattle";
import { SimDenoKv } from "./denokv";
import type { SimDestinations } from "./destinations";
import { Random } from "./random";
import type { Owner, Scheduler } from "./scheduler";
import {
  HOP_MS,
  type Notes,
  type NotifySettingsAt,
  noteForgotten,
  noteResult,
  type Rows,
  SimKv,
  storedAttempt,
  World,
} from "./world";

/**
 * The simulated Cattle for an object over KV: each call waits at the object's output gate (its
 * writes in KV, enough lease left), as the Deno platform gates each request it sends
 * (src/platform/deno.ts; the simulated Cattle has no HTTP and no retries of its own, so a call is
 * one request). An object that lost its lease sends nothing more; the request answers as
 * Cattle not reached, which the object treats as it treats any request that did not leave.
 */
function gatedCattle(cattle: CattleFactory, outgoing: Outgoing): CattleFactory {
  return (deadline) => {
    const api = cattle(deadline);
    const gated: Record<string, unknown> = {};
    for (const [name, method] of methodsOf(Object.getPrototypeOf(api) as CattleApi)) {
      gated[name] = async (...args: unknown[]) => {
        try {
          return await outgoing(async () => method.apply(api, args));
        } catch (error) {
          if (!(error instanceof LeaseLost)) throw error;
          return {
            ok: false,
            failure: { kind: "unavailable", message: "not sent: the object moved to another isolate" },
          };
        }
      };
    }
    return gated as unknown as CattleApi;
  };
}

/**
 * The Deno KV deployment (docs/simulation.md, "Deno KV mode"): isolates, each running the real
 * `KvObjects` for targets and environments over one simulated Deno KV, each with its own clock. The
 * Worker's requests are spread over the live isolates as a load balancer would. An isolate can be
 * crashed (a SIGKILL: its awaits never resume, the Worker's calls through it fail as
 * ObjectUnavailable, and a new isolate with a new name takes its place) or stalled (its timers and answers held back past
 * its leases, then released all at once).
 */

/** How often each isolate sweeps for follow-ups no one runs (src/deno.ts does it every 10 s). */
export const SWEEP_EVERY_MS = 10_000;

/**
 * The timing the isolates run with: production's (DEFAULT_TIMING in src/storage/kv/objects.ts)
 * but for two settings (docs/simulation.md, "Deno KV mode"): a poll every 250 ms rather than 20 ms,
 * which would make a seed take seconds, and an object let go after 5 s without work rather than
 * 30 s, so that objects move between isolates more often.
 */
export const SIM_KV_TIMING: Partial<KvTiming> = { pollMs: 250, idleMs: 5_000 };

export interface Isolate {
  name: string;
  owner: Owner;
  clock: Clock;
  targets: KvObjects<TargetCore>;
  projects: KvObjects<ProjectCore>;
  /** Calls of the Worker through this isolate not answered yet: they fail when it dies. */
  outstanding: Set<(error: Error) => void>;
}

/** An object as the checker reads it: its state as KV holds it at the end. */
export interface StoredObject {
  db: Rows;
  storage: Pick<ObjectStorage, "sql">;
}

export class KvWorld implements Notes {
  readonly forgotten: string[] = [];
  readonly notifyLog: NotifySettingsAt[] = [];
  readonly urlOwner = new Map<string, { receiverId: string; destinationId: string }>();
  /** The broken world of a test: a target that never hears of a delete, which management believes done. */
  ignoresRevoke = false;
  /** Receiver records, as in the Durable Object mode (management's store). */
  readonly kv: SimKv;
  /** The Deno KV every isolate's objects are kept in. */
  readonly store: SimDenoKv;
  readonly isolates: Isolate[] = [];
  readonly platform: Platform;
  readonly #balancer: Random;
  #started = 0;

  constructor(
    readonly scheduler: Scheduler,
    readonly cattle: SimCattle,
    readonly log: (line: string) => void,
    kvLagMs: number,
    readonly destinations: SimDestinations,
    options: { isolates: number; seed: number },
  ) {
    this.kv = new SimKv(scheduler, kvLagMs);
    this.store = new SimDenoKv(scheduler, new Random(options.seed ^ 0x6b7f10c4));
    this.#balancer = new Random(options.seed ^ 0x0ba1a4ce);
    for (let i = 0; i < options.isolates; i++) this.#start();
    this.platform = {
      receivers: this.kv,
      target: (name) => this.#port(TargetCore.prototype, "targets", name) as unknown as Target,
      project: (projectId) => this.#port(ProjectCore.prototype, "projects", projectId) as unknown as Project,
    };
  }

  /** The isolates that have not crashed (stalled ones among them). */
  live(): Isolate[] {
    return this.isolates.filter((isolate) => isolate.owner.alive);
  }

  /** A new isolate, with a name no other had. */
  #start(): Isolate {
    const name = `iso${++this.#started}`;
    const owner: Owner = { label: name, alive: true };
    const clock = this.scheduler.clockFor(owner);
    const kv = this.store.view(owner);
    const targets = new KvObjects<TargetCore>(
      kv,
      clock,
      name,
      {
        kind: "targets",
        open: (storage, outgoing) => {
          const rows = rowsOf(storage);
          // The outbox stores an attempt just before its request goes to the gate: what the
          // request carries is read then, not when it leaves (after the gate's wait for KV).
          // What each request carries, by its init (read when the outbox calls fetch, before the
          // spacing and the gate).
          const carried = new WeakMap<object, ReturnType<typeof storedAttempt>>();
          const spaced = spacedFetch(clock, (input, init, depart) => {
            const stored = init ? carried.get(init) : undefined;
            return outgoing(() => {
              depart();
              return this.destinations.fetchFor(owner, name, () => stored)(input, init);
            });
          });
          const fetch: typeof globalThis.fetch = (input, init) => {
            const url = String(input instanceof Request ? input.url : input);
            const request = init ?? {};
            carried.set(
              request,
              World.hasTables({ storage })
                ? storedAttempt(rows, this.urlOwner, this.scheduler.now, url)
                : undefined,
            );
            return spaced(input, request);
          };
          const core = new TargetCore(storage, {
            clock,
            // The simulated client is a plain object: its methods are read from it as from a class.
            cattle: gatedCattle((deadline) => Object.create(this.cattle.session(owner, deadline)), outgoing),
            fetch,
          });
          return this.#hooked(core, storage, rows);
        },
        alarm: (core) => core.alarm(),
        writes: TARGET_WRITES,
      },
      SIM_KV_TIMING,
    );
    const projects = new KvObjects<ProjectCore>(
      kv,
      clock,
      name,
      { kind: "projects", open: (storage) => new ProjectCore(storage), writes: PROJECT_WRITES },
      SIM_KV_TIMING,
    );
    const isolate: Isolate = { name, owner, clock, targets, projects, outstanding: new Set() };
    this.isolates.push(isolate);
    // Follow-ups whose holder stopped are found by each isolate's sweep, as src/deno.ts runs it.
    const sweep = (): void => {
      void clock.sleep(SWEEP_EVERY_MS).then(() => {
        targets.sweep().catch(() => {});
        sweep();
      });
    };
    sweep();
    return isolate;
  }

  /**
   * A target whose calls note what the checker needs where they run (on the holder, whichever
   * isolate that is): what a delete takes with it, and each receiver's destinations from when on.
   */
  #hooked(core: TargetCore, storage: ObjectStorage, rows: Rows): TargetCore {
    return new Proxy(core, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== "function" || typeof name !== "string") return value;
        return (...args: unknown[]) => {
          if (this.ignoresRevoke && name === "revoke") return true;
          if (name === "revoke" && World.hasTables({ storage })) noteForgotten(this, rows, args);
          const result = value.apply(target, args);
          noteResult(this, this.scheduler.now, name, args, result);
          return result;
        };
      },
    });
  }

  /** An object's port as the Worker has it: each call received by one of the live isolates. */
  #port(prototype: object, kind: "targets" | "projects", name: string) {
    const port: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const [method] of methodsOf(prototype))
      port[method] = (...args) => this.#call(kind, name, method, args);
    return port;
  }

  /**
   * One call of the Worker: a hop to the isolate that received it, its `call`, a hop back. If that
   * isolate dies first, the call fails as ObjectUnavailable (the platform answers for a dead
   * isolate; its fate is unknown, as a reset Durable Object's).
   */
  #call(kind: "targets" | "projects", name: string, method: string, args: unknown[]): Promise<unknown> {
    const live = this.live();
    const isolate = live.length > 0 ? live[this.#balancer.int(0, live.length - 1)] : undefined;
    if (!isolate) {
      return this.scheduler
        .sleep(HOP_MS)
        .then(() => Promise.reject(new ObjectUnavailable("no isolate is up")));
    }
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => reject(error);
      isolate.outstanding.add(fail);
      const back = (settle: () => void) => {
        if (!isolate.owner.alive) return;
        isolate.outstanding.delete(fail);
        this.scheduler.after(HOP_MS, settle);
      };
      this.scheduler.after(
        HOP_MS,
        () => {
          const objects = kind === "targets" ? isolate.targets : isolate.projects;
          objects.call(name, method, args).then(
            (value) => back(() => resolve(value)),
            (error: unknown) => back(() => reject(error)),
          );
        },
        isolate.owner,
      );
    });
  }

  /** The live isolate that holds the object `key` (`target:…`, `project:…`), if one does. */
  holderOf(key: string): Isolate | undefined {
    const [kind, ...rest] = key.split(":");
    const name = rest.join(":");
    return this.live().find((isolate) =>
      (kind === "target" ? isolate.targets : isolate.projects).held.includes(name),
    );
  }

  /**
   * A plan's crash of an object: the isolate that holds it is killed, and a new isolate starts
   * `restartMs` later. No isolate holds it: nothing happens (as a Durable Object not running).
   */
  crashObject(key: string, restartMs: number): void {
    const isolate = this.holderOf(key);
    if (isolate) this.crashIsolate(isolate, restartMs);
  }

  /** Kills the isolate whose owner is `owner`, if it still lives. */
  crashOwner(owner: Owner, restartMs: number): void {
    const isolate = this.isolates.find((candidate) => candidate.owner === owner);
    if (isolate) this.crashIsolate(isolate, restartMs);
  }

  crashIsolate(isolate: Isolate, restartMs: number): void {
    if (!isolate.owner.alive) return;
    this.log(`crash isolate ${isolate.name} (holding ${this.#holding(isolate)})`);
    isolate.owner.alive = false;
    isolate.owner.held = undefined;
    for (const fail of isolate.outstanding) {
      this.scheduler.after(HOP_MS, () => fail(new ObjectUnavailable("the isolate stopped")));
    }
    isolate.outstanding.clear();
    this.scheduler.after(restartMs, () => {
      const next = this.#start();
      this.log(`start isolate ${next.name}`);
    });
  }

  /** Stalls the isolate that holds `key` (the first live one if none does) for `ms`, then lets it go on. */
  stall(key: string, ms: number): void {
    const isolate = this.holderOf(key) ?? this.live()[0];
    if (!isolate || isolate.owner.held) return;
    this.log(`stall isolate ${isolate.name} for ${ms} ms (holding ${this.#holding(isolate)})`);
    this.scheduler.stall(isolate.owner);
    this.scheduler.after(ms, () => {
      if (!isolate.owner.alive) return;
      this.log(`isolate ${isolate.name} goes on after its stall`);
      this.scheduler.release(isolate.owner);
    });
  }

  #holding(isolate: Isolate): string {
    const held = [
      ...isolate.targets.held.map((name) => `target:${name}`),
      ...isolate.projects.held.map((name) => `project:${name}`),
    ];
    return held.length > 0 ? held.join(", ") : "nothing";
  }

  /** Every object that has state in KV, read back as a new holder would (journals finished), by key. */
  async storedObjects(): Promise<Map<string, StoredObject>> {
    const snapshot = this.store.snapshot();
    const clock: Clock = { now: () => this.scheduler.now, sleep: async () => {} };
    const names = new Map<string, { kind: string; name: string }>();
    for await (const entry of snapshot.list({ prefix: ["obj"] })) {
      const [, kind, name] = entry.key as [string, string, string];
      names.set(`${kind === "targets" ? "target" : "project"}:${name}`, { kind, name });
    }
    const objects = new Map<string, StoredObject>();
    for (const [key, { kind, name }] of [...names].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const storage = await loadStored(snapshot, clock, kind, name);
      if (storage) objects.set(key, { db: rowsOf(storage), storage });
    }
    return objects;
  }
}

/** The object's state as a new holder reads it from `kv` (a copy: finishing a journal writes there only). */
async function loadStored(
  kv: KvLike,
  clock: Clock,
  kind: string,
  name: string,
): Promise<KvObjectStorage | undefined> {
  const leaseKey = ["lease", kind, name];
  const fence = await Fence.take(kv, clock, leaseKey, await kv.get(leaseKey), "checker");
  if (!fence) return undefined;
  return KvObjectStorage.load(kv, ["obj", kind, name], fence, (at) => alarmIndexKey(kind, at, name));
}

/** An object storage's SQL as the checker's and the hooks' reads take it. */
function rowsOf(storage: Pick<ObjectStorage, "sql">): Rows {
  return {
    prepare: (query) => ({ all: (...values) => storage.sql.exec(query, ...values).toArray() }),
  };
}
