import type { CattleApi } from "../../src/cattle/client";
import type {
  CattleFailure,
  CattleResult,
  Collection,
  GenericObject,
  Host,
  Instance,
  LaunchConfig,
  Service,
} from "../../src/cattle/types";
import type { Owner, Scheduler } from "./scheduler";

/** What Cattle does with the next write a target sends. */
export type WriteFate =
  | { kind: "answered" }
  /** Applied at once, answered `ms` later than usual (often past the client's patience). */
  | { kind: "late"; ms: number }
  /** Applied at once; the connection is then reset. */
  | { kind: "lost" }
  /** Applied only `ms` after it arrived (Cattle still busy with it), never answered in time. */
  | { kind: "delayed"; ms: number }
  /** Refused by Cattle itself: nothing applied. */
  | { kind: "refused"; status: 409 | 503 }
  /** A gateway in front of Cattle answers 502 without Cattle's envelope; Cattle may have applied it. */
  | { kind: "gateway"; applied: boolean };

export type ReadFate = { kind: "answered" } | { kind: "refused"; status: 503 };

const timedOut: CattleFailure = { kind: "unavailable", message: "Cattle did not answer in time" };
const reset: CattleFailure = { kind: "unavailable", message: "Cattle unreachable" };
const notFound: CattleFailure = { kind: "notFound", status: 404, message: "Cattle answered 404" };
const refusal = (status: 409 | 503): CattleFailure =>
  status === 409
    ? { kind: "conflict", status, message: "Cattle answered 409" }
    : { kind: "unavailable", status, code: "ServiceUnavailable", message: "Cattle answered 503" };
const gateway: CattleFailure = { kind: "unavailable", status: 502, message: "Cattle answered 502" };
const notAvailable = (action: string, state: string): CattleFailure => ({
  kind: "rejected",
  status: 422,
  code: "ActionNotAvailable",
  message: `Cattle answered 422: ${action} is not available while the service is ${state}`,
});

/** One change of a service's scale as Cattle applied it. */
export interface ScaleChange {
  at: number;
  serviceId: string;
  by: "write" | "outside";
  from: number;
  to: number;
  /** For writes: the order it was sent in. */
  sent?: number;
}

/**
 * A write to a service pending at Cattle: from when it left its sender until Cattle applied or
 * refused it (a write held behind the service's process lock is pending while it waits). Its
 * answer may come later; the sender may learn its fate sooner by reading the service back.
 */
export interface WritePending {
  serviceId: string;
  call: string;
  sender: string;
  start: number;
  end: number;
}

/** A service the upgrade receivers may upgrade, and how its containers behave. */
export interface UpgradeServiceSpec {
  id: string;
  name: string;
  labels: Record<string, string>;
  image: string;
  scale: number;
  /** Whether its launch config has a health check: its containers then show a healthState. */
  healthCheck: boolean;
}

/** How Cattle and the images behave in a run with upgrades (times in ms). */
export interface UpgradeTimes {
  /** From the upgrade action to `upgraded` (Cattle holds the service's process lock meanwhile). */
  upgradeMs: number;
  /** From finishupgrade, or rollback, to `active`. */
  settleMs: number;
  /** A good image's new container with a health check: initializing for this long, then healthy. */
  goodAfterMs: number;
  /** A bad image's new container with a health check: initializing for this long, then unhealthy. */
  badAfterMs: number;
}

/** A container restarts this often when its image is bad and it has no health check to fail. */
export const RESTART_EVERY_MS = 600;

/** A finishupgrade or rollback as the target sent it, and the upgrade it concerned in Cattle then. */
export interface UpgradeActionSent {
  at: number;
  serviceId: string;
  action: string;
  /** The image the service's latest upgrade moved to, `repository:tag`; none if it never had one. */
  image?: string;
  bad?: boolean;
  /** Cattle ended that upgrade in an error (a rollback is then what a receiver should ask for). */
  erred?: boolean;
}

/** A container as Cattle keeps it; its state and health follow from its image and its age. */
interface SimContainer {
  id: string;
  name: string;
  version: string;
  imageUuid: string;
  createdAt: number;
  bad: boolean;
  /** How many times it was started again (a rollback restarts the old containers). */
  restarts: number;
  state: "running" | "stopped";
}

/** The upgrade side of one service: its containers and where an upgrade of it stands. */
interface UpgradeState {
  healthCheck: boolean;
  containers: SimContainer[];
  versions: number;
  /** `upgrading` with an error: Cattle ended the upgrade in one. */
  error?: string;
  /** The latest upgrade: the image it moved to and what became of it. */
  latest?: { image: string; bad: boolean; erred: boolean };
}

/** The longest one exchange may take before the client gives up (the real client's timeoutMs). */
const EXCHANGE_TIMEOUT_MS = 4_000;
/** How long after a write was sent an outside change makes its fate ambiguous (late answers, the fate window). */
const AMBIGUOUS_AFTER_WRITE_MS = 40_000;
/** How long a write waits behind a running process before Cattle answers 409 (docs/how-it-works.md). */
const LOCK_WAIT_MS = 3_000;

/**
 * Cattle in the simulation: services with a scale and Cattle's process lock, hosts that walk
 * through their states, webhook-service generic objects, and the fates of coming calls. Calls of an
 * object's incarnation are answered only while it lives; what they did at Cattle stays done.
 */
export class SimCattle {
  readonly services = new Map<string, Service>();
  readonly hosts: Host[] = [];
  readonly genericObjects: GenericObject[] = [];
  readonly writes: WriteFate[] = [];
  readonly reads: ReadFate[] = [];
  /** Every scale Cattle applied, in order. */
  readonly changes: ScaleChange[] = [];
  /** Writes Cattle applied after a write that was sent later: an older absolute value over a newer one. */
  readonly outOfOrder: string[] = [];
  /** Host names given twice among hosts not removed or purged (draining ones count). */
  readonly duplicateHostnames: string[] = [];
  /** Services whose scale changed outside between a read of it and a write over it. */
  readonly clobbered = new Set<string>();
  /** A broken Cattle, for the simulator's own tests: answers scale writes as done without doing them. */
  ignoresScaleWrites = false;
  latencyMs = 20;
  transitionMs = 0;
  hostProvisionMs = 600;
  hostDrainMs = 3_000;
  /** How many of the coming host creates end in `error`. */
  hostFailures = 0;
  /** Images (`repository:tag`) whose containers fail: unhealthy with a health check, restarting without. */
  readonly badImages = new Set<string>();
  upgradeTimes: UpgradeTimes = { upgradeMs: 1_000, settleMs: 500, goodAfterMs: 1_000, badAfterMs: 2_000 };
  /** How many of the coming upgrades Cattle ends in an error instead of `upgraded`. */
  upgradeErrors = 0;
  /**
   * How many of the coming finishupgrade or rollback actions never leave their target: it dies
   * after it stored the decision and before the request goes out.
   */
  readonly crashesBeforeAction: { restartMs: number }[] = [];
  /** Crashes the object whose incarnation `owner` is: the run wires it to its world. */
  crashOwner: (owner: Owner, restartMs: number) => void = () => {};
  /** Every finishupgrade and rollback a target sent, with the upgrade it concerned in Cattle then. */
  readonly upgradeActions: UpgradeActionSent[] = [];
  /** A broken Cattle, for the simulator's own tests: shows a bad image's containers to targets as sound. */
  hidesBadHealth = false;
  /** Every write to a service, with when it was pending. */
  readonly pending: WritePending[] = [];
  readonly #upgrades = new Map<string, UpgradeState>();
  /** Bumped with every transition of a service's upgrade, so an older transition's timer does nothing. */
  readonly #generation = new Map<string, number>();
  #containers = 0;
  readonly #busyUntil = new Map<string, number>();
  /** When each service was last read (or answered a write): an outside change after it may be overwritten. */
  readonly #lastRead = new Map<string, number>();
  readonly #lastOutside = new Map<string, number>();
  readonly #lastWrite = new Map<string, number>();
  /** Per service: how many writes were sent, and the latest sent of those applied. */
  readonly #sent = new Map<string, number>();
  readonly #applied = new Map<string, number>();
  #hosts = 100;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly log: (line: string) => void,
  ) {}

  addService(id: string, scale: number): void {
    this.services.set(id, {
      id,
      type: "service",
      name: `svc-${id}`,
      kind: "service",
      state: "active",
      scale,
      launchConfig: { imageUuid: "docker:nginx:1.25", labels: { app: id } },
    });
  }

  /** A service the upgrade receivers may upgrade: running its image, its containers healthy. */
  addUpgradeService(spec: UpgradeServiceSpec): void {
    this.services.set(spec.id, {
      id: spec.id,
      type: "service",
      name: spec.name,
      kind: "service",
      state: "active",
      scale: spec.scale,
      launchConfig: {
        imageUuid: `docker:${spec.image}`,
        labels: spec.labels,
        version: "v0",
        ...(spec.healthCheck ? { healthCheck: { port: 80, requestLine: "GET /healthz HTTP/1.0" } } : {}),
      },
    });
    const containers = Array.from({ length: spec.scale }, () =>
      this.#container(spec, "v0", `docker:${spec.image}`, this.scheduler.now - 3_600_000, false),
    );
    this.#upgrades.set(spec.id, { healthCheck: spec.healthCheck, containers, versions: 0 });
  }

  #container(
    service: { name: string },
    version: string,
    imageUuid: string,
    createdAt: number,
    bad: boolean,
  ): SimContainer {
    const n = ++this.#containers;
    return {
      id: `1i${n}`,
      name: `Default-${service.name}-${n}`,
      version,
      imageUuid,
      createdAt,
      bad,
      restarts: 0,
      state: "running",
    };
  }

  /** What an upgrade service runs now, `repository:tag`, and its state, as the checker judges them. */
  upgradeStateOf(id: string): { image: string; state: string } | undefined {
    const service = this.services.get(id);
    if (!service || !this.#upgrades.has(id)) return undefined;
    return { image: imageOf(service.launchConfig?.imageUuid), state: this.#shown(id, false)?.state ?? "" };
  }

  scaleOf(id: string): number {
    return this.services.get(id)?.scale ?? 0;
  }

  /** Someone changes the scale in Rancher's UI. */
  outside(serviceId: string, scale: number): void {
    const service = this.services.get(serviceId);
    if (!service) return;
    const from = service.scale ?? 0;
    service.scale = scale;
    this.changes.push({ at: this.scheduler.now, serviceId, by: "outside", from, to: scale });
    this.#lastOutside.set(serviceId, this.scheduler.now);
    // A write whose fate the target still reads back may be taken for not applied when the service
    // shows another value: the sequential model has no answer for that race, so it is left out.
    if (
      this.scheduler.now - (this.#lastWrite.get(serviceId) ?? Number.NEGATIVE_INFINITY) <
      AMBIGUOUS_AFTER_WRITE_MS
    ) {
      this.clobbered.add(serviceId);
    }
    this.log(`cattle: outside change of ${serviceId} scale ${from} → ${scale}`);
  }

  /**
   * The service as Cattle shows it. `planned` marks what a target may plan a write from (its own
   * reads, a write's answer), against which an outside change is judged lost or not; a list or a
   * management request's read is no such thing.
   */
  #shown(id: string, planned = true): Service | undefined {
    const service = this.services.get(id);
    if (!service) return undefined;
    const upgrade = this.#upgrades.get(id);
    if (upgrade) {
      // An upgrade service keeps the state its upgrade actions give it.
      const moving = ["upgrading", "finishing-upgrade", "rolling-back"].includes(service.state ?? "");
      service.transitioning = upgrade.error ? "error" : moving ? "yes" : "no";
      service.transitioningMessage = upgrade.error ?? null;
    } else {
      const busy = (this.#busyUntil.get(id) ?? 0) > this.scheduler.now;
      service.state = busy ? "updating-active" : "active";
      service.transitioning = busy ? "yes" : "no";
    }
    if (planned) this.#lastRead.set(id, this.scheduler.now);
    return structuredClone(service);
  }

  /** The client a target's incarnation gets for work due by `deadline`. */
  session(owner: Owner, deadline: number): CattleApi {
    const read = <T>(call: string, answer: () => CattleResult<T>) =>
      this.#read(owner, deadline, call, answer);
    const write = <T>(call: string, apply: () => CattleResult<T>, locks?: string) =>
      this.#write(owner, deadline, call, apply, locks);
    const unsupported = <T>(call: string) =>
      read<T>(call, () => ({ ok: false, failure: notFound }) as CattleResult<T>);
    return {
      getProject: () => unsupported("GET project"),
      listProjects: () => unsupported("GET projects"),
      getSchema: () => unsupported("GET schema"),
      getHostTemplate: () => unsupported("GET hostTemplate"),
      serviceAction: (_projectId, serviceId, action, body) => {
        if (action !== "upgrade") {
          const crash = this.crashesBeforeAction.shift();
          if (crash) {
            // The decision is stored; the process dies before the request leaves it.
            this.log(`cattle: ${owner.label} dies before it sends POST ${serviceId} ${action}`);
            this.crashOwner(owner, crash.restartMs);
            return new Promise<never>(() => {});
          }
          const latest = this.#upgrades.get(serviceId)?.latest;
          this.upgradeActions.push({ at: this.scheduler.now, serviceId, action, ...latest });
        }
        return write(
          `POST ${serviceId} ${action}`,
          () => this.#serviceAction(serviceId, action, body),
          serviceId,
        );
      },
      listGenericObjects: () => read("GET genericobjects", () => ({ ok: true, value: this.#objects() })),
      getService: (_projectId, serviceId) =>
        read(`GET service ${serviceId}`, (): CattleResult<Service> => {
          const service = this.#shown(serviceId);
          return service ? { ok: true, value: service } : { ok: false, failure: notFound };
        }),
      listServices: () =>
        read(
          "GET services",
          (): CattleResult<Collection<Service>> => ({
            ok: true,
            value: {
              type: "collection",
              data: [...this.services.keys()].map((id) => this.#shown(id, false) as Service),
            },
          }),
        ),
      updateService: (_projectId, serviceId, changes) => {
        const sent = (this.#sent.get(serviceId) ?? 0) + 1;
        // The read this write was planned from: Cattle may apply it seconds later, after the
        // target read the service again while it waited for the write's fate.
        const plannedFrom = this.#lastRead.get(serviceId) ?? 0;
        this.#lastWrite.set(serviceId, this.scheduler.now);
        this.#sent.set(serviceId, sent);
        return write(
          `PUT ${serviceId} scale ${changes.scale} (write ${serviceId}#${sent})`,
          (): CattleResult<Service> => {
            const service = this.services.get(serviceId);
            if (!service) return { ok: false, failure: notFound };
            if (this.ignoresScaleWrites)
              return { ok: true, value: { ...(this.#shown(serviceId) as Service), ...changes } };
            const latest = this.#applied.get(serviceId) ?? 0;
            if (sent < latest)
              this.outOfOrder.push(`${serviceId}: write ${sent} applied after write ${latest}`);
            this.#applied.set(serviceId, Math.max(latest, sent));
            const from = service.scale ?? 0;
            if ((this.#lastOutside.get(serviceId) ?? -1) >= plannedFrom) {
              this.clobbered.add(serviceId);
            }
            Object.assign(service, changes);
            if (changes.scale !== undefined) {
              this.changes.push({
                at: this.scheduler.now,
                serviceId,
                by: "write",
                from,
                to: changes.scale,
                sent,
              });
              if (this.transitionMs > 0)
                this.#busyUntil.set(serviceId, this.scheduler.now + this.transitionMs);
            }
            return { ok: true, value: this.#shown(serviceId) as Service };
          },
          serviceId,
        );
      },
      listInstances: (_projectId, serviceId) =>
        read(`GET instances ${serviceId}`, (): CattleResult<Collection<Instance>> => {
          const upgrade = this.#upgrades.get(serviceId);
          if (!upgrade) return { ok: false, failure: notFound };
          return {
            ok: true,
            value: {
              type: "collection",
              data: upgrade.containers.map((container) => this.#instance(serviceId, upgrade, container)),
            },
          };
        }),
      listHosts: () => read("GET hosts", () => ({ ok: true, value: this.#hostList() })),
      createHost: (_projectId, body) => {
        const request = body as { hostname: string; labels: Record<string, string> };
        return write(
          `POST host ${request.hostname}`,
          (): CattleResult<Host> => ({
            ok: true,
            value: this.#createHost(request.hostname, request.labels),
          }),
        );
      },
      evacuateHost: (_projectId, hostId) =>
        write(`POST evacuate ${hostId}`, (): CattleResult<unknown> => {
          this.#evacuate(hostId);
          return { ok: true, value: {} };
        }),
    };
  }

  /**
   * Cattle's upgrade actions (docs/upgrades.md): `upgrade` from `active` (the launch config from
   * the in-service strategy, with a new version; `upgraded` once the containers are replaced, or
   * an error), `finishupgrade` from `upgraded` (the old containers removed), `rollback` from
   * `upgrading`, `upgraded` or `canceled-upgrade` (the previous launch config and containers back).
   * Each holds the service's process lock while it runs; an action the state does not offer is
   * answered 422 ActionNotAvailable.
   */
  #serviceAction(serviceId: string, action: string, body: unknown): CattleResult<Service> {
    const service = this.services.get(serviceId);
    const upgrade = this.#upgrades.get(serviceId);
    if (!service || !upgrade) return { ok: false, failure: notFound };
    const state = service.state ?? "active";
    const now = this.scheduler.now;
    // An action taken supersedes the transition under way; one refused leaves it be.
    const later = (ms: number, then: () => void) => {
      const generation = (this.#generation.get(serviceId) ?? 0) + 1;
      this.#generation.set(serviceId, generation);
      this.#busyUntil.set(serviceId, now + ms);
      this.scheduler.after(ms, () => {
        if (this.#generation.get(serviceId) === generation) then();
      });
    };
    const { upgradeMs, settleMs } = this.upgradeTimes;
    switch (action) {
      case "upgrade": {
        if (state !== "active") return { ok: false, failure: notAvailable(action, state) };
        const strategy = (body as { inServiceStrategy?: { launchConfig?: LaunchConfig } } | undefined)
          ?.inServiceStrategy;
        const config = strategy?.launchConfig;
        if (!config?.imageUuid) {
          return {
            ok: false,
            failure: { kind: "rejected", status: 422, code: "MissingRequired", message: "launchConfig" },
          };
        }
        const version = `v${++upgrade.versions}`;
        const previousLaunchConfig = service.launchConfig ?? null;
        service.launchConfig = { ...config, version };
        service.upgrade = { inServiceStrategy: { ...strategy, previousLaunchConfig } };
        service.state = "upgrading";
        const image = imageOf(config.imageUuid);
        const latest = { image, bad: this.badImages.has(image), erred: this.upgradeErrors > 0 };
        if (latest.erred) this.upgradeErrors--;
        upgrade.latest = latest;
        this.log(`cattle: ${serviceId} upgrading to ${image}${latest.bad ? " (a bad image)" : ""}`);
        later(upgradeMs, () => {
          if (latest.erred) {
            upgrade.error = `Failed to start container for ${image}: image could not be pulled`;
            this.log(`cattle: ${serviceId} upgrade ended in an error`);
            return;
          }
          for (const container of upgrade.containers) container.state = "stopped";
          for (let i = 0; i < (service.scale ?? 1); i++) {
            upgrade.containers.push(
              this.#container(service, version, config.imageUuid as string, this.scheduler.now, latest.bad),
            );
          }
          service.state = "upgraded";
          this.log(`cattle: ${serviceId} upgraded`);
        });
        break;
      }
      case "finishupgrade": {
        if (state !== "upgraded") return { ok: false, failure: notAvailable(action, state) };
        service.state = "finishing-upgrade";
        later(settleMs, () => {
          const version = service.launchConfig?.version;
          upgrade.containers = upgrade.containers.filter((container) => container.version === version);
          service.state = "active";
          this.log(`cattle: ${serviceId} finished its upgrade`);
        });
        break;
      }
      case "rollback": {
        if (!["upgrading", "upgraded", "canceled-upgrade"].includes(state))
          return { ok: false, failure: notAvailable(action, state) };
        service.state = "rolling-back";
        upgrade.error = undefined;
        later(settleMs, () => {
          const upgraded = service.launchConfig?.version;
          const previous = service.upgrade?.inServiceStrategy?.previousLaunchConfig;
          if (previous) service.launchConfig = previous;
          upgrade.containers = upgrade.containers.filter((container) => container.version !== upgraded);
          for (const container of upgrade.containers) {
            if (container.state === "stopped") {
              container.state = "running";
              container.restarts++;
            }
          }
          service.state = "active";
          this.log(`cattle: ${serviceId} rolled back to ${imageOf(service.launchConfig?.imageUuid)}`);
        });
        break;
      }
      default:
        return {
          ok: false,
          failure: { kind: "rejected", status: 422, code: "InvalidAction", message: action },
        };
    }
    return { ok: true, value: this.#shown(serviceId) as Service };
  }

  /**
   * A container as the instances list shows it: a bad image's container turns unhealthy after a
   * while where there is a health check, and restarts again and again where there is none.
   */
  #instance(serviceId: string, upgrade: UpgradeState, container: SimContainer): Instance {
    const age = this.scheduler.now - container.createdAt;
    const { goodAfterMs, badAfterMs } = this.upgradeTimes;
    const bad = container.bad && !this.hidesBadHealth;
    let healthState: string | null = null;
    let startCount = 1 + container.restarts;
    if (container.state === "running") {
      if (upgrade.healthCheck) {
        const after = bad ? badAfterMs : goodAfterMs;
        healthState = age < after ? "initializing" : bad ? "unhealthy" : "healthy";
      } else if (bad) {
        startCount += Math.floor(age / RESTART_EVERY_MS);
      }
    }
    return {
      id: container.id,
      type: "container",
      kind: "container",
      name: container.name,
      state: container.state,
      healthState,
      startCount,
      imageUuid: container.imageUuid,
      version: container.version,
      serviceId,
      serviceIds: [serviceId],
      labels: { "io.rancher.service.launch.config": "io.rancher.service.primary.launch.config" },
      transitioning: "no",
    } as Instance;
  }

  /** Answers `result` to `owner` after the way back, unless its patience ran out first. */
  #exchange<T>(
    owner: Owner,
    deadline: number,
    arrive: (answer: (result: CattleResult<T>, extraMs?: number) => void) => void,
  ) {
    const scheduler = this.scheduler;
    const half = Math.floor(this.latencyMs / 2);
    return new Promise<CattleResult<T>>((resolve) => {
      let done = false;
      // The client's patience, dropped once the answer came: a timer that would do nothing costs a
      // step of the scheduler all the same.
      let giveUp = () => {};
      const finish = (result: CattleResult<T>) => {
        if (done) return;
        done = true;
        giveUp();
        resolve(result);
      };
      const giveUpAt = Math.min(scheduler.now + EXCHANGE_TIMEOUT_MS, deadline);
      giveUp = scheduler.at(giveUpAt, () => finish({ ok: false, failure: timedOut }), owner);
      // Cattle's side runs whatever becomes of the caller.
      scheduler.after(half, () =>
        arrive((result, extraMs = 0) => {
          scheduler.after(this.latencyMs - half + extraMs, () => finish(result), owner);
        }),
      );
    });
  }

  #read<T>(owner: Owner, deadline: number, _call: string, answer: () => CattleResult<T>) {
    return this.#exchange<T>(owner, deadline, (respond) => {
      const fate = this.reads.shift() ?? { kind: "answered" };
      respond(fate.kind === "refused" ? { ok: false, failure: refusal(fate.status) } : answer());
    });
  }

  #write<T>(owner: Owner, deadline: number, call: string, apply: () => CattleResult<T>, locks?: string) {
    // A write to a service is pending from when it leaves until Cattle applied or refused it.
    const pending: WritePending | undefined =
      locks === undefined
        ? undefined
        : {
            serviceId: locks,
            call,
            sender: owner.label,
            start: this.scheduler.now,
            end: Number.POSITIVE_INFINITY,
          };
    if (pending) this.pending.push(pending);
    const decided = () => {
      if (pending) pending.end = Math.min(pending.end, this.scheduler.now);
    };
    return this.#exchange<T>(owner, deadline, (respond) => {
      const fate = this.writes.shift() ?? { kind: "answered" };
      const note = (what: string) => this.log(`cattle: ${call} ${what}`);
      switch (fate.kind) {
        case "refused":
          decided();
          note(`refused ${fate.status}`);
          return respond({ ok: false, failure: refusal(fate.status) });
        case "gateway":
          if (fate.applied) apply();
          decided();
          note(`${fate.applied ? "applied, " : ""}answered 502 by a gateway`);
          return respond({ ok: false, failure: gateway });
        case "delayed":
          // Cattle holds a write behind a service's running process; a host create or an
          // evacuation has no such lock, and is applied when it arrives (its answer lost).
          if (!locks) break;
          note(`to be applied in ${fate.ms} ms, never answered`);
          this.scheduler.after(fate.ms, () => {
            apply();
            decided();
            note("applied (delayed)");
          });
          return;
      }
      const run = () => {
        const result = apply();
        decided();
        if (fate.kind === "lost" || fate.kind === "delayed") {
          note("applied, connection reset");
          return respond({ ok: false, failure: reset });
        }
        note(fate.kind === "late" ? `applied, answered ${fate.ms} ms late` : "applied");
        respond(result, fate.kind === "late" ? fate.ms : 0);
      };
      // Cattle's process lock: a write waits for the running process, up to LOCK_WAIT_MS, then 409.
      const until = locks ? (this.#busyUntil.get(locks) ?? 0) : 0;
      if (until <= this.scheduler.now) return run();
      this.scheduler.at(Math.min(until, this.scheduler.now + LOCK_WAIT_MS), () => {
        if ((this.#busyUntil.get(locks ?? "") ?? 0) > this.scheduler.now) {
          decided();
          note("refused 409 (process lock)");
          respond({ ok: false, failure: refusal(409) });
        } else {
          run();
        }
      });
    });
  }

  #objects(): Collection<GenericObject> {
    return { type: "collection", data: this.genericObjects.map((object) => structuredClone(object)) };
  }

  #hostList(): Collection<Host> {
    return {
      type: "collection",
      data: this.hosts.filter((host) => host.state !== "purged").map((host) => structuredClone(host)),
    };
  }

  addHost(hostname: string, labels: Record<string, string>): Host {
    const host: Host = {
      id: `1h${++this.#hosts}`,
      type: "host",
      hostname,
      labels,
      state: "active",
      driver: "amazonec2",
      createdTS: this.scheduler.now,
    };
    (host as unknown as Record<string, unknown>).amazonec2Config = { region: "eu-west-1" };
    this.hosts.push(host);
    return host;
  }

  #createHost(hostname: string, labels: Record<string, string>): Host {
    const host = this.addHost(hostname, labels);
    const namesakes = this.hosts.filter(
      (other) => other.hostname === hostname && other.state !== "removed" && other.state !== "purged",
    );
    if (namesakes.length > 1) {
      this.duplicateHostnames.push(
        `${hostname} created while ${namesakes
          .filter((other) => other !== host)
          .map((other) => `${other.id} (${other.state})`)
          .join(", ")} has that name`,
      );
    }
    const fails = this.hostFailures > 0;
    if (fails) this.hostFailures--;
    host.state = "registering";
    this.scheduler.after(this.hostProvisionMs, () => {
      // An evacuation that came first wins: the host drains and goes.
      if (host.state !== "registering") return;
      host.state = fails ? "error" : "active";
      this.log(`cattle: host ${hostname} ${host.state}`);
    });
    this.log(`cattle: host ${hostname} created`);
    return structuredClone(host);
  }

  /** Evacuation leaves the host `inactive` while it drains, then `removed`, then `purged`. */
  #evacuate(hostId: string): void {
    const host = this.hosts.find((candidate) => candidate.id === hostId);
    if (!host || host.state === "removed" || host.state === "purged") return;
    host.state = "inactive";
    this.log(`cattle: host ${host.hostname} evacuating`);
    this.scheduler.after(this.hostDrainMs, () => {
      host.state = "removed";
      host.removed = new Date(this.scheduler.now).toISOString();
      this.scheduler.after(this.hostDrainMs, () => {
        host.state = "purged";
      });
    });
  }

  /**
   * Cattle's HTTP API as the management layer's client reaches it (the `CATTLE` binding): the
   * reads a create and an import make, answered after the usual latency.
   */
  readonly fetcher = {
    fetch: (input: RequestInfo | URL, _init?: RequestInit): Promise<Response> => {
      const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
      return new Promise((resolve) => {
        this.scheduler.after(this.latencyMs, () => {
          this.scheduler.touch();
          resolve(this.#http(url));
        });
      });
    },
  };

  #http(url: URL): Response {
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    const missing = () => json(404, { type: "error", status: 404, code: "NotFound", message: "not found" });
    const match = /^\/v2-beta\/projects\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (match?.[1] !== "1a5") return missing();
    const [, , collection, id] = match;
    if (collection === "services" && id) {
      const service = this.#shown(id, false);
      return service ? json(200, service) : missing();
    }
    if (collection === "services" && !id) {
      // An upgrade receiver's create checks that the environment's services can be listed.
      const data = [...this.services.keys()].map((key) => this.#shown(key, false));
      return json(200, { type: "collection", data });
    }
    if (collection === "hosts" && !id) return json(200, this.#hostList());
    if (collection === "genericobjects" && !id) return json(200, this.#objects());
    return missing();
  }
}

/** `docker:myorg/api:1.1.0@sha256:…` → `myorg/api:1.1.0`. */
const imageOf = (imageUuid: string | null | undefined): string =>
  (imageUuid ?? "").replace(/^docker:/, "").split("@")[0] ?? "";
