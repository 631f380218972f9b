import { describeEvent, planFor } from "./plan";
import { runPlan } from "./run";
import { kindOf, shrink } from "./shrink";

/**
 * `npm run simulate -- [--seeds N] [--from K] [--seed S] [--kv] [--no-shrink] [--shrink-all]` (docs/simulation.md):
 * runs seeds K … K+N-1, or replays seed S with its whole trace; with `--kv`, on the Deno KV deployment. Each failing seed prints the one
 * line that replays it and its shrunk plan. The exit code is 1 if any seed failed.
 */
const USAGE = `usage: npm run simulate -- [--seeds N] [--from K] [--seed S] [--kv] [--no-shrink] [--shrink-all] [--stop-at-first]
  --seeds N        how many seeds to run (default 1000)
  --from K         the first seed (default 1)
  --seed S         replay seed S alone, printing its whole trace (and, if it fails, its shrunk plan and trace)
  --kv             run the seeds on the Deno KV deployment: isolates over one KV, with crashes and stalls
  --no-shrink      report failing seeds without shrinking them
  --shrink-all     shrink every failing seed (by default the first of each kind of failure)
  --stop-at-first  stop after the first failing seed`;

interface Options {
  seeds: number;
  from: number;
  seed?: number;
  shrink: boolean;
  shrinkAll: boolean;
  stopAtFirst: boolean;
  kv: boolean;
}

function parse(args: string[]): Options {
  const options: Options = {
    seeds: 1000,
    from: 1,
    shrink: true,
    shrinkAll: false,
    stopAtFirst: false,
    kv: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const number = () => {
      const value = Number(args[++i]);
      if (!Number.isSafeInteger(value) || value < 0) throw new UsageError(`${arg} takes a whole number`);
      return value;
    };
    if (arg === "--seeds") options.seeds = number();
    else if (arg === "--from") options.from = number();
    else if (arg === "--seed") options.seed = number();
    else if (arg === "--no-shrink") options.shrink = false;
    else if (arg === "--shrink-all") options.shrinkAll = true;
    else if (arg === "--stop-at-first") options.stopAtFirst = true;
    else if (arg === "--kv") options.kv = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new UsageError(`unknown argument ${arg}`);
  }
  return options;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  if (options.seed !== undefined) {
    const plan = planFor(options.seed, { kv: options.kv });
    console.log(`seed ${options.seed}: plan`);
    for (const event of plan.events) console.log(`  ${describeEvent(event, plan)}`);
    const result = await runPlan(plan, { verbose: true });
    console.log("trace");
    for (const line of result.trace) console.log(`  ${line}`);
    if (result.failures.length === 0) {
      console.log(
        `seed ${options.seed} passed (${result.stats.attempts} trigger requests, ${result.stats.timers} scheduled events)`,
      );
      return 0;
    }
    console.log(`seed ${options.seed} FAILED`);
    for (const failure of result.failures) console.log(`  ${failure}`);
    if (options.shrink) {
      const shrunk = await shrink(result);
      const kind = kindOf(result.failures[0] ?? "");
      console.log(
        `shrunk to ${shrunk.plan.events.length} of ${plan.events.length} events (${shrunk.runs} runs): ${shrunk.result.failures.find((failure) => kindOf(failure) === kind)}`,
      );
      for (const event of shrunk.plan.events) console.log(`  ${describeEvent(event, shrunk.plan)}`);
      console.log("shrunk trace");
      for (const line of (await runPlan(shrunk.plan, { verbose: true })).trace) console.log(`  ${line}`);
    }
    return 1;
  }
  const mode = options.kv ? " --kv" : "";
  const started = performance.now();
  let failed = 0;
  const kinds = new Map<string, number[]>();
  const shrunkKinds = new Set<string>();
  const last = options.from + options.seeds - 1;
  for (let seed = options.from; seed <= last; seed++) {
    const result = await runPlan(planFor(seed, { kv: options.kv }));
    if (result.failures.length === 0) continue;
    failed++;
    for (const kind of new Set(result.failures.map(kindOf)))
      kinds.set(kind, [...(kinds.get(kind) ?? []), seed]);
    console.log(`\nseed ${seed} FAILED: ${result.failures[0]}`);
    for (const failure of result.failures.slice(1, 4)) console.log(`  also: ${failure}`);
    console.log(`  replay: npm run simulate -- --seed ${seed}${mode}`);
    // Shrinking takes a few hundred runs: done for the first seed of each kind of failure (all of
    // them with --shrink-all), the others say how to get theirs.
    const kind = kindOf(result.failures[0] ?? "");
    if (options.shrink && (options.shrinkAll || !shrunkKinds.has(kind))) {
      shrunkKinds.add(kind);
      const shrunk = await shrink(result);
      console.log(
        `  shrunk to ${shrunk.plan.events.length} of ${result.plan.events.length} events (${shrunk.runs} runs): ${shrunk.result.failures.find((failure) => kindOf(failure) === kind)}`,
      );
      for (const event of shrunk.plan.events) console.log(`    ${describeEvent(event, shrunk.plan)}`);
    } else if (options.shrink) {
      console.log(
        `  not shrunk: a seed failing the same way was shrunk above (--seed ${seed}${mode} shrinks this one)`,
      );
    }
    if (options.stopAtFirst) break;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `\n${options.seeds} seeds from ${options.from}${options.kv ? " over Deno KV" : ""}: ${failed} failed, in ${seconds} s`,
  );
  for (const [kind, seeds] of kinds) {
    console.log(`  ${kind}: ${seeds.length} seed(s), first ${seeds.slice(0, 8).join(", ")}`);
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
