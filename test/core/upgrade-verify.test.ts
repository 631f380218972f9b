import { describe, expect, it } from "vitest";
import type { Instance } from "../../src/cattle/types";
import type { Execution } from "../../src/domain/execution";
import { CATTLE_409, FakeCattle, FakeClock, memoryStorage, newTarget } from "./fakes";

/**
 * An upgrade after Cattle shows `upgraded`: the new containers are watched, then the upgrade is
 * finished or rolled back (docs/upgrades.md, "Health checks and rollback"), through crashes, lost
 * answers and Cattle's lock.
 */

const CONFIG = {
  serviceSelector: { app: "web" },
  tag: "1.*",
  policy: "glob" as const,
  payloadFormat: "dockerhub" as const,
  batchSize: 1,
  intervalMillis: 2000,
  startFirst: false,
  rollbackOnFailure: true,
  healthySeconds: 60,
  healthTimeoutSeconds: 600,
};

type Target = ReturnType<typeof newTarget>;

function upgradeTarget(config: Partial<typeof CONFIG> = {}, target: Target = newTarget()) {
  target.cattle.service().launchConfig = {
    imageUuid: "docker:myorg/web:1.0",
    labels: { app: "web" },
    version: "v1",
  };
  target.cattle.service().scale = 2;
  target.core.register({
    id: "ru",
    projectId: "1a5",
    name: "ru",
    version: 1,
    driver: "serviceUpgrade",
    config: { ...CONFIG, ...config },
  });
  return target;
}

const push = (target: Target, tag: string, digest?: string) =>
  target.clock.run(
    target.core.trigger("ru", 1, {
      pushes: [{ repository: "myorg/web", tags: [tag], ...(digest ? { digests: { [tag]: digest } } : {}) }],
    }),
  );

const alarm = (target: Target) => target.clock.run(target.core.alarm());

const container = (id: string, fields: Partial<Instance> = {}): Instance => ({
  id,
  type: "container",
  name: `Default-web-${id.slice(2)}`,
  state: "running",
  healthState: "healthy",
  startCount: 1,
  imageUuid: "docker:myorg/web:1.1",
  version: "v2",
  ...fields,
});

/** Cattle has replaced every container: the service shows `upgraded`, its new containers as given. */
function upgraded(target: Target, containers: Instance[] = [container("1i3"), container("1i4")]) {
  const service = target.cattle.service();
  service.state = "upgraded";
  service.launchConfig = { ...service.launchConfig, version: "v2" };
  const old = [
    container("1i1", {
      state: "stopped",
      healthState: "healthy",
      imageUuid: "docker:myorg/web:1.0",
      version: "v1",
    }),
    container("1i2", {
      state: "stopped",
      healthState: "healthy",
      imageUuid: "docker:myorg/web:1.0",
      version: "v1",
    }),
  ];
  target.cattle.instances.set("1s1", [...old, ...containers]);
}

/** Cattle ends the rollback: the previous image runs again. */
function rolledBackInCattle(target: Target) {
  const service = target.cattle.service();
  service.state = "active";
  service.launchConfig = { imageUuid: "docker:myorg/web:1.0", labels: { app: "web" }, version: "v1" };
}

const latest = (target: Target): Execution => target.core.executions("ru")[0] as Execution;
const steps = (execution: Execution) => execution.upgrades?.[0]?.steps.map((step) => step.step);
const actions = (cattle: FakeCattle, action: string) =>
  cattle.calls.filter((call) => call === `POST service 1s1 ${action}`).length;

describe("an upgrade's new containers", () => {
  it("are watched for healthySeconds, then the upgrade is finished, each step shown with its time", async () => {
    const target = upgradeTarget();
    const queued = await push(target, "1.1");
    expect(queued).toMatchObject({
      execution: { outcome: "queued", upgrades: [{ steps: [{ step: "waiting" }] }] },
    });
    await alarm(target);
    expect(steps(latest(target))).toEqual(["waiting", "upgrading"]);
    upgraded(target);
    await alarm(target);
    expect(steps(latest(target))).toEqual(["waiting", "upgrading", "upgraded", "verifying"]);
    const verifyingAt = target.clock.now();
    await target.clock.advance(59_000);
    await alarm(target);
    expect(actions(target.cattle, "finishupgrade")).toBe(0);
    await target.clock.advance(1_000);
    await alarm(target);
    expect(actions(target.cattle, "finishupgrade")).toBe(1);
    target.cattle.service().state = "active";
    await alarm(target);
    const done = latest(target);
    expect(done).toMatchObject({
      outcome: "applied",
      reason: "upgraded 1s1 (web) to myorg/web:1.1",
      upgrades: [
        { serviceId: "1s1", serviceName: "web", image: "myorg/web:1.1", previousImage: "myorg/web:1.0" },
      ],
    });
    expect(done.upgrades?.[0]?.steps).toEqual([
      { step: "waiting", at: expect.any(Number) },
      { step: "upgrading", at: expect.any(Number) },
      { step: "upgraded", at: verifyingAt },
      { step: "verifying", at: verifyingAt },
      { step: "finishing", at: verifyingAt + 60_000 },
      { step: "finished", at: verifyingAt + 60_000 },
    ]);
  });

  it("that turn unhealthy roll the service back, and the execution ends rolledBack naming them", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3"), container("1i4", { healthState: "initializing" })]);
    await alarm(target);
    target.cattle.instances.set("1s1", [container("1i3"), container("1i4", { healthState: "unhealthy" })]);
    await target.clock.advance(5_000);
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(1);
    expect(actions(target.cattle, "finishupgrade")).toBe(0);
    expect(latest(target)).toMatchObject({ outcome: "queued" });
    expect(steps(latest(target))?.at(-1)).toBe("rolling back");
    // Cattle walks rolling-back → active; the execution ends when it is active.
    await alarm(target);
    expect(latest(target)).toMatchObject({ outcome: "queued" });
    rolledBackInCattle(target);
    await alarm(target);
    expect(latest(target)).toMatchObject({
      outcome: "rolledBack",
      reason: "rolled back 1s1 (web) from myorg/web:1.1 to myorg/web:1.0: 1i4 (Default-web-4) unhealthy",
      upgrades: [{ message: "1i4 (Default-web-4) unhealthy" }],
    });
    expect(steps(latest(target))?.slice(-2)).toEqual(["rolling back", "rolled back"]);
  });

  it("that keep restarting roll the service back", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3", { healthState: null, startCount: 1 })]);
    await alarm(target);
    target.cattle.instances.set("1s1", [container("1i3", { healthState: null, startCount: 3 })]);
    await target.clock.advance(5_000);
    await alarm(target);
    rolledBackInCattle(target);
    await alarm(target);
    expect(latest(target)).toMatchObject({
      outcome: "rolledBack",
      reason: expect.stringContaining(
        "1i3 (Default-web-3) restarting (started 2 more times, start count 1 → 3)",
      ),
    });
  });

  it("not healthy within healthTimeoutSeconds roll the service back", async () => {
    const target = upgradeTarget({ healthTimeoutSeconds: 30 });
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3", { healthState: "initializing" })]);
    await alarm(target);
    await target.clock.advance(30_000);
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(1);
    rolledBackInCattle(target);
    await alarm(target);
    expect(latest(target).reason).toContain(
      "not healthy within 30 s: 1i3 (Default-web-3) running, initializing",
    );
  });

  it("failing with rollbackOnFailure off: the upgrade is finished as before and the execution fails", async () => {
    const target = upgradeTarget({ rollbackOnFailure: false });
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3", { healthState: "unhealthy" })]);
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(0);
    expect(actions(target.cattle, "finishupgrade")).toBe(1);
    target.cattle.service().state = "active";
    await alarm(target);
    expect(latest(target)).toMatchObject({
      outcome: "failed",
      reason:
        "upgrade of 1s1 (web) to myorg/web:1.1 failed: the new containers failed their checks (1i3 (Default-web-3) unhealthy); the upgrade was finished all the same because rollbackOnFailure is off",
    });
  });

  it("are rolled back when Cattle ends the upgrade in an error", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    Object.assign(target.cattle.service(), {
      transitioning: "error",
      transitioningMessage: "Failed to start container: no space left on device",
    });
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(1);
    Object.assign(target.cattle.service(), { transitioning: "no", transitioningMessage: null });
    rolledBackInCattle(target);
    await alarm(target);
    expect(latest(target)).toMatchObject({
      outcome: "rolledBack",
      reason: expect.stringContaining(
        "Cattle ended the upgrade in an error: Failed to start container: no space left on device",
      ),
    });
  });
});

describe("a watch over new containers, through crashes and Cattle's faults", () => {
  it("resumes after a crash with the healthy time already counted", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const first = upgradeTarget({}, newTarget(clock, cattle, storage));
    await push(first, "1.1");
    await alarm(first);
    upgraded(first);
    await alarm(first);
    await clock.advance(40_000);
    first.stop();
    // A new incarnation over the same storage: the watch goes on where it was.
    const second = newTarget(clock, cattle, storage);
    await clock.advance(20_000);
    await alarm(second);
    expect(actions(cattle, "finishupgrade")).toBe(1);
    cattle.service().state = "active";
    await alarm(second);
    expect(latest(second)).toMatchObject({ outcome: "applied" });
  });

  it("counts the healthy time from when the containers were seen, not from when the alarm began", async () => {
    // Two services in one push: the first one's rollback waits out the client's patience, so the
    // second one's first look comes seconds into the alarm.
    const target = upgradeTarget({ healthySeconds: 5 });
    target.cattle.services.set("1s2", {
      ...structuredClone(target.cattle.service()),
      id: "1s2",
      name: "api",
    });
    await push(target, "1.1");
    await alarm(target);
    expect(target.cattle.service("1s2").state).toBe("upgrading");
    upgraded(target, [container("1i3", { healthState: "unhealthy" })]);
    Object.assign(target.cattle.service("1s2"), {
      state: "upgraded",
      launchConfig: { ...target.cattle.service("1s2").launchConfig, version: "v2" },
    });
    target.cattle.instances.set("1s2", [container("1i5", { name: "Default-api-5" })]);
    target.cattle.writes.push({ kind: "late", ms: 60_000 });
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(1);
    const seenAt = target.clock.now();
    await target.clock.advance(500);
    await alarm(target);
    // Seen healthy for half a second: far from the five seconds it must stay so.
    expect(target.cattle.calls).not.toContain("POST service 1s2 finishupgrade");
    await target.clock.advance(seenAt + 5_000 - target.clock.now());
    await alarm(target);
    expect(target.cattle.calls).toContain("POST service 1s2 finishupgrade");
  });

  it("advances a job in one alarm at a time, so that a slow alarm never acts on what it read before", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3")]);
    await alarm(target);
    target.cattle.instances.set("1s1", [container("1i3", { healthState: "unhealthy" })]);
    // An alarm whose read of the service comes back three seconds late; a push sets the alarm
    // again meanwhile, and that one runs while the first still waits (as on Deno).
    target.cattle.jitterMs.push([0, 3_000]);
    const slow = target.core.alarm();
    await target.clock.advance(100);
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(1);
    rolledBackInCattle(target);
    await alarm(target);
    await target.clock.run(slow);
    expect(actions(target.cattle, "rollback")).toBe(1);
    expect(latest(target)).toMatchObject({ outcome: "rolledBack" });
    expect(steps(latest(target))?.slice(-2)).toEqual(["rolling back", "rolled back"]);
  });

  it("sends a rollback decided before a crash that stopped it from being sent", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const first = upgradeTarget({}, newTarget(clock, cattle, storage));
    await push(first, "1.1");
    await alarm(first);
    upgraded(first, [container("1i3", { healthState: "unhealthy" })]);
    // The rollback is stored, then its request never reaches Cattle: the object dies with it.
    cattle.writes.push({ kind: "delayed", ms: Number.MAX_SAFE_INTEGER });
    const dying = first.core.alarm();
    await clock.advance(100);
    first.stop();
    void dying;
    expect(cattle.service().state).toBe("upgraded");
    const second = newTarget(clock, cattle, storage);
    await alarm(second);
    expect(actions(cattle, "rollback")).toBe(2);
    expect(cattle.service().state).toBe("rolling-back");
    rolledBackInCattle({ ...second, cattle } as Target);
    await alarm(second);
    expect(latest(second)).toMatchObject({ outcome: "rolledBack" });
  });

  it("waits out Cattle's lock and a lost answer during the rollback", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3", { healthState: "unhealthy" })]);
    target.cattle.writes.push({ kind: "refused", failure: CATTLE_409 });
    await alarm(target);
    expect(target.cattle.service().state).toBe("upgraded");
    expect(latest(target)).toMatchObject({ outcome: "queued" });
    // Sent again; Cattle applies it but the answer is lost.
    target.cattle.writes.push({ kind: "lost" });
    await target.clock.advance(1_000);
    await alarm(target);
    expect(target.cattle.service().state).toBe("rolling-back");
    await target.clock.advance(1_000);
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(2);
    rolledBackInCattle(target);
    await alarm(target);
    expect(latest(target)).toMatchObject({ outcome: "rolledBack" });
  });

  it("keeps a second push for the service waiting until the first is verified and finished", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target);
    await alarm(target);
    expect(await push(target, "1.2")).toMatchObject({ execution: { outcome: "queued" } });
    await target.clock.advance(30_000);
    await alarm(target);
    expect(actions(target.cattle, "upgrade")).toBe(1);
    await target.clock.advance(30_000);
    await alarm(target);
    target.cattle.service().state = "active";
    await alarm(target);
    expect(actions(target.cattle, "upgrade")).toBe(1);
    await alarm(target);
    expect(actions(target.cattle, "upgrade")).toBe(2);
    expect(target.cattle.service().launchConfig?.imageUuid).toBe("docker:myorg/web:1.2");
  });

  it("starts a service's next upgrade only once a finish sent without an answer can no longer land on it", async () => {
    const target = upgradeTarget({ healthySeconds: 0 });
    await push(target, "1.1");
    await alarm(target);
    upgraded(target);
    expect(await push(target, "1.2")).toMatchObject({ execution: { outcome: "queued" } });
    // The finish goes out; Cattle takes it only 8 s later, long after the client gave up on it.
    const sentAt = target.clock.now();
    target.cattle.writes.push({ kind: "delayed", ms: 8_000 });
    await alarm(target);
    expect(actions(target.cattle, "finishupgrade")).toBe(1);
    // Sent again and taken at once; Cattle finishes, and the first push's upgrade ends.
    await alarm(target);
    expect(actions(target.cattle, "finishupgrade")).toBe(2);
    target.cattle.service().state = "active";
    await alarm(target);
    await alarm(target);
    // The first finish may still land: the next upgrade waits out the 10 s it may take.
    expect(actions(target.cattle, "upgrade")).toBe(1);
    expect(target.clock.now()).toBeLessThan(sentAt + 10_000);
    await target.clock.advance(sentAt + 10_000 - target.clock.now());
    // It did land, on the finished service, where Cattle has nothing left to finish.
    expect(target.cattle.service().state).toBe("finishing-upgrade");
    target.cattle.service().state = "active";
    await alarm(target);
    expect(actions(target.cattle, "upgrade")).toBe(2);
    expect(target.cattle.service().launchConfig?.imageUuid).toBe("docker:myorg/web:1.2");
  });

  it("counts a finish cut short by a crash as unanswered, even once a later one is answered", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const first = upgradeTarget({ healthySeconds: 0 }, newTarget(clock, cattle, storage));
    await push(first, "1.1");
    await alarm(first);
    upgraded(first);
    await push(first, "1.2");
    // The finish goes out and the object dies waiting for its answer; Cattle takes it 8 s later.
    const sentAt = clock.now();
    cattle.writes.push({ kind: "delayed", ms: 8_000 });
    void first.core.alarm();
    await clock.advance(100);
    first.stop();
    const second = newTarget(clock, cattle, storage);
    await alarm(second);
    expect(actions(cattle, "finishupgrade")).toBe(2);
    cattle.service().state = "active";
    await alarm(second);
    await alarm(second);
    expect(actions(cattle, "upgrade")).toBe(1);
    await clock.advance(sentAt + 10_000 - clock.now());
    cattle.service().state = "active";
    await alarm(second);
    expect(actions(cattle, "upgrade")).toBe(2);
  });

  it("ignores a push of the image it rolled back for 24 hours; another tag or digest proceeds", async () => {
    const target = upgradeTarget();
    await push(target, "1.1", "sha256:aaa");
    await alarm(target);
    upgraded(target, [container("1i3", { healthState: "unhealthy" })]);
    await alarm(target);
    rolledBackInCattle(target);
    await alarm(target);
    expect(latest(target)).toMatchObject({ outcome: "rolledBack" });
    const rolledBackAt = new Date(target.clock.now()).toISOString();

    expect(await push(target, "1.1", "sha256:aaa")).toMatchObject({
      execution: {
        outcome: "ignored",
        reason: `1s1 (web): myorg/web:1.1 was rolled back at ${rolledBackAt} (1i3 (Default-web-3) unhealthy); push another tag or digest to upgrade`,
      },
    });
    expect(await push(target, "1.1", "sha256:bbb")).toMatchObject({ execution: { outcome: "queued" } });
  });

  it("forgets a rolled-back image after 24 hours", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3", { healthState: "unhealthy" })]);
    await alarm(target);
    rolledBackInCattle(target);
    await alarm(target);
    expect(await push(target, "1.1")).toMatchObject({ execution: { outcome: "ignored" } });
    expect(await push(target, "1.2")).toMatchObject({ execution: { outcome: "queued" } });
    await target.clock.advance(24 * 3_600_000);
    expect(await push(target, "1.1")).toMatchObject({ execution: { outcome: "queued" } });
  });
});

describe("new containers while Cattle is still replacing them", () => {
  /** Cattle is upgrading: the first batch's new container is up, the rest still to come. */
  function firstBatch(target: Target, fields: Partial<Instance>) {
    const service = target.cattle.service();
    service.launchConfig = { ...service.launchConfig, version: "v2" };
    target.cattle.instances.set("1s1", [
      container("1i1", { state: "stopped", imageUuid: "docker:myorg/web:1.0", version: "v1" }),
      container("1i2", { imageUuid: "docker:myorg/web:1.0", version: "v1" }),
      container("1i3", fields),
    ]);
  }

  it("roll the service back as soon as one fails, without waiting for upgraded", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    expect(target.cattle.service().state).toBe("upgrading");
    firstBatch(target, { healthState: "unhealthy" });
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(1);
    rolledBackInCattle(target);
    await alarm(target);
    expect(latest(target)).toMatchObject({
      outcome: "rolledBack",
      reason: "rolled back 1s1 (web) from myorg/web:1.1 to myorg/web:1.0: 1i3 (Default-web-3) unhealthy",
    });
    expect(steps(latest(target))).toEqual(["waiting", "upgrading", "rolling back", "rolled back"]);
  });

  it("roll the service back when one is not healthy within healthTimeoutSeconds of being first seen", async () => {
    const target = upgradeTarget({ healthTimeoutSeconds: 60 });
    await push(target, "1.1");
    await alarm(target);
    firstBatch(target, { healthState: "initializing" });
    await alarm(target);
    await target.clock.advance(59_000);
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(0);
    await target.clock.advance(1_000);
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(1);
    rolledBackInCattle(target);
    await alarm(target);
    expect(latest(target).reason).toContain(
      "1i3 (Default-web-3) not healthy within 60 s: running, initializing",
    );
  });

  it("count restarts seen before upgraded on into the watch", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    firstBatch(target, { healthState: null, startCount: 1 });
    await alarm(target);
    target.cattle.instances.set("1s1", [container("1i3", { healthState: null, startCount: 2 })]);
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(0);
    upgraded(target, [container("1i3", { healthState: null, startCount: 3 }), container("1i4")]);
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(1);
  });

  it("are not read while upgrading when rollbackOnFailure is off: nothing could come of it", async () => {
    const target = upgradeTarget({ rollbackOnFailure: false });
    await push(target, "1.1");
    await alarm(target);
    firstBatch(target, { healthState: "unhealthy" });
    await alarm(target);
    expect(target.cattle.calls.filter((call) => call.startsWith("GET instances"))).toEqual([]);
    expect(actions(target.cattle, "rollback")).toBe(0);
  });
});

describe("an upgrade taken over or held up outside", () => {
  it("ends failed, saying so, when it is canceled in Rancher mid-verify", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target);
    await alarm(target);
    target.cattle.service().state = "canceled-upgrade";
    await alarm(target);
    expect(latest(target)).toMatchObject({
      outcome: "failed",
      reason:
        "upgrade of 1s1 (web) to myorg/web:1.1 failed: the upgrade was canceled in Rancher; the service is left canceled-upgrade for you to continue or roll back",
    });
    expect(actions(target.cattle, "rollback") + actions(target.cattle, "finishupgrade")).toBe(0);
  });

  it("gives a queued push its 30 minutes from when its turn comes, not from the push", async () => {
    const target = upgradeTarget({ healthySeconds: 3600, healthTimeoutSeconds: 7200 });
    await push(target, "1.1");
    await alarm(target);
    upgraded(target);
    expect(await push(target, "1.2")).toMatchObject({ execution: { outcome: "queued" } });
    // The first upgrade is watched for 40 minutes, then canceled in Rancher.
    for (let minute = 0; minute < 40; minute++) {
      await alarm(target);
      await target.clock.advance(60_000);
    }
    target.cattle.service().state = "canceled-upgrade";
    await alarm(target);
    expect(target.core.executions("ru")[1]).toMatchObject({ outcome: "failed" });
    // The queued push's turn: the service is not active yet, and it waits rather than failing.
    await alarm(target);
    expect(target.core.executions("ru")[0]).toMatchObject({ outcome: "queued" });
    // Rolled back by hand a few minutes later: the queued push upgrades.
    await target.clock.advance(5 * 60_000);
    rolledBackInCattle(target);
    await alarm(target);
    expect(actions(target.cattle, "upgrade")).toBe(2);
  });

  it("waits out the service's key being refused mid-verify instead of leaving the service upgraded", async () => {
    const target = upgradeTarget({ healthySeconds: 10 });
    await push(target, "1.1");
    await alarm(target);
    upgraded(target);
    await alarm(target);
    const refused = { kind: "unauthorized" as const, status: 401 as const, message: "Cattle answered 401" };
    target.cattle.reads.push({ kind: "refused", failure: refused }, { kind: "refused", failure: refused });
    await target.clock.advance(5_000);
    await alarm(target);
    await target.clock.advance(5_000);
    await alarm(target);
    expect(latest(target)).toMatchObject({ outcome: "queued" });
    await alarm(target);
    expect(actions(target.cattle, "finishupgrade")).toBe(1);
  });
});

describe("a slow Cattle", () => {
  it("still gets every service's look at its containers through: each step has Cattle's time of its own", async () => {
    const target = upgradeTarget({ healthySeconds: 10 });
    const second = structuredClone(target.cattle.service());
    target.cattle.services.set("1s2", { ...second, id: "1s2", name: "web2" });
    expect(await push(target, "1.1")).toMatchObject({
      execution: { reason: "upgrading 1s1 (web), 1s2 (web2) to myorg/web:1.1" },
    });
    await alarm(target);
    for (const id of ["1s1", "1s2"]) {
      const service = target.cattle.service(id);
      service.state = "upgraded";
      service.launchConfig = { ...service.launchConfig, version: "v2" };
      target.cattle.instances.set(id, [container(`1i${id.slice(2)}0`)]);
    }
    // Every call now takes 2.5 s: one service's two reads take 5 s of the 6 s a step may wait.
    target.cattle.latencyMs = 2_500;
    await alarm(target);
    await target.clock.advance(10_000);
    await alarm(target);
    expect(target.cattle.calls.filter((call) => call.endsWith("finishupgrade"))).toEqual([
      "POST service 1s1 finishupgrade",
      "POST service 1s2 finishupgrade",
    ]);
  });
});

describe("a rollback between two looks", () => {
  it("is not sent again onto an upgrade someone started by hand since", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3", { healthState: "unhealthy" })]);
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(1);
    // Cattle rolls back, and before the next look someone upgrades the service to 1.2 by hand.
    const service = target.cattle.service();
    service.state = "upgrading";
    service.launchConfig = { imageUuid: "docker:myorg/web:1.2", labels: { app: "web" }, version: "v3" };
    await alarm(target);
    expect(actions(target.cattle, "rollback")).toBe(1);
    expect(latest(target)).toMatchObject({
      outcome: "rolledBack",
      reason: expect.stringContaining(
        "the service has since been upgraded outside rancher-hooks to myorg/web:1.2",
      ),
    });
  });
});
