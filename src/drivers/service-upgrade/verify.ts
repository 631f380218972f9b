import type { Instance } from "../../cattle/types";
import { normalizeRepository, parseImage } from "./images";

/**
 * How an upgrade's new containers are judged once Cattle shows the service `upgraded`
 * (docs/upgrades.md, "Health checks and rollback"). Pure: what Cattle showed and the time in, a
 * verdict out, so that the watch resumes from its stored state after a restart.
 */

export const VERIFY_DEFAULTS = {
  rollbackOnFailure: true,
  healthySeconds: 60,
  healthTimeoutSeconds: 600,
} as const;

export interface VerifySettings {
  rollbackOnFailure: boolean;
  healthySeconds: number;
  healthTimeoutSeconds: number;
}

/** A receiver created before these settings existed has none stored: it gets the defaults. */
export const verifySettings = (settings: Partial<VerifySettings>): VerifySettings => ({
  rollbackOnFailure: settings.rollbackOnFailure ?? VERIFY_DEFAULTS.rollbackOnFailure,
  healthySeconds: settings.healthySeconds ?? VERIFY_DEFAULTS.healthySeconds,
  healthTimeoutSeconds: settings.healthTimeoutSeconds ?? VERIFY_DEFAULTS.healthTimeoutSeconds,
});

/** What a watch keeps between looks: the job stores it, so a restart resumes the same watch. */
export interface Watch {
  /** When Cattle first showed the service `upgraded`: the health timeout counts from here. */
  since: number;
  /** The launch config versions the upgrade made: containers of these versions are the new ones. */
  versions: string[];
  /** The pushed image, `repository:tag`: how new containers are told apart where Cattle shows no versions. */
  image: string;
  /** Since when every new container has been running (and healthy where checked), while they are. */
  healthySince?: number;
  /** Each new container's start count when first seen (one at least), by id: a rise of 2 or more is a restart loop. */
  starts: Record<string, number>;
  /** When Cattle was last read successfully, written at most once a minute, for giving up on silence. */
  seen: number;
}

export type Verdict =
  | { kind: "passed" }
  | { kind: "failed"; reason: string }
  | { kind: "watching"; watch: Watch };

/** A container stopped, broken or gone: a state none of Cattle's running containers shows. */
const DOWN_STATES = new Set([
  "stopping",
  "stopped",
  "error",
  "erroring",
  "removing",
  "removed",
  "purging",
  "purged",
]);
const UNHEALTHY = new Set(["unhealthy", "updating-unhealthy"]);
/** A container with a health check counts as healthy in these; without one Cattle shows none. */
const HEALTHY = new Set(["healthy", "updating-healthy"]);
/** Restarts, counted from the first start count seen, that make a container a restart loop. */
export const RESTART_LIMIT = 2;

const nameOf = (container: Instance): string =>
  container.name ? `${container.id} (${container.name})` : container.id;

/** What a container shows, in the words a reason uses. */
function shows(container: Instance): string {
  const parts = [container.state ?? "unknown"];
  if (container.healthState) parts.push(container.healthState);
  return parts.join(", ");
}

/** The label that makes Cattle start a container once and leave it stopped once it has exited. */
export const START_ONCE_LABEL = "io.rancher.container.start_once";

/**
 * A container Cattle starts once by design (a migration, a data container) that has run and stopped:
 * done, not down. Cattle counts it healthy in its service's health the same way, by this label, a
 * start count of at least one and a stopped or stopping state.
 */
const startedOnce = (container: Instance): boolean =>
  (container.labels?.[START_ONCE_LABEL] ?? "").toLowerCase() === "true" &&
  (container.startCount ?? 0) >= 1 &&
  (container.state === "stopped" || container.state === "stopping");

const isRunningAndHealthy = (container: Instance): boolean =>
  startedOnce(container) ||
  (container.state === "running" && (container.healthState == null || HEALTHY.has(container.healthState)));

/** The containers of `containers` that the upgrade started: of its versions, else of its image. */
export function newContainers(
  containers: readonly Instance[],
  watch: Pick<Watch, "versions" | "image">,
): Instance[] {
  const byVersion = containers.filter(
    (container) => container.version && watch.versions.includes(container.version),
  );
  // Where Cattle shows versions they decide, even while no container of the new one is listed yet
  // (the same tag pushed again: the containers still running it are the old ones).
  if (watch.versions.length > 0 && containers.some((container) => container.version)) return byVersion;
  const wanted = sameImage(watch.image);
  return newestOfUnits(containers.filter((container) => wanted(container.imageUuid)));
}

/** Which of a unit's launch configs a container runs: the primary's, or a sidekick's name. */
const LAUNCH_CONFIG_LABEL = "io.rancher.service.launch.config";

/**
 * Without versions, the same tag pushed again leaves the containers the upgrade replaced on the very
 * image the new ones run: Cattle stops them and keeps them listed until the upgrade is finished. Each
 * new one was started in the unit of the one it replaced, with a higher `createIndex`
 * (emulator/README.md, "In an in-service upgrade"), so only the newest of each unit and launch config
 * is new. Containers that do not say their unit or index are all kept.
 */
function newestOfUnits(containers: Instance[]): Instance[] {
  const newest = new Map<string, Instance>();
  for (const container of containers) {
    if (!container.deploymentUnitUuid || typeof container.createIndex !== "number") continue;
    const key = `${container.deploymentUnitUuid}\n${container.labels?.[LAUNCH_CONFIG_LABEL] ?? ""}`;
    const known = newest.get(key);
    if (!known || (known.createIndex ?? 0) < container.createIndex) newest.set(key, container);
  }
  const kept = new Set(newest.values());
  return containers.filter(
    (container) =>
      kept.has(container) || !container.deploymentUnitUuid || typeof container.createIndex !== "number",
  );
}

/**
 * Whether an `imageUuid` is `repository:tag`, whichever way each spells the repository: the push
 * names it as the registry does, the containers as the service does (`docker.io/myorg/api` is
 * `myorg/api`).
 */
function sameImage(image: string): (imageUuid: string | null | undefined) => boolean {
  const pushed = parseImage(`docker:${image}`);
  const key = (parsed: { repository: string; tag?: string } | null) =>
    parsed ? `${normalizeRepository(parsed.repository)}:${parsed.tag ?? ""}` : undefined;
  const wanted = key(pushed);
  return (imageUuid) => wanted !== undefined && key(parseImage(imageUuid ?? undefined)) === wanted;
}

/**
 * One look at the new containers. Fails on the first sign of a broken image (a container unhealthy,
 * stopped or in error, restarting again and again, gone, or not healthy in time); passes once every
 * one has been running, and healthy where it has a health check, for `healthySeconds` without a
 * break; otherwise keeps watching, with what this look learned.
 */
/**
 * What the new containers show that fails an upgrade at once: unhealthy, stopped or in error (a
 * container started once by design excepted), or restarting again and again; with each container's
 * first start count, kept to count its restarts from.
 */
function problemsOf(
  fresh: readonly Instance[],
  known: Readonly<Record<string, number>>,
): { starts: Record<string, number>; problems: string[]; failing: Set<string> } {
  const starts = { ...known };
  const problems: string[] = [];
  const failing = new Set<string>();
  for (const container of fresh) {
    const found = problems.length;
    const count = container.startCount ?? 0;
    // A container first seen before Cattle started it shows no start yet: its first start is not a
    // restart, so the count is taken from one at least.
    const first = starts[container.id] ?? Math.max(count, 1);
    starts[container.id] = first;
    if (container.healthState && UNHEALTHY.has(container.healthState)) {
      problems.push(`${nameOf(container)} ${container.healthState}`);
    } else if (
      (DOWN_STATES.has(container.state ?? "") && !startedOnce(container)) ||
      container.transitioning === "error"
    ) {
      const message = container.transitioning === "error" ? `: ${container.transitioningMessage ?? ""}` : "";
      problems.push(`${nameOf(container)} ${container.state}${message}`);
    } else if (count - first >= RESTART_LIMIT) {
      problems.push(
        `${nameOf(container)} restarting (started ${count - first} more times, start count ${first} → ${count})`,
      );
    }
    if (problems.length > found) failing.add(container.id);
  }
  return { starts, problems, failing };
}

/**
 * What a look at the new containers learned while Cattle is still replacing them: the job keeps it,
 * and the watch that follows `upgraded` starts from it.
 */
export interface EarlyLook {
  /** Each new container's first start count, by id. */
  starts: Record<string, number>;
  /** When each new container was first seen, by id: it has healthTimeoutSeconds from then. */
  firstSeen: Record<string, number>;
}

export type EarlyVerdict = { kind: "failed"; reason: string } | { kind: "watching"; early: EarlyLook };

/**
 * A look at the new containers while the service is still `upgrading`. Cattle may wait for each
 * batch to be healthy before the next one (emulator/README.md), so an image that never gets well
 * would never reach `upgraded`: the containers already replaced are judged as they come, each
 * failing as the watch would fail it, or when it is not running and healthy within
 * `healthTimeoutSeconds` of being first seen.
 */
export function judgeEarly(
  early: EarlyLook,
  watch: Pick<Watch, "versions" | "image">,
  containers: readonly Instance[],
  settings: VerifySettings,
  now: number,
): EarlyVerdict {
  const fresh = newContainers(containers, watch);
  const { starts, problems, failing } = problemsOf(fresh, early.starts);
  const firstSeen = { ...early.firstSeen };
  const timeoutMs = settings.healthTimeoutSeconds * 1000;
  for (const container of fresh) {
    const seen = firstSeen[container.id] ?? now;
    firstSeen[container.id] = seen;
    if (!failing.has(container.id) && !isRunningAndHealthy(container) && now - seen >= timeoutMs) {
      problems.push(
        `${nameOf(container)} not healthy within ${settings.healthTimeoutSeconds} s: ${shows(container)}`,
      );
    }
  }
  if (problems.length > 0) return { kind: "failed", reason: problems.join(", ") };
  return { kind: "watching", early: { starts, firstSeen } };
}

export function judge(
  watch: Watch,
  containers: readonly Instance[],
  settings: VerifySettings,
  scale: number | undefined,
  now: number,
): Verdict {
  const fresh = newContainers(containers, watch);
  const { starts, problems } = problemsOf(fresh, watch.starts);
  // A container seen earlier and no longer listed was removed: Cattle replaces a failing one.
  const listed = new Set(fresh.map((container) => container.id));
  for (const id of Object.keys(watch.starts)) {
    if (!listed.has(id)) problems.push(`${id} was removed`);
  }
  if (problems.length > 0) return { kind: "failed", reason: problems.join(", ") };

  const expected = scale === undefined ? 1 : Math.min(scale, 1);
  const allHealthy = fresh.length >= expected && fresh.every(isRunningAndHealthy);
  const timeoutMs = settings.healthTimeoutSeconds * 1000;
  if (!allHealthy) {
    if (now - watch.since >= timeoutMs) {
      const waiting = fresh.filter((container) => !isRunningAndHealthy(container));
      const what =
        waiting.length > 0
          ? waiting.map((container) => `${nameOf(container)} ${shows(container)}`).join(", ")
          : `no container of ${watch.image} appeared`;
      return {
        kind: "failed",
        reason: `not healthy within ${settings.healthTimeoutSeconds} s: ${what}`,
      };
    }
    const { healthySince: _reset, ...rest } = watch;
    return { kind: "watching", watch: { ...rest, starts } };
  }
  const healthySince = watch.healthySince ?? now;
  if (now - healthySince >= settings.healthySeconds * 1000) return { kind: "passed" };
  return { kind: "watching", watch: { ...watch, starts, healthySince } };
}

/** Whether a watch learned something worth writing down (a container's first start count, a change of health). */
export const watchChanged = (before: Watch, after: Watch): boolean =>
  before.healthySince !== after.healthySince ||
  Object.keys(after.starts).length !== Object.keys(before.starts).length;
