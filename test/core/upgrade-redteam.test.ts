import { describe, expect, it } from "vitest";
import type { Instance } from "../../src/cattle/types";
import type { Execution } from "../../src/domain/execution";
import { CATTLE_409, newTarget } from "./fakes";

/**
 * Upgrades whose new containers, or whose people, do what the plain cases do not: containers that
 * run once by design, a decision overtaken by someone in Rancher, an image spelled another way
 * (docs/upgrades.md, "Health checks and rollback" and "What a push does").
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
  healthySeconds: 10,
  healthTimeoutSeconds: 600,
};

type Target = ReturnType<typeof newTarget>;

function upgradeTarget(image = "docker:myorg/web:1.0") {
  const target = newTarget();
  const service = target.cattle.service();
  service.launchConfig = { imageUuid: image, labels: { app: "web" }, version: "v1" };
  service.scale = 1;
  target.core.register({
    id: "ru",
    projectId: "1a5",
    name: "ru",
    version: 1,
    driver: "serviceUpgrade",
    config: CONFIG,
  });
  return target;
}

const push = (target: Target, tag: string, repository = "myorg/web") =>
  target.clock.run(target.core.trigger("ru", 1, { pushes: [{ repository, tags: [tag] }] }));

const alarm = (target: Target) => target.clock.run(target.core.alarm());

const container = (id: string, fields: Partial<Instance> = {}): Instance => ({
  id,
  type: "container",
  name: `Default-web-${id.slice(2)}`,
  state: "running",
  healthState: null,
  startCount: 1,
  imageUuid: "docker:myorg/web:1.1",
  version: "v2",
  ...fields,
});

/** Cattle has replaced the containers: the service shows `upgraded` with these new ones listed. */
function upgraded(target: Target, containers: Instance[], version = "v2") {
  const service = target.cattle.service();
  service.state = "upgraded";
  service.launchConfig = { ...service.launchConfig, version };
  target.cattle.instances.set("1s1", containers);
}

/** Cattle shows the service `active`, its primary launch config on `image` at `version`. */
function activeOn(target: Target, image: string, version: string) {
  const service = target.cattle.service();
  service.state = "active";
  service.launchConfig = { ...service.launchConfig, imageUuid: image, version };
}

const latest = (target: Target): Execution => target.core.executions("ru")[0] as Execution;
const sent = (target: Target, action: string) =>
  target.cattle.calls.filter((call) => call === `POST service 1s1 ${action}`).length;

describe("new containers that Cattle runs once", () => {
  it("a start-once container that ran and stopped is done, not down: the upgrade is finished", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    // Cattle counts such a container healthy (its service health), so the watch must too.
    upgraded(target, [
      container("1i3"),
      container("1i4", {
        name: "Default-web-migrate-1",
        state: "stopped",
        startCount: 1,
        labels: { "io.rancher.container.start_once": "true" },
      }),
    ]);
    await alarm(target);
    await target.clock.advance(10_000);
    await alarm(target);
    expect(sent(target, "rollback")).toBe(0);
    expect(sent(target, "finishupgrade")).toBe(1);
    activeOn(target, "docker:myorg/web:1.1", "v2");
    await alarm(target);
    expect(latest(target)).toMatchObject({ outcome: "applied" });
  });

  it("a start-once container that never started is still waited for, and one in error still fails", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    const once = { "io.rancher.container.start_once": "true" };
    upgraded(target, [container("1i3"), container("1i4", { state: "stopped", startCount: 0, labels: once })]);
    await alarm(target);
    await target.clock.advance(10_000);
    await alarm(target);
    expect(sent(target, "finishupgrade")).toBe(0);
    target.cattle.instances.set("1s1", [
      container("1i3"),
      container("1i4", { state: "error", startCount: 1, labels: once }),
    ]);
    await target.clock.advance(1_000);
    await alarm(target);
    expect(sent(target, "rollback")).toBe(1);
  });
});

describe("a decision overtaken in Rancher before Cattle took it", () => {
  it("a finish not yet taken when someone rolls back by hand ends rolledBack, not applied", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3")]);
    await alarm(target);
    // The finish is decided and sent; Cattle is busy and answers 409.
    target.cattle.writes.push({ kind: "refused", failure: CATTLE_409 });
    await target.clock.advance(10_000);
    await alarm(target);
    expect(sent(target, "finishupgrade")).toBe(1);
    expect(target.cattle.service().state).toBe("upgraded");
    // Meanwhile someone rolls the service back in Rancher: it walks rolling-back → active on 1.0.
    target.cattle.service().state = "rolling-back";
    await target.clock.advance(1_000);
    await alarm(target);
    activeOn(target, "docker:myorg/web:1.0", "v1");
    await target.clock.advance(1_000);
    await alarm(target);
    expect(latest(target)).toMatchObject({
      outcome: "rolledBack",
      reason:
        "rolled back 1s1 (web) from myorg/web:1.1 to myorg/web:1.0: rolled back outside rancher-hooks: the service runs myorg/web:1.0",
    });
    expect(latest(target).upgrades?.[0]?.steps.at(-1)?.step).toBe("rolled back");
  });

  it("a rollback not yet taken when someone finishes by hand is not told as rolled back, nor remembered", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3", { healthState: "unhealthy" })]);
    target.cattle.writes.push({ kind: "refused", failure: CATTLE_409 });
    await alarm(target);
    expect(sent(target, "rollback")).toBe(1);
    expect(target.cattle.service().state).toBe("upgraded");
    // Someone finishes the upgrade in Rancher first: the service ends active on the new image.
    target.cattle.service().state = "finishing-upgrade";
    await target.clock.advance(1_000);
    await alarm(target);
    activeOn(target, "docker:myorg/web:1.1", "v2");
    await target.clock.advance(1_000);
    await alarm(target);
    const ended = latest(target);
    expect(ended).toMatchObject({
      outcome: "failed",
      reason:
        "upgrade of 1s1 (web) to myorg/web:1.1 failed: the new containers failed their checks (1i3 (Default-web-3) unhealthy); the upgrade was finished outside rancher-hooks before the rollback was taken",
    });
    expect(ended.upgrades?.[0]?.steps.at(-1)?.step).toBe("failed");
    // The service runs 1.1: nothing was rolled back, so a push of 1.1 is not refused for it.
    activeOn(target, "docker:myorg/web:1.0", "v1");
    expect(await push(target, "1.1")).toMatchObject({ execution: { outcome: "queued" } });
  });
});

describe("new containers told apart by their image", () => {
  it("where Cattle shows no versions, a push spelling the repository another way still finds them", async () => {
    const target = upgradeTarget("docker:docker.io/myorg/web:1.0");
    await push(target, "1.1", "myorg/web");
    await alarm(target);
    expect(target.cattle.service().launchConfig?.imageUuid).toBe("docker:docker.io/myorg/web:1.1");
    upgraded(target, [container("1i3", { imageUuid: "docker:docker.io/myorg/web:1.1", version: null })], "");
    await alarm(target);
    await target.clock.advance(10_000);
    await alarm(target);
    expect(sent(target, "rollback")).toBe(0);
    expect(sent(target, "finishupgrade")).toBe(1);
  });
});

describe("a service removed while its new containers are watched", () => {
  it("ends the upgrade failed at once, as Cattle still shows the removed service for a while", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    upgraded(target, [container("1i3", { healthState: "initializing" })]);
    await alarm(target);
    // Someone removes the service in Rancher: Cattle shows it `removing`, then `removed`, until purged.
    Object.assign(target.cattle.service(), { state: "removing", removed: "2026-01-01T00:00:00Z" });
    await target.clock.advance(5_000);
    await alarm(target);
    expect(latest(target)).toMatchObject({
      outcome: "failed",
      reason: "upgrade of 1s1 (web) to myorg/web:1.1 failed: service 1s1 was removed",
    });
    expect(sent(target, "rollback") + sent(target, "finishupgrade")).toBe(0);
  });
});

describe("a push queued behind an upgrade of the same image that is then rolled back", () => {
  it("does not upgrade the service to the image it has just rolled back: it is skipped, naming the rollback", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    // The same image arrives again (another registry's receiver, a re-delivery): it waits its turn.
    expect(await push(target, "1.1")).toMatchObject({ execution: { outcome: "queued" } });
    upgraded(target, [container("1i3", { healthState: "unhealthy" })]);
    await alarm(target);
    activeOn(target, "docker:myorg/web:1.0", "v1");
    await alarm(target);
    const [second, first] = target.core.executions("ru") as [Execution, Execution];
    expect(first).toMatchObject({ outcome: "rolledBack" });
    const rolledBackAt = new Date(target.clock.now()).toISOString();
    await target.clock.advance(1_000);
    await alarm(target);
    await alarm(target);
    expect(sent(target, "upgrade")).toBe(1);
    expect(target.core.executions("ru")[0]).toMatchObject({
      id: second.id,
      outcome: "ignored",
      reason: `1s1 (web) skipped: myorg/web:1.1 was rolled back at ${rolledBackAt} (1i3 (Default-web-3) unhealthy); push another tag or digest to upgrade`,
    });
  });
});

describe("the same tag pushed again, where Cattle shows no versions", () => {
  it("the containers the upgrade replaced, stopped in their units, are not taken for new ones", async () => {
    const target = upgradeTarget("docker:myorg/web:1.1");
    target.cattle.service().scale = 2;
    await push(target, "1.1");
    await alarm(target);
    expect(sent(target, "upgrade")).toBe(1);
    const unit = (n: number) => ({ deploymentUnitUuid: `unit-${n}`, version: null });
    // Cattle stops each unit's old container and starts a new one, with a higher createIndex, in the unit.
    upgraded(
      target,
      [
        container("1i1", { ...unit(1), state: "stopped", createIndex: 1 }),
        container("1i2", { ...unit(2), state: "stopped", createIndex: 2 }),
        container("1i3", { ...unit(1), createIndex: 3 }),
        container("1i4", { ...unit(2), createIndex: 4 }),
      ],
      "",
    );
    await alarm(target);
    await target.clock.advance(10_000);
    await alarm(target);
    expect(sent(target, "rollback")).toBe(0);
    expect(sent(target, "finishupgrade")).toBe(1);
  });
});

describe("an object that starts again with upgrades still open", () => {
  it("sets its alarm, so an alarm lost meanwhile does not leave the execution queued for ever", async () => {
    const first = upgradeTarget();
    await push(first, "1.1");
    await alarm(first);
    expect(latest(first).upgrades?.[0]?.steps.at(-1)?.step).toBe("upgrading");
    // The object stops; its alarm is lost (its retries spent, or taken by a release that refused
    // the storage). A request wakes a new incarnation over the same storage.
    first.stop();
    const alarmsBefore = first.storage.alarms.length;
    const second = newTarget(first.clock, first.cattle, first.storage);
    expect(second.storage.alarms.length).toBe(alarmsBefore + 1);
    expect(second.storage.alarms.at(-1)).toBeLessThanOrEqual(second.clock.now());
    // When it fires, the upgrade goes on where it was.
    upgraded(second, [container("1i3")]);
    await alarm(second);
    await second.clock.advance(10_000);
    await alarm(second);
    expect(sent(second, "finishupgrade")).toBe(1);
  });

  it("sets none when every upgrade has ended", async () => {
    const first = upgradeTarget();
    await push(first, "1.1");
    await alarm(first);
    upgraded(first, [container("1i3")]);
    await alarm(first);
    await first.clock.advance(10_000);
    await alarm(first);
    activeOn(first, "docker:myorg/web:1.1", "v2");
    await alarm(first);
    expect(latest(first)).toMatchObject({ outcome: "applied" });
    first.stop();
    const alarmsBefore = first.storage.alarms.length;
    const second = newTarget(first.clock, first.cattle, first.storage);
    expect(second.storage.alarms.length).toBe(alarmsBefore);
  });
});

describe("a new container first seen before Cattle has started it", () => {
  it("is not a restart loop after its first start and one restart; a second restart is", async () => {
    const target = upgradeTarget();
    await push(target, "1.1");
    await alarm(target);
    // Seen while still starting: Cattle has not counted a start yet.
    upgraded(target, [container("1i3", { state: "starting", startCount: null })]);
    await alarm(target);
    target.cattle.instances.set("1s1", [container("1i3", { startCount: 2 })]);
    await target.clock.advance(1_000);
    await alarm(target);
    expect(sent(target, "rollback")).toBe(0);
    target.cattle.instances.set("1s1", [container("1i3", { startCount: 3 })]);
    await target.clock.advance(1_000);
    await alarm(target);
    expect(sent(target, "rollback")).toBe(1);
    activeOn(target, "docker:myorg/web:1.0", "v1");
    await alarm(target);
    expect(latest(target).reason).toContain(
      "1i3 (Default-web-3) restarting (started 2 more times, start count 1 → 3)",
    );
  });
});
