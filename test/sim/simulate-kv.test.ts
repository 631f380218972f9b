import { describe, expect, it } from "vitest";
import { expectAllPass } from "./expect-all-pass";
import { planFor } from "./plan";
import { runPlan } from "./run";
import { kindOf } from "./shrink";

/**
 * The same plans on the Deno KV deployment (docs/simulation.md, "Deno KV mode"): two to four
 * isolates over one simulated Deno KV, crashed and stalled. Seeds beyond the fixed range that once
 * found a bug: a create that failed after its target registered it freeing its name while the
 * target still had it live (328), an import of unknown fate whose receiver scaled a service the end
 * scale did not count (472, 508), and a target's and an environment's call forwarded by one isolate
 * at one instant sharing a reply, so that a trigger was answered an environment's answer (974).
 * Within the range, 8 found a create that answered an error and left its record, 28 a
 * webhook-service URL answered 500 when its environment's object could not answer, and 85 an import
 * of unknown fate holding a name no access ever freed, and 50 two messages reaching one destination
 * 998 ms apart, the output gate's KV round trip being longer for the first than for the second
 * (requests to a URL are now spaced by when they leave the gate).
 */
const KV_SEEDS = 100;
const KV_REGRESSION_SEEDS = [328, 472, 508, 974];

describe("the deterministic simulation over Deno KV", () => {
  it("gives the same trace for the same seed, byte for byte, and the plan of the same seed without KV", async () => {
    // 4 stalls the holder of a target and crashes isolates; 13 moves a target between isolates.
    for (const seed of [4, 13]) {
      const first = await runPlan(planFor(seed, { kv: true }), { verbose: true });
      const second = await runPlan(planFor(seed, { kv: true }), { verbose: true });
      expect(second.trace.join("\n")).toBe(first.trace.join("\n"));
      expect(second.failures).toEqual(first.failures);
      expect(first.trace.some((line) => line.includes("isolate"))).toBe(true);
      // The plan is the seed's own, with the isolates and their stalls added.
      const { kv, events, ...rest } = planFor(seed, { kv: true });
      const { events: plain, ...plainRest } = planFor(seed);
      expect(kv?.isolates).toBeGreaterThanOrEqual(2);
      expect(rest).toEqual(plainRest);
      expect(events.filter((event) => event.kind !== "stall")).toEqual(plain);
    }
  }, 60_000);

  it("fails a world that breaks the guarantees: a KV that hides leases, so isolates hold one target at once", async () => {
    // A broken world's seeds are slow (every isolate holds and polls every target): these are the
    // first of seeds 1 on where several isolates write to one service at once.
    const kinds = new Set<string>();
    for (const seed of [18, 24]) {
      for (const failure of (await runPlan(planFor(seed, { kv: true }), { brokenKv: true })).failures)
        kinds.add(kindOf(failure));
    }
    expect([...kinds]).toContain("overlapping writes");
  }, 120_000);

  it(`keeps every guarantee over seeds 1…${KV_SEEDS} and those that once found a bug`, async () => {
    const seeds = Array.from({ length: KV_SEEDS }, (_, i) => 1 + i).concat(KV_REGRESSION_SEEDS);
    await expectAllPass(seeds, true);
  }, 180_000);
});
