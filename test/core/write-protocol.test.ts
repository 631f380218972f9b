import { describe, expect, it } from "vitest";
import type { Execution } from "../../src/domain/execution";
import type { TriggerResult } from "../../src/domain/ports";
import { WRITE_FATE_WINDOW_MS } from "../../src/drivers/scale-service/scale-writer";
import {
  CATTLE_409,
  CATTLE_503,
  FakeCattle,
  FakeClock,
  memoryStorage,
  newTarget,
  scaleReceiver,
  settle,
} from "./fakes";

/**
 * The scaleService write protocol against the ways a real Cattle answers (docs/how-it-works.md): late,
 * lost, delayed and refused writes, its process lock, long transitions, and deletes and regenerates
 * in the middle. Time is the fake clock's: every case runs in no time and the same way every run.
 */

const outcome = (result: TriggerResult) =>
  result.kind === "decided" ? result.execution.outcome : result.kind;
const fromTo = (result: TriggerResult) =>
  result.kind === "decided" ? [result.execution.from, result.execution.to] : undefined;
const puts = (cattle: FakeCattle) => cattle.calls.filter((call) => call.startsWith("PUT"));

const byOutcome = (executions: Execution[]) => {
  const counts: Record<string, number> = {};
  for (const { outcome } of executions) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
};

describe("a write applied and answered late", () => {
  it("is confirmed by reading, never sent again, and later triggers build on it", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "late", ms: 5_000 });
    const first = await clock.run(core.trigger("ra", 1, {}));
    expect(fromTo(first)).toEqual([1, 2]);
    expect(outcome(first)).toBe("applied");
    const later = await clock.run(Promise.all([1, 2, 3].map(() => core.trigger("ra", 1, {}))));
    expect(later.map(fromTo)).toEqual([
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
    await settle(target);
    expect(cattle.scales).toEqual([1, 2, 5]);
    expect(puts(cattle)).toHaveLength(2);
    // The second write left only once the first one's answer came: never two on their way at once.
    expect(cattle.counters.overlapping).toBe(0);
  });
});

describe("a write applied but never answered", () => {
  it("counts once: the next read shows it", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "lost" }, { kind: "lost" });
    const results = await clock.run(Promise.all([core.trigger("ra", 1, {}), core.trigger("ra", 1, {})]));
    expect(results.map(outcome)).toEqual(["applied", "applied"]);
    expect(cattle.service().scale).toBe(3);
    expect(puts(cattle)).toHaveLength(1);
  });
});

describe("a write Cattle applies only later, after the client gave up on it", () => {
  it("holds every later write until its fate is read, answering pending meanwhile", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "delayed", ms: 8_000 });
    const first = core.trigger("ra", 1, { userAgent: "first" });
    await clock.advance(1_000);
    const second = core.trigger("ra", 1, { userAgent: "second" });
    const answers = await clock.run(Promise.all([first, second]));
    expect(answers.map(outcome)).toEqual(["pending", "pending"]);
    // Nothing else was sent while the first write's fate was unknown.
    expect(puts(cattle)).toHaveLength(1);
    await settle(target);
    expect(cattle.scales).toEqual([1, 2, 3]);
    const history = core.executions("ra");
    expect(
      history.map((execution) => [execution.sender, execution.outcome, execution.from, execution.to]),
    ).toEqual([
      ["second", "applied", 2, 3],
      ["first", "applied", 1, 2],
    ]);
    expect(history.every((execution) => execution.finished !== undefined)).toBe(true);
  });

  it("is taken as not applied once the fate window has passed, and its triggers are written again", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    // Cattle drops it: never applied, never answered.
    cattle.writes.push({ kind: "delayed", ms: 10 * 60_000 });
    const answer = await clock.run(core.trigger("ra", 1, {}));
    expect(outcome(answer)).toBe("pending");
    await settle(target);
    expect(core.executions("ra")[0]).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    expect(puts(cattle)).toHaveLength(2);
    expect(clock.now()).toBeGreaterThan(WRITE_FATE_WINDOW_MS);
  });
});

describe("a read that overtakes a write", () => {
  it("is not planned from: a read sent before the write landed is read again", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    // The first read is quick; the write reaches Cattle only after 2 s; the read-back sent at 1 s
    // sees the old scale but comes back only at 3 s, after the write's answer.
    cattle.jitterMs.push([0, 0], [2_000, 0], [0, 2_000]);
    const first = core.trigger("ra", 1, {});
    await clock.advance(500);
    const second = core.trigger("ra", 1, {});
    const answers = await clock.run(Promise.all([first, second]));
    expect(answers.map(fromTo)).toEqual([
      [1, 2],
      [2, 3],
    ]);
    await settle(target);
    expect(cattle.scales).toEqual([1, 2, 3]);
  });
});

describe("a write Cattle refused with an answer of its own", () => {
  it("is written again at once after a 503: Cattle was done with it", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "refused", failure: CATTLE_503 });
    const started = clock.now();
    expect(fromTo(await clock.run(core.trigger("ra", 1, {})))).toEqual([1, 2]);
    expect(clock.now() - started).toBeLessThan(WRITE_FATE_WINDOW_MS);
    expect(puts(cattle)).toHaveLength(2);
  });
});

describe("Cattle's process lock", () => {
  it("waits out a long process after a 409 and writes everything that arrived once it settles", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    cattle.transitionMs = 20_000;
    core.register(scaleReceiver("ra"));
    expect(fromTo(await clock.run(core.trigger("ra", 1, {})))).toEqual([1, 2]);
    // The scale change runs for 20 s: writes are held 3 s and refused.
    const burst = Array.from({ length: 5 }, () => core.trigger("ra", 1, {}));
    const answers = await clock.run(Promise.all(burst));
    expect(answers.map(outcome)).toEqual(Array(5).fill("pending"));
    await settle(target);
    expect(cattle.service().scale).toBe(7);
    expect(cattle.scales).toEqual([1, 2, 7]);
    expect(byOutcome(core.executions("ra"))).toEqual({ applied: 6 });
    expect(cattle.calls.filter((call) => call.startsWith("PUT")).length).toBeLessThanOrEqual(3);
  });

  it("lets a short process end behind the lock and writes through", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    cattle.transitionMs = 300;
    core.register(scaleReceiver("ra"));
    const answers = await clock.run(
      Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          await clock.sleep(i * 100);
          return core.trigger("ra", 1, {});
        }),
      ),
    );
    expect(answers.map(outcome)).toEqual(Array(10).fill("applied"));
    expect(cattle.service().scale).toBe(11);
  });

  it("waits for an upgrade to be finished before it writes", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    Object.assign(cattle.service(), { state: "upgraded", transitioning: "no" });
    const answer = await clock.run(core.trigger("ra", 1, {}));
    expect(answer).toMatchObject({
      execution: { outcome: "pending", reason: expect.stringContaining("upgraded") },
    });
    expect(puts(cattle)).toHaveLength(0);
    await clock.advance(60_000);
    cattle.service().state = "active";
    await settle(target, 5);
    expect(core.executions("ra")[0]).toMatchObject({ outcome: "applied", from: 1, to: 2 });
  });
});

describe("delete and regenerate", () => {
  it("refuse the old URL's triggers still queued; the write already sent is the only exception", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    cattle.latencyMs = 50;
    core.register(scaleReceiver("ra"));
    core.register(scaleReceiver("rb"));
    cattle.writes.push({ kind: "late", ms: 2_000 });
    const inFlight = core.trigger("ra", 1, { userAgent: "in flight" });
    await clock.advance(100);
    // Queued behind the write in flight.
    const queuedA = [core.trigger("ra", 1, {}), core.trigger("ra", 1, {})];
    const queuedB = core.trigger("rb", 1, {});
    await clock.advance(100);
    expect(core.rotate("ra")).toBe(2);
    const [first, ...fenced] = await clock.run(Promise.all([inFlight, ...queuedA]));
    expect(first && outcome(first)).toBe("applied");
    expect(fenced.map(outcome)).toEqual(["revoked", "revoked"]);
    expect(outcome(await clock.run(queuedB))).toBe("applied");
    await settle(target);
    expect(cattle.service().scale).toBe(3);
    expect(core.executions("ra").map((execution) => execution.sender)).toEqual(["in flight"]);
  });

  it("fail a trigger acknowledged pending but not yet written, and delete forgets it", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    core.register(scaleReceiver("rb"));
    Object.assign(cattle.service(), { state: "upgraded", transitioning: "no" });
    const answers = await clock.run(Promise.all([core.trigger("ra", 1, {}), core.trigger("rb", 1, {})]));
    expect(answers.map(outcome)).toEqual(["pending", "pending"]);
    core.rotate("ra");
    core.revoke("rb");
    cattle.service().state = "active";
    await settle(target);
    expect(puts(cattle)).toHaveLength(0);
    expect(core.executions("ra")[0]).toMatchObject({
      outcome: "failed",
      reason: expect.stringContaining("regenerated before this trigger was written"),
    });
    expect(core.executions("rb")).toEqual([]);
  });
});

describe("failures that waiting does not mend", () => {
  it("are answered failed and recorded: the service's credential refused", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    cattle.reads.push({ kind: "refused", failure: { kind: "forbidden", status: 403, message: "no" } });
    const answer = await clock.run(core.trigger("ra", 1, {}));
    expect(answer).toMatchObject({
      execution: { outcome: "failed", reason: expect.stringContaining("CATTLE_ACCESS_KEY") },
    });
    expect(core.executions("ra")).toHaveLength(1);
  });

  it("are answered failed and recorded: the service is gone", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    cattle.services.delete("1s1");
    expect(await clock.run(core.trigger("ra", 1, {}))).toMatchObject({
      execution: { outcome: "failed", reason: "service 1s1 was not found in environment 1a5" },
    });
  });

  it("answer 503 only while nothing of the trigger was written", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    for (let i = 0; i < 50; i++) cattle.reads.push({ kind: "refused", failure: CATTLE_503 });
    expect(outcome(await clock.run(core.trigger("ra", 1, {})))).toBe("unavailable");
    expect(puts(cattle)).toHaveLength(0);
    expect(core.executions("ra")).toEqual([]);
  });
});

describe("a restart", () => {
  it("keeps the acknowledged triggers and the unresolved write, and settles them by alarm", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const before = newTarget(clock, cattle, storage);
    before.core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "delayed", ms: 7_000 });
    const answers = await clock.run(Promise.all([before.core.trigger("ra", 1, { identityKey: "k1" })]));
    expect(answers.map(outcome)).toEqual(["pending"]);
    // The object goes away; a new one starts over the same storage.
    before.stop();
    const after = newTarget(clock, cattle, storage);
    await settle(after);
    expect(after.core.executions("ra")).toMatchObject([{ outcome: "applied", from: 1, to: 2 }]);
    expect(puts(cattle)).toHaveLength(1);
    // A repeat of the delivery is answered as it ended.
    expect(await clock.run(after.core.trigger("ra", 1, { identityKey: "k1" }))).toMatchObject({
      execution: { outcome: "deduplicated", from: 1, to: 2 },
    });
  });
});

describe("a 409 answer", () => {
  it("is a write Cattle did not apply", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "refused", failure: CATTLE_409 });
    expect(fromTo(await clock.run(core.trigger("ra", 1, {})))).toEqual([1, 2]);
    expect(cattle.scales).toEqual([1, 2]);
  });
});

describe("a cooldown started by a write read back as landed", () => {
  it("holds for a trigger of the same receiver that waited behind the write", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra", { cooldownSeconds: 300 }));
    // Applied at once, answered long after the read-back: the next read shows it landed, and the
    // trigger that waited behind it is planned in the same turn.
    cattle.writes.push({ kind: "late", ms: 20_000 });
    const first = core.trigger("ra", 1, {});
    await clock.advance(100);
    const second = core.trigger("ra", 1, {});
    const [firstResult, secondResult] = await clock.run(Promise.all([first, second]));
    expect(fromTo(firstResult)).toEqual([1, 2]);
    expect(outcome(secondResult)).toBe("cooldown");
    await settle(target);
    expect(cattle.scales).toEqual([1, 2]);
    expect(puts(cattle)).toHaveLength(1);
  });

  it("holds for a trigger that arrived while the write was on its way and was answered in time", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra", { cooldownSeconds: 300 }));
    cattle.latencyMs = 50;
    const first = core.trigger("ra", 1, {});
    // The write is sent but not yet answered: the next trigger waits behind it, and is planned
    // from Cattle's answer in the same turn that records the first.
    await clock.advance(60);
    expect(puts(cattle)).toHaveLength(1);
    const second = core.trigger("ra", 1, {});
    const [firstResult, secondResult] = await clock.run(Promise.all([first, second]));
    expect(fromTo(firstResult)).toEqual([1, 2]);
    expect(outcome(secondResult)).toBe("cooldown");
    expect(cattle.scales).toEqual([1, 2]);
  });
});
