import { describe, expect, it } from "vitest";
import type { LiveReceiver } from "../../src/domain/receiver";
import { CATTLE_503, FakeCattle, FakeClock, memoryStorage, newTarget } from "./fakes";

/**
 * A scaleHost step is several calls to Cattle, one per host: an object that stops in the middle of
 * them must, after its restart, answer a retry of the delivery as the repeat it is and record how far
 * the step went (docs/how-it-works.md, "Crashes and restarts").
 */

const hostReceiver = (cooldownSeconds = 0): LiveReceiver => ({
  id: "rh",
  projectId: "1a5",
  name: "rh",
  version: 1,
  driver: "scaleHost",
  config: {
    hostSelector: { pool: "workers" },
    action: "up",
    amount: 2,
    min: 1,
    max: 10,
    cooldownSeconds,
    onResolved: "ignore",
    deleteOption: "leastRecent",
  },
});

function withWorkers() {
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
  return { clock, cattle, storage: memoryStorage() };
}

describe("a scaleHost step interrupted by a restart", () => {
  it("is recorded as far as Cattle shows it went, and a retry of its delivery is deduplicated", async () => {
    const { clock, cattle, storage } = withWorkers();
    const before = newTarget(clock, cattle, storage);
    before.core.register(hostReceiver(600));
    // The first host is made at once but its answer comes late: the object stops before the second.
    cattle.writes.push({ kind: "late", ms: 20_000 });
    void before.core.trigger("rh", 1, { identityKey: "K" });
    await clock.advance(450);
    expect(cattle.hosts.map((host) => host.hostname)).toEqual(["worker1", "worker2", "worker3"]);
    before.stop();

    const after = newTarget(clock, cattle, storage);
    expect(await clock.run(after.core.trigger("rh", 1, { identityKey: "K" }))).toMatchObject({
      execution: { outcome: "deduplicated" },
    });
    await clock.run(after.core.alarm());
    expect(cattle.hosts.map((host) => host.hostname)).toEqual(["worker1", "worker2", "worker3"]);
    expect(after.core.executions("rh")[1]).toMatchObject({
      outcome: "applied",
      from: 2,
      to: 3,
      reason: "added 1 of 2 hosts (worker3), then the service restarted",
    });
    // Its cooldown started with it, and a repeat now says what it did.
    expect(await clock.run(after.core.trigger("rh", 1, {}))).toMatchObject({
      execution: { outcome: "cooldown" },
    });
    expect(await clock.run(after.core.trigger("rh", 1, { identityKey: "K" }))).toMatchObject({
      execution: { outcome: "deduplicated", from: 2, to: 3 },
    });
  });

  it("is settled before the next step is planned, also when no alarm came", async () => {
    const { clock, cattle, storage } = withWorkers();
    const before = newTarget(clock, cattle, storage);
    before.core.register(hostReceiver());
    cattle.writes.push({ kind: "late", ms: 20_000 });
    void before.core.trigger("rh", 1, {});
    await clock.advance(450);
    before.stop();

    const after = newTarget(clock, cattle, storage);
    expect(await clock.run(after.core.trigger("rh", 1, {}))).toMatchObject({
      execution: { outcome: "applied", from: 3, to: 5, reason: "scaled up by 2: added worker4, worker5" },
    });
    expect(
      after.core.executions("rh").map((execution) => [execution.outcome, execution.from, execution.to]),
    ).toEqual([
      ["applied", 3, 5],
      ["applied", 2, 3],
    ]);
  });

  it("is not replaced by a new step while Cattle cannot tell how far it went", async () => {
    const { clock, cattle, storage } = withWorkers();
    const before = newTarget(clock, cattle, storage);
    before.core.register(hostReceiver());
    cattle.writes.push({ kind: "late", ms: 20_000 });
    void before.core.trigger("rh", 1, {});
    await clock.advance(450);
    before.stop();

    const after = newTarget(clock, cattle, storage);
    // Cattle's host list fails once: the interrupted step cannot be settled yet.
    cattle.reads.push({ kind: "refused", failure: CATTLE_503 });
    expect(await clock.run(after.core.trigger("rh", 1, {}))).toMatchObject({ kind: "unavailable" });
    expect(after.core.executions("rh").map((execution) => execution.outcome)).toEqual(["pending"]);
    await clock.run(after.core.alarm());
    expect(after.core.executions("rh")).toMatchObject([{ outcome: "applied", from: 2, to: 3 }]);
    expect(cattle.hosts.map((host) => host.hostname)).toEqual(["worker1", "worker2", "worker3"]);
  });
});
