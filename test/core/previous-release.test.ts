import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { TargetCore } from "../../src/targets/core";
import { EXECUTIONS_KEPT } from "../../src/targets/history";
import { FakeCattle, FakeClock, memoryStorage, newTarget, scaleReceiver } from "./fakes";

/**
 * The release before the metrics' storage (this repository at that commit), run as it is over
 * storage that this release migrated: a rollback of the Worker past this change must keep working
 * (docs/storage.md, "Rolling back a deploy").
 */
const PREVIOUS_RELEASE = "c7765a752cfb7649c0d53a2c04ea68e3bbafcc8b";
// Inside the repository, so that its imports find the same node_modules.
const checkout = resolve(".wrangler/previous-release", PREVIOUS_RELEASE);

let PreviousCore: typeof TargetCore;

beforeAll(async () => {
  if (!existsSync(resolve(checkout, "src/target/core.ts"))) {
    rmSync(checkout, { recursive: true, force: true });
    mkdirSync(checkout, { recursive: true });
    const archive = resolve(checkout, "src.tar");
    try {
      execFileSync("git", ["archive", "--format=tar", "-o", archive, PREVIOUS_RELEASE, "src"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
    } catch (error) {
      throw new Error(
        `this test runs the previous release's own code: the repository needs its commit ${PREVIOUS_RELEASE} (a shallow clone lacks it; fetch with --unshallow)\n${String(error)}`,
      );
    }
    execFileSync("tar", ["-x", "-f", archive, "-C", checkout]);
  }
  ({ TargetCore: PreviousCore } = await import(pathToFileURL(resolve(checkout, "src/target/core.ts")).href));
});

describe("the previous release over this release's storage", () => {
  it("starts, reads, triggers and regenerates; this release then finds its counts and the new rows", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const current = newTarget(clock, cattle, storage);
    current.core.register(scaleReceiver("ra"));
    await clock.run(current.core.trigger("ra", 1, {}));
    expect(current.core.metrics().receivers[0]?.outcomes).toEqual([
      { outcome: "applied", count: 1, lastAt: clock.now() },
    ]);

    // The Worker is rolled back: the previous release's object starts over the same storage.
    const previous = new PreviousCore(storage, { clock, cattle: (deadline) => cattle.at(deadline) });
    expect(previous.executions("ra")).toHaveLength(1);
    const answer = await clock.run(previous.trigger("ra", 1, {}));
    expect(answer).toMatchObject({ kind: "decided", execution: { outcome: "applied", from: 2, to: 3 } });
    expect(previous.rotate("ra")).toBe(2);
    expect(cattle.service().scale).toBe(3);

    // Rolled forward again: everything the previous release wrote is read, and the counts it did
    // not keep are where this release left them.
    const again = newTarget(clock, cattle, storage);
    expect(again.core.executions("ra").map((execution) => execution.to)).toEqual([3, 2]);
    expect(again.core.metrics().receivers[0]?.outcomes).toEqual([
      { outcome: "applied", count: 1, lastAt: expect.any(Number) },
    ]);
    await clock.run(again.core.trigger("ra", 2, {}));
    expect(again.core.metrics().receivers[0]?.outcomes).toMatchObject([{ outcome: "applied", count: 2 }]);
    expect(again.core.executions("ra").length).toBeLessThanOrEqual(EXECUTIONS_KEPT);
  });
});
