import { DurableObject } from "cloudflare:workers";
import {
  imageMatches,
  isLive,
  isRunningAt,
  newContainer,
  PRIMARY_LAUNCH_CONFIG,
  removeContainer,
  renameContainer,
  resolveContainer,
  restartContainer,
  startContainer,
  stopContainer,
} from "./containers";
import { type ErrorBody, failure, type LockedResult, ok, type Result, type Waiting } from "./errors";
import {
  emptyFlightLog,
  type FlightLog,
  type FlightStats,
  flightStats,
  land,
  serviceWriteTarget,
  takeOff,
} from "./flights";
import { type InboxAnswer, Inboxes, type InboxMessage } from "./inbox";
import {
  type Admission,
  type DuplicateHostname,
  type EmulatorConfig,
  type Faults,
  isServiceType,
  type Phase,
  type ResourceRecord,
  type ResourceType,
  type Stats,
  type UpgradeRun,
  type World,
} from "./model";
import { CONFIG_SUFFIX, DRIVER_CONFIGS, HOST_STATES, type TypeDef, typeDef } from "./schemas";
import { isGlobal, SEED_VERSION, seedWorld } from "./seed";
import {
  currentState,
  lockReleaseAt,
  NEVER,
  phaseFor,
  settle,
  upgradeDurationMs,
  upgradeRoundsDone,
} from "./state-machine";

const DEFAULT_TRANSITION_MS = 300;
/** Cattle's `ResourceChangeLock.getWait()`: how long a process waits for its resource's lock. */
const DEFAULT_LOCK_WAIT_MS = 3000;
const DEFAULT_HOST_PROVISION_MS = 600;
const DEFAULT_HEALTHY_MS = 300;
const NO_FAULTS: Faults = {
  status: 503,
  count: 0,
  delayMs: 0,
  upgradeFailure: null,
  lateMs: 0,
  lateCount: 0,
  dropCount: 0,
  hostFailures: 0,
  unhealthyImage: null,
};

/** What a machine driver reports when it cannot create the machine (the `hostFailures` fault). */
const HOST_FAILURE_MESSAGE =
  "Error creating machine: Error in driver during machine creation: the emulator was asked to fail this host (hostFailures)";

/** States `host.deactivate` starts from (Cattle's default processes), plus the agent states the test hook sets. */
const HOST_DEACTIVATE_FROM = [
  "requested",
  "registering",
  "active",
  "activating",
  "updating-active",
  "updating-inactive",
  "reconnecting",
  "disconnected",
];

/** `cancelupgrade` and `rollback` take over from these without waiting (Cattle's UpgradeManagerImpl.stateCheck). */
const UPGRADE_LOOP_PROCESSES = ["upgrade", "continueupgrade", "finishupgrade"];
const UPGRADE_INTERRUPTS: readonly string[] = ["cancelupgrade", "rollback"];
const emptyStats = (): Stats => ({ total: 0, byMethod: {}, byPath: {}, hosts: {} });

/** Cattle's rule for service names (AbstractDefaultResourceManagerFilter.validateDNSPatternForName). */
const DNS_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

export type ServiceAction =
  | "activate"
  | "deactivate"
  | "update"
  | "remove"
  | "restart"
  | "upgrade"
  | "finishupgrade"
  | "cancelupgrade"
  | "continueupgrade"
  | "rollback";

/**
 * The whole emulated Cattle: one instance holds every project, so all requests see one consistent
 * world. Each RPC method runs start to finish without awaiting, so no other request interleaves
 * with a read-modify-write. State survives eviction in the object's storage; the seed version
 * guards against reading a world an older emulator wrote.
 */
export class CattleState extends DurableObject<Env> {
  #world: World = seedWorld();
  #stats: Stats = emptyStats();
  /** Writes to services in flight, and what they overlapped (emulator/README.md, "Overlapping writes"). */
  #flights: FlightLog = emptyFlightLog();
  #faults: Faults = { ...NO_FAULTS };
  /** Kept in memory only: what development and tests posted to the inboxes since the object started. */
  readonly #inboxes = new Inboxes();
  #config: EmulatorConfig = {
    transitionMs: DEFAULT_TRANSITION_MS,
    lockWaitMs: DEFAULT_LOCK_WAIT_MS,
    hostProvisionMs: DEFAULT_HOST_PROVISION_MS,
    healthyMs: DEFAULT_HEALTHY_MS,
    requireHeaders: {},
  };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => this.#load());
  }

  #defaultConfig(): EmulatorConfig {
    const configured = Number(this.env.EMULATOR_TRANSITION_MS);
    return {
      transitionMs: Number.isFinite(configured) && configured >= 0 ? configured : DEFAULT_TRANSITION_MS,
      lockWaitMs: DEFAULT_LOCK_WAIT_MS,
      hostProvisionMs: DEFAULT_HOST_PROVISION_MS,
      healthyMs: DEFAULT_HEALTHY_MS,
      requireHeaders: {},
    };
  }

  async #load(): Promise<void> {
    const stored = await this.ctx.storage.get([
      "seedVersion",
      "world",
      "stats",
      "flights",
      "faults",
      "config",
    ]);
    if (stored.get("seedVersion") === SEED_VERSION) {
      this.#world = (stored.get("world") as World | undefined) ?? seedWorld();
      this.#stats = { ...emptyStats(), ...(stored.get("stats") as Stats | undefined) };
      this.#flights = { ...emptyFlightLog(), ...(stored.get("flights") as FlightLog | undefined) };
      this.#faults = { ...NO_FAULTS, ...(stored.get("faults") as Partial<Faults> | undefined) };
      this.#config = {
        ...this.#defaultConfig(),
        ...(stored.get("config") as Partial<EmulatorConfig> | undefined),
      };
    } else {
      this.#reset();
    }
  }

  /**
   * Writes are not awaited: the object's output gate holds each response until its writes are
   * durable, and the in-memory copy is the one every request reads. The asynchronous storage API
   * is used because it works whether or not the namespace is SQLite-backed.
   */
  #persist(entries: Record<string, unknown>): void {
    void this.ctx.storage.put(entries);
  }

  #reset(): void {
    this.#world = seedWorld();
    this.#stats = emptyStats();
    // Writes still in flight are forgotten: their end, when it comes, changes nothing.
    this.#flights = emptyFlightLog();
    this.#faults = { ...NO_FAULTS };
    this.#config = this.#defaultConfig();
    this.#persist({
      seedVersion: SEED_VERSION,
      world: this.#world,
      stats: this.#stats,
      flights: this.#flights,
      faults: this.#faults,
      config: this.#config,
    });
  }

  #saveWorld(): void {
    this.#persist({ world: this.#world });
  }

  // ---- test hooks -------------------------------------------------------------------------------

  reset(): void {
    this.#reset();
    this.#inboxes.clear();
  }

  inboxReceive(message: InboxMessage): InboxAnswer {
    return this.#inboxes.receive(message);
  }

  inboxMessages(inbox?: string): InboxMessage[] {
    return this.#inboxes.messages(inbox);
  }

  setInboxAnswers(inbox: string, answers: InboxAnswer[]): void {
    this.#inboxes.answer(inbox, answers);
  }

  /**
   * Counts one `/v2-beta` request and says whether to delay or fail it, and, for a write that got past
   * authentication (`write`), whether to answer it late or not at all. A write the injected status
   * fails is not applied, so it takes neither of those. A request without the required headers
   * (`headers`: the request's, lower-case names) is refused as Access would refuse it, before Cattle:
   * it takes no fault. A write addressed to a service (`flight`: the id the worker gave it) that the
   * faults leave to be handled takes off: it is in flight until the worker reports its end
   * (`endFlight`), and counts as overlapping when another write to that service is still in flight.
   */
  admit(
    method: string,
    path: string,
    write: boolean,
    host: string,
    headers: Readonly<Record<string, string>>,
    flight: string | null = null,
  ): Admission {
    const stats = this.#stats;
    stats.total += 1;
    stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
    const byPath = stats.byPath[path] ?? {};
    byPath[method] = (byPath[method] ?? 0) + 1;
    stats.byPath[path] = byPath;
    stats.hosts[host] = (stats.hosts[host] ?? 0) + 1;
    const denied = Object.entries(this.#config.requireHeaders).some(
      ([name, value]) => headers[name] !== value,
    );
    if (denied) {
      this.#persist({ stats });
      return { delayMs: 0, failStatus: null, lateMs: 0, drop: false, denied, flight: false };
    }
    let failStatus: number | null = null;
    if (this.#faults.count > 0) {
      failStatus = this.#faults.status;
      this.#faults.count -= 1;
    }
    let lateMs = 0;
    let drop = false;
    if (write && failStatus === null) {
      if (this.#faults.dropCount > 0) {
        this.#faults.dropCount -= 1;
        drop = true;
      } else if (this.#faults.lateCount > 0) {
        this.#faults.lateCount -= 1;
        lateMs = this.#faults.lateMs;
      }
    }
    const service = write && failStatus === null && flight !== null ? serviceWriteTarget(path) : null;
    if (service !== null) takeOff(this.#flights, flight as string, service);
    this.#persist({ stats, faults: this.#faults, ...(service === null ? {} : { flights: this.#flights }) });
    return { delayMs: this.#faults.delayMs, failStatus, lateMs, drop, denied, flight: service !== null };
  }

  /** A write's flight is over: answered, reset or left by its client. Idempotent. */
  endFlight(flight: string): void {
    if (land(this.#flights, flight)) this.#persist({ flights: this.#flights });
  }

  stats(): Stats & FlightStats {
    return { ...this.#stats, ...flightStats(this.#flights) };
  }

  faults(): Faults {
    return this.#faults;
  }

  /**
   * Whatever came due before the change happens under the old faults (containers an upgrade round
   * started a moment ago are not made unhealthy by a fault set after it).
   */
  setFaults(patch: Partial<Faults>): Faults {
    this.#settleAll();
    this.#faults = { ...this.#faults, ...patch };
    this.#persist({ faults: this.#faults });
    return this.#faults;
  }

  config(): EmulatorConfig {
    return this.#config;
  }

  /** Fields not sent keep their value; `requireHeaders`, when sent, replaces the whole set. */
  setConfig(patch: Partial<EmulatorConfig>): EmulatorConfig {
    this.#settleAll();
    const requireHeaders = patch.requireHeaders
      ? Object.fromEntries(
          Object.entries(patch.requireHeaders).map(([name, value]) => [name.toLowerCase(), value]),
        )
      : this.#config.requireHeaders;
    this.#config = { ...this.#config, ...patch, requireHeaders };
    this.#persist({ config: this.#config });
    return this.#config;
  }

  // ---- reads ------------------------------------------------------------------------------------

  /** Live records of the given types in a project, transitions resolved to now. */
  list(projectId: string, types: readonly ResourceType[]): ResourceRecord[] {
    this.#settleAll();
    return this.#world.records.filter(
      (record) => record.projectId === projectId && types.includes(record.type),
    );
  }

  projects(ids: readonly string[]): ResourceRecord[] {
    this.#settleAll();
    return this.#world.records.filter((record) => record.type === "project" && ids.includes(record.id));
  }

  get(projectId: string, id: string, types: readonly ResourceType[]): ResourceRecord | null {
    this.#settleAll();
    return this.#find(projectId, id, types) ?? null;
  }

  /**
   * A service's containers, as Cattle's `instances` link of a service lists them: those not removed,
   * the ones an upgrade replaced (stopped, until `finishupgrade` or `rollback` removes them) included.
   */
  serviceInstances(projectId: string, id: string, types: readonly ResourceType[]): Result<ResourceRecord[]> {
    this.#settleAll();
    const service = this.#find(projectId, id, types);
    if (!service) return failure(404, "NotFound", `No ${types[0] ?? "service"} with id ${id}`);
    return ok(this.#containersOf(service).filter((container) => container.removed === null));
  }

  // ---- writes -----------------------------------------------------------------------------------

  createService(
    projectId: string,
    type: ResourceType,
    fields: Record<string, unknown>,
  ): Result<ResourceRecord> {
    this.#settleAll();
    const now = Date.now();
    const stackId = typeof fields.stackId === "string" ? fields.stackId : this.#defaultStack(projectId)?.id;
    const stack = stackId === undefined ? undefined : this.#find(projectId, stackId, ["stack"]);
    if (!stack || stack.removed !== null) {
      return failure(422, "InvalidReference", "stackId does not name a stack of this environment", "stackId");
    }
    const name = String(fields.name);
    const nameProblem = this.#checkName(projectId, stack.id, name, null);
    if (nameProblem) return { ok: false, error: nameProblem };

    const sequence = this.#world.sequences["1s"] ?? 1;
    this.#world.sequences["1s"] = sequence + 1;
    const record: ResourceRecord = {
      id: `1s${sequence}`,
      type,
      projectId,
      uuid: crypto.randomUUID(),
      created: now,
      removed: null,
      state: "requested",
      pending: [],
      data: { ...fields, kind: type, stackId: stack.id, system: false, fqdn: null },
    };
    if ("scale" in typeDef(type).fields) record.data.currentScale = 0;
    if (
      type !== "externalService" &&
      record.data.launchConfig &&
      typeof record.data.launchConfig === "object"
    ) {
      record.data.launchConfig = { ...(record.data.launchConfig as object), version: "0" };
    }
    // Cattle's create runs registering → inactive, then chains activate unless startOnCreate is false.
    const duration = this.#config.transitionMs;
    const create = phaseFor("create", "requested", now, duration) as Phase;
    record.pending.push(create);
    if (fields.startOnCreate !== false) {
      record.pending.push(phaseFor("activate", create.done, create.until, duration) as Phase);
    }
    this.#world.records.push(record);
    this.#saveWorld();
    return ok(record);
  }

  /**
   * PUT. As in Cattle's updateInternal: only fields whose value changes are written, and only if one of
   * them carries `scheduleUpdate` does the `update` process run. Such a write first waits for the
   * process lock (see #awaitLock). When the state it then finds is not a start state of
   * `service.update`, Cattle's engine cancels the process and the API answers 409 Conflict with
   * nothing written (the request's transaction rolls back).
   */
  updateService(
    projectId: string,
    id: string,
    urlType: ResourceType,
    changes: Record<string, unknown>,
    waitingSince: number | null = null,
  ): LockedResult<ResourceRecord> {
    this.#settleAll();
    const record = this.#find(projectId, id, serviceTypesFor(urlType));
    if (!record) return failure(404, "NotFound", `No ${urlType} with id ${id}`);
    const schema: TypeDef = typeDef(urlType);
    const changed = Object.entries(changes).filter(([name, value]) => !deepEqual(record.data[name], value));
    if (typeof changes.name === "string" && changes.name !== record.data.name) {
      const problem = this.#checkName(projectId, String(record.data.stackId), changes.name, record.id);
      if (problem) return { ok: false, error: problem };
    }
    const schedule = changed.some(([name]) => schema.fields[name]?.scheduleUpdate === true);
    let phase: Phase | null = null;
    if (schedule) {
      const now = Date.now();
      const lock = this.#awaitLock(record, waitingSince, now);
      if (lock) return lock;
      const state = currentState(record);
      phase = phaseFor("update", state, now, this.#config.transitionMs);
      if (!phase) return conflict(state, "update");
    }
    for (const [name, value] of changed) record.data[name] = value;
    // During an upgrade, service.update keeps `upgrading`; the upgrade's own rounds still decide when
    // it ends (or that it keeps failing), so its phase stays unless the update would outlast it.
    const running = record.pending[0];
    if (phase && running?.state === "upgrading" && running.process !== "update") {
      running.until = Math.max(running.until, phase.until);
      phase = null;
    }
    if (phase) record.pending = [phase];
    this.#saveWorld();
    return ok(record);
  }

  removeService(
    projectId: string,
    id: string,
    urlType: ResourceType,
    waitingSince: number | null = null,
  ): LockedResult<ResourceRecord> {
    return this.serviceAction(projectId, id, urlType, "remove", {}, true, waitingSince);
  }

  /**
   * `POST …?action=`. Cattle's API first checks the action is among those the resource currently
   * offers (422 ActionNotAvailable otherwise) and validates its input; then the write waits for the
   * process lock (see #awaitLock). DELETE skips the first check, and so does a write that has waited:
   * both meet the engine's refusal instead (409 Conflict).
   */
  serviceAction(
    projectId: string,
    id: string,
    urlType: ResourceType,
    action: ServiceAction,
    input: Record<string, unknown>,
    viaDelete = false,
    waitingSince: number | null = null,
  ): LockedResult<ResourceRecord> {
    this.#settleAll();
    const record = this.#find(projectId, id, serviceTypesFor(urlType));
    if (!record) return failure(404, "NotFound", `No ${urlType} with id ${id}`);
    const state = currentState(record);
    const now = Date.now();
    const phase = phaseFor(action, state, now, this.#config.transitionMs);
    if (!phase) {
      return viaDelete || waitingSince !== null
        ? conflict(state, action)
        : failure(422, "ActionNotAvailable", `Action ${action} is not available in state ${state}`, "action");
    }
    const plan = action === "upgrade" ? planUpgrade(record, input) : null;
    if (plan && !plan.ok) return plan;
    // The upgrade loop checks the service's state between rounds and gives way to these two.
    const running = record.pending[0]?.process ?? "";
    if (!(UPGRADE_INTERRUPTS.includes(action) && UPGRADE_LOOP_PROCESSES.includes(running))) {
      const lock = this.#awaitLock(record, waitingSince, now);
      if (lock) return lock;
    }
    if (plan) {
      const injected = this.#faults.upgradeFailure;
      if (injected !== null) {
        this.#faults = { ...this.#faults, upgradeFailure: null };
        this.#persist({ faults: this.#faults });
      }
      const strategy = plan.value;
      record.data.launchConfig = strategy.launchConfig;
      record.data.secondaryLaunchConfigs = strategy.secondaryLaunchConfigs;
      record.data.upgrade = { type: "serviceUpgrade", inServiceStrategy: strategy, toServiceStrategy: null };
      const units = isGlobal(record) ? this.#activeHosts(projectId) : Number(record.data.scale ?? 1);
      record.upgradeRun = {
        batches: Math.max(1, Math.ceil(units / Number(strategy.batchSize))),
        completed: 0,
        startedAt: now,
        firstBatchMs: this.#config.transitionMs,
        intervalMs: Number(strategy.intervalMillis),
        failure: injected,
        applied: 0,
      };
      record.pending = [runUpgrade(phase, record.upgradeRun)];
      this.#saveWorld();
      return ok(record);
    }
    if (action === "continueupgrade" && record.upgradeRun) {
      record.upgradeRun = { ...record.upgradeRun, startedAt: now, firstBatchMs: this.#config.transitionMs };
      record.pending = [runUpgrade(phase, record.upgradeRun)];
      this.#saveWorld();
      return ok(record);
    }
    const run = record.upgradeRun;
    if (action === "cancelupgrade" && run && state === "upgrading") {
      record.upgradeRun = { ...run, completed: upgradeRoundsDone(run, now) };
    }
    if (action === "rollback" || action === "finishupgrade" || action === "remove") record.upgradeRun = null;
    if (action === "rollback") {
      // Cattle's upgradeServiceConfigs(…, rollback = true): both launch configs go back to the previous ones.
      const strategy = upgradeStrategy(record);
      if (strategy) {
        if (isObject(strategy.previousLaunchConfig)) record.data.launchConfig = strategy.previousLaunchConfig;
        if (Array.isArray(strategy.previousSecondaryLaunchConfigs)) {
          record.data.secondaryLaunchConfigs = strategy.previousSecondaryLaunchConfigs;
        }
      }
    }
    record.pending = [phase];
    this.#saveWorld();
    return ok(record);
  }

  // ---- hosts ------------------------------------------------------------------------------------

  /**
   * `POST hosts`, after the schema's validation and the machine check (exactly one `*Config`, or a
   * template). A `hostTemplateId` must name a live template of the project (gdapi's reference check,
   * 422 InvalidReference). The host walks `registering` (host.create, one transition) → `provisioning`
   * (host.provision, `hostProvisionMs`) → `active`; while the `hostFailures` fault lasts it ends in
   * `error` with the machine driver's message instead. A hostname a live host already has is accepted,
   * as Cattle does, and noted for the test hooks.
   */
  createHost(projectId: string, fields: Record<string, unknown>): Result<ResourceRecord> {
    this.#settleAll();
    let template: ResourceRecord | undefined;
    if (typeof fields.hostTemplateId === "string") {
      template = this.#find(projectId, fields.hostTemplateId, ["hostTemplate"]);
      if (!template || template.removed !== null) {
        return failure(
          422,
          "InvalidReference",
          "hostTemplateId does not name a host template of this environment",
          "hostTemplateId",
        );
      }
    }
    const configKey = DRIVER_CONFIGS.find((name) => fields[name] !== undefined && fields[name] !== null);
    const driver = configKey
      ? configKey.slice(0, -CONFIG_SUFFIX.length)
      : String(template?.data.driver ?? "");
    const now = Date.now();
    const sequence = this.#world.sequences["1h"] ?? 1;
    this.#world.sequences["1h"] = sequence + 1;
    const id = `1h${sequence}`;
    const hostname = String(fields.hostname);
    const existingIds = this.#world.records
      .filter(
        (other) =>
          other.type === "host" &&
          other.projectId === projectId &&
          other.removed === null &&
          String(other.data.hostname).toLowerCase() === hostname.toLowerCase(),
      )
      .map((other) => other.id);
    if (existingIds.length > 0) {
      const note: DuplicateHostname = { hostname, hostId: id, existingIds, at: now };
      this.#world.duplicateHostnames = [...(this.#world.duplicateHostnames ?? []), note];
    }
    const registered = now + this.#config.transitionMs;
    const provisioned = registered + this.#config.hostProvisionMs;
    const provision: Phase = {
      process: "host.provision",
      state: "provisioning",
      done: "active",
      until: provisioned,
    };
    if (this.#faults.hostFailures > 0) {
      this.#faults = { ...this.#faults, hostFailures: this.#faults.hostFailures - 1 };
      this.#persist({ faults: this.#faults });
      provision.done = "error";
      provision.errorMessage = HOST_FAILURE_MESSAGE;
    }
    const record: ResourceRecord = {
      id,
      type: "host",
      projectId,
      uuid: crypto.randomUUID(),
      created: now,
      removed: null,
      state: "requested",
      pending: [
        { process: "host.create", state: "registering", done: "inactive", until: registered },
        provision,
      ],
      data: {
        ...fields,
        kind: "host",
        driver: driver === "" ? null : driver,
        agentState: null,
        agentIpAddress: null,
        info: null,
      },
    };
    this.#world.records.push(record);
    this.#saveWorld();
    return ok(record);
  }

  /** `PUT hosts/{id}`: writes `labels`, `name`, `description`; hosts run no process for that here. */
  updateHost(projectId: string, id: string, changes: Record<string, unknown>): Result<ResourceRecord> {
    this.#settleAll();
    const record = this.#find(projectId, id, ["host"]);
    if (!record) return failure(404, "NotFound", `No host with id ${id}`);
    for (const [name, value] of Object.entries(changes)) record.data[name] = value;
    this.#saveWorld();
    return ok(record);
  }

  /**
   * `POST hosttemplates`, as Cattle's HostTemplateValidationFilter checks it: `driver` trimmed
   * (StringFieldIllFormed) and not empty (StringFieldEmpty); exactly one `*Config` key across
   * `publicValues` and `secretValues` (DriverConfigExactlyOneRequired), and it must be the driver's
   * (DriverConfigForWrongDriver).
   */
  createHostTemplate(projectId: string, fields: Record<string, unknown>): Result<ResourceRecord> {
    const driver = String(fields.driver);
    if (driver !== driver.trim())
      return failure(422, "StringFieldIllFormed", "driver is ill-formed", "driver");
    if (driver === "") return failure(422, "StringFieldEmpty", "driver is empty", "driver");
    let found: string | null = null;
    for (const holder of ["secretValues", "publicValues"]) {
      const values = fields[holder];
      if (!isObject(values)) continue;
      for (const [key, value] of Object.entries(values)) {
        if (!key.endsWith(CONFIG_SUFFIX) || value === null || value === undefined) continue;
        if (found !== null && found !== key) {
          return failure(422, "DriverConfigExactlyOneRequired", "Exactly one driver config is required");
        }
        found = key;
      }
    }
    if (found === null) {
      return failure(422, "DriverConfigExactlyOneRequired", "Exactly one driver config is required");
    }
    if (found !== `${driver}${CONFIG_SUFFIX}`) {
      return failure(422, "DriverConfigForWrongDriver", `${found} does not belong to driver ${driver}`);
    }
    const sequence = this.#world.sequences["1ht"] ?? 1;
    this.#world.sequences["1ht"] = sequence + 1;
    const record: ResourceRecord = {
      id: `1ht${sequence}`,
      type: "hostTemplate",
      projectId,
      uuid: crypto.randomUUID(),
      created: Date.now(),
      removed: null,
      state: "active",
      pending: [],
      data: { ...fields, kind: "hostTemplate" },
    };
    this.#world.records.push(record);
    this.#saveWorld();
    return ok(record);
  }

  /**
   * `POST externalhostevents`. A `host.evacuate` evacuates the host named by `hostId` (or every live
   * host matching `hostLabel`, `key=value`), see #evacuate. The event itself shows `creating` while its
   * hosts drain (at least one transition), then `created`, as Cattle's ExternalHostEventCreate runs the
   * evacuation inside the event's create process. `hostId` must name a live host of the project (422
   * InvalidReference).
   */
  createExternalHostEvent(projectId: string, fields: Record<string, unknown>): Result<ResourceRecord> {
    this.#settleAll();
    const now = Date.now();
    let targets: ResourceRecord[] = [];
    if (typeof fields.hostId === "string") {
      const host = this.#find(projectId, fields.hostId, ["host"]);
      if (!host || host.removed !== null) {
        return failure(422, "InvalidReference", "hostId does not name a host of this environment", "hostId");
      }
      targets = [host];
    } else if (typeof fields.hostLabel === "string" && fields.hostLabel !== "") {
      const [key, value] = splitLabel(fields.hostLabel);
      targets = this.#world.records.filter((host) => {
        const labels = host.data.labels;
        return (
          host.type === "host" &&
          host.projectId === projectId &&
          host.removed === null &&
          isObject(labels) &&
          Object.hasOwn(labels, key) &&
          (value === undefined || String(labels[key]) === value)
        );
      });
    }
    let eventDone = now + this.#config.transitionMs;
    if (fields.eventType === "host.evacuate") {
      for (const host of targets) {
        const drained = this.#evacuate(host, fields.deleteHost === true, now);
        if (drained !== null) eventDone = Math.max(eventDone, drained);
      }
    }
    const sequence = this.#world.sequences["1ee"] ?? 1;
    this.#world.sequences["1ee"] = sequence + 1;
    const record: ResourceRecord = {
      id: `1ee${sequence}`,
      type: "externalHostEvent",
      projectId,
      uuid: crypto.randomUUID(),
      created: now,
      removed: null,
      state: "requested",
      pending: [{ process: "externalevent.create", state: "creating", done: "created", until: eventDone }],
      data: { ...fields, kind: "externalHostEvent", reportedAccountId: projectId, data: null },
    };
    this.#world.records.push(record);
    this.#saveWorld();
    return ok(record);
  }

  /**
   * Test hook: puts a host straight into `state` (ending whatever process ran), so tests can make a
   * host unhealthy (`reconnecting`, `disconnected`, …) or healthy again. Emulator-only.
   */
  setHostState(id: string, state: unknown): Result<ResourceRecord> {
    this.#settleAll();
    if (typeof state !== "string" || !(HOST_STATES as readonly string[]).includes(state)) {
      return failure(422, "InvalidOption", `state must be one of ${HOST_STATES.join(", ")}`, "state");
    }
    const record = this.#world.records.find((candidate) => candidate.type === "host" && candidate.id === id);
    if (!record) return failure(404, "NotFound", `No host with id ${id}`);
    record.pending = [];
    record.state = state;
    record.errorMessage = null;
    if (["active", "reconnecting", "disconnected"].includes(state)) record.data.agentState = state;
    record.removed = state === "removed" || state === "purged" ? (record.removed ?? Date.now()) : null;
    this.#saveWorld();
    return ok(record);
  }

  duplicateHostnames(): DuplicateHostname[] {
    return this.#world.duplicateHostnames ?? [];
  }

  // ---- generic objects --------------------------------------------------------------------------

  /**
   * `POST genericobjects`: Cattle's `genericobject.create` runs `activating` (one transition) →
   * `active`. `kind` defaults to the type's name, as Cattle fills an unset kind.
   */
  createGenericObject(projectId: string, fields: Record<string, unknown>): Result<ResourceRecord> {
    this.#settleAll();
    const now = Date.now();
    const sequence = this.#world.sequences["1go"] ?? 1;
    this.#world.sequences["1go"] = sequence + 1;
    const kind = typeof fields.kind === "string" && fields.kind !== "" ? fields.kind : "genericObject";
    const record: ResourceRecord = {
      id: `1go${sequence}`,
      type: "genericObject",
      projectId,
      uuid: crypto.randomUUID(),
      created: now,
      removed: null,
      state: "requested",
      pending: [
        {
          process: "genericobject.create",
          state: "activating",
          done: "active",
          until: now + this.#config.transitionMs,
        },
      ],
      data: { ...fields, kind },
    };
    this.#world.records.push(record);
    this.#saveWorld();
    return ok(record);
  }

  /** `PUT genericobjects/{id}`: `resourceData` and `description`; Cattle defines no process for it. */
  updateGenericObject(
    projectId: string,
    id: string,
    changes: Record<string, unknown>,
  ): Result<ResourceRecord> {
    this.#settleAll();
    const record = this.#find(projectId, id, ["genericObject"]);
    if (!record) return failure(404, "NotFound", `No genericObject with id ${id}`);
    for (const [name, value] of Object.entries(changes)) record.data[name] = value;
    this.#saveWorld();
    return ok(record);
  }

  /**
   * `DELETE genericobjects/{id}`: `genericobject.remove` starts from `requested`, `active` or
   * `activating` and runs `removing` (one transition) → `removed`; from any other state the engine
   * cancels it (409).
   */
  removeGenericObject(projectId: string, id: string): Result<ResourceRecord> {
    this.#settleAll();
    const record = this.#find(projectId, id, ["genericObject"]);
    if (!record) return failure(404, "NotFound", `No genericObject with id ${id}`);
    const state = currentState(record);
    if (!["requested", "active", "activating"].includes(state)) {
      return failure(409, "Conflict", `State [${state}] is not valid for process [genericobject.remove]`);
    }
    record.pending = [
      {
        process: "genericobject.remove",
        state: "removing",
        done: "removed",
        until: Date.now() + this.#config.transitionMs,
      },
    ];
    this.#saveWorld();
    return ok(record);
  }

  // ---- internals --------------------------------------------------------------------------------

  /**
   * Cattle's process lock: a process holds its resource's lock (`ResourceChangeLock`, Cattle waits up to
   * 3000 ms for it) while it runs, and a write that starts another process on the same resource waits
   * for it. The emulator answers each attempt of such a write with one of: go ahead (null) when no
   * process runs; wait and try again (until the running process ends, at the latest when the write's
   * wait is over); or, once `lockWaitMs` has passed since the first attempt, 409 Conflict with nothing
   * changed. The waiting itself happens in the caller (`withProcessLock`), never in this object.
   */
  #awaitLock(
    record: ResourceRecord,
    waitingSince: number | null,
    now: number,
  ): Waiting | Result<never> | null {
    const releaseAt = lockReleaseAt(record, now);
    if (releaseAt === null) return null;
    const since = waitingSince ?? now;
    const deadline = since + this.#config.lockWaitMs;
    if (now >= deadline) {
      const running = record.pending[0]?.process ?? "";
      const process = running.includes(".") ? running : `service.${running}`;
      return failure(
        409,
        "Conflict",
        `Resource busy: ${record.type} ${record.id} is still in process [${process}] after waiting ${this.#config.lockWaitMs} ms for its lock`,
      );
    }
    return { ok: false, waiting: { since, retryAt: Math.min(releaseAt, deadline) } };
  }

  /**
   * Cattle's ExternalHostEventCreate for `host.evacuate`: `host.deactivate` where the host's state allows
   * it (`deactivating`, one transition), then the host rests `inactive` while its containers are
   * stopped and removed (one transition); with `deleteHost`, `host.remove` (`removing`, one transition,
   * `removed` set), a rest in `removed` (one transition) and `host.purge` (`purging`, one transition) →
   * `purged`. A host on its way out is left alone; a second event for a host that is already being
   * evacuated only adds a deletion it lacked. Returns when the host's containers are drained, or null
   * when nothing was done.
   */
  #evacuate(host: ResourceRecord, deleteHost: boolean, now: number): number | null {
    const state = currentState(host);
    if (host.removed !== null || ["removing", "removed", "purging", "purged"].includes(state)) return null;
    const duration = this.#config.transitionMs;
    const deletion = (from: number): Phase[] => [
      { process: "host.remove", state: "removing", done: "removed", until: from + duration },
      { process: "host.purge", state: "removed", done: "removed", until: from + 2 * duration, quiet: true },
      { process: "host.purge", state: "purging", done: "purged", until: from + 3 * duration },
    ];
    const draining = host.pending.find((phase) => phase.process === "host.evacuate");
    if (draining) {
      const last = host.pending.at(-1) as Phase;
      if (deleteHost && !host.pending.some((phase) => phase.process === "host.remove")) {
        host.pending.push(...deletion(last.until));
      }
      return draining.until;
    }
    const phases: Phase[] = [];
    let until = now;
    const deactivates = HOST_DEACTIVATE_FROM.includes(state);
    if (deactivates) {
      until += duration;
      phases.push({ process: "host.deactivate", state: "deactivating", done: "inactive", until });
    }
    let drained: number | null = null;
    if (deactivates || state === "inactive") {
      until += duration;
      phases.push({ process: "host.evacuate", state: "inactive", done: "inactive", until, quiet: true });
      drained = until;
    }
    if (deleteHost) phases.push(...deletion(until));
    if (phases.length === 0) return null;
    host.pending = phases;
    return drained ?? now;
  }

  #find(projectId: string, id: string, types: readonly ResourceType[]): ResourceRecord | undefined {
    return this.#world.records.find(
      (record) => record.id === id && record.projectId === projectId && types.includes(record.type),
    );
  }

  #defaultStack(projectId: string): ResourceRecord | undefined {
    return this.#world.records.find(
      (record) => record.type === "stack" && record.projectId === projectId && record.removed === null,
    );
  }

  /** Cattle checks the DNS pattern, then that no live service of the stack has the name (any case). */
  #checkName(projectId: string, stackId: string, name: string, selfId: string | null): ErrorBody | null {
    if (!DNS_NAME.test(name)) {
      return {
        status: 422,
        code: "InvalidCharacters",
        message: "name is not a valid DNS label",
        fieldName: "name",
      };
    }
    const clash = this.#world.records.some(
      (record) =>
        isServiceType(record.type) &&
        record.projectId === projectId &&
        record.id !== selfId &&
        record.removed === null &&
        record.data.stackId === stackId &&
        String(record.data.name).toLowerCase() === name.toLowerCase(),
    );
    return clash
      ? { status: 422, code: "NotUnique", message: "name is already used in this stack", fieldName: "name" }
      : null;
  }

  #activeHosts(projectId: string): number {
    return this.#world.records.filter(
      (record) =>
        record.type === "host" &&
        record.projectId === projectId &&
        record.removed === null &&
        currentState(record) === "active",
    ).length;
  }

  /**
   * Completes every phase whose time is up and applies what its end means for the record — for a
   * service, also for its containers, at the moment the phase ended — then works out where every
   * container is now.
   */
  #settleAll(): void {
    const now = Date.now();
    const containers = this.#world.sequences["1i"];
    for (const record of [...this.#world.records]) {
      if (record.pending.length === 0) continue;
      if (isServiceType(record.type)) this.#applyUpgradeRounds(record, now);
      for (const phase of settle(record, now)) {
        if (isServiceType(record.type)) this.#containersAfter(record, phase);
        if (phase.done === "removed" && record.removed === null) record.removed = phase.until;
        if (record.type === "host") {
          if (phase.done === "active") record.data.agentState = "active";
          if (phase.done === "inactive" || phase.done === "error") record.data.agentState = null;
          record.errorMessage = phase.done === "error" ? (phase.errorMessage ?? null) : null;
        }
        if (!("scale" in typeDef(record.type).fields)) continue;
        if (phase.done === "inactive") record.data.currentScale = 0;
        else if (phase.done === "active" || phase.done === "upgraded") {
          record.data.currentScale = isGlobal(record)
            ? this.#activeHosts(record.projectId)
            : record.data.scale;
        }
      }
    }
    for (const record of this.#world.records) {
      if (record.type === "container") resolveContainer(record, now);
    }
    // New containers get ids and uuids when they are first seen: keep them, so that they are the same
    // after the object is evicted and loaded again. (Everything else settled here is derived anew.)
    if (this.#world.sequences["1i"] !== containers) this.#saveWorld();
  }

  // ---- containers -------------------------------------------------------------------------------

  #containersOf(service: ResourceRecord): ResourceRecord[] {
    return this.#world.records.filter(
      (record) =>
        record.type === "container" &&
        record.projectId === service.projectId &&
        record.data.serviceId === service.id,
    );
  }

  /**
   * What the end of a service's process does to its containers, at the moment it ended (Cattle's
   * handlers do it while the process runs; emulator/README.md, Containers): removal removes them,
   * deactivation stops them, `finishupgrade` removes the ones the upgrade replaced, `rollback` removes
   * the new ones and starts the replaced ones again, `restart` restarts them; every process that ends
   * `active` then reconciles the containers with the scale, as `deploymentMgr.activate` does.
   */
  #containersAfter(service: ResourceRecord, phase: Phase): void {
    if (service.type === "externalService") return;
    const at = phase.until;
    const live = this.#containersOf(service).filter((container) => isLive(container, at));
    if (phase.done === "removed") {
      for (const container of live) removeContainer(container, at);
      return;
    }
    if (phase.done === "inactive") {
      for (const container of live) stopContainer(container, at);
      return;
    }
    if (phase.done !== "active") return;
    if (phase.state === "finishing-upgrade") {
      for (const container of live) if (container.life?.managed === false) removeContainer(container, at);
    } else if (phase.state === "rolling-back") {
      // Cattle's rollback runs the upgrade again towards the previous configs (UpgradeManagerImpl.rollback):
      // the replaced containers match them again and are taken back and started; the new ones are
      // marked, stopped and, in finishUpgrade, removed.
      const versions = launchConfigVersions(service);
      for (const container of live) {
        const life = container.life;
        if (!life) continue;
        const current = versions.get(life.launchConfig) === container.data.version;
        if (life.managed && !current) removeContainer(container, at);
        else if (!life.managed && current) {
          life.managed = true;
          startContainer(container, at);
        } else if (!life.managed) removeContainer(container, at);
      }
    } else if (phase.state === "restarting") {
      for (const container of live)
        if (container.life?.managed && isRunningAt(container, at)) restartContainer(container, at);
    }
    this.#reconcile(service, at);
  }

  /**
   * Cattle's `deploymentMgr.activate`: one container per launch config in each of `scale` deployment
   * units (one unit per active host for a global service). Stopped containers are started again,
   * missing ones created; units beyond the scale go, highest `createIndex` first; containers of a
   * launch config the service no longer has are removed.
   */
  #reconcile(service: ResourceRecord, at: number): void {
    const configs = launchConfigsOf(service);
    const wanted = isGlobal(service) ? this.#activeHosts(service.projectId) : Number(service.data.scale ?? 0);
    const live = this.#containersOf(service).filter((container) => isLive(container, at));
    const stack = String(
      this.#find(service.projectId, String(service.data.stackId), ["stack"])?.data.name ?? "",
    );
    for (const container of live) renameContainer(container, stack, String(service.data.name));
    const units = new Map<number, ResourceRecord[]>();
    for (const container of live) {
      const life = container.life;
      if (!life?.managed) continue;
      if (!configs.has(life.launchConfig)) {
        removeContainer(container, at);
        continue;
      }
      units.set(life.unit, [...(units.get(life.unit) ?? []), container]);
    }
    const newestFirst = [...units.entries()].sort(([, a], [, b]) => maxCreateIndex(b) - maxCreateIndex(a));
    for (const [unit, containers] of newestFirst.slice(0, Math.max(0, units.size - wanted))) {
      for (const container of containers) removeContainer(container, at);
      units.delete(unit);
    }
    for (const [unit, containers] of units) {
      for (const container of containers) startContainer(container, at);
      const uuid = String(containers[0]?.data.deploymentUnitUuid ?? crypto.randomUUID());
      for (const name of configs.keys()) {
        if (!containers.some((container) => container.life?.launchConfig === name)) {
          this.#startNew(service, name, unit, uuid, at);
        }
      }
    }
    const taken = new Set(live.map((container) => container.life?.unit));
    for (let added = units.size; added < wanted; added += 1) {
      // Cattle's DeploymentUnitInstanceIdGenerator: the lowest service index no container has.
      let unit = 1;
      while (taken.has(unit)) unit += 1;
      taken.add(unit);
      const uuid = crypto.randomUUID();
      for (const name of configs.keys()) this.#startNew(service, name, unit, uuid, at);
    }
  }

  /**
   * The rounds of a running upgrade that are over by now, each applied to the containers at the moment
   * it ended (rounds are timed as in state-machine.ts): `batchSize` deployment units whose containers
   * run an older version of their launch config get new containers (the new `version` and image) and
   * the old ones are marked and stopped, as Cattle's UpgradeManagerImpl does (`startFirst` only orders
   * the two within the round). A failing upgrade completes no round, so it starts no container.
   */
  #applyUpgradeRounds(service: ResourceRecord, now: number): void {
    const run = service.upgradeRun;
    const phase = service.pending[0];
    if (!run || !phase || phase.state !== "upgrading" || !UPGRADE_RUNS.includes(phase.process)) return;
    const done = upgradeRoundsDone(run, Math.min(now, phase.until));
    const batchSize = Math.max(1, Number(upgradeStrategy(service)?.batchSize ?? 1));
    for (let round = run.applied ?? 0; round < done; round += 1) {
      const at = run.startedAt + run.firstBatchMs + (round - run.completed) * run.intervalMs;
      this.#upgradeBatch(service, Math.min(at, now), batchSize);
      run.applied = round + 1;
    }
  }

  #upgradeBatch(service: ResourceRecord, at: number, batchSize: number): void {
    const configs = launchConfigsOf(service);
    const units = new Map<number, ResourceRecord[]>();
    for (const container of this.#containersOf(service)) {
      const life = container.life;
      if (!life?.managed || !isLive(container, at)) continue;
      units.set(life.unit, [...(units.get(life.unit) ?? []), container]);
    }
    const outdated = (container: ResourceRecord): boolean => {
      const config = configs.get(container.life?.launchConfig ?? "");
      return !config || config.version !== container.data.version;
    };
    const batch = [...units.entries()]
      .filter(([, containers]) => containers.some(outdated))
      .sort(([a], [b]) => a - b)
      .slice(0, batchSize);
    for (const [unit, containers] of batch) {
      const uuid = String(containers[0]?.data.deploymentUnitUuid ?? crypto.randomUUID());
      for (const container of containers.filter(outdated)) {
        if (container.life) container.life.managed = false;
        stopContainer(container, at);
      }
      const kept = containers.filter((container) => !outdated(container));
      for (const name of configs.keys()) {
        if (!kept.some((container) => container.life?.launchConfig === name)) {
          this.#startNew(service, name, unit, uuid, at);
        }
      }
    }
  }

  #startNew(service: ResourceRecord, launchConfig: string, unit: number, unitUuid: string, at: number): void {
    const config = launchConfigsOf(service).get(launchConfig);
    if (!config) return;
    const sequence = this.#world.sequences["1i"] ?? 1;
    this.#world.sequences["1i"] = sequence + 1;
    const stack = this.#find(service.projectId, String(service.data.stackId), ["stack"]);
    const createIndex = maxCreateIndex(this.#containersOf(service)) + 1;
    this.#world.records.push(
      newContainer({
        id: `1i${sequence}`,
        projectId: service.projectId,
        uuid: crypto.randomUUID(),
        serviceId: service.id,
        stackName: String(stack?.data.name ?? ""),
        serviceName: String(service.data.name),
        launchConfig,
        config,
        unit,
        deploymentUnitUuid: unitUuid,
        createIndex,
        at,
        healthyMs: this.#config.healthyMs,
        unhealthy: imageMatches(config.imageUuid, this.#faults.unhealthyImage),
      }),
    );
  }
}

/** The processes whose phase runs an upgrade's rounds. */
const UPGRADE_RUNS: readonly string[] = ["upgrade", "continueupgrade"];

/**
 * A service's launch configs by name: the primary under Cattle's name for it (a service's own name may
 * change), then each sidekick.
 */
function launchConfigsOf(service: ResourceRecord): Map<string, LaunchConfigMap> {
  const configs = new Map<string, LaunchConfigMap>();
  if (isObject(service.data.launchConfig)) configs.set(PRIMARY_LAUNCH_CONFIG, service.data.launchConfig);
  const sidekicks = Array.isArray(service.data.secondaryLaunchConfigs)
    ? service.data.secondaryLaunchConfigs
    : [];
  for (const config of sidekicks) if (isObject(config)) configs.set(String(config.name), config);
  return configs;
}

function launchConfigVersions(service: ResourceRecord): Map<string, unknown> {
  return new Map([...launchConfigsOf(service)].map(([name, config]) => [name, config.version ?? "0"]));
}

const maxCreateIndex = (containers: readonly ResourceRecord[]): number =>
  containers.reduce((max, container) => Math.max(max, Number(container.data.createIndex ?? 0)), 0);

/** `/services` reaches every kind of service; `/loadbalancerservices` and the like only their own. */
function serviceTypesFor(urlType: ResourceType): ResourceType[] {
  return urlType === "service" ? ["service", "loadBalancerService", "externalService"] : [urlType];
}

function conflict(state: string, process: string): Result<never> {
  return failure(409, "Conflict", `State [${state}] is not valid for process [service.${process}]`);
}

function upgradeStrategy(record: ResourceRecord): Record<string, unknown> | undefined {
  const upgrade = record.data.upgrade as { inServiceStrategy?: Record<string, unknown> } | null | undefined;
  return upgrade?.inServiceStrategy ?? undefined;
}

/** The phase an upgrade run takes: its rounds' duration, or a failure after the first round. */
function runUpgrade(phase: Phase, run: UpgradeRun): Phase {
  const start = run.startedAt;
  if (run.failure !== null) {
    return { ...phase, until: NEVER, failAt: start + run.firstBatchMs, failure: run.failure };
  }
  return { ...phase, until: start + upgradeDurationMs(run) };
}

type LaunchConfigMap = Record<string, unknown>;

const isObject = (value: unknown): value is LaunchConfigMap =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const invalid = (message: string, fieldName: string, code = "InvalidOption"): Result<never> =>
  failure(422, code, message, fieldName);

const isGlobalConfig = (config: unknown): boolean =>
  isObject(config) &&
  isObject(config.labels) &&
  String(config.labels["io.rancher.scheduler.global"]) === "true";

/** Launch configs a config depends on by name (Cattle's networkLaunchConfig and dataVolumesFromLaunchConfigs). */
function references(config: LaunchConfigMap): string[] {
  const refs: string[] = [];
  if (typeof config.networkLaunchConfig === "string") refs.push(config.networkLaunchConfig);
  if (Array.isArray(config.dataVolumesFromLaunchConfigs)) {
    for (const ref of config.dataVolumesFromLaunchConfigs) if (typeof ref === "string") refs.push(ref);
  }
  return refs;
}

/**
 * The in-service upgrade as Cattle's ServiceUpgradeValidationFilter (1.2+, `finalizeUpgradeStrategy`)
 * prepares it, before the service takes the new configs at once:
 * - the configs to upgrade are the primary (if `launchConfig` is given) and each named sidekick, plus
 *   every existing config that refers to one of them (`networkLaunchConfig`, `dataVolumesFromLaunchConfigs`);
 * - those get one new `version`; the others keep theirs and are carried over unchanged;
 * - `secondaryLaunchConfigs` of the strategy lists every sidekick (upgraded first, then the rest), and a
 *   name the service does not have adds a sidekick — Cattle allows adding and, with image
 *   `rancher/none`, removing sidekicks on upgrade;
 * - the previous configs are kept for rollback.
 */
function planUpgrade(record: ResourceRecord, input: Record<string, unknown>): Result<LaunchConfigMap> {
  const strategy = input.inServiceStrategy as LaunchConfigMap | null | undefined;
  if (!strategy) {
    if (input.toServiceStrategy) return invalid("toServiceStrategy is not supported", "toServiceStrategy");
    return invalid("Upgrade strategy needs to be set", "inServiceStrategy", "MissingRequired");
  }
  const launchConfig = isObject(strategy.launchConfig) ? strategy.launchConfig : null;
  const secondary = Array.isArray(strategy.secondaryLaunchConfigs) ? strategy.secondaryLaunchConfigs : null;
  if (!launchConfig && !secondary) {
    return invalid(
      "LaunchConfig/secondaryLaunchConfigs need to be specified for inService strategy",
      "inServiceStrategy.launchConfig",
    );
  }
  if (record.data.retainIp === true && strategy.startFirst === true) {
    return invalid(
      "StartFirst option can't be used for service with retainIp field set",
      "inServiceStrategy.startFirst",
    );
  }
  if (!launchConfig && record.type === "loadBalancerService") {
    return invalid("LaunchConfig is required for load balancer service", "inServiceStrategy.launchConfig");
  }

  const serviceName = String(record.data.name);
  const previousPrimary = isObject(record.data.launchConfig) ? record.data.launchConfig : null;
  const previousSecondary = (
    Array.isArray(record.data.secondaryLaunchConfigs) ? record.data.secondaryLaunchConfigs : []
  ).filter(isObject);
  const existing = new Map<string, LaunchConfigMap>();
  if (previousPrimary) existing.set(serviceName, previousPrimary);
  for (const config of previousSecondary) existing.set(String(config.name), config);

  // Initial set: what the request names (the primary under the service's name).
  const toUpgrade = new Map<string, LaunchConfigMap>();
  if (launchConfig) toUpgrade.set(serviceName, { ...launchConfig });
  for (const [index, item] of (secondary ?? []).entries()) {
    if (!isObject(item) || typeof item.name !== "string" || item.name === "") {
      // Cattle reads `name` without checking it (a NullPointerException, 500); the emulator says why.
      return invalid(
        `secondaryLaunchConfigs[${index}] needs a name`,
        "inServiceStrategy.secondaryLaunchConfigs.name",
        "MissingRequired",
      );
    }
    toUpgrade.set(item.name, { ...item });
  }
  // Final set: configs that depend on an upgraded one are upgraded with it, as they are.
  const queue = [...toUpgrade.keys()];
  while (queue.length > 0) {
    const target = (queue.shift() as string).toLowerCase();
    for (const [name, config] of existing) {
      if (toUpgrade.has(name)) continue;
      if (references(config).some((ref) => ref.toLowerCase() === target)) {
        toUpgrade.set(name, { ...config });
        queue.push(name);
      }
    }
  }
  const version = crypto.randomUUID();
  for (const config of toUpgrade.values()) config.version = version;

  const primary = toUpgrade.get(serviceName) ?? previousPrimary;
  if (launchConfig && isGlobalConfig(previousPrimary) !== isGlobalConfig(primary)) {
    return invalid("Switching from global scale to fixed (and vice versa)", "inServiceStrategy.launchConfig");
  }
  const sidekicks = [
    ...[...toUpgrade].filter(([name]) => name !== serviceName).map(([, config]) => config),
    ...previousSecondary.filter((config) => !toUpgrade.has(String(config.name))),
  ].filter((config) => String(config.imageUuid ?? "").toLowerCase() !== "rancher/none");

  return ok({
    type: "inServiceUpgradeStrategy",
    batchSize: strategy.batchSize ?? 1,
    intervalMillis: strategy.intervalMillis ?? 2000,
    startFirst: strategy.startFirst ?? false,
    launchConfig: primary,
    secondaryLaunchConfigs: sidekicks,
    previousLaunchConfig: previousPrimary,
    previousSecondaryLaunchConfigs: previousSecondary,
  });
}

/** `key=value` (or a bare `key`, matching any value), as Cattle reads a host label selector. */
function splitLabel(label: string): [string, string | undefined] {
  const at = label.indexOf("=");
  return at < 0 ? [label, undefined] : [label.slice(0, at), label.slice(at + 1)];
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return a === b || (a ?? null) === (b ?? null);
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every((key) =>
    deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}
