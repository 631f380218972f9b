import type { Plan, SimEvent } from "./plan";
import { type RunResult, runPlan } from "./run";

/** The kind of a failure line (`applied twice`, …): what a shrunk plan must still show. */
export const kindOf = (failure: string): string => failure.slice(0, failure.indexOf(":"));

/**
 * The shortest plan that still fails the same way: events dropped in halves, then one by one,
 * crashes brought back sooner and retries cut, each candidate re-run deterministically. Stops
 * after `budget` runs, keeping the shortest failing plan found so far.
 */
export async function shrink(
  failing: RunResult,
  {
    budget = 400,
    run = (plan: Plan) => runPlan(plan),
  }: { budget?: number; run?: (plan: Plan) => Promise<RunResult> } = {},
): Promise<{ plan: Plan; result: RunResult; runs: number }> {
  const kind = kindOf(failing.failures[0] ?? "");
  let best = failing;
  let runs = 0;
  const fails = async (events: SimEvent[]): Promise<RunResult | undefined> => {
    if (runs >= budget) return undefined;
    runs++;
    const result = await run({ ...best.plan, events });
    return result.failures.some((failure) => kindOf(failure) === kind) ? result : undefined;
  };

  // Drop chunks, halving their size down to single events (ddmin's complement step).
  let size = Math.ceil(best.plan.events.length / 2);
  while (size >= 1 && runs < budget) {
    let changed = false;
    for (let start = 0; start < best.plan.events.length && runs < budget; ) {
      const events = best.plan.events.filter((_, i) => i < start || i >= start + size);
      const result = events.length < best.plan.events.length ? await fails(events) : undefined;
      if (result) {
        best = result;
        changed = true;
      } else {
        start += size;
      }
    }
    if (!changed) size = Math.floor(size / 2);
  }

  // Simpler events: fewer attempts, crashes that come back at once, no stale URLs or odd times.
  for (let i = 0; i < best.plan.events.length && runs < budget; i++) {
    const event = best.plan.events[i] as SimEvent;
    const simpler: SimEvent[] = [];
    if (
      (event.kind === "trigger" || event.kind === "legacyTrigger" || event.kind === "push") &&
      event.attempts > 1
    ) {
      for (let attempts = 1; attempts < event.attempts; attempts++) simpler.push({ ...event, attempts });
    }
    if (event.kind === "trigger" && event.stale) simpler.push({ ...event, stale: false });
    if ((event.kind === "crash" || event.kind === "crashBeforeAction") && event.restartMs > 0)
      simpler.push({ ...event, restartMs: 0 });
    for (const candidate of simpler) {
      const events = best.plan.events.map((other, j) => (j === i ? candidate : other));
      const result = await fails(events);
      if (result) {
        best = result;
        break;
      }
    }
  }
  return { plan: best.plan, result: best, runs };
}
