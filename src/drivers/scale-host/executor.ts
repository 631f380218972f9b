import { describeFailure, fateUnknown, isTransient } from "../../cattle/failures";
import type { CattleFailure, Host } from "../../cattle/types";
import type { Delivery } from "../../domain/delivery";
import { failed } from "../../domain/execution";
import type { LiveReceiverOf } from "../../domain/receiver";
import type { Executor, ExecutorContext } from "../definition";
import { CountQueue, plannedTrigger, type QueuedTrigger, unavailable } from "../shared/count-queue";
import { type BatchStep, planBatch } from "../shared/scaling";
import { changedBy, HostSteps, LEAVING_STATES } from "./host-steps";
import {
  cloneSourceOf,
  groupOf,
  hostCreateBody,
  hostnamesInUse,
  hostsToRemove,
  nextHostnames,
} from "./hosts";
import { LeavingHosts } from "./leaving-hosts";

type HostReceiver = LiveReceiverOf<"scaleHost">;
type Item = QueuedTrigger<HostReceiver>;

/** How long one host step may take Cattle before it is answered 503. */
const STEP_DEADLINE_MS = 6_000;
/** When the alarm looks again at a step a restart interrupted, if Cattle could not be asked. */
const RETRY_MS = 5_000;

/**
 * A host group's size. Host changes are slow and rare, so triggers are applied one at a time, each
 * exact: read the group, plan the step, then create or evacuate hosts one by one. A step that
 * Cattle carries out only in part is recorded as far as it went.
 */
export class ScaleHostExecutor implements Executor<"scaleHost"> {
  readonly #context: ExecutorContext;
  readonly #queue: CountQueue<HostReceiver>;
  readonly #leaving: LeavingHosts;
  readonly #steps: HostSteps;
  #settling: Promise<void> | undefined;

  constructor(context: ExecutorContext) {
    this.#context = context;
    this.#leaving = new LeavingHosts(context.storage.sql);
    this.#steps = new HostSteps(context.storage.sql);
    this.#queue = new CountQueue(context, async (batch) => {
      for (const item of batch) await this.#apply(item);
    });
    this.#restore();
  }

  /**
   * A step the object was carrying out when it stopped was never recorded, nor was its delivery's
   * identity: a retry of it would be admitted and change hosts a second time. It is recorded
   * `pending` now, before any delivery is admitted (the retry is answered `deduplicated`), and
   * settled from what Cattle's hosts show, by the alarm or before the next step, whichever comes
   * first (docs/how-it-works.md, "Crashes and restarts").
   */
  #restore(): void {
    const step = this.#steps.underWay();
    if (!step) return;
    const { history, clock, storage } = this.#context;
    if (!step.executionId) {
      const receiver = this.#context.live(step.receiverId, step.version);
      if (!receiver) {
        // Deleted or regenerated since: its URL is refused, so no retry of it is admitted.
        this.#steps.end();
        return;
      }
      const reason =
        "the service restarted while this step was under way; Cattle's hosts tell how far it went";
      history.record(
        [{ receiver, delivery: step.delivery, decision: { outcome: "pending", reason } }],
        ([execution]) => this.#steps.begin({ ...step, executionId: execution?.id }),
      );
    }
    void storage.setAlarm(clock.now());
  }

  alarm(): Promise<void> {
    return this.#settleInterrupted();
  }

  /** Settles the step a restart interrupted, if there is one, once: the alarm and the next step share it. */
  #settleInterrupted(): Promise<void> {
    this.#settling ??= this.#settleFromHosts().finally(() => {
      this.#settling = undefined;
    });
    return this.#settling;
  }

  async #settleFromHosts(): Promise<void> {
    const step = this.#steps.underWay();
    if (!step?.executionId) return;
    const { clock, storage } = this.#context;
    const listed = await this.#context.cattle(clock.now() + STEP_DEADLINE_MS).listHosts(step.projectId);
    if (!listed.ok && isTransient(listed.failure)) {
      void storage.setAlarm(clock.now() + RETRY_MS);
      return;
    }
    const changed = listed.ok ? changedBy(step, listed.value.data) : [];
    const wanted = step.change.kind === "add" ? step.change.hostnames.length : step.change.hosts.length;
    const verb = step.change.kind === "add" ? "added" : "removed";
    const to = step.from + (step.change.kind === "add" ? 1 : -1) * changed.length;
    const finished = clock.now();
    const decision =
      changed.length === 0
        ? {
            outcome: "failed" as const,
            reason: listed.ok
              ? "the service restarted before this step changed any host; nothing was applied"
              : describeFailure(listed.failure),
          }
        : {
            outcome: "applied" as const,
            reason:
              changed.length === wanted
                ? `${step.reason}: ${verb} ${changed.join(", ")}`
                : `${verb} ${changed.length} of ${wanted} hosts (${changed.join(", ")}), then the service restarted`,
          };
    storage.transactionSync(() => {
      const { history } = this.#context;
      const kept = history.rewrite(step.executionId as string, (execution) => ({
        ...execution,
        ...decision,
        from: step.from,
        to,
        finished,
      }));
      // A receiver deleted meanwhile took its history with it: no cooldown is kept for it either.
      if (kept && changed.length > 0) history.applied(new Map([[step.receiverId, step.started]]));
      this.#steps.end();
    });
  }

  decide(receiver: HostReceiver, delivery: Delivery) {
    return this.#queue.decide(receiver, delivery);
  }

  async #apply(item: Item): Promise<void> {
    // A step of before a restart is settled first: the group is planned from what it left, and
    // the step's record is not replaced while it is owed an outcome.
    await this.#settleInterrupted();
    if (this.#steps.underWay()) {
      return unavailable(item, "Cattle did not answer; a step interrupted by a restart is not settled yet");
    }
    const { clock, history, storage } = this.#context;
    const { config, projectId } = item.receiver;
    const cattle = this.#context.cattle(clock.now() + STEP_DEADLINE_MS);
    const listed = await cattle.listHosts(projectId);
    if (!listed.ok) {
      // Cattle down: nothing was changed, the sender retries. Refused credentials: waiting will not help.
      if (isTransient(listed.failure)) return unavailable(item, describeFailure(listed.failure));
      return this.#queue.settle([[item, failed(describeFailure(listed.failure))]]);
    }
    const now = clock.now();
    const group = groupOf(
      listed.value.data,
      config.hostSelector,
      this.#leaving.among(listed.value.data, now),
    );
    const lastApplied = history.cooldowns();
    const [step] = planBatch(group.length, [plannedTrigger(item)], lastApplied, now).steps as [BatchStep];
    if (step.outcome !== "applied") return this.#queue.settle([[item, step]]);

    const wanted = step.to - step.from;
    const adding = wanted > 0 ? nextHostnames(group, wanted, hostnamesInUse(listed.value.data)) : [];
    const removing = wanted < 0 ? hostsToRemove(group, -wanted, config.deleteOption) : [];
    const { pushes: _pushes, ignoredBecause: _ignored, ...delivery } = item.delivery;
    this.#steps.begin({
      receiverId: item.receiver.id,
      projectId,
      version: item.receiver.version,
      delivery,
      from: step.from,
      reason: step.reason,
      change:
        wanted > 0
          ? { kind: "add", hostnames: adding }
          : {
              kind: "remove",
              hosts: removing.map((host) => ({ id: host.id, name: host.hostname ?? host.id })),
            },
      started: now,
    });
    const changed: string[] = [];
    let problem: CattleFailure | string | undefined;
    /** A change Cattle may or may not have made: the step is then recorded, never answered 503. */
    let unconfirmed = false;
    if (wanted > 0) {
      const source = cloneSourceOf(group);
      for (const hostname of adding) {
        const body = hostCreateBody(source, config.hostTemplateId, config.hostSelector, hostname);
        if (!body) {
          problem = "the group has no machine-driver host to clone and the receiver no host template";
          break;
        }
        const created = await cattle.createHost(projectId, body);
        if (!created.ok) {
          // A create whose answer was lost may have made the host: Cattle's list tells.
          const made = fateUnknown(created.failure)
            ? await this.#shows(projectId, (hosts) => hosts.some((host) => host.hostname === hostname))
            : false;
          if (made === true) {
            changed.push(hostname);
            continue;
          }
          problem = made === undefined ? `Cattle did not confirm creating ${hostname}` : created.failure;
          unconfirmed ||= made === undefined;
          break;
        }
        changed.push(hostname);
      }
    } else {
      for (const host of removing) {
        const evacuated = await cattle.evacuateHost(projectId, host.id);
        if (!evacuated.ok) {
          // An evacuation whose answer was lost may have started: the host then shows it.
          const started = fateUnknown(evacuated.failure)
            ? await this.#shows(projectId, (hosts) => {
                const shown = hosts.find((candidate) => candidate.id === host.id);
                return !shown || LEAVING_STATES.has(shown.state ?? "");
              })
            : false;
          if (started !== true) {
            problem =
              started === undefined
                ? `Cattle did not confirm evacuating ${host.hostname ?? host.id}`
                : evacuated.failure;
            unconfirmed ||= started === undefined;
            break;
          }
        }
        // Until Cattle shows it removing, the host must not count, or the next trigger removes it again.
        this.#leaving.add(host.id, now);
        changed.push(host.hostname ?? host.id);
      }
    }
    const why = typeof problem === "string" ? problem : problem ? describeFailure(problem) : "";
    if (changed.length === 0) {
      if (typeof problem === "object" && isTransient(problem) && !unconfirmed) {
        this.#steps.end();
        return unavailable(item, why);
      }
      const reason = why || "Cattle refused the change";
      return storage.transactionSync(() => {
        this.#steps.end();
        this.#queue.settle([[item, { outcome: "failed", reason, from: step.from, to: step.from }]]);
      });
    }
    const verb = wanted > 0 ? "added" : "removed";
    const to = step.from + Math.sign(wanted) * changed.length;
    const reason =
      changed.length === Math.abs(wanted)
        ? `${step.reason}: ${verb} ${changed.join(", ")}`
        : `${verb} ${changed.length} of ${Math.abs(wanted)} hosts (${changed.join(", ")}), then: ${why}`;
    storage.transactionSync(() => {
      history.applied(new Map([[item.receiver.id, now]]));
      this.#steps.end();
      this.#queue.settle([[item, { outcome: "applied", reason, from: step.from, to }]]);
    });
  }

  /** Whether Cattle's host list now shows what `test` looks for; undefined if Cattle does not say. */
  async #shows(projectId: string, test: (hosts: Host[]) => boolean): Promise<boolean | undefined> {
    const listed = await this.#context
      .cattle(this.#context.clock.now() + STEP_DEADLINE_MS)
      .listHosts(projectId);
    return listed.ok ? test(listed.value.data) : undefined;
  }
}
