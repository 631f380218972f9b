import type { CattleApi } from "../../src/cattle/client";
import type {
  CattleFailure,
  CattleResult,
  Collection,
  GenericObject,
  Host,
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
    const busy = (this.#busyUntil.get(id) ?? 0) > this.scheduler.now;
    service.state = busy ? "updating-active" : "active";
    service.transitioning = busy ? "yes" : "no";
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
      serviceAction: (_projectId, serviceId, action) => unsupported(`POST ${serviceId} ${action}`),
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
      listInstances: (_projectId, serviceId) => unsupported(`GET instances ${serviceId}`),
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
      const finish = (result: CattleResult<T>) => {
        if (done) return;
        done = true;
        resolve(result);
      };
      const giveUpAt = Math.min(scheduler.now + EXCHANGE_TIMEOUT_MS, deadline);
      scheduler.at(giveUpAt, () => finish({ ok: false, failure: timedOut }), owner);
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
    return this.#exchange<T>(owner, deadline, (respond) => {
      const fate = this.writes.shift() ?? { kind: "answered" };
      const note = (what: string) => this.log(`cattle: ${call} ${what}`);
      switch (fate.kind) {
        case "refused":
          note(`refused ${fate.status}`);
          return respond({ ok: false, failure: refusal(fate.status) });
        case "gateway":
          if (fate.applied) apply();
          note(`${fate.applied ? "applied, " : ""}answered 502 by a gateway`);
          return respond({ ok: false, failure: gateway });
        case "delayed":
          // Cattle holds a write behind a service's running process; a host create or an
          // evacuation has no such lock, and is applied when it arrives (its answer lost).
          if (!locks) break;
          note(`to be applied in ${fate.ms} ms, never answered`);
          this.scheduler.after(fate.ms, () => {
            apply();
            note("applied (delayed)");
          });
          return;
      }
      const run = () => {
        const result = apply();
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
    if (collection === "hosts" && !id) return json(200, this.#hostList());
    if (collection === "genericobjects" && !id) return json(200, this.#objects());
    return missing();
  }
}
