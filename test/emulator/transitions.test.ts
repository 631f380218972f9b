import { beforeEach, describe, expect, it } from "vitest";
import { call, json, P, reset, sleep } from "./emulator-client";

beforeEach(reset);

const setTransition = async (transitionMs: number) => {
  const response = await call("/_emulator/config", { method: "POST", key: null, body: { transitionMs } });
  expect(response.status).toBe(200);
};

describe("scaling with PUT", () => {
  it("sets the scale at once, runs updating-active for EMULATOR_TRANSITION_MS (300 ms), then rests in active", async () => {
    const { status, body } = await json(`${P}/services/1s1`, { method: "PUT", body: { scale: 3 } });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: "1s1",
      scale: 3,
      currentScale: 1,
      state: "updating-active",
      transitioning: "yes",
      transitioningMessage: "In Progress",
    });
    const during = await json(`${P}/services/1s1`);
    expect(during.body).toMatchObject({ scale: 3, state: "updating-active", transitioning: "yes" });
    expect(Object.keys(during.body.actions)).toEqual(
      expect.arrayContaining(["update", "upgrade", "deactivate"]),
    );
    await sleep(350);
    const after = await json(`${P}/services/1s1`);
    expect(after.body).toMatchObject({
      scale: 3,
      currentScale: 3,
      state: "active",
      transitioning: "no",
      transitioningMessage: null,
    });
  });

  it("makes a PUT during updating-active wait for the running update, then starts its own", async () => {
    await setTransition(200);
    await call(`${P}/services/1s1`, { method: "PUT", body: { scale: 2 } });
    await sleep(120);
    const second = await json(`${P}/services/1s1`, { method: "PUT", body: { scale: 4 } });
    expect(second.status).toBe(200);
    // Answered once the first update ended (currentScale 2), with a transition of its own.
    expect(second.body).toMatchObject({
      scale: 4,
      currentScale: 2,
      state: "updating-active",
      transitioning: "yes",
    });
    await sleep(250);
    expect((await json(`${P}/services/1s1`)).body).toMatchObject({
      state: "active",
      scale: 4,
      currentScale: 4,
    });
  });

  it("answers 409 Conflict and changes nothing when the process outlasts lockWaitMs", async () => {
    await call("/_emulator/config", {
      method: "POST",
      key: null,
      body: { transitionMs: 5000, lockWaitMs: 150 },
    });
    const created = await json(`${P}/services`, { method: "POST", body: { name: "fresh" } });
    expect(created.body.state).toBe("registering");
    const refused = await json(`${P}/services/${created.body.id}`, { method: "PUT", body: { scale: 5 } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ type: "error", status: 409, code: "Conflict" });
    expect((await json(`${P}/services/${created.body.id}`)).body).toMatchObject({
      scale: 1,
      state: "registering",
    });
  });

  it("updates a service once its activation (the second half of a create) has ended", async () => {
    // Long enough that a loaded machine still sends the PUT while the service is activating.
    await setTransition(600);
    const created = await json(`${P}/services`, { method: "POST", body: { name: "fresh" } });
    await sleep(650);
    const activating = await json(`${P}/services/${created.body.id}`);
    expect(activating.body.state).toBe("activating");
    const accepted = await json(`${P}/services/${created.body.id}`, { method: "PUT", body: { scale: 2 } });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ state: "updating-active", healthState: "healthy" });
    await sleep(650);
    expect((await json(`${P}/services/${created.body.id}`)).body).toMatchObject({
      state: "active",
      currentScale: 2,
      healthState: "healthy",
    });
  });

  it("refuses an update of a service that is being upgraded-and-waiting or removed", async () => {
    await setTransition(50);
    const upgrade = await call(`${P}/services/1s1?action=upgrade`, {
      method: "POST",
      body: { inServiceStrategy: { launchConfig: { imageUuid: "docker:nginx:1.27" } } },
    });
    expect(upgrade.status).toBe(202);
    await sleep(80);
    expect((await json(`${P}/services/1s1`)).body.state).toBe("upgraded");
    const refused = await json(`${P}/services/1s1`, { method: "PUT", body: { scale: 2 } });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("Conflict");
  });

  it("runs no process for a PUT that changes nothing or only a non-scheduling field", async () => {
    const same = await json(`${P}/services/1s1`, { method: "PUT", body: { scale: 1 } });
    expect(same.body).toMatchObject({ state: "active", transitioning: "no" });
    const description = await json(`${P}/services/1s1`, {
      method: "PUT",
      body: { description: "front end" },
    });
    expect(description.body).toMatchObject({
      state: "active",
      transitioning: "no",
      description: "front end",
    });
  });

  it("validates a PUT like Cattle: bad values are 422 with fieldName, read-only fields are dropped", async () => {
    const negative = await json(`${P}/services/1s1`, { method: "PUT", body: { scale: -1 } });
    expect(negative.status).toBe(422);
    expect(negative.body).toMatchObject({ code: "MinLimitExceeded", fieldName: "scale" });
    const fraction = await json(`${P}/services/1s1`, { method: "PUT", body: { scale: 2.5 } });
    expect(fraction.body).toMatchObject({ status: 422, code: "InvalidFormat", fieldName: "scale" });
    const huge = await json(`${P}/services/1s1`, { method: "PUT", rawBody: '{"scale": 1e400}' });
    expect(huge.body).toMatchObject({ status: 422, code: "InvalidFormat", fieldName: "scale" });
    const nulled = await json(`${P}/services/1s1`, { method: "PUT", body: { scale: null } });
    expect(nulled.status).toBe(200);
    expect(nulled.body.scale).toBe(1);
    // What go-rancher's webhook driver sent: currentScale is read-only and silently ignored.
    const dropped = await json(`${P}/services/1s1`, {
      method: "PUT",
      body: { scale: 2, currentScale: 2, launchConfig: { imageUuid: "docker:evil:1" }, state: "removed" },
    });
    expect(dropped.status).toBe(200);
    expect(dropped.body).toMatchObject({ scale: 2, currentScale: 1, state: "updating-active" });
    expect(dropped.body.launchConfig.imageUuid).toBe("docker:nginx:1.25");
  });

  it("renames within the rules and refuses a clash", async () => {
    expect((await json(`${P}/services/1s1`, { method: "PUT", body: { name: "lb" } })).body).toMatchObject({
      status: 422,
      code: "NotUnique",
      fieldName: "name",
    });
    const renamed = await json(`${P}/services/1s1`, { method: "PUT", body: { name: "frontend" } });
    expect(renamed.body).toMatchObject({ name: "frontend", state: "updating-active" });
  });

  it("updates a load balancer's launchConfig through its own collection", async () => {
    const viaServices = await json(`${P}/services/1s2`, {
      method: "PUT",
      body: { launchConfig: { imageUuid: "docker:rancher/lb-service-haproxy:v0.9.2" } },
    });
    expect(viaServices.body.launchConfig.imageUuid).toBe("docker:rancher/lb-service-haproxy:v0.9.1");
    const viaOwn = await json(`${P}/loadbalancerservices/1s2`, {
      method: "PUT",
      body: { launchConfig: { imageUuid: "docker:rancher/lb-service-haproxy:v0.9.2" } },
    });
    expect(viaOwn.status).toBe(200);
    expect(viaOwn.body).toMatchObject({ state: "updating-active" });
    expect(viaOwn.body.launchConfig.imageUuid).toBe("docker:rancher/lb-service-haproxy:v0.9.2");
  });

  it("answers 404 to a PUT on an unknown service", async () => {
    const { status, body } = await json(`${P}/services/1s404`, { method: "PUT", body: { scale: 2 } });
    expect(status).toBe(404);
    expect(body.code).toBe("NotFound");
  });
});

describe("removing services", () => {
  it("walks removing → removed, keeps the service visible with removed set, and frees its name", async () => {
    await setTransition(50);
    const { status, body } = await json(`${P}/services/1s1`, { method: "DELETE" });
    expect(status).toBe(200);
    expect(body).toMatchObject({ state: "removing", transitioning: "yes", removed: null });
    await sleep(80);
    const removed = await json(`${P}/services/1s1`);
    expect(removed.body.state).toBe("removed");
    expect(typeof removed.body.removed).toBe("string");
    expect(removed.body.actions).toEqual({});
    const live = await json(`${P}/services?removed_null=true`);
    expect(live.body.data.map((s: { id: string }) => s.id)).toEqual(["1s2", "1s3", "1s4", "1s5", "1s6"]);
    expect((await call(`${P}/services`, { method: "POST", body: { name: "web" } })).status).toBe(201);
    const again = await json(`${P}/services/1s1`, { method: "DELETE" });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("Conflict");
  });
});

describe("upgrade actions", () => {
  const upgradeBody = {
    inServiceStrategy: {
      launchConfig: { imageUuid: "docker:nginx:1.27", labels: { app: "web" } },
      batchSize: 1,
      intervalMillis: 2000,
      startFirst: false,
    },
  };

  it("upgrades, then finishes: upgrading → upgraded → finishing-upgrade → active", async () => {
    await setTransition(50);
    const started = await json(`${P}/services/1s1?action=upgrade`, { method: "POST", body: upgradeBody });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ state: "upgrading", transitioning: "yes" });
    expect(started.body.launchConfig.imageUuid).toBe("docker:nginx:1.27");
    expect(started.body.upgrade.inServiceStrategy).toMatchObject({
      batchSize: 1,
      previousLaunchConfig: { imageUuid: "docker:nginx:1.25" },
    });
    await sleep(80);
    const upgraded = await json(`${P}/services/1s1`);
    expect(upgraded.body).toMatchObject({ state: "upgraded", transitioning: "no" });
    expect(Object.keys(upgraded.body.actions).sort()).toEqual(["finishupgrade", "remove", "rollback"]);
    const finishing = await json(upgraded.body.actions.finishupgrade.replace("http://127.0.0.1:8788", ""), {
      method: "POST",
    });
    expect(finishing.status).toBe(202);
    expect(finishing.body.state).toBe("finishing-upgrade");
    await sleep(80);
    expect((await json(`${P}/services/1s1`)).body).toMatchObject({ state: "active", transitioning: "no" });
  });

  it("rolls back to the previous launch config", async () => {
    await setTransition(50);
    await call(`${P}/services/1s1?action=upgrade`, { method: "POST", body: upgradeBody });
    await sleep(80);
    const rolling = await json(`${P}/services/1s1?action=rollback`, { method: "POST" });
    expect(rolling.status).toBe(202);
    expect(rolling.body).toMatchObject({
      state: "rolling-back",
      launchConfig: { imageUuid: "docker:nginx:1.25" },
    });
    await sleep(80);
    expect((await json(`${P}/services/1s1`)).body.state).toBe("active");
  });

  it("cancels an upgrade in progress", async () => {
    await setTransition(100);
    await call(`${P}/services/1s1?action=upgrade`, { method: "POST", body: upgradeBody });
    const canceling = await json(`${P}/services/1s1?action=cancelupgrade`, { method: "POST" });
    expect(canceling.status).toBe(202);
    expect(canceling.body.state).toBe("canceling-upgrade");
    await sleep(130);
    const canceled = await json(`${P}/services/1s1`);
    expect(canceled.body.state).toBe("canceled-upgrade");
    expect(Object.keys(canceled.body.actions).sort()).toEqual(["continueupgrade", "remove", "rollback"]);
  });

  it("answers 422 ActionNotAvailable for an action the state does not offer, InvalidAction for an unknown one", async () => {
    const finish = await json(`${P}/services/1s1?action=finishupgrade`, { method: "POST" });
    expect(finish.status).toBe(422);
    expect(finish.body).toMatchObject({ code: "ActionNotAvailable", fieldName: "action" });
    const unknown = await json(`${P}/services/1s1?action=explode`, { method: "POST" });
    expect(unknown.status).toBe(422);
    expect(unknown.body).toMatchObject({ code: "InvalidAction", fieldName: "action" });
    const noStrategy = await json(`${P}/services/1s1?action=upgrade`, { method: "POST", body: {} });
    expect(noStrategy.body).toMatchObject({
      status: 422,
      code: "MissingRequired",
      fieldName: "inServiceStrategy",
    });
    expect((await json(`${P}/services/1s1`)).body.state).toBe("active");
  });
});
