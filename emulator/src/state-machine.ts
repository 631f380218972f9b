import type { Phase, ResourceRecord, UpgradeRun } from "./model";

/**
 * Cattle's service processes, as declared in its spring-process-context.xml: the states a process may
 * start from, the state shown while it runs (per start state where it differs) and the state it leaves.
 * The emulator runs each one for the configured transition time instead of doing real work.
 */
export interface ProcessDefinition {
  start: readonly string[];
  transitioning: string | Readonly<Record<string, string>>;
  done: string | Readonly<Record<string, string>>;
}

export const SERVICE_PROCESSES: Readonly<Record<string, ProcessDefinition>> = {
  create: { start: ["requested"], transitioning: "registering", done: "inactive" },
  activate: { start: ["inactive", "restarting"], transitioning: "activating", done: "active" },
  update: {
    start: [
      "inactive",
      "active",
      "updating-active",
      "finishing-upgrade",
      "activating",
      "canceling-upgrade",
      "upgrading",
      "rolling-back",
    ],
    transitioning: {
      inactive: "updating-inactive",
      active: "updating-active",
      "updating-active": "updating-active",
      "finishing-upgrade": "finishing-upgrade",
      activating: "activating",
      "canceling-upgrade": "canceling-upgrade",
      upgrading: "upgrading",
      "rolling-back": "rolling-back",
    },
    done: {
      "updating-inactive": "inactive",
      "updating-active": "active",
      "finishing-upgrade": "active",
      activating: "active",
      "canceling-upgrade": "canceled-upgrade",
      upgrading: "upgraded",
      "rolling-back": "active",
    },
  },
  deactivate: {
    start: ["restarting", "active", "activating", "updating-inactive", "updating-active"],
    transitioning: "deactivating",
    done: "inactive",
  },
  remove: {
    start: [
      "inactive",
      "registering",
      "active",
      "activating",
      "updating-inactive",
      "updating-active",
      "upgrading",
      "canceling-upgrade",
      "rolling-back",
      "deactivating",
      "requested",
      "canceled-upgrade",
      "upgraded",
      "finishing-upgrade",
      "restarting",
    ],
    transitioning: "removing",
    done: "removed",
  },
  upgrade: {
    start: ["active", "activating", "inactive", "updating-active"],
    transitioning: "upgrading",
    done: "upgraded",
  },
  continueupgrade: { start: ["canceled-upgrade"], transitioning: "upgrading", done: "upgraded" },
  cancelupgrade: {
    start: ["upgrading", "finishing-upgrade"],
    transitioning: "canceling-upgrade",
    done: "canceled-upgrade",
  },
  rollback: {
    start: ["upgrading", "upgraded", "canceled-upgrade"],
    transitioning: "rolling-back",
    done: "active",
  },
  finishupgrade: { start: ["upgraded"], transitioning: "finishing-upgrade", done: "active" },
  restart: { start: ["active"], transitioning: "restarting", done: "active" },
};

/** The state a record shows right now: the running phase's state, or the state it rests in. */
export const currentState = (record: ResourceRecord): string => record.pending[0]?.state ?? record.state;

export const isTransitioning = (record: ResourceRecord): boolean => record.pending.length > 0;

/**
 * Cattle's `transitioning`/`transitioningMessage`: `yes` and "In Progress" while a process runs,
 * `error` and the process's message once it fails (the state stays the running one), else `no`.
 */
export function transitioningOf(record: ResourceRecord): { transitioning: string; message: string | null } {
  const phase = record.pending[0];
  if (!phase || phase.quiet) {
    // A record resting in `error` keeps the message of what failed (a host that could not provision).
    if (currentState(record) === "error" && record.errorMessage) {
      return { transitioning: "error", message: record.errorMessage };
    }
    return { transitioning: "no", message: null };
  }
  if (phase.failed) return { transitioning: "error", message: phase.failure ?? null };
  return { transitioning: "yes", message: "In Progress" };
}

/**
 * When the process running on a record lets go of Cattle's per-resource lock, or null when none holds
 * it now. Consecutive phases (a create chained to its activation) count as one hold; a phase that keeps
 * failing holds it only until it fails, since Cattle releases the lock between a failed process's
 * retries. Quiet phases hold nothing.
 */
export function lockReleaseAt(record: ResourceRecord, now: number): number | null {
  let end = now;
  for (const phase of record.pending) {
    if (phase.quiet) break;
    if (phase.failAt !== undefined) {
      end = Math.min(phase.failAt, phase.until);
      break;
    }
    end = phase.until;
  }
  return end > now ? end : null;
}

/** A deadline no phase reaches: a failing process never ends by itself. */
export const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * How long the rounds of an upgrade left to run take: the first costs one transition, every further
 * one waits `intervalMs` first (Cattle's `while (!doUpgrade) sleep(intervalMillis)`).
 */
export function upgradeDurationMs(run: UpgradeRun): number {
  const rounds = Math.max(1, run.batches - run.completed);
  return run.firstBatchMs + (rounds - 1) * run.intervalMs;
}

/** Rounds of `run` finished by `now`, counting those finished before it started. */
export function upgradeRoundsDone(run: UpgradeRun, now: number): number {
  const elapsed = now - run.startedAt;
  if (run.failure !== null || elapsed < run.firstBatchMs) return run.completed;
  const rounds = 1 + Math.floor((elapsed - run.firstBatchMs) / Math.max(1, run.intervalMs));
  return Math.min(run.batches, run.completed + rounds);
}

export function canStart(definition: ProcessDefinition, state: string): boolean {
  return definition.start.includes(state);
}

/**
 * The phase a process would run from `state`, or null when Cattle would refuse to start it there
 * (its engine cancels the process, which the API turns into 409 Conflict or, for actions it checks
 * first, 422 ActionNotAvailable).
 */
export function phaseFor(process: string, state: string, now: number, durationMs: number): Phase | null {
  const definition = SERVICE_PROCESSES[process];
  if (!definition || !canStart(definition, state)) return null;
  const transitioning =
    typeof definition.transitioning === "string" ? definition.transitioning : definition.transitioning[state];
  if (transitioning === undefined) return null;
  const done = typeof definition.done === "string" ? definition.done : definition.done[transitioning];
  if (done === undefined) return null;
  return { process, state: transitioning, done, until: now + durationMs };
}

/**
 * Lets time pass for one record: every phase whose deadline is over completes, in order.
 * Transitions are resolved on read, so nothing depends on timers or alarms firing.
 * Returns the phases that completed so the caller can apply their side effects.
 */
export function settle(record: ResourceRecord, now: number): Phase[] {
  const completed: Phase[] = [];
  while (record.pending.length > 0) {
    const phase = record.pending[0] as Phase;
    if (phase.failAt !== undefined && phase.failAt <= now) phase.failed = true;
    if (phase.until > now) break;
    record.pending.shift();
    record.state = phase.done;
    completed.push(phase);
  }
  return completed;
}

/** Actions the API offers for a record in `state`: those whose process may start there. */
export function availableActions(state: string, actions: readonly string[]): string[] {
  return actions.filter((action) => {
    const definition = SERVICE_PROCESSES[action];
    return definition !== undefined && canStart(definition, state);
  });
}
