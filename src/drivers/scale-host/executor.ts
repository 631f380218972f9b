import { describeFailure, fateUnknown, isTransient } from "../../cattle/failures";
import type { CattleFailure, Host } from "../../cattle/types";
import type { Delivery } from "../../domain/delivery";
import { failed } from "../../domain/execution";
import type { LiveReceiverOf } from "../../domain/receiver";
import type { Executor, ExecutorContext } from "../definition";
import { CountQueue, plannedTrigger, type QueuedTrigger, unavailable } from "../shared/count-queue";
import { type BatchStep, planBatch } from "../shared/scaling";
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

/**
 * A host group's size. Host changes are slow and rare, so triggers are applied one at a time, each
 * exact: read the group, plan the step, then create or evacuate hosts one by one. A step that
 * Cattle carries out only in part is recorded as far as it went.
 */
export class ScaleHostExecutor implements Executor<"scaleHost"> {
  readonly #context: ExecutorContext;
  readonly #queue: CountQueue<HostReceiver>;
  readonly #leaving: LeavingHosts;

  constructor(context: ExecutorContext) {
    this.#context = context;
    this.#leaving = new LeavingHosts(context.storage.sql);
    this.#queue = new CountQueue(context, async (batch) => {
      for (const item of batch) await this.#apply(item);
    });
  }

  decide(receiver: HostReceiver, delivery: Delivery) {
    return this.#queue.decide(receiver, delivery);
  }

  async #apply(item: Item): Promise<void> {
    const { clock, history } = this.#context;
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
    const changed: string[] = [];
    let problem: CattleFailure | string | undefined;
    /** A change Cattle may or may not have made: the step is then recorded, never answered 503. */
    let unconfirmed = false;
    if (wanted > 0) {
      const source = cloneSourceOf(group);
      const inUse = hostnamesInUse(listed.value.data);
      for (const hostname of nextHostnames(group, wanted, inUse)) {
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
      for (const host of hostsToRemove(group, -wanted, config.deleteOption)) {
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
      if (typeof problem === "object" && isTransient(problem) && !unconfirmed) return unavailable(item, why);
      const reason = why || "Cattle refused the change";
      return this.#queue.settle([[item, { outcome: "failed", reason, from: step.from, to: step.from }]]);
    }
    const verb = wanted > 0 ? "added" : "removed";
    const to = step.from + Math.sign(wanted) * changed.length;
    const reason =
      changed.length === Math.abs(wanted)
        ? `${step.reason}: ${verb} ${changed.join(", ")}`
        : `${verb} ${changed.length} of ${Math.abs(wanted)} hosts (${changed.join(", ")}), then: ${why}`;
    history.applied(new Map([[item.receiver.id, now]]));
    this.#queue.settle([[item, { outcome: "applied", reason, from: step.from, to }]]);
  }

  /** Whether Cattle's host list now shows what `test` looks for; undefined if Cattle does not say. */
  async #shows(projectId: string, test: (hosts: Host[]) => boolean): Promise<boolean | undefined> {
    const listed = await this.#context
      .cattle(this.#context.clock.now() + STEP_DEADLINE_MS)
      .listHosts(projectId);
    return listed.ok ? test(listed.value.data) : undefined;
  }
}

/** States of a host that an evacuation has reached. */
const LEAVING_STATES = new Set(["deactivating", "inactive", "removing", "removed", "purging", "purged"]);
