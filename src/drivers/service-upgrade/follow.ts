import type { CattleApi } from "../../cattle/client";
import { describeFailure, meaningOf } from "../../cattle/failures";
import type { CattleFailure, Service } from "../../cattle/types";
import type { UpgradeStep } from "../../domain/execution";
import {
  configsOf,
  parseImage,
  planServiceUpgrade,
  runningTag,
  runsTag,
  type UpgradeRequest,
} from "./images";
import { admits, isSemanticPolicy } from "./policy";
import { inDoubt, isOpen, type Phase, STALL_MS, type UpgradeJob } from "./upgrade-queue";
import { judge, judgeEarly, verifySettings, type Watch, watchChanged } from "./verify";

/**
 * One step of one upgrade, from what Cattle shows now (docs/upgrades.md, "What a push does"). A
 * decision that needs a Cattle action (finish, roll back) is written down before the action is
 * sent, so that a restart, a lost answer or Cattle's lock only makes it be sent again: the step
 * returns the job to store and the action to send after it is stored.
 */
export interface Step {
  /** The job to store; the very object passed in when nothing changed. */
  job: UpgradeJob;
  action?: FollowAction;
  /** The upgrade to start, and what the service ran before it. */
  upgrade?: { request: UpgradeRequest; previousImage?: string };
}

export type FollowAction = "finishupgrade" | "rollback";

/** The states Cattle's `rollback` starts from; anywhere else it would be refused. */
const ROLLBACK_STARTS: readonly string[] = ["upgrading", "upgraded", "canceled-upgrade"];

const UPGRADE_STATES = new Set(["upgrading", "upgraded"]);
const GONE_STATES = new Set(["removing", "removed", "purging", "purged"]);
/** How often a watch writes down that Cattle answered, so silence is measured across restarts. */
const SEEN_EVERY_MS = 60_000;

const STEP_OF: Readonly<Record<Phase, UpgradeStep>> = {
  waiting: "waiting",
  upgrading: "upgrading",
  verifying: "verifying",
  finishing: "finishing",
  rollingBack: "rolling back",
  done: "finished",
  rolledBack: "rolled back",
  failed: "failed",
  skipped: "skipped",
};

/** The job in its next phase, the step recorded with its time. */
export function moved(
  job: UpgradeJob,
  phase: Phase,
  now: number,
  fields: Partial<UpgradeJob> = {},
): UpgradeJob {
  const steps = [...(job.steps ?? [])];
  if (phase === "verifying") steps.push({ step: "upgraded", at: now });
  steps.push({ step: STEP_OF[phase], at: now });
  return { ...job, ...fields, phase, progressed: now, steps };
}

export const failed = (job: UpgradeJob, message: string, now: number): UpgradeJob =>
  moved(job, "failed", now, { message });

const stalled = (job: UpgradeJob, now: number): boolean =>
  now - Math.max(job.progressed, job.watch?.seen ?? 0) > STALL_MS;

const image = (repository: string, tag: string | undefined): string =>
  tag === undefined ? repository : `${repository}:${tag}`;

/** What the service runs of the job's repository now, as `repository:tag`, in the service's spelling. */
function runningImage(service: Service, repository: string): string | undefined {
  const config = configsOf(service, repository)[0];
  const parsed = parseImage(config?.imageUuid);
  return parsed ? image(parsed.repository, parsed.tag) : undefined;
}

/**
 * `time` is read after each answer of Cattle rather than once per alarm: one alarm advances
 * every service's upgrade in turn, and an earlier one's action may take seconds to answer. A look
 * at containers dated from before it was taken would count healthy time nobody saw.
 */
export async function advance(job: UpgradeJob, cattle: CattleApi, time: () => number): Promise<Step> {
  const read = await cattle.getService(job.projectId, job.serviceId);
  const now = time();
  if (!read.ok) return { job: unreadable(job, read.failure, now) };
  const service = read.value;
  // Cattle keeps showing a removed service (removing, removed, purging) until it is purged: it is
  // gone all the same, and nothing will move its upgrade on.
  if (isOpen(job) && (service.removed || GONE_STATES.has(service.state ?? ""))) {
    return { job: failed(job, `service ${job.serviceId} was removed`, now) };
  }
  switch (job.phase) {
    case "waiting":
      return start(job, service, now);
    case "upgrading":
      return upgrading(job, service, cattle, now, time);
    case "verifying":
      return verifying(job, service, cattle, time);
    case "finishing":
      return finishing(job, service, now);
    case "rollingBack":
      return rollingBack(job, service, now);
    default:
      return { job };
  }
}

/** Cattle unreachable is not a failure of the upgrade, until it has lasted STALL_MS. */
function unreadable(job: UpgradeJob, failure: CattleFailure, now: number): UpgradeJob {
  const meaning = meaningOf(failure);
  if (meaning === "gone") return failed(job, `service ${job.serviceId} was removed`, now);
  if (meaning === "refused") return failed(job, describeFailure(failure), now);
  // Unanswered, or the service's key refused (a rotation half done): waited out, so that a service
  // is not left upgraded, neither finished nor rolled back, by a moment's trouble.
  if (!stalled(job, now)) return job;
  if (meaning !== "transient") return failed(job, describeFailure(failure), now);
  return failed(
    job,
    job.phase === "verifying"
      ? "Cattle did not answer for 30 minutes while the new containers were watched; the upgrade is left for you to finish or roll back"
      : "Cattle did not answer for 30 minutes",
    now,
  );
}

const waitOrStall = (job: UpgradeJob, service: Service, now: number): Step => ({
  job: stalled(job, now) ? failed(job, `no progress for 30 minutes (service is ${service.state})`, now) : job,
});

/** Cattle ended the upgrade (or its finish) in an error: roll back, or record the failure. */
function upgradeError(job: UpgradeJob, service: Service, now: number): Step {
  const message = service.transitioningMessage || `service ${job.serviceId} reported an error`;
  if (verifySettings(job.settings).rollbackOnFailure) {
    return {
      job: moved(job, "rollingBack", now, { message: `Cattle ended the upgrade in an error: ${message}` }),
      action: "rollback",
    };
  }
  return { job: failed(job, message, now) };
}

/**
 * The service left the upgrade without rancher-hooks (finished, rolled back or canceled in Rancher):
 * it is followed to its end and told as it ended, not judged.
 */
function movedOutside(job: UpgradeJob, service: Service, now: number): Step | null {
  switch (service.state) {
    case "finishing-upgrade":
      return { job: moved(job, "finishing", now) };
    case "rolling-back":
      return { job: moved(job, "rollingBack", now, { message: "rolled back outside rancher-hooks" }) };
    case "active":
      return runsTag(service, job.repository, job.tag)
        ? { job: moved(job, "done", now, { message: "finished outside rancher-hooks" }) }
        : rolledBackOutside(job, service, now);
    case "canceled-upgrade":
      return { job: failed(job, CANCELED, now) };
    default:
      return null;
  }
}

/** A cancel in Rancher is a person taking the upgrade over: it is theirs to continue or roll back. */
const CANCELED =
  "the upgrade was canceled in Rancher; the service is left canceled-upgrade for you to continue or roll back";

const rolledBackOutside = (job: UpgradeJob, service: Service, now: number): Step => ({
  job: moved(job, "rolledBack", now, {
    message: `rolled back outside rancher-hooks: the service runs ${runningImage(service, job.repository) ?? "another image"}`,
  }),
});

async function upgrading(
  job: UpgradeJob,
  service: Service,
  cattle: CattleApi,
  now: number,
  time: () => number,
): Promise<Step> {
  if (service.transitioning === "error") return upgradeError(job, service, now);
  if (service.state === "upgraded") {
    const watch: Watch = {
      since: now,
      ...newOf(job, service),
      // Restarts seen while Cattle was still replacing containers count on.
      starts: job.early?.starts ?? {},
      seen: now,
    };
    // The first look at the new containers comes at once: with healthySeconds 0 it may finish now.
    const { early: _early, ...rest } = job;
    return verifying(moved(rest, "verifying", now, { watch }), service, cattle, time);
  }
  if (service.state === "upgrading" && verifySettings(job.settings).rollbackOnFailure) {
    return watchWhileUpgrading(job, service, cattle, time);
  }
  return movedOutside(job, service, now) ?? waitOrStall(job, service, now);
}

/** The upgrade's new containers: those of the launch configs it moved to the pushed tag. */
function newOf(job: UpgradeJob, service: Service): Pick<Watch, "versions" | "image"> {
  return {
    versions: configsOf(service, job.repository)
      .filter((config) => parseImage(config.imageUuid)?.tag === job.tag)
      .map((config) => config.version)
      .filter((version): version is string => typeof version === "string" && version !== ""),
    image: image(job.repository, job.tag),
  };
}

/**
 * While Cattle replaces the containers, those already replaced are looked at too: an image that
 * never gets well would otherwise keep a Cattle that waits for health between batches `upgrading`
 * until the upgrade is given up, half done. Only with rollbackOnFailure, as a rollback is all such a
 * look can lead to.
 */
async function watchWhileUpgrading(
  job: UpgradeJob,
  service: Service,
  cattle: CattleApi,
  time: () => number,
): Promise<Step> {
  const listed = await cattle.listInstances(job.projectId, job.serviceId);
  const now = time();
  if (!listed.ok) return waitOrStall(job, service, now);
  const early = job.early ?? { starts: {}, firstSeen: {} };
  const verdict = judgeEarly(
    early,
    newOf(job, service),
    listed.value.data,
    verifySettings(job.settings),
    now,
  );
  if (verdict.kind === "failed") {
    return { job: moved(job, "rollingBack", now, { message: verdict.reason }), action: "rollback" };
  }
  const learned =
    Object.keys(verdict.early.starts).length !== Object.keys(early.starts).length ||
    Object.keys(verdict.early.firstSeen).length !== Object.keys(early.firstSeen).length;
  if (learned && !stalled(job, now)) return { job: { ...job, early: verdict.early } };
  return waitOrStall(job, service, now);
}

async function verifying(
  job: UpgradeJob,
  service: Service,
  cattle: CattleApi,
  time: () => number,
): Promise<Step> {
  const read = time();
  if (service.transitioning === "error") return upgradeError(job, service, read);
  if (service.state !== "upgraded")
    return movedOutside(job, service, read) ?? waitOrStall(job, service, read);
  const watch = job.watch as Watch;
  const listed = await cattle.listInstances(job.projectId, job.serviceId);
  // The containers are judged as of when Cattle's answer came, however long the list took.
  const now = time();
  if (!listed.ok) return { job: unreadable(job, listed.failure, now) };
  const settings = verifySettings(job.settings);
  const verdict = judge(watch, listed.value.data, settings, service.scale, now);
  switch (verdict.kind) {
    case "passed":
      return { job: moved(job, "finishing", now), action: "finishupgrade" };
    case "failed":
      if (settings.rollbackOnFailure) {
        return { job: moved(job, "rollingBack", now, { message: verdict.reason }), action: "rollback" };
      }
      return { job: moved(job, "finishing", now, { verdict: verdict.reason }), action: "finishupgrade" };
    case "watching": {
      const seen = now - watch.seen >= SEEN_EVERY_MS;
      if (!seen && !watchChanged(watch, verdict.watch)) return { job };
      return { job: { ...job, watch: { ...verdict.watch, seen: seen ? now : watch.seen } } };
    }
  }
}

/** An action decided earlier and not taken yet, sent again until Cattle takes it or STALL_MS has passed. */
function resend(job: UpgradeJob, action: FollowAction, now: number): Step {
  if (!stalled(job, now)) return { job, action };
  const what = action === "rollback" ? "the rollback" : "the finish of the upgrade";
  return { job: failed(job, `Cattle did not take ${what} in 30 minutes`, now) };
}

function finishing(job: UpgradeJob, service: Service, now: number): Step {
  if (service.transitioning === "error") {
    return {
      job: failed(
        job,
        `Cattle could not finish the upgrade: ${service.transitioningMessage ?? "error"}`,
        now,
      ),
    };
  }
  // The finish was decided and written down, but Cattle has not taken it yet: send it (again).
  if (service.state === "upgraded") return resend(job, "finishupgrade", now);
  if (service.state === "canceled-upgrade") return { job: failed(job, CANCELED, now) };
  if (service.state === "active") {
    // Rolled back by hand before Cattle took the finish: told as rolled back, as it is.
    if (endedOn(job, service) === "previous") return rolledBackOutside(job, service, now);
    if (job.verdict === undefined) return { job: moved(job, "done", now) };
    return {
      job: failed(
        job,
        `the new containers failed their checks (${job.verdict}); the upgrade was finished all the same because rollbackOnFailure is off`,
        now,
      ),
    };
  }
  return waitOrStall(job, service, now);
}

function rollingBack(job: UpgradeJob, service: Service, now: number): Step {
  const state = service.state ?? "";
  // The rollback was decided and written down, but Cattle has not taken it yet: send it (again) —
  // unless the service is now upgrading to another image: it was rolled back between two looks and
  // someone has started an upgrade of their own since, which is not this rollback's to undo.
  if (ROLLBACK_STARTS.includes(state)) {
    if (!runsTag(service, job.repository, job.tag)) {
      return {
        job: moved(job, "rolledBack", now, {
          message: `${job.message ?? "rolled back"}; the service has since been upgraded outside rancher-hooks to ${runningImage(service, job.repository) ?? "another image"}`,
        }),
      };
    }
    return resend(job, "rollback", now);
  }
  if (state === "rolling-back" && service.transitioning === "error") {
    return { job: failed(job, `the rollback failed: ${service.transitioningMessage ?? "error"}`, now) };
  }
  if (state === "active") {
    // Finished by hand before Cattle took the rollback: the new image runs, and nothing was rolled
    // back to remember; the new containers' failure is still what the execution says.
    if (endedOn(job, service) === "new") {
      return {
        job: failed(
          job,
          `the new containers failed their checks (${job.message ?? "see the upgrade's steps"}); the upgrade was finished outside rancher-hooks before the rollback was taken`,
          now,
        ),
      };
    }
    return { job: moved(job, "rolledBack", now) };
  }
  return waitOrStall(job, service, now);
}

/**
 * Which launch configs a service that is `active` again ended on: the upgrade's (it was finished)
 * or the previous ones (it was rolled back). Cattle's rollback restores the previous configs whole,
 * versions included, so the versions the watch recorded tell them apart even when both run the
 * same tag; without versions the tag does, unless the upgrade kept the tag (a new digest).
 */
function endedOn(job: UpgradeJob, service: Service): "new" | "previous" | "unknown" {
  const configs = configsOf(service, job.repository);
  const versions = job.watch?.versions ?? [];
  if (versions.length > 0 && configs.length > 0) {
    return configs.some((config) => typeof config.version === "string" && versions.includes(config.version))
      ? "new"
      : "previous";
  }
  const previousTag = job.previousImage ? parseImage(`docker:${job.previousImage}`)?.tag : undefined;
  if (previousTag === job.tag) return "unknown";
  return runsTag(service, job.repository, job.tag) ? "new" : "previous";
}

/**
 * Plans the upgrade from the service as it is now (an earlier push may have changed it); the
 * executor sends it. An upgrade sent earlier without an answer is not sent again while Cattle may
 * still take it: the next look shows whether it did.
 */
function start(job: UpgradeJob, service: Service, now: number): Step {
  // An upgrade action whose answer was lost: Cattle shows the service upgrading to this very image.
  if (UPGRADE_STATES.has(service.state ?? "") && runsTag(service, job.repository, job.tag)) {
    const previous = service.upgrade?.inServiceStrategy?.previousLaunchConfig?.imageUuid;
    const parsed = parseImage(previous ?? undefined);
    return {
      job: moved(
        job,
        "upgrading",
        now,
        parsed ? { previousImage: image(parsed.repository, parsed.tag) } : {},
      ),
    };
  }
  if (service.state !== "active") {
    // Another upgrade or an update is running; a queued push waits for the service to settle.
    return {
      job:
        now - job.progressed > STALL_MS
          ? failed(job, `service stayed ${service.state} for 30 minutes`, now)
          : job,
    };
  }
  if (inDoubt(job, now)) return { job };
  // The service may have moved since the push was queued (by hand, or by another receiver): a
  // policy looks again, so that nothing older than what runs now replaces it.
  const policy = job.settings.policy;
  if (isSemanticPolicy(policy)) {
    const running = runningTag(service, job.repository);
    if (running === job.tag && runsTag(service, job.repository, job.tag))
      return {
        job: moved(job, "done", now, { message: `service ${job.serviceId} already runs ${job.tag}` }),
      };
    const verdict = admits(policy, running, job.tag);
    if (!verdict.ok) return { job: moved(job, "skipped", now, { message: verdict.reason }) };
  }
  const request = planServiceUpgrade(service, job.repository, job.tag, job.settings);
  if (!request)
    return { job: failed(job, `service ${job.serviceId} no longer runs an image of ${job.repository}`, now) };
  const previousImage = runningImage(service, job.repository);
  return { job, upgrade: { request, ...(previousImage ? { previousImage } : {}) } };
}
