/** The parts of Cattle v2-beta resources this service reads (go-rancher v2 generated types). */

export interface CattleResource {
  id: string;
  type: string;
  state?: string;
  removed?: string | null;
  transitioning?: "no" | "yes" | "error";
  transitioningMessage?: string | null;
}

export interface LaunchConfig {
  imageUuid?: string;
  labels?: Record<string, string>;
  [field: string]: unknown;
}

export interface Service extends CattleResource {
  name: string;
  kind?: string;
  accountId?: string;
  scale?: number;
  launchConfig?: LaunchConfig | null;
  secondaryLaunchConfigs?: LaunchConfig[] | null;
  /** The last upgrade's strategy: an in-service one keeps the configs a rollback returns to. */
  upgrade?: {
    inServiceStrategy?: { previousLaunchConfig?: LaunchConfig | null } | null;
  } | null;
}

/** A service's container (Cattle's `instance`, type `container`), as its `instances` link lists it. */
export interface Instance extends CattleResource {
  name?: string | null;
  /** Set only where the launch config has a health check. */
  healthState?: string | null;
  /** How many times Cattle has started it: one after its first start. */
  startCount?: number | null;
  imageUuid?: string | null;
  /** The version of the launch config it was created from: an upgrade gives its configs a new one. */
  version?: string | null;
  labels?: Record<string, string> | null;
  /** The deployment unit (a primary and its sidekicks) it belongs to; a replacement joins the same one. */
  deploymentUnitUuid?: string | null;
  /** Rises with each container the service creates: a replacement has a higher one than what it replaced. */
  createIndex?: number | null;
}

export interface Host extends CattleResource {
  name?: string | null;
  hostname?: string | null;
  labels?: Record<string, string> | null;
  driver?: string | null;
  hostTemplateId?: string | null;
  created?: string;
  createdTS?: number;
}

export interface HostTemplate extends CattleResource {
  name?: string;
  driver?: string;
}

/** A free-form record Cattle keeps for other services; webhook-service kept its receivers as these. */
export interface GenericObject extends CattleResource {
  name?: string | null;
  kind?: string | null;
  key?: string | null;
  resourceData?: Record<string, unknown> | null;
}

export interface Project extends CattleResource {
  name: string;
}

export interface Schema {
  id: string;
  type: "schema";
  resourceMethods?: string[];
  collectionMethods?: string[];
}

export interface Collection<T> {
  type: "collection";
  data: T[];
  pagination?: { next?: string | null; partial?: boolean; limit?: number } | null;
}

/** What went wrong talking to Cattle, in terms the rest of the service can act on. */
export type CattleFailure =
  | { kind: "unauthorized"; status: 401; message: string }
  | { kind: "forbidden"; status: 403; message: string }
  | { kind: "notFound"; status: 404; message: string }
  | { kind: "conflict"; status: 409; message: string }
  | { kind: "rejected"; status: number; code?: string; fieldName?: string; message: string }
  /** `code` is set when Cattle itself answered, in its error envelope (not a proxy's page). */
  | { kind: "unavailable"; status?: number; code?: string; message: string };

export type CattleResult<T> = { ok: true; value: T } | { ok: false; failure: CattleFailure };
