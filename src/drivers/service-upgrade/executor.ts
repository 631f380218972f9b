import { describeFailure, isTransient } from "../../cattle/failures";
import type { Delivery } from "../../domain/delivery";
import { type Execution, failed, ignored } from "../../domain/execution";
import type { TriggerResult } from "../../domain/ports";
import type { LiveReceiverOf } from "../../domain/receiver";
import type { Executor, ExecutorContext } from "../definition";
import { noMatchReason, planServiceUpgrade, tagMatches } from "./images";
import { advance, isOpen, type UpgradeJob, UpgradeQueue } from "./upgrade-queue";

type UpgradeReceiver = LiveReceiverOf<"serviceUpgrade">;

/** How long finding the services a push concerns may take before the push is answered 503. */
const LIST_DEADLINE_MS = 6_000;
const RETRY_AFTER_SECONDS = 5;
/** How often a running upgrade is looked at, at most and at least. */
const UPGRADE_POLL_MIN_MS = 250;
const UPGRADE_POLL_MAX_MS = 5_000;

/**
 * The upgrades of one environment. A push is decided at once (ignored, or queued for the services
 * it concerns); alarms then follow each service's upgrade to its end and close the execution.
 */
export class ServiceUpgradeExecutor implements Executor<"serviceUpgrade"> {
  readonly #context: ExecutorContext;
  readonly #upgrades: UpgradeQueue;

  constructor(context: ExecutorContext) {
    this.#context = context;
    this.#upgrades = new UpgradeQueue(context.storage.sql);
  }

  async decide(receiver: UpgradeReceiver, delivery: Delivery): Promise<TriggerResult> {
    const { config } = receiver;
    const { clock, history } = this.#context;
    const ignore = (reason: string) =>
      history.record([{ receiver, delivery, decision: ignored(reason) }])[0] as TriggerResult;
    if (delivery.ignoredBecause) return ignore(delivery.ignoredBecause);
    const push = delivery.push;
    if (!push) return ignore("the delivery is not a registry push");
    const tag = push.tags.find((candidate) => tagMatches(config.tag, candidate));
    if (tag === undefined) return ignore(`pushed tag ${push.tags.join(", ")} does not match ${config.tag}`);

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
    const concerned = listed.value.data.filter(
      (service) => planServiceUpgrade(service, push.repository, tag, config) !== null,
    );
    if (concerned.length === 0) return ignore(noMatchReason(config.serviceSelector, push.repository));

    const names = concerned.map((service) => `${service.id} (${service.name})`).join(", ");
    const now = clock.now();
    const decision = {
      outcome: "queued" as const,
      reason: `upgrading ${names} to ${push.repository}:${tag}`,
    };
    const [result] = history.record([{ receiver, delivery, decision }], ([execution]) => {
      for (const service of concerned) {
        this.#upgrades.add({
          executionId: execution?.id ?? "",
          receiverId: receiver.id,
          projectId: receiver.projectId,
          serviceId: service.id,
          serviceName: service.name,
          repository: push.repository,
          tag,
          settings: config,
          phase: "waiting",
          progressed: now,
        });
      }
    });
    await this.#context.storage.setAlarm(now);
    return result as TriggerResult;
  }

  /** Advances every running upgrade one step and comes back while any is still open. */
  async alarm(): Promise<void> {
    const { clock, storage } = this.#context;
    const now = clock.now();
    const cattle = this.#context.cattle(now + LIST_DEADLINE_MS);
    for (const job of this.#upgrades.heads()) {
      const next = await advance(job, cattle, now);
      if (next.phase === job.phase && next.progressed === job.progressed) continue;
      storage.transactionSync(() => {
        this.#upgrades.save(next);
        if (!isOpen(next)) this.#close(next.executionId);
      });
    }
    this.#upgrades.prune(now);
    if (this.#upgrades.hasOpen()) {
      const interval = Math.min(
        ...this.#upgrades.heads().map((job) => job.settings.intervalMillis),
        UPGRADE_POLL_MAX_MS,
      );
      await storage.setAlarm(clock.now() + Math.max(UPGRADE_POLL_MIN_MS, Math.round(interval / 2)));
    }
  }

  /** Once every upgrade of a push has ended, its execution says how: applied, or failed and why. */
  #close(executionId: string): void {
    const jobs = this.#upgrades.ofExecution(executionId);
    if (jobs.some(isOpen)) return;
    const failures = jobs.filter((job) => job.phase === "failed");
    const first = jobs[0] as UpgradeJob;
    const target = `${first.repository}:${first.tag}`;
    const finished = this.#context.clock.now();
    this.#context.history.rewrite(
      executionId,
      (execution): Execution =>
        failures.length === 0
          ? {
              ...execution,
              outcome: "applied",
              reason: `upgraded ${jobs.map((job) => `${job.serviceId} (${job.serviceName})`).join(", ")} to ${target}`,
              finished,
            }
          : {
              ...execution,
              outcome: "failed",
              reason: failures
                .map(
                  (job) =>
                    `upgrade of ${job.serviceId} (${job.serviceName}) to ${target} failed: ${job.message}`,
                )
                .join("; "),
              finished,
            },
    );
  }
}
