import { describe, expect, it } from "vitest";
import type { TriggerResult } from "../../src/domain/ports";
import { CATTLE_503, FakeCattle, FakeClock, newTarget, scaleReceiver } from "./fakes";

/**
 * The target core outside any runtime: in-memory SQLite, a fake Cattle and a fake clock, so every
 * interleaving of triggers, Cattle answers and time is chosen by the test and runs in no time.
 */

const outcomes = (results: TriggerResult[]) =>
  results.map((result) => (result.kind === "decided" ? result.execution.outcome : result.kind));

describe("a scaleService target", () => {
  it("applies a concurrent burst exactly as one after another, in few Cattle calls", async () => {
    const { core, clock, cattle } = newTarget();
    cattle.latencyMs = 20;
    core.register(scaleReceiver("ra", { max: 30 }));
    core.register(scaleReceiver("rb", { action: "down", amount: 2 }));
    const burst = Array.from({ length: 60 }, (_, i) => core.trigger(i % 3 === 2 ? "rb" : "ra", 1, {}));
    const results = await clock.run(Promise.all(burst));
    // Sequentially: each of 20 rounds goes up 1, up 1, down 2 from 1, clamped at min 1 → 1, 2, 3, 1 …
    expect(cattle.service().scale).toBe(1);
    const applied = results.filter(
      (result) => result.kind === "decided" && result.execution.outcome === "applied",
    );
    expect(applied).toHaveLength(60);
    expect(cattle.calls.length).toBeLessThan(10);
  });

  it("records a batch larger than one statement's rows in arrival order, newest first in history", async () => {
    const { core, clock, cattle } = newTarget();
    cattle.latencyMs = 20;
    core.register(scaleReceiver("ra", { max: 1_000 }));
    const results = await clock.run(Promise.all(Array.from({ length: 90 }, () => core.trigger("ra", 1, {}))));
    expect(outcomes(results).every((outcome) => outcome === "applied")).toBe(true);
    const history = core.executions("ra");
    expect(history).toHaveLength(90);
    // Newest first: the last trigger's step is first, and the steps chain without a gap.
    expect(history.map((execution) => execution.to)).toEqual(Array.from({ length: 90 }, (_, i) => 91 - i));
    expect(history.map((execution) => execution.id)).toEqual(
      results.map((result) => (result.kind === "decided" ? result.execution.id : "")).reverse(),
    );
    expect(cattle.service().scale).toBe(91);
  });

  it("reports each trigger's own from and to, clamped at each step", async () => {
    const { core, clock, cattle } = newTarget();
    cattle.latencyMs = 5;
    core.register(scaleReceiver("ra", { amount: 2, max: 6 }));
    const results = await clock.run(Promise.all([1, 2, 3, 4].map(() => core.trigger("ra", 1, {}))));
    expect(
      results.map((result) =>
        result.kind === "decided" ? [result.execution.from, result.execution.to] : null,
      ),
    ).toEqual([
      [1, 3],
      [3, 5],
      [5, 6],
      [6, 6],
    ]);
    expect(outcomes(results)).toEqual(["applied", "applied", "applied", "noop"]);
  });

  it("leaves no sleeper behind for a write that was answered in time", async () => {
    const { core, clock, cattle } = newTarget();
    cattle.latencyMs = 20;
    core.register(scaleReceiver("ra"));
    const result = await clock.run(core.trigger("ra", 1, {}));
    expect(result).toMatchObject({ kind: "decided", execution: { outcome: "applied" } });
    // Only the senders' deadline, armed while the trigger waited; the write's read-back is gone.
    expect(clock.pending).toBe(1);
    await clock.advance(10_000);
    expect(clock.pending).toBe(0);
  });

  it("plans the batch that waited during a write from that write's answer, and reads afresh after a pause", async () => {
    const { core, clock, cattle } = newTarget();
    cattle.latencyMs = 20;
    core.register(scaleReceiver("ra", { max: 100 }));
    const first = core.trigger("ra", 1, {});
    // These arrive while the first write is on its way.
    await clock.advance(30);
    const during = [1, 2, 3].map(() => core.trigger("ra", 1, {}));
    await clock.run(Promise.all([first, ...during]));
    expect(cattle.calls).toEqual([
      "GET service 1s1",
      'PUT service 1s1 {"scale":2}',
      'PUT service 1s1 {"scale":5}',
    ]);
    // Someone else changes the scale: the next trigger, after the object had nothing to do, starts
    // from what Cattle shows now.
    cattle.service().scale = 10;
    const later = await clock.run(core.trigger("ra", 1, {}));
    expect(later).toMatchObject({ kind: "decided", execution: { outcome: "applied", from: 10, to: 11 } });
    expect(cattle.calls.slice(3)).toEqual(["GET service 1s1", 'PUT service 1s1 {"scale":11}']);
  });

  it("reads the service before the next batch when the last write's answer came late", async () => {
    const { core, clock, cattle } = newTarget();
    cattle.latencyMs = 20;
    core.register(scaleReceiver("ra", { max: 100 }));
    // Applied at once, answered just after the write's fate began to be read back.
    cattle.writes.push({ kind: "late", ms: 990 });
    const first = core.trigger("ra", 1, {});
    await clock.advance(30);
    const during = core.trigger("ra", 1, {});
    await clock.run(Promise.all([first, during]));
    expect(cattle.calls).toEqual([
      "GET service 1s1",
      'PUT service 1s1 {"scale":2}',
      // The read-back, overtaken by the late answer, and the read the next batch is planned from.
      "GET service 1s1",
      "GET service 1s1",
      'PUT service 1s1 {"scale":3}',
    ]);
  });

  it("counts a write whose answer was lost once, when Cattle shows it applied", async () => {
    const { core, clock, cattle } = newTarget();
    core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "lost" });
    const result = await clock.run(core.trigger("ra", 1, {}));
    expect(result).toMatchObject({ kind: "decided", execution: { outcome: "applied", from: 1, to: 2 } });
    expect(cattle.service().scale).toBe(2);
    expect(cattle.calls.filter((call) => call.startsWith("PUT"))).toHaveLength(1);
  });

  it("answers unavailable and records nothing when Cattle stays down past the deadline", async () => {
    const { core, clock, cattle } = newTarget();
    core.register(scaleReceiver("ra"));
    for (let i = 0; i < 100; i++) cattle.reads.push({ kind: "refused", failure: CATTLE_503 });
    const started = clock.now();
    const result = await clock.run(core.trigger("ra", 1, { identityKey: "k1" }));
    expect(result).toMatchObject({ kind: "unavailable", retryAfterSeconds: 5 });
    expect(clock.now() - started).toBeLessThanOrEqual(6_000);
    expect(core.executions("ra")).toEqual([]);
    // Nothing was remembered: the sender's retry of the same delivery is applied, once.
    cattle.reads.length = 0;
    expect(await clock.run(core.trigger("ra", 1, { identityKey: "k1" }))).toMatchObject({
      execution: { outcome: "applied" },
    });
    expect(await clock.run(core.trigger("ra", 1, { identityKey: "k1" }))).toMatchObject({
      execution: { outcome: "deduplicated", from: 1, to: 2 },
    });
    expect(cattle.service().scale).toBe(2);
  });

  it("cools a receiver down for its cooldown, on the clock it is given", async () => {
    const { core, clock, cattle } = newTarget();
    core.register(scaleReceiver("ra", { cooldownSeconds: 60 }));
    expect(outcomes([await clock.run(core.trigger("ra", 1, {}))])).toEqual(["applied"]);
    await clock.advance(59_000);
    expect(outcomes([await clock.run(core.trigger("ra", 1, {}))])).toEqual(["cooldown"]);
    await clock.advance(1_000);
    expect(outcomes([await clock.run(core.trigger("ra", 1, {}))])).toEqual(["applied"]);
    expect(cattle.service().scale).toBe(3);
  });

  it("ignores a flood beyond the receiver's allowance, and refills it over a minute", async () => {
    const { core, clock, cattle } = newTarget();
    core.register(scaleReceiver("ra", { maxTriggersPerMinute: 3 }));
    const first = await clock.run(Promise.all([1, 2, 3, 4].map(() => core.trigger("ra", 1, {}))));
    expect(outcomes(first)).toEqual(["applied", "applied", "applied", "ignored"]);
    await clock.advance(20_000);
    expect(outcomes([await clock.run(core.trigger("ra", 1, {}))])).toEqual(["applied"]);
    expect(cattle.service().scale).toBe(5);
  });

  it("answers a repeat delivered while the first is being decided like the first", async () => {
    const { core, clock, cattle } = newTarget();
    cattle.latencyMs = 50;
    core.register(scaleReceiver("ra"));
    const results = await clock.run(
      Promise.all([core.trigger("ra", 1, { identityKey: "k" }), core.trigger("ra", 1, { identityKey: "k" })]),
    );
    expect(outcomes(results)).toEqual(["applied", "deduplicated"]);
    expect(cattle.service().scale).toBe(2);
  });
});

describe("a scaleHost target", () => {
  it("adds hosts after the highest number and never counts an evacuated host twice", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    for (const [id, hostname] of [
      ["1h1", "worker1"],
      ["1h2", "worker2"],
    ]) {
      cattle.hosts.push({
        id,
        type: "host",
        hostname,
        state: "active",
        labels: { pool: "workers" },
        driver: "amazonec2",
        amazonec2Config: { region: "x" },
        createdTS: 1,
      } as never);
    }
    const { core } = newTarget(clock, cattle);
    const config = {
      hostSelector: { pool: "workers" },
      action: "up",
      amount: 2,
      min: 1,
      max: 10,
      cooldownSeconds: 0,
      onResolved: "ignore",
      deleteOption: "leastRecent",
    } as const;
    core.register({ id: "rh", projectId: "1a5", name: "rh", version: 1, driver: "scaleHost", config });
    core.register({
      id: "rd",
      projectId: "1a5",
      name: "rd",
      version: 1,
      driver: "scaleHost",
      config: { ...config, action: "down", amount: 1 },
    });
    expect(await clock.run(core.trigger("rh", 1, {}))).toMatchObject({
      execution: { outcome: "applied", from: 2, to: 4, reason: "scaled up by 2: added worker3, worker4" },
    });
    // Evacuation leaves the host listed for a while; the next removal must take another one.
    const removed = await clock.run(Promise.all([core.trigger("rd", 1, {}), core.trigger("rd", 1, {})]));
    expect(removed.map((result) => (result.kind === "decided" ? result.execution.to : null))).toEqual([3, 2]);
    expect(cattle.calls.filter((call) => call.startsWith("POST evacuate"))).toEqual([
      "POST evacuate 1h1",
      "POST evacuate 1h2",
    ]);
  });
});

describe("a serviceUpgrade target", () => {
  it("queues a push, follows the upgrade with alarms and closes the execution", async () => {
    const { core, clock, cattle } = newTarget();
    cattle.service().launchConfig = { imageUuid: "docker:myorg/web:1.0", labels: { app: "web" } };
    const config = {
      serviceSelector: { app: "web" },
      tag: "1.*",
      policy: "glob",
      payloadFormat: "dockerhub",
      batchSize: 1,
      intervalMillis: 2000,
      startFirst: false,
      rollbackOnFailure: true,
      healthySeconds: 60,
      healthTimeoutSeconds: 600,
    } as const;
    core.register({ id: "ru", projectId: "1a5", name: "ru", version: 1, driver: "serviceUpgrade", config });
    const queued = await clock.run(
      core.trigger("ru", 1, { pushes: [{ repository: "myorg/web", tags: ["1.1"] }] }),
    );
    expect(queued).toMatchObject({
      execution: { outcome: "queued", reason: "upgrading 1s1 (web) to myorg/web:1.1" },
    });
    await clock.run(core.alarm());
    expect(cattle.service()).toMatchObject({
      state: "upgrading",
      launchConfig: { imageUuid: "docker:myorg/web:1.1" },
    });
    cattle.service().state = "upgraded";
    cattle.instances.set("1s1", [
      { id: "1i1", type: "container", state: "running", startCount: 1, imageUuid: "docker:myorg/web:1.1" },
    ]);
    // The new container is watched for healthySeconds before the upgrade is finished.
    await clock.run(core.alarm());
    expect(cattle.calls.at(-1)).toBe("GET instances 1s1");
    await clock.advance(60_000);
    await clock.run(core.alarm());
    expect(cattle.calls.at(-1)).toBe("POST service 1s1 finishupgrade");
    cattle.service().state = "active";
    await clock.run(core.alarm());
    const [execution] = core.executions("ru");
    expect(execution).toMatchObject({
      outcome: "applied",
      reason: "upgraded 1s1 (web) to myorg/web:1.1",
      finished: clock.now(),
    });
  });

  it("skips a queued push that a newer image overtook before its turn, under a version policy", async () => {
    const { core, clock, cattle } = newTarget();
    cattle.service().launchConfig = { imageUuid: "docker:myorg/web:1.0.0", labels: { app: "web" } };
    // An upgrade started by hand waits to be finished: the push waits for it.
    cattle.service().state = "upgraded";
    const config = {
      serviceSelector: { app: "web" },
      policy: "semver-minor",
      payloadFormat: "generic",
      batchSize: 1,
      intervalMillis: 2000,
      startFirst: false,
      rollbackOnFailure: true,
      healthySeconds: 60,
      healthTimeoutSeconds: 600,
    } as const;
    core.register({ id: "rv", projectId: "1a5", name: "rv", version: 1, driver: "serviceUpgrade", config });
    const push = (tag: string) =>
      core.trigger("rv", 1, { pushes: [{ repository: "myorg/web", tags: [tag] }] });
    expect(await clock.run(push("1.2.0"))).toMatchObject({ execution: { outcome: "queued" } });
    // Older than what is queued: refused at once, whatever order the registry sent them in.
    expect(await clock.run(push("1.1.0"))).toMatchObject({
      execution: {
        outcome: "ignored",
        reason: "1s1 (web): 1.1.0 is not newer than 1.2.0, already queued: a policy never downgrades",
      },
    });
    await clock.run(core.alarm());
    expect(cattle.calls.filter((call) => call.includes("upgrade"))).toEqual([]);
    // Meanwhile that upgrade, to 1.3.0, is finished by hand.
    cattle.service().launchConfig = { imageUuid: "docker:myorg/web:1.3.0", labels: { app: "web" } };
    cattle.service().state = "active";
    await clock.run(core.alarm());
    expect(cattle.calls.filter((call) => call.includes("upgrade"))).toEqual([]);
    expect(core.executions("rv")[1]).toMatchObject({
      outcome: "ignored",
      reason: "1s1 (web) skipped: 1.2.0 is not newer than the running 1.3.0: a policy never downgrades",
    });
  });
});

describe("a scaleService target's writer", () => {
  it("writes a trigger that comes as it finishes, whichever moment of its ending that is", async () => {
    // Each delay puts the second trigger a few more promise reactions after the first one's answer:
    // one of them lands after the writer last looked at its queue, before it was known to be done.
    for (let hops = 0; hops < 12; hops++) {
      const { core, clock, cattle } = newTarget();
      core.register(scaleReceiver("ra"));
      const second = core.trigger("ra", 1, {}).then(async () => {
        for (let hop = 0; hop < hops; hop++) await Promise.resolve();
        return core.trigger("ra", 1, {});
      });
      const started = clock.now();
      expect(await clock.run(second), `${hops} hops`).toMatchObject({
        kind: "decided",
        execution: { outcome: "applied", from: 2, to: 3 },
      });
      expect(clock.now() - started, `${hops} hops`).toBeLessThan(1_000);
      expect(cattle.service().scale).toBe(3);
    }
  });
});
