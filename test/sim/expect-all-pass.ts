import { expect } from "vitest";
import { describeEvent, planFor } from "./plan";
import { type RunResult, runPlan } from "./run";
import { kindOf, shrink } from "./shrink";

/** Runs `seeds` and fails with each failing seed's replay line and the shrunk plan of the first. */
export async function expectAllPass(seeds: number[], kv: boolean): Promise<void> {
  const failed: RunResult[] = [];
  for (const seed of seeds) {
    const result = await runPlan(planFor(seed, { kv }));
    if (result.failures.length > 0) failed.push(result);
  }
  if (failed.length === 0) return;
  const mode = kv ? " --kv" : "";
  const lines = failed.map(
    (result) =>
      `seed ${result.plan.seed}: ${result.failures[0]}\n  replay: npm run simulate -- --seed ${result.plan.seed}${mode}`,
  );
  const first = failed[0] as RunResult;
  const shrunk = await shrink(first, { budget: 150 });
  const kind = kindOf(first.failures[0] ?? "");
  const report = [
    `${failed.length} of ${seeds.length} seeds failed:`,
    ...lines,
    `seed ${first.plan.seed} shrunk to ${shrunk.plan.events.length} of ${first.plan.events.length} events, still failing: ${shrunk.result.failures.find((failure) => kindOf(failure) === kind)}`,
    ...shrunk.plan.events.map((event) => `  ${describeEvent(event, shrunk.plan)}`),
  ].join("\n");
  expect.fail(report);
}
