import type { CattleApi } from "../../cattle/client";
import { cattleAnswered, describeFailure, isTransient, meaningOf } from "../../cattle/failures";
import type { CattleResult, Service } from "../../cattle/types";
import type { Delivery, Push } from "../../domain/delivery";
import { type Execution, failed, ignored, type UpgradeProgress } from "../../domain/execution";
import type { TriggerResult } from "../../domain/ports";
import type { LiveReceiverOf } from "../../domain/receiver";
import { clipEcho } from "../../util/echo";
import type { Executor, ExecutorContext } from "../definition";
import { advance, type FollowAction, failed as failedJob, moved, type Step } from "./follow";
import {
  digestOf,
  mergeDigests,
  noMatchReason,
  normalizeRepository,
  planServiceUpgrade,
  runningTag,
  tagMatches,
  type UpgradeRequest,
} from "./images";
import { isSemanticPolicy, newestAdmitted, parseVersion } from "./policy";
import { inDoubt, isOpen, type UpgradeJob, UpgradeQueue } from "./upgrade-queue";
import { verifySettings } from "./verify";

type UpgradeReceiver = LiveReceiverOf<"serviceUpgrade">;

/** How long finding the services a push concerns may take before the push is answered 503. */
const LIST_DEADLINE_MS = 6_000;
const RETRY_AFTER_SECONDS = 5;
/** How often a running upgrade is looked at, at most and at least. */
const UPGRADE_POLL_MIN_MS = 250;
const UPGRADE_POLL_MAX_MS = 5_000;

/**
 * How soon a job wants its next look: an upgrade about half a batch interval on, a watch over new
 * containers a quarter of the time they must stay healthy (so that the finish comes soon after).
 */
function pollMs(job: UpgradeJob): number {
  const wanted =
    job.phase === "verifying"
      ? verifySettings(job.settings).healthySeconds * 250
      : Math.round(job.settings.intervalMillis / 2);
  return Math.min(UPGRADE_POLL_MAX_MS, Math.max(UPGRADE_POLL_MIN_MS, wanted));
}

/**
 * The pushes a receiver considers, their tags narrowed to those its pattern matches (and, under a
 * semantic policy, to versions), the pushes of one repository merged; or why none is left.
 */
function wantedPushes(
  pushes: readonly Push[],
  config: UpgradeReceiver["config"],
): { ok: true; pushes: Push[] } | { ok: false; reason: string } {
  const byRepository = new Map<string, Push>();
  for (const push of pushes) {
    const tags = push.tags.filter((tag) => config.tag === undefined || tagMatches(config.tag, tag));
    const key = normalizeRepository(push.repository);
    const known = byRepository.get(key);
    const digests = mergeDigests(known?.digests, push.digests);
    byRepository.set(key, {
      repository: known?.repository ?? push.repository,
      tags: [...(known?.tags ?? []), ...tags],
      ...(digests ? { digests } : {}),
    });
  }
  const all = pushes.flatMap((push) => push.tags).join(", ");
  const matching = [...byRepository.values()].filter((push) => push.tags.length > 0);
  if (matching.length === 0) return { ok: false, reason: `pushed tag ${all} does not match ${config.tag}` };
  if (!isSemanticPolicy(config.policy)) return { ok: true, pushes: matching };
  const versions = matching
    .map((push) => ({ ...push, tags: push.tags.filter((tag) => parseVersion(tag) !== null) }))
    .filter((push) => push.tags.length > 0);
  if (versions.length === 0)
    return { ok: false, reason: `pushed tag ${all} is not a semantic version (policy ${config.policy})` };
  return { ok: true, pushes: versions };
}

/**
 * The upgrades of one environment. A push is decided at once (ignored, or queued for the services
 * it concerns); alarms then follow each service's upgrade to its end and close the execution.
 */
export class ServiceUpgradeExecutor implements Executor<"serviceUpgrade"> {
  readonly #context: ExecutorContext;
  readonly #upgrades: UpgradeQueue;
  /** The alarm under way, which the next one waits for. */
  #alarm: Promise<void> = Promise.resolve();

  constructor(context: ExecutorContext) {
    this.#context = context;
    this.#upgrades = new UpgradeQueue(context.storage.sql);
    // Only the alarm moves an upgrade on. One lost while the object was away (its retries spent, or
    // taken by a release that refused this storage) would leave open upgrades, and their executions
    // queued, until the next push: whoever wakes the object sets it again.
    if (this.#upgrades.hasOpen()) void context.storage.setAlarm(context.clock.now());
  }

  async decide(receiver: UpgradeReceiver, delivery: Delivery): Promise<TriggerResult> {
    const { config } = receiver;
    const { clock, history } = this.#context;
    const ignore = (reason: string) =>
      history.record([{ receiver, delivery, decision: ignored(reason) }])[0] as TriggerResult;
    if (delivery.ignoredBecause) return ignore(delivery.ignoredBecause);
    const pushes = delivery.pushes ?? [];
    if (pushes.length === 0) return ignore("the delivery is not a registry push");
    const wanted = wantedPushes(pushes, config);
    if (!wanted.ok) return ignore(wanted.reason);

    const listed = await this.#context
      .cattle(clock.now() + LIST_DEADLINE_MS)
      .listServices(receiver.projectId);
    if (!listed.ok) {
      // Refused credentials will not mend by retrying: the push is answered failed, and recorded.
      if (!isTransient(listed.failure)) {
        const decision = failed(describeFailure(listed.failure));
        return history.record([{ receiver, delivery, decision }])[0] as TriggerResult;
      }
      return {
        kind: "unavailable",
        message: describeFailure(listed.failure),
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      };
    }
    const plans: Plan[] = [];
    const refusals: string[] = [];
    const now = clock.now();
    for (const service of listed.value.data) {
      for (const push of wanted.pushes) {
        const tag = this.#tagFor(service, push, config);
        if (tag === null) continue;
        if (!tag.ok) {
          refusals.push(`${service.id} (${service.name}): ${tag.reason}`);
          continue;
        }
        const digest = digestOf(push, tag.tag);
        const rolledBack = this.#upgrades.rolledBack(service.id, push.repository, tag.tag, digest, now);
        if (rolledBack) {
          refusals.push(
            `${service.id} (${service.name}): ${rolledBackNote(push.repository, tag.tag, rolledBack)}`,
          );
          continue;
        }
        plans.push({ service, repository: push.repository, tag: tag.tag, ...(digest ? { digest } : {}) });
      }
    }
    if (plans.length === 0) {
      return ignore(
        refusals.length > 0
          ? refusals.join("; ")
          : noMatchReason(config.serviceSelector, wanted.pushes.map((push) => push.repository).join(", ")),
      );
    }

    const jobs = plans.map(
      ({ service, repository, tag, digest }): UpgradeJob => ({
        executionId: "",
        receiverId: receiver.id,
        projectId: receiver.projectId,
        serviceId: service.id,
        serviceName: service.name,
        repository,
        tag,
        ...(digest ? { digest } : {}),
        settings: config,
        phase: "waiting",
        progressed: now,
        steps: [{ step: "waiting", at: now }],
      }),
    );
    const decision = {
      outcome: "queued" as const,
      reason: [`upgrading ${describePlans(plans)}`, ...refusals].join("; "),
      upgrades: jobs.map(progressOf),
    };
    const [result] = history.record([{ receiver, delivery, decision }], ([execution]) => {
      for (const job of jobs) this.#upgrades.add({ ...job, executionId: execution?.id ?? "" });
    });
    await this.#context.storage.setAlarm(now);
    return result as TriggerResult;
  }

  /**
   * The pushed tag `service` would move to, or why its policy refuses every one; null if the
   * service is not concerned (other labels, another image).
   */
  #tagFor(service: Service, push: Push, config: UpgradeReceiver["config"]): Verdict | null {
    const first = push.tags[0] as string;
    if (planServiceUpgrade(service, push.repository, first, config) === null) return null;
    if (!isSemanticPolicy(config.policy)) return { ok: true, tag: first };
    const queued = this.#upgrades.queuedTags(service.id, push.repository);
    return newestAdmitted(config.policy, runningTag(service, push.repository), push.tags, queued);
  }

  /**
   * Advances every running upgrade one step and comes back while any is still open. A step that
   * decides on a Cattle action is stored first and the action sent after (docs/upgrades.md).
   *
   * One alarm at a time: a Durable Object never starts an alarm while one runs, but the Deno
   * runtime's objects may (a push sets the alarm while Cattle is slow to answer). Two alarms
   * advancing one job would each act on what they read, and the slower one would undo the other.
   */
  alarm(): Promise<void> {
    const run = this.#alarm.then(() => this.#advanceAll());
    this.#alarm = run.catch(() => {});
    return run;
  }

  async #advanceAll(): Promise<void> {
    const { clock, storage } = this.#context;
    const now = clock.now();
    for (const head of this.#upgrades.heads()) {
      // A finish or rollback of the service's previous upgrade, sent and never answered, could
      // still land on this one: it starts once Cattle can no longer take it.
      const previous = head.phase === "waiting" ? this.#upgrades.before(head) : undefined;
      if (previous && inDoubt(previous, clock.now())) continue;
      // A queued push's turn comes when the upgrade before it ends: its 30 minutes count from then,
      // not from the push, however long that upgrade and its watch took.
      const job =
        previous && previous.progressed > head.progressed
          ? { ...head, progressed: previous.progressed }
          : head;
      // Each service's step has Cattle's time of its own: a slow answer for one service leaves the
      // others theirs.
      const cattle = this.#context.cattle(clock.now() + LIST_DEADLINE_MS);
      const {
        job: next,
        action,
        upgrade,
      } = this.#rolledBackMeanwhile(job, now) ?? (await advance(job, cattle, () => clock.now()));
      if (next !== job) this.#save(job, next);
      if (action) await this.#act(next, action, cattle);
      else if (upgrade) await this.#start(next, upgrade.request, upgrade.previousImage, cattle);
    }
    this.#upgrades.prune(now);
    const open = this.#upgrades.heads();
    if (open.length > 0) await storage.setAlarm(clock.now() + Math.min(...open.map(pollMs)));
  }

  /**
   * A push queued behind an upgrade of the same image that was then rolled back would put the
   * service straight back on that image: when its turn comes it is skipped, as the push would have
   * been ignored had it come after the rollback (docs/upgrades.md, "Health checks and rollback").
   */
  #rolledBackMeanwhile(job: UpgradeJob, now: number): Step | null {
    if (job.phase !== "waiting") return null;
    const rolledBack = this.#upgrades.rolledBack(job.serviceId, job.repository, job.tag, job.digest, now);
    if (!rolledBack) return null;
    return {
      job: moved(job, "skipped", now, { message: rolledBackNote(job.repository, job.tag, rolledBack) }),
    };
  }

  /** Sends an action decided and stored; only Cattle refusing it outright ends the job. */
  async #act(job: UpgradeJob, action: FollowAction, cattle: CattleApi): Promise<void> {
    const { job: after, sent } = await this.#send(job, action, undefined, cattle);
    const meaning = sent.ok ? "done" : meaningOf(sent.failure);
    // The service's key refused (a rotation half done) is waited out as Cattle being away is: the
    // decision stays and is sent again until it is taken or 30 minutes have passed.
    if (sent.ok || meaning === "transient" || meaning === "unauthorized" || meaning === "forbidden")
      return this.#save(job, after);
    const what = action === "rollback" ? "roll back" : "finish the upgrade";
    const why = meaning === "refused" ? sent.failure.message : describeFailure(sent.failure);
    this.#save(job, failedJob(after, `Cattle refused to ${what}: ${why}`, this.#context.clock.now()));
  }

  /** Starts the upgrade planned: the job is upgrading once Cattle took it, failed if Cattle refused it. */
  async #start(
    job: UpgradeJob,
    request: UpgradeRequest,
    previousImage: string | undefined,
    cattle: CattleApi,
  ): Promise<void> {
    const sentAt = this.#context.clock.now();
    const { job: after, sent } = await this.#send(job, "upgrade", request, cattle);
    if (sent.ok)
      return this.#save(job, moved(after, "upgrading", sentAt, previousImage ? { previousImage } : {}));
    if (meaningOf(sent.failure) === "refused") {
      return this.#save(job, failedJob(after, `Cattle refused the upgrade: ${sent.failure.message}`, sentAt));
    }
    this.#save(job, after);
  }

  /**
   * Sends an action, with the time written down first: should the answer never come (or the
   * object die waiting for it), Cattle may still take it later, and nothing must be sent to the
   * service that it could land on until it can no longer (ACTION_FATE_WINDOW_MS).
   */
  async #send(
    job: UpgradeJob,
    action: string,
    body: unknown,
    cattle: CattleApi,
  ): Promise<{ job: UpgradeJob; sent: CattleResult<unknown> }> {
    const at = this.#context.clock.now();
    // A send still written down is one whose object died before its answer came: unanswered, and
    // an answer to this one says nothing of it.
    const { sending: cutShort, ...rest } = job;
    const earlier = Math.max(
      cutShort ?? Number.NEGATIVE_INFINITY,
      job.unanswered ?? Number.NEGATIVE_INFINITY,
    );
    const before = earlier === Number.NEGATIVE_INFINITY ? rest : { ...rest, unanswered: earlier };
    this.#upgrades.save({ ...before, sending: at });
    const sent = await cattle.serviceAction(job.projectId, job.serviceId, action, body);
    const answered = sent.ok || cattleAnswered(sent.failure);
    return { job: answered ? before : { ...before, unanswered: at }, sent };
  }

  /** Stores a job's next state; a new step is shown in its execution at once, with the ending if it was the last. */
  #save(before: UpgradeJob, next: UpgradeJob): void {
    this.#context.storage.transactionSync(() => {
      this.#upgrades.save(next);
      if (next.phase !== before.phase) this.#progress(next.executionId);
    });
  }

  /** The execution shows every upgrade's steps; once all have ended it says how: applied, rolled back, … */
  #progress(executionId: string): void {
    const jobs = this.#upgrades.ofExecution(executionId);
    const ended = !jobs.some(isOpen);
    const finished = this.#context.clock.now();
    this.#context.history.rewrite(
      executionId,
      (execution): Execution => ({
        ...execution,
        upgrades: jobs.map(progressOf),
        ...(ended ? { ...closing(jobs), finished } : {}),
      }),
    );
  }
}

type Plan = { service: Service; repository: string; tag: string; digest?: string };

/** Why an image a service rolled back does not upgrade it again, and what would. */
const rolledBackNote = (repository: string, tag: string, rolledBack: UpgradeJob): string =>
  `${repository}:${tag} was rolled back at ${new Date(rolledBack.progressed).toISOString()} (${rolledBack.message ?? "its new containers failed"}); push another tag or digest to upgrade`;
type Verdict = { ok: true; tag: string } | { ok: false; reason: string };

const named = (job: { serviceId: string; serviceName: string }) => `${job.serviceId} (${job.serviceName})`;

/** `1s5 (web), 1s6 (api) to team/web:1.4.3; 1s7 (db) to …`, one group per image. */
function describePlans(
  plans: readonly { serviceId: string; serviceName: string; repository: string; tag: string }[] | Plan[],
): string {
  const groups = new Map<string, string[]>();
  for (const plan of plans) {
    const job = "service" in plan ? { serviceId: plan.service.id, serviceName: plan.service.name } : plan;
    const image = `${plan.repository}:${plan.tag}`;
    groups.set(image, [...(groups.get(image) ?? []), named(job)]);
  }
  return [...groups].map(([image, services]) => `${services.join(", ")} to ${image}`).join("; ");
}

/** One job as its execution shows it. */
function progressOf(job: UpgradeJob): UpgradeProgress {
  return {
    serviceId: job.serviceId,
    serviceName: job.serviceName,
    image: `${job.repository}:${job.tag}`,
    ...(job.previousImage ? { previousImage: job.previousImage } : {}),
    steps: job.steps ?? [],
    // The message quotes Cattle (its containers' names, its error messages): clipped like a reason.
    ...(job.message && !isOpen(job) ? { message: clipEcho(job.message) } : {}),
  };
}

/**
 * How the upgrades of one push ended, in one execution: failed if any failed (the service may be
 * left half way), else rolled back if any was, else applied; ignored when every one was skipped.
 */
function closing(jobs: UpgradeJob[]): Pick<Execution, "outcome" | "reason"> {
  const failures = jobs.filter((job) => job.phase === "failed");
  const rolledBack = jobs.filter((job) => job.phase === "rolledBack");
  const done = jobs.filter((job) => job.phase === "done");
  const notes = [
    ...failures.map(
      (job) => `upgrade of ${named(job)} to ${job.repository}:${job.tag} failed: ${job.message}`,
    ),
    ...rolledBack.map(
      (job) =>
        `rolled back ${named(job)} from ${job.repository}:${job.tag}${job.previousImage ? ` to ${job.previousImage}` : ""}: ${job.message}`,
    ),
    ...(done.length > 0 ? [`upgraded ${describePlans(done)}`] : []),
    ...jobs.filter((job) => job.phase === "skipped").map((job) => `${named(job)} skipped: ${job.message}`),
  ];
  const reason = notes.join("; ");
  if (failures.length > 0) return { outcome: "failed", reason };
  if (rolledBack.length > 0) return { outcome: "rolledBack", reason };
  if (done.length === 0) return { outcome: "ignored", reason };
  return { outcome: "applied", reason };
}
