import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, type Json, json, P, reset, sleep } from "./emulator-client";

beforeEach(reset);

const setTransition = async (transitionMs: number) => {
  const response = await call("/_emulator/config", { method: "POST", key: null, body: { transitionMs } });
  expect(response.status).toBe(200);
};

const faults = async (body?: unknown): Promise<Json> => {
  const response = await fetch(`${EMULATOR}/_emulator/faults`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return response.json();
};

const upgrade = (id: string, inServiceStrategy: Record<string, unknown>) =>
  json(`${P}/services/${id}?action=upgrade`, { method: "POST", body: { inServiceStrategy } });

const action = (id: string, name: string) => json(`${P}/services/${id}?action=${name}`, { method: "POST" });

const service = async (id: string): Promise<Json> => (await json(`${P}/services/${id}`)).body;

/** Polls as the webhook service does, until the state is reached; returns the time it took. */
async function waitFor(id: string, state: string, timeoutMs = 3000): Promise<{ body: Json; ms: number }> {
  const started = Date.now();
  for (;;) {
    const body = await service(id);
    if (body.state === state && body.transitioning === "no") return { body, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`${id} stayed ${body.state}/${body.transitioning}`);
    await sleep(20);
  }
}

const API_PRIMARY = {
  imageUuid: "docker:myorg/api:1.1.0",
  labels: { app: "api", tier: "backend", "io.rancher.container.pull_image": "always" },
};

describe("seed for upgrades", () => {
  it("has api (1s5) with a sidekick and worker (1s6) on the same repository", async () => {
    expect(await service("1s5")).toMatchObject({
      name: "api",
      kind: "service",
      scale: 2,
      currentScale: 2,
      state: "active",
      launchConfig: { imageUuid: "docker:myorg/api:1.0.0", labels: { app: "api", tier: "backend" } },
      secondaryLaunchConfigs: [
        { name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.1", labels: { app: "api" }, version: "0" },
      ],
    });
    expect(await service("1s6")).toMatchObject({
      name: "worker",
      scale: 1,
      launchConfig: { imageUuid: "docker:myorg/api:1.0.0", labels: { app: "worker", tier: "backend" } },
      secondaryLaunchConfigs: null,
    });
  });
});

describe("upgrade duration", () => {
  it("runs ceil(scale / batchSize) batches, intervalMillis apart after the first", async () => {
    await setTransition(100);
    // 1s5 has scale 2: batchSize 1 → 2 batches → 100 + 200 ms.
    const started = await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 1, intervalMillis: 200 });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ state: "upgrading", transitioning: "yes" });
    await sleep(200);
    expect(await service("1s5")).toMatchObject({ state: "upgrading", transitioning: "yes" });
    const { ms } = await waitFor("1s5", "upgraded");
    expect(ms).toBeGreaterThanOrEqual(50);
    expect(ms).toBeLessThan(250);
  });

  it("takes one transition when one batch covers the scale, whatever the interval", async () => {
    await setTransition(100);
    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 2, intervalMillis: 5000 });
    const { ms } = await waitFor("1s5", "upgraded");
    expect(ms).toBeLessThan(400);
  });

  it("counts every unit of a larger scale, and startFirst does not change the duration", async () => {
    await setTransition(100);
    await call(`${P}/services/1s1`, { method: "PUT", body: { scale: 5 } });
    await waitFor("1s1", "active");
    // 5 units in batches of 2 → 3 batches → 100 + 2 × 150 = 400 ms.
    const started = Date.now();
    await upgrade("1s1", {
      launchConfig: { imageUuid: "docker:nginx:1.27" },
      batchSize: 2,
      intervalMillis: 150,
      startFirst: true,
    });
    await sleep(300);
    expect((await service("1s1")).state).toBe("upgrading");
    const { body } = await waitFor("1s1", "upgraded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(body.currentScale).toBe(5);
  });

  it("makes a PUT during an upgrade wait for it, then refuses it from upgraded (409), keeping the pace", async () => {
    await setTransition(50);
    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 1, intervalMillis: 400 });
    const put = await json(`${P}/services/1s5`, { method: "PUT", body: { scale: 3 } });
    expect(put.status).toBe(409);
    expect(put.body.code).toBe("Conflict");
    // The PUT was answered once the upgrade had run its two rounds; nothing of it was written.
    expect(await service("1s5")).toMatchObject({ state: "upgraded", scale: 2, transitioning: "no" });
  });

  it("resumes a canceled upgrade with the batches it had left", async () => {
    await setTransition(100);
    await call(`${P}/services/1s1`, { method: "PUT", body: { scale: 3 } });
    await waitFor("1s1", "active");
    // 3 batches: done at 100, 400 and 700 ms. Cancel after the first.
    await upgrade("1s1", {
      launchConfig: { imageUuid: "docker:nginx:1.27" },
      batchSize: 1,
      intervalMillis: 300,
    });
    await sleep(200);
    expect((await action("1s1", "cancelupgrade")).body.state).toBe("canceling-upgrade");
    await waitFor("1s1", "canceled-upgrade");
    const started = Date.now();
    const resumed = await action("1s1", "continueupgrade");
    expect(resumed.status).toBe(202);
    expect(resumed.body.state).toBe("upgrading");
    await sleep(250);
    expect((await service("1s1")).state).toBe("upgrading");
    await waitFor("1s1", "upgraded");
    // Two batches left: 100 + 300 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
  });
});

describe("launch configs during an upgrade", () => {
  it("shows the new primary from the start, keeps the previous ones in the strategy and the sidekick as it was", async () => {
    await setTransition(100);
    const { body } = await upgrade("1s5", {
      launchConfig: API_PRIMARY,
      batchSize: 1,
      intervalMillis: 100,
      startFirst: true,
    });
    expect(body.launchConfig).toMatchObject(API_PRIMARY);
    expect(body.launchConfig.version).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.secondaryLaunchConfigs).toEqual([
      expect.objectContaining({ name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.1", version: "0" }),
    ]);
    expect(body.upgrade).toMatchObject({
      type: "serviceUpgrade",
      toServiceStrategy: null,
      inServiceStrategy: {
        type: "inServiceUpgradeStrategy",
        batchSize: 1,
        intervalMillis: 100,
        startFirst: true,
        launchConfig: { imageUuid: "docker:myorg/api:1.1.0" },
        secondaryLaunchConfigs: [{ name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.1" }],
        previousLaunchConfig: { imageUuid: "docker:myorg/api:1.0.0", version: "0" },
        previousSecondaryLaunchConfigs: [{ name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.1" }],
      },
    });
    expect(Object.keys(body.upgrade.inServiceStrategy).sort()).toEqual([
      "batchSize",
      "intervalMillis",
      "launchConfig",
      "previousLaunchConfig",
      "previousSecondaryLaunchConfigs",
      "secondaryLaunchConfigs",
      "startFirst",
      "type",
    ]);
    // The other service on the same repository is untouched.
    expect((await service("1s6")).launchConfig.imageUuid).toBe("docker:myorg/api:1.0.0");
  });

  it("rolls back to the previous primary and sidekicks, during the upgrade or after it", async () => {
    await setTransition(60);
    await upgrade("1s5", {
      launchConfig: API_PRIMARY,
      secondaryLaunchConfigs: [{ name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.2" }],
      batchSize: 1,
      intervalMillis: 1000,
    });
    const rolling = await action("1s5", "rollback");
    expect(rolling.status).toBe(202);
    expect(rolling.body).toMatchObject({
      state: "rolling-back",
      launchConfig: { imageUuid: "docker:myorg/api:1.0.0", version: "0" },
      secondaryLaunchConfigs: [{ name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.1", version: "0" }],
    });
    expect((await waitFor("1s5", "active")).body.launchConfig.imageUuid).toBe("docker:myorg/api:1.0.0");

    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 2 });
    await waitFor("1s5", "upgraded");
    const after = await action("1s5", "rollback");
    expect(after.body.launchConfig.imageUuid).toBe("docker:myorg/api:1.0.0");
    await waitFor("1s5", "active");
  });

  it("finishes: upgraded → finishing-upgrade → active, keeping the new configs", async () => {
    await setTransition(80);
    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 1, intervalMillis: 100 });
    const { body: upgraded } = await waitFor("1s5", "upgraded");
    expect(Object.keys(upgraded.actions).sort()).toEqual(["finishupgrade", "remove", "rollback"]);
    const finishing = await action("1s5", "finishupgrade");
    expect(finishing.status).toBe(202);
    expect(finishing.body).toMatchObject({ state: "finishing-upgrade", transitioning: "yes" });
    const { body } = await waitFor("1s5", "active");
    expect(body).toMatchObject({ currentScale: 2, launchConfig: API_PRIMARY, transitioningMessage: null });
    expect(body.upgrade.inServiceStrategy.previousLaunchConfig.imageUuid).toBe("docker:myorg/api:1.0.0");
  });
});

describe("sidekicks", () => {
  it("upgrades only the named sidekick: it gets the new version, the primary keeps its own", async () => {
    await setTransition(50);
    const { status, body } = await upgrade("1s5", {
      secondaryLaunchConfigs: [
        { name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.2", labels: { app: "api" } },
      ],
      intervalMillis: 100,
    });
    expect(status).toBe(202);
    expect(body.launchConfig).toMatchObject({ imageUuid: "docker:myorg/api:1.0.0", version: "0" });
    expect(body.secondaryLaunchConfigs).toHaveLength(1);
    expect(body.secondaryLaunchConfigs[0]).toMatchObject({
      name: "api-sidecar",
      imageUuid: "docker:myorg/sidecar:2.2",
    });
    expect(body.secondaryLaunchConfigs[0].version).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.upgrade.inServiceStrategy.launchConfig.imageUuid).toBe("docker:myorg/api:1.0.0");
    expect(body.upgrade.inServiceStrategy.previousSecondaryLaunchConfigs[0].imageUuid).toBe(
      "docker:myorg/sidecar:2.1",
    );
    await waitFor("1s5", "upgraded");
    const rolled = await action("1s5", "rollback");
    expect(rolled.body.secondaryLaunchConfigs[0]).toMatchObject({ imageUuid: "docker:myorg/sidecar:2.1" });
  });

  it("gives primary and sidekick one shared new version when both change", async () => {
    const { body } = await upgrade("1s5", {
      launchConfig: API_PRIMARY,
      secondaryLaunchConfigs: [{ name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.2" }],
    });
    expect(body.launchConfig.version).not.toBe("0");
    expect(body.secondaryLaunchConfigs[0].version).toBe(body.launchConfig.version);
  });

  it("adds a sidekick of an unknown name, as Cattle 1.2+ allows, and removes one set to rancher/none", async () => {
    await setTransition(40);
    const added = await upgrade("1s5", {
      batchSize: 2,
      secondaryLaunchConfigs: [
        { name: "log", imageUuid: "docker:fluentd:1", dataVolumesFromLaunchConfigs: ["api-sidecar"] },
      ],
    });
    expect(added.status).toBe(202);
    expect(added.body.secondaryLaunchConfigs.map((lc: Json) => lc.name)).toEqual(["log", "api-sidecar"]);
    await waitFor("1s5", "upgraded");
    await action("1s5", "finishupgrade");
    await waitFor("1s5", "active");

    // Upgrading the sidecar upgrades "log" too, which takes volumes from it.
    const dependent = await upgrade("1s5", {
      batchSize: 2,
      secondaryLaunchConfigs: [{ name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.2" }],
    });
    const byName = Object.fromEntries(dependent.body.secondaryLaunchConfigs.map((lc: Json) => [lc.name, lc]));
    expect(byName["api-sidecar"].imageUuid).toBe("docker:myorg/sidecar:2.2");
    expect(byName.log.imageUuid).toBe("docker:fluentd:1");
    expect(byName.log.version).toBe(byName["api-sidecar"].version);
    await waitFor("1s5", "upgraded");
    await action("1s5", "finishupgrade");
    await waitFor("1s5", "active");

    const removed = await upgrade("1s5", {
      batchSize: 2,
      secondaryLaunchConfigs: [{ name: "log", imageUuid: "rancher/none" }],
    });
    expect(removed.body.secondaryLaunchConfigs.map((lc: Json) => lc.name)).toEqual(["api-sidecar"]);
  });

  it("refuses a sidekick without a name (422 MissingRequired)", async () => {
    const { status, body } = await upgrade("1s5", {
      secondaryLaunchConfigs: [{ imageUuid: "docker:myorg/sidecar:2.2" }],
    });
    expect(status).toBe(422);
    expect(body).toMatchObject({
      code: "MissingRequired",
      fieldName: "inServiceStrategy.secondaryLaunchConfigs.name",
    });
    expect((await service("1s5")).state).toBe("active");
  });
});

describe("upgrade validation", () => {
  it("answers Cattle's codes and changes nothing", async () => {
    const cases: [string, unknown, string, string][] = [
      ["1s1", {}, "MissingRequired", "inServiceStrategy"],
      ["1s1", { inServiceStrategy: null }, "MissingRequired", "inServiceStrategy"],
      ["1s1", { toServiceStrategy: { toServiceId: "1s6" } }, "InvalidOption", "toServiceStrategy"],
      ["1s1", { inServiceStrategy: { batchSize: 2 } }, "InvalidOption", "inServiceStrategy.launchConfig"],
      [
        "1s1",
        { inServiceStrategy: { launchConfig: { imageUuid: "docker:nginx:1.27" }, batchSize: 0 } },
        "MinLimitExceeded",
        "inServiceStrategy.batchSize",
      ],
      [
        "1s1",
        { inServiceStrategy: { launchConfig: { imageUuid: "docker:nginx:1.27" }, intervalMillis: 99 } },
        "MinLimitExceeded",
        "inServiceStrategy.intervalMillis",
      ],
      [
        "1s2",
        { inServiceStrategy: { secondaryLaunchConfigs: [{ name: "x", imageUuid: "docker:y" }] } },
        "InvalidOption",
        "inServiceStrategy.launchConfig",
      ],
      [
        "1s4",
        { inServiceStrategy: { launchConfig: { imageUuid: "docker:busybox:1.37", labels: {} } } },
        "InvalidOption",
        "inServiceStrategy.launchConfig",
      ],
    ];
    for (const [id, body, code, fieldName] of cases) {
      const result = await json(`${P}/services/${id}?action=upgrade`, { method: "POST", body });
      expect({
        id,
        body,
        status: result.status,
        code: result.body.code,
        fieldName: result.body.fieldName,
      }).toEqual({ id, body, status: 422, code, fieldName });
    }
    expect(await service("1s1")).toMatchObject({
      state: "active",
      launchConfig: { imageUuid: "docker:nginx:1.25" },
      upgrade: null,
    });
  });

  it("refuses startFirst for a service with retainIp", async () => {
    await setTransition(30);
    await call(`${P}/services/1s1`, { method: "PUT", body: { retainIp: true } });
    await waitFor("1s1", "active");
    const refused = await upgrade("1s1", {
      launchConfig: { imageUuid: "docker:nginx:1.27" },
      startFirst: true,
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: "InvalidOption", fieldName: "inServiceStrategy.startFirst" });
    expect((await upgrade("1s1", { launchConfig: { imageUuid: "docker:nginx:1.27" } })).status).toBe(202);
  });

  it("answers 422 ActionNotAvailable to an upgrade while upgrading or upgraded", async () => {
    await setTransition(60);
    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 2 });
    const during = await upgrade("1s5", { launchConfig: API_PRIMARY });
    expect(during.status).toBe(422);
    expect(during.body).toMatchObject({ code: "ActionNotAvailable", fieldName: "action" });
    await waitFor("1s5", "upgraded");
    expect((await upgrade("1s5", { launchConfig: API_PRIMARY })).body.code).toBe("ActionNotAvailable");
  });
});

describe("upgrade failure injection", () => {
  const MESSAGE = "pull access denied for myorg/web";

  it("fails the next upgrade after its first batch with transitioning error and the message", async () => {
    await setTransition(100);
    await faults({ upgradeFailure: MESSAGE });
    const started = await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 1, intervalMillis: 100 });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ state: "upgrading", transitioning: "yes" });
    expect((await faults()).upgradeFailure).toBeNull();
    await sleep(150);
    const failing = await service("1s5");
    expect(failing).toMatchObject({
      state: "upgrading",
      transitioning: "error",
      transitioningMessage: MESSAGE,
    });
    // Well past the time the upgrade would have needed, it still has not reached upgraded.
    await sleep(300);
    expect(await service("1s5")).toMatchObject({ state: "upgrading", transitioning: "error" });
    expect(Object.keys(failing.actions)).toEqual(expect.arrayContaining(["rollback", "cancelupgrade"]));
    expect(failing.actions.finishupgrade).toBeUndefined();
    const finish = await action("1s5", "finishupgrade");
    expect(finish.status).toBe(422);
    expect(finish.body.code).toBe("ActionNotAvailable");

    const rolling = await action("1s5", "rollback");
    expect(rolling.status).toBe(202);
    expect(rolling.body).toMatchObject({
      state: "rolling-back",
      transitioning: "yes",
      transitioningMessage: "In Progress",
      launchConfig: { imageUuid: "docker:myorg/api:1.0.0" },
    });
    expect((await waitFor("1s5", "active")).body.transitioningMessage).toBeNull();

    // Consumed: the next upgrade succeeds.
    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 2 });
    await waitFor("1s5", "upgraded");
  });

  it("is not taken by a refused upgrade, and a canceled failing upgrade fails again when continued", async () => {
    await setTransition(60);
    await faults({ upgradeFailure: MESSAGE });
    expect((await upgrade("1s1", { batchSize: 1 })).status).toBe(422);
    expect((await faults()).upgradeFailure).toBe(MESSAGE);
    await upgrade("1s1", { launchConfig: { imageUuid: "docker:myorg/web:2" } });
    await sleep(100);
    expect((await service("1s1")).transitioning).toBe("error");
    const canceling = await action("1s1", "cancelupgrade");
    expect(canceling.status).toBe(202);
    expect(canceling.body).toMatchObject({ state: "canceling-upgrade", transitioning: "yes" });
    await waitFor("1s1", "canceled-upgrade");
    await action("1s1", "continueupgrade");
    await sleep(100);
    expect(await service("1s1")).toMatchObject({
      state: "upgrading",
      transitioning: "error",
      transitioningMessage: MESSAGE,
    });
    // Another service's upgrade is not affected.
    await upgrade("1s6", { launchConfig: { imageUuid: "docker:myorg/api:1.1.0" } });
    await waitFor("1s6", "upgraded");
  });

  it("is cleared by null and by a reset", async () => {
    await setTransition(40);
    await faults({ upgradeFailure: MESSAGE });
    await faults({ upgradeFailure: null });
    await upgrade("1s6", { launchConfig: { imageUuid: "docker:myorg/api:1.1.0" } });
    await waitFor("1s6", "upgraded");
    await faults({ upgradeFailure: MESSAGE });
    await reset();
    await upgrade("1s6", { launchConfig: { imageUuid: "docker:myorg/api:1.1.0" } });
    await waitFor("1s6", "upgraded");
  });
});

describe("containers during an upgrade", () => {
  const instances = async (id: string): Promise<Json[]> =>
    (await json(`${P}/services/${id}/instances`)).body.data;
  const primaries = (containers: Json[]) => containers.filter((c) => !c.name.includes("sidecar"));
  const upgradedOnes = (containers: Json[]) => containers.filter((c) => c.version !== "0");

  /** Polls the service's containers until `check` holds. */
  async function until(
    id: string,
    check: (containers: Json[]) => boolean,
    timeoutMs = 5000,
  ): Promise<Json[]> {
    const started = Date.now();
    for (;;) {
      const containers = await instances(id);
      if (check(containers)) return containers;
      if (Date.now() - started > timeoutMs)
        throw new Error(`containers of ${id}: ${JSON.stringify(containers)}`);
      await sleep(20);
    }
  }

  it("starts new-version containers round by round and stops the ones they replace", async () => {
    await setTransition(100);
    const before = await instances("1s5");
    const started = await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 1, intervalMillis: 800 });
    const version = started.body.launchConfig.version;
    // The first round ends after one transition: unit 1's primary is replaced, unit 2 waits its turn.
    const first = await until("1s5", (containers) => upgradedOnes(containers).length === 1);
    expect(first).toHaveLength(5);
    const fresh = upgradedOnes(first)[0];
    const replaced = first.find((c) => c.name === fresh.name && c.id !== fresh.id);
    expect(fresh).toMatchObject({
      type: "container",
      state: "running",
      version,
      imageUuid: "docker:myorg/api:1.1.0",
      startCount: 1,
      // The new launch config has no health check.
      healthState: null,
      labels: { "io.rancher.service.launch.config": "io.rancher.service.primary.launch.config" },
    });
    expect(replaced).toMatchObject({ state: "stopped", version: "0", imageUuid: "docker:myorg/api:1.0.0" });
    expect(fresh.deploymentUnitUuid).toBe(replaced.deploymentUnitUuid);
    expect(fresh.createIndex).toBeGreaterThan(Math.max(...before.map((c: Json) => c.createIndex)));
    const waiting = first.find(
      (c) => c.version === "0" && c.state === "running" && !c.name.includes("sidecar"),
    );
    expect(waiting).toBeDefined();
    expect(waiting.name).not.toBe(fresh.name);
    expect((await service("1s5")).state).toBe("upgrading");

    const { body } = await waitFor("1s5", "upgraded");
    expect(body.currentScale).toBe(2);
    const done = await instances("1s5");
    expect(done).toHaveLength(6);
    expect(
      primaries(done)
        .map((c) => [c.name, c.version === version, c.state])
        .sort(),
    ).toEqual([
      ["Default-api-1", false, "stopped"],
      ["Default-api-1", true, "running"],
      ["Default-api-2", false, "stopped"],
      ["Default-api-2", true, "running"],
    ]);
    // The sidekick was not part of the upgrade: its containers run on, untouched.
    const sidekicks = done.filter((c) => c.name.includes("sidecar"));
    expect(sidekicks.map((c) => [c.version, c.state, c.startCount])).toEqual([
      ["0", "running", 1],
      ["0", "running", 1],
    ]);
  });

  it("removes the replaced containers on finishupgrade", async () => {
    await setTransition(60);
    const old = primaries(await instances("1s5")).map((c) => c.id);
    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 2 });
    await waitFor("1s5", "upgraded");
    expect(await instances("1s5")).toHaveLength(6);
    await action("1s5", "finishupgrade");
    await waitFor("1s5", "active");
    const left = await instances("1s5");
    expect(left).toHaveLength(4);
    expect(left.every((c) => c.state === "running")).toBe(true);
    expect(primaries(left).every((c) => c.imageUuid === "docker:myorg/api:1.1.0")).toBe(true);
    for (const id of old) {
      const { body } = await json(`${P}/containers/${id}`);
      expect(body.state).toBe("removed");
      expect(body.removed).not.toBeNull();
    }
  });

  it("rolls back: the previous image returns, the new containers go, the old ones start again", async () => {
    // Long enough a health check that the restarted containers are seen before it passes.
    const config = await call("/_emulator/config", {
      method: "POST",
      key: null,
      body: { transitionMs: 60, healthyMs: 1500 },
    });
    expect(config.status).toBe(200);
    const old = primaries(await instances("1s5"));
    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 2 });
    await waitFor("1s5", "upgraded");
    const fresh = upgradedOnes(await instances("1s5")).map((c) => c.id);
    expect(fresh).toHaveLength(2);
    await action("1s5", "rollback");
    const { body } = await waitFor("1s5", "active");
    expect(body.launchConfig.imageUuid).toBe("docker:myorg/api:1.0.0");
    const back = await instances("1s5");
    expect(back).toHaveLength(4);
    expect(
      primaries(back)
        .map((c) => [c.id, c.state, c.version, c.imageUuid, c.startCount])
        .sort(),
    ).toEqual(old.map((c) => [c.id, "running", "0", "docker:myorg/api:1.0.0", 2]).sort());
    // The seeded api's launch config has a health check: started again, the check runs anew.
    expect(primaries(back).map((c) => c.healthState)).toEqual(["reinitializing", "reinitializing"]);
    await until("1s5", (containers) => primaries(containers).every((c) => c.healthState === "healthy"));
    for (const id of fresh) expect((await json(`${P}/containers/${id}`)).body.state).toBe("removed");
  });

  it("rolls back an upgrade halfway through its rounds", async () => {
    await setTransition(60);
    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 1, intervalMillis: 2000 });
    await until("1s5", (containers) => upgradedOnes(containers).length === 1);
    await action("1s5", "rollback");
    await waitFor("1s5", "active");
    const back = await instances("1s5");
    expect(back).toHaveLength(4);
    expect(back.every((c) => c.version === "0" && c.state === "running")).toBe(true);
    // Only the replaced container was stopped and started again.
    expect(
      primaries(back)
        .map((c) => c.startCount)
        .sort(),
    ).toEqual([1, 2]);
  });

  it("keeps the rounds done when canceled and replaces the rest when continued", async () => {
    await setTransition(60);
    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 1, intervalMillis: 2000 });
    await until("1s5", (containers) => upgradedOnes(containers).length === 1);
    await action("1s5", "cancelupgrade");
    await waitFor("1s5", "canceled-upgrade");
    expect(upgradedOnes(await instances("1s5"))).toHaveLength(1);
    await action("1s5", "continueupgrade");
    // One round left: it ends one transition after the continue.
    await waitFor("1s5", "upgraded");
    const done = await instances("1s5");
    expect(upgradedOnes(done).map((c) => c.state)).toEqual(["running", "running"]);
    expect(primaries(done).filter((c) => c.state === "stopped")).toHaveLength(2);
  });

  it("starts no container for an upgrade that keeps failing", async () => {
    await setTransition(60);
    await faults({ upgradeFailure: "pull access denied for myorg/api" });
    await upgrade("1s5", { launchConfig: API_PRIMARY, batchSize: 1, intervalMillis: 100 });
    await sleep(400);
    expect((await service("1s5")).transitioning).toBe("error");
    const containers = await instances("1s5");
    expect(containers.map((c) => [c.version, c.state])).toEqual(Array(4).fill(["0", "running"]));
  });
});
