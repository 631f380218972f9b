/** Records as the state object keeps them; the API shapes are rendered from these on the way out. */

export type ResourceType =
  | "project"
  | "stack"
  | "service"
  | "loadBalancerService"
  | "externalService"
  | "host"
  | "hostTemplate"
  | "externalHostEvent"
  | "genericObject"
  | "container";

/** One step of a running Cattle process: the record shows `state` until `until`, then becomes `done`. */
export interface Phase {
  process: string;
  state: string;
  done: string;
  until: number;
  /**
   * A phase that goes wrong: from `failAt` on it shows `transitioning: "error"` with `failure` as its
   * message and never ends (its `until` lies beyond reach), as a Cattle process that keeps failing.
   */
  failAt?: number;
  failure?: string;
  /** Set once `failAt` has passed (resolved on read, like the rest). */
  failed?: boolean;
  /**
   * A phase in which the record rests in `state` (`transitioning: "no"`) while something else works on
   * it: a host stays `inactive` while its containers drain, `removed` until it is purged.
   */
  quiet?: boolean;
  /** The error message the record keeps when this phase ends in `error` (a host that failed to provision). */
  errorMessage?: string;
}

/**
 * An in-service upgrade as it runs: Cattle upgrades `batchSize` deployment units per round and sleeps
 * `intervalMillis` between rounds, so `batches` rounds take `(batches - 1) * intervalMillis` plus the
 * work itself (one transition). Kept to resume a canceled upgrade with the rounds it had left.
 */
export interface UpgradeRun {
  batches: number;
  /** Rounds finished before the current run started (a continued upgrade skips them). */
  completed: number;
  /** Rounds whose containers have been replaced so far (rounds are applied to containers on read). */
  applied?: number;
  startedAt: number;
  firstBatchMs: number;
  intervalMs: number;
  /** The injected failure this upgrade carries, which a continued upgrade meets again. */
  failure: string | null;
}

export interface ResourceRecord {
  id: string;
  type: ResourceType;
  /** Owning project; a project's own id for projects. */
  projectId: string;
  uuid: string;
  created: number;
  removed: number | null;
  /** The state the record rests in once `pending` has run out. */
  state: string;
  pending: Phase[];
  /** Every other field, by its API name. */
  data: Record<string, unknown>;
  /** The service's last in-service upgrade, while it may still run or resume. */
  upgradeRun?: UpgradeRun | null;
  /** Why a record rests in `error`, shown as its `transitioningMessage`. */
  errorMessage?: string | null;
  /** A container's life, from which its state, health and start count are derived when it is read. */
  life?: ContainerLife;
}

/**
 * The times and facts a container's state is derived from (emulator/README.md, Containers): nothing
 * runs on a timer, a read works out where the container is now.
 */
export interface ContainerLife {
  /** The launch config it runs: Cattle's primary launch config name, else the sidekick's name. */
  launchConfig: string;
  /** Its deployment unit's service index, the `n` of its name. */
  unit: number;
  /** When it last started, and the start count it had then. */
  startedAt: number;
  startCount: number;
  /** When it first ran. */
  firstRunning: number;
  stoppedAt: number | null;
  removedAt: number | null;
  /** Its launch config had a health check when it was created. */
  healthCheck: boolean;
  /** The `unhealthyImage` fault named its image when it was created. */
  unhealthy: boolean;
  /** The `healthyMs` in force when it was created. */
  healthyMs: number;
  /**
   * Counted in the service's scale. Cattle's upgrade marks the containers it replaces (their expose
   * map `managed=false, upgrade=true`) and keeps them, stopped, until `finishupgrade` or `rollback`.
   */
  managed: boolean;
}

export interface World {
  /** The next number for each id prefix (`1s` → 10 means the next service is 1s10). */
  sequences: Record<string, number>;
  records: ResourceRecord[];
  /** Hosts created with a hostname a live host already had (Cattle allows it; tests may want to know). */
  duplicateHostnames?: DuplicateHostname[];
}

export interface DuplicateHostname {
  hostname: string;
  /** The new host. */
  hostId: string;
  /** The live hosts that had the name already. */
  existingIds: string[];
  at: number;
}

export interface Stats {
  total: number;
  byMethod: Record<string, number>;
  byPath: Record<string, Record<string, number>>;
  /** Requests by the host they named (`Host`), so a test can tell which way a request came. */
  hosts: Record<string, number>;
}

export interface Faults {
  status: number;
  count: number;
  delayMs: number;
  /** The next upgrade started fails with this message after its first batch; consumed by it. */
  upgradeFailure: string | null;
  /** How long each of the next `lateCount` writes waits, once applied, before it is answered. */
  lateMs: number;
  lateCount: number;
  /** The next `dropCount` writes are applied and then never answered: the connection is reset. */
  dropCount: number;
  /** The next `hostFailures` hosts created end in `error` instead of `active`. */
  hostFailures: number;
  /**
   * Containers of this image (`myorg/api:1.1.0`, matched with or without `docker:`) created while it is
   * set never become healthy: `unhealthy` with a health check, restarting again and again without.
   */
  unhealthyImage: string | null;
}

export interface EmulatorConfig {
  /** How long one process on a service (and most other transitions) runs. */
  transitionMs: number;
  /** How long a write waits for a process running on its service before it is refused (409). */
  lockWaitMs: number;
  /** How long a new host stays `provisioning`. */
  hostProvisionMs: number;
  /** How long a new container's health check takes to pass (or, under `unhealthyImage`, to fail). */
  healthyMs: number;
  /**
   * Headers (lower-case name → exact value) every `/v2-beta` request must carry, else 403: a
   * stand-in for Cloudflare Access in front of Rancher, which wants a service token's headers.
   */
  requireHeaders: Record<string, string>;
}

/** What the gate in front of every `/v2-beta` request decided. */
export interface Admission {
  delayMs: number;
  failStatus: number | null;
  /** For a write: answer it this many ms after it is applied (0: at once). */
  lateMs: number;
  /** For a write: apply it, then reset the connection instead of answering. */
  drop: boolean;
  /** A required header (`requireHeaders`) was missing or wrong: refused before Cattle sees it. */
  denied: boolean;
  /** A write addressed to a service took off: its flight is to be ended once it is over (flights.ts). */
  flight: boolean;
}

export const SERVICE_TYPES: readonly ResourceType[] = ["service", "loadBalancerService", "externalService"];

export const isServiceType = (type: ResourceType): boolean => SERVICE_TYPES.includes(type);

/** Cattle ids are a type prefix and a database number; order by the number, as Cattle does. */
export function idNumber(id: string): number {
  const match = /(\d+)$/.exec(id);
  return match ? Number(match[1]) : 0;
}
