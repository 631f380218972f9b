import { describe, expect, it } from "vitest";
import type { TriggerResult } from "../../src/domain/ports";
import { FakeCattle, FakeClock, memoryStorage, newTarget, scaleReceiver, settle } from "./fakes";

/**
 * What a scaleService target keeps across a crash (docs/how-it-works.md, "Crashes and restarts"):
 * the object stops at an arbitrary instant, memory is dropped, storage is kept, and a new object
 * over the same storage must behave as one that never stopped.
 */

const outcome = (result: TriggerResult) =>
  result.kind === "decided" ? result.execution.outcome : result.kind;
const puts = (cattle: FakeCattle) => cattle.calls.filter((call) => call.startsWith("PUT"));

/** One object over `storage`, then another after it stopped: a crash and a restart. */
function crashable() {
  const clock = new FakeClock();
  const cattle = new FakeCattle(clock);
  const storage = memoryStorage();
  return { clock, cattle, storage, start: () => newTarget(clock, cattle, storage) };
}

describe("a delivery retried after a crash while its write was unresolved", () => {
  it("is answered deduplicated and never applied again", async () => {
    const { clock, cattle, start } = crashable();
    cattle.service().scale = 2;
    const before = start();
    before.core.register(scaleReceiver("ra"));
    // Cattle applies the write at once but its answer comes 20 s later.
    cattle.writes.push({ kind: "late", ms: 20_000 });
    void before.core.trigger("ra", 1, { identityKey: "K" });
    await clock.advance(450);
    expect(cattle.service().scale).toBe(3);
    // Killed before the sender was answered: it retries the same delivery against a new object.
    before.stop();
    const after = start();
    const retry = await clock.run(after.core.trigger("ra", 1, { identityKey: "K" }));
    expect(outcome(retry)).toBe("deduplicated");
    await settle(after);
    expect(cattle.service().scale).toBe(3);
    expect(puts(cattle)).toHaveLength(1);
    expect(after.core.executions("ra").map((execution) => execution.outcome)).toEqual([
      "deduplicated",
      "applied",
    ]);
    // Once the first is known, a repeat says what it did.
    expect(await clock.run(after.core.trigger("ra", 1, { identityKey: "K" }))).toMatchObject({
      execution: { outcome: "deduplicated", from: 2, to: 3 },
    });
  });

  it("is applied once when the write turns out not to have landed", async () => {
    const { clock, cattle, start } = crashable();
    const before = start();
    before.core.register(scaleReceiver("ra"));
    // Cattle drops the write: never applied, never answered.
    cattle.writes.push({ kind: "delayed", ms: 60 * 60_000 });
    void before.core.trigger("ra", 1, { identityKey: "K" });
    await clock.advance(450);
    before.stop();
    const after = start();
    expect(outcome(await clock.run(after.core.trigger("ra", 1, { identityKey: "K" })))).toBe("deduplicated");
    await settle(after);
    expect(cattle.scales).toEqual([1, 2]);
    expect(after.core.executions("ra")[1]).toMatchObject({ outcome: "applied", from: 1, to: 2 });
  });
});

describe("a cooldown started by a pending execution that settled applied", () => {
  it("is kept across a restart", async () => {
    const { clock, cattle, start } = crashable();
    const before = start();
    before.core.register(scaleReceiver("ra", { cooldownSeconds: 300 }));
    // Applied only after the trigger's deadline: it is acknowledged pending, then settles applied.
    cattle.writes.push({ kind: "delayed", ms: 8_000 });
    expect(outcome(await clock.run(before.core.trigger("ra", 1, {})))).toBe("pending");
    await settle(before);
    expect(before.core.executions("ra")[0]).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    before.stop();
    const after = start();
    expect(outcome(await clock.run(after.core.trigger("ra", 1, {})))).toBe("cooldown");
    expect(cattle.service().scale).toBe(2);
  });
});

/**
 * A receiver regenerated or deleted while its trigger's write was unresolved: the write already sent
 * is the one exception to the fence, so a restart keeps it, settles its triggers by its fate, and
 * writes nothing over it until that fate is known.
 */
describe("a write of a receiver regenerated or deleted, then a restart", () => {
  it("that landed records its trigger applied, identified or not", async () => {
    for (const identity of [{ identityKey: "K" }, {}]) {
      const { clock, cattle, start } = crashable();
      const first = start();
      first.core.register(scaleReceiver("ra"));
      // Applied at once, answered 20 s late: the object stops before it knows.
      cattle.writes.push({ kind: "late", ms: 20_000 });
      void first.core.trigger("ra", 1, identity);
      await clock.advance(450);
      first.stop();
      const second = start();
      expect(second.core.regenerate("ra")).toMatchObject({ kind: "live", receiver: { version: 2 } });
      second.stop();
      const third = start();
      await settle(third);
      expect(cattle.scales).toEqual([1, 2]);
      expect(third.core.executions("ra")).toEqual([
        expect.objectContaining({ outcome: "applied", from: 1, to: 2 }),
      ]);
    }
  });

  it("that did not land fails its acknowledged trigger and is not written again", async () => {
    const { clock, cattle, start } = crashable();
    const first = start();
    first.core.register(scaleReceiver("ra"));
    // Never applied: Cattle dropped it.
    cattle.writes.push({ kind: "delayed", ms: 60 * 60_000 });
    void first.core.trigger("ra", 1, { identityKey: "K" });
    await clock.advance(450);
    first.stop();
    const second = start();
    second.core.regenerate("ra");
    second.stop();
    const third = start();
    await settle(third);
    expect(puts(cattle)).toHaveLength(1);
    expect(cattle.service().scale).toBe(1);
    expect(third.core.executions("ra")).toEqual([
      expect.objectContaining({
        outcome: "failed",
        reason: expect.stringContaining("regenerated before this trigger was written"),
      }),
    ]);
  });

  it("of a deleted receiver holds every later write until its fate is read", async () => {
    const { clock, cattle, start } = crashable();
    const first = start();
    first.core.register(scaleReceiver("ra"));
    first.core.register(scaleReceiver("rb", { amount: 2 }));
    // Applied 5 s after it was sent, never answered.
    cattle.writes.push({ kind: "delayed", ms: 5_000 });
    void first.core.trigger("ra", 1, {});
    await clock.advance(1_100);
    expect(first.core.revoke("ra")).toBe(true);
    first.stop();
    const second = start();
    expect(outcome(await clock.run(second.core.trigger("rb", 1, { identityKey: "L" })))).toMatch(
      /^(applied|pending)$/,
    );
    await settle(second);
    await clock.advance(60_000);
    // rb's write comes after ra's landed and builds on it: never undone by the older write.
    expect(cattle.scales).toEqual([1, 2, 4]);
    expect(second.core.executions("rb")).toEqual([
      expect.objectContaining({ outcome: "applied", from: 2, to: 4 }),
    ]);
    expect(second.core.executions("ra")).toEqual([]);
  });
});

describe("a flood allowance across a restart", () => {
  it("is kept: a restart in the middle of a flood does not forgive it, and it refills as before", async () => {
    const { clock, cattle, start } = crashable();
    const before = start();
    before.core.register(scaleReceiver("ra", { maxTriggersPerMinute: 3, max: 100 }));
    const first = await clock.run(Promise.all([1, 2, 3].map(() => before.core.trigger("ra", 1, {}))));
    expect(first.map(outcome)).toEqual(["applied", "applied", "applied"]);
    await settle(before);
    before.stop();
    const after = start();
    // Spent before the restart: still spent after it.
    expect(outcome(await clock.run(after.core.trigger("ra", 1, {})))).toBe("ignored");
    await clock.advance(20_000);
    expect(outcome(await clock.run(after.core.trigger("ra", 1, {})))).toBe("applied");
    expect(outcome(await clock.run(after.core.trigger("ra", 1, {})))).toBe("ignored");
    expect(cattle.service().scale).toBe(5);
  });

  it("goes with its receiver: a receiver deleted leaves no allowance behind", async () => {
    const { clock, storage, start } = crashable();
    const target = start();
    target.core.register(scaleReceiver("ra", { maxTriggersPerMinute: 3 }));
    await clock.run(target.core.trigger("ra", 1, {}));
    const rows = () => storage.sql.exec("SELECT receiver_id FROM flood_allowances").toArray();
    expect(rows()).toEqual([{ receiver_id: "ra" }]);
    target.core.revoke("ra");
    expect(rows()).toEqual([]);
  });
});
