import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EXECUTIONS_KEPT } from "../../src/targets/history";
import { newTarget, scaleReceiver, settle } from "./fakes";

/**
 * What a target keeps for `rancher_hooks_executions_total` and the pending gauges, and the JSON line
 * it logs for each decided execution (docs/monitoring.md).
 */

const countsOf = (core: ReturnType<typeof newTarget>["core"], receiverId: string) =>
  Object.fromEntries(
    (core.metrics().receivers.find((entry) => entry.receiverId === receiverId)?.outcomes ?? []).map(
      (entry) => [entry.outcome, entry.count],
    ),
  );

const logLines = (spy: { mock: { calls: unknown[][] } }) =>
  spy.mock.calls
    .map((call) => String(call[0]))
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

beforeEach(() => {
  vi.spyOn(console, "log").mockImplementation(() => {});
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("execution counts", () => {
  it("count every outcome in the transaction that records it, past history trimming and restarts", async () => {
    const target = newTarget();
    const { core, clock } = target;
    core.register(scaleReceiver("ra", { max: 1_000 }));
    // The same service: ra's triggers take it to 141, rb's first takes it to its max.
    core.register(scaleReceiver("rb", { max: EXECUTIONS_KEPT + 42 }));
    const triggers = Array.from({ length: EXECUTIONS_KEPT + 40 }, () => core.trigger("ra", 1, {}));
    await clock.run(Promise.all(triggers));
    await clock.run(core.trigger("rb", 1, {}));
    await clock.run(core.trigger("rb", 1, {}));
    expect(core.executions("ra")).toHaveLength(EXECUTIONS_KEPT);
    expect(countsOf(core, "ra")).toEqual({ applied: EXECUTIONS_KEPT + 40 });
    expect(countsOf(core, "rb")).toEqual({ applied: 1, noop: 1 });
    const lastAt = core.metrics().receivers.find((entry) => entry.receiverId === "rb")?.outcomes[0]?.lastAt;
    expect(lastAt).toBe(clock.now());

    // The object starts again over the same storage: the counts are where they were.
    const again = newTarget(clock, target.cattle, target.storage);
    expect(countsOf(again.core, "ra")).toEqual({ applied: EXECUTIONS_KEPT + 40 });

    // A deleted receiver leaves nothing behind.
    again.core.revoke("rb");
    expect(countsOf(again.core, "rb")).toEqual({});
  });

  it("count a pending execution when acknowledged, and its final outcome again when it settles", async () => {
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "delayed", ms: 10 * 60_000 });
    const answer = await clock.run(core.trigger("ra", 1, {}));
    expect(answer).toMatchObject({ kind: "decided", execution: { outcome: "pending" } });
    const acknowledged = core.metrics().receivers[0];
    expect(acknowledged).toMatchObject({ receiverId: "ra", pending: 1, oldestPendingAt: clock.now() });
    expect(countsOf(core, "ra")).toEqual({ pending: 1 });

    await settle(target);
    expect(core.metrics().receivers[0]).toMatchObject({ pending: 0 });
    expect(core.metrics().receivers[0]?.oldestPendingAt).toBeUndefined();
    expect(countsOf(core, "ra")).toEqual({ pending: 1, applied: 1 });
  });
});

describe("execution log lines", () => {
  it("are one JSON line per decided execution, again when it settles, at error level when it failed", async () => {
    const info = vi.mocked(console.log);
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const target = newTarget();
    const { core, clock, cattle } = target;
    core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "delayed", ms: 10 * 60_000 });
    const answer = await clock.run(core.trigger("ra", 1, {}));
    const executionId = answer.kind === "decided" ? answer.execution.id : "";
    await settle(target);
    expect(logLines(info).filter((line) => line.event === "execution")).toEqual([
      {
        level: "info",
        event: "execution",
        projectId: "1a5",
        receiverId: "ra",
        driver: "scaleService",
        outcome: "pending",
        reason: expect.any(String),
        executionId,
      },
      {
        level: "info",
        event: "execution",
        projectId: "1a5",
        receiverId: "ra",
        driver: "scaleService",
        outcome: "applied",
        reason: expect.any(String),
        from: 1,
        to: 2,
        executionId,
      },
    ]);

    // Cattle refuses the service's credentials: the trigger fails.
    cattle.writes.push({ kind: "refused", failure: { kind: "forbidden", status: 403, message: "no" } });
    const refused = await clock.run(core.trigger("ra", 1, {}));
    expect(refused).toMatchObject({ kind: "decided", execution: { outcome: "failed" } });
    expect(logLines(error)).toEqual([
      expect.objectContaining({ level: "error", event: "execution", outcome: "failed", receiverId: "ra" }),
    ]);
  });
});
