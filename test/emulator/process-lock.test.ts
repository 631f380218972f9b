import { beforeEach, describe, expect, it } from "vitest";
import { EMULATOR, type Json, json, P, reset, sleep } from "./emulator-client";

beforeEach(reset);

const configure = async (config: Record<string, number>) => {
  const response = await fetch(`${EMULATOR}/_emulator/config`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(config),
  });
  expect(response.status).toBe(200);
};

const service = async (id: string): Promise<Json> => (await json(`${P}/services/${id}`)).body;

const put = (id: string, body: Record<string, unknown>) =>
  json(`${P}/services/${id}`, { method: "PUT", body });

const action = (id: string, name: string, body: unknown = {}) =>
  json(`${P}/services/${id}?action=${name}`, { method: "POST", body });

/** Polls until the service rests in `state`. */
async function waitFor(id: string, state: string, timeoutMs = 5000): Promise<Json> {
  const started = Date.now();
  for (;;) {
    const body = await service(id);
    if (body.state === state && body.transitioning === "no") return body;
    if (Date.now() - started > timeoutMs) throw new Error(`${id} stayed ${body.state}/${body.transitioning}`);
    await sleep(20);
  }
}

/** Tracks whether a request has been answered yet. */
function pending<T>(promise: Promise<T>): { promise: Promise<T>; done: () => boolean } {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  return { promise: tracked, done: () => settled };
}

describe("a write while a process runs on its service", () => {
  it("waits for the running update to end, then goes through with a process of its own", async () => {
    await configure({ transitionMs: 400 });
    const first = await put("1s1", { scale: 2 });
    expect(first.body).toMatchObject({ state: "updating-active", scale: 2, currentScale: 1 });
    const second = await put("1s1", { scale: 4 });
    expect(second.status).toBe(200);
    // currentScale 2: the first update had ended (and taken effect) before the second was applied.
    expect(second.body).toMatchObject({ state: "updating-active", scale: 4, currentScale: 2 });
    expect(await waitFor("1s1", "active")).toMatchObject({ scale: 4, currentScale: 4 });
  });

  it("keeps the state object serving other requests while a write waits", async () => {
    await configure({ transitionMs: 1500 });
    await put("1s1", { scale: 2 });
    const waiting = pending(put("1s1", { scale: 3 }));
    // Reads, and writes to other services, are answered while the second PUT still waits.
    expect((await service("1s1")).scale).toBe(2);
    expect((await json(`${P}/hosts`)).status).toBe(200);
    expect((await put("1s6", { scale: 2 })).status).toBe(200);
    expect((await json(`${P}/services`, { method: "POST", body: { name: "meanwhile" } })).status).toBe(201);
    expect(waiting.done()).toBe(false);
    const answered = await waiting.promise;
    expect(answered.status).toBe(200);
    expect(answered.body).toMatchObject({ scale: 3, currentScale: 2, state: "updating-active" });
  });

  it("answers 409 Conflict once lockWaitMs has passed, in Cattle's error shape, and changes nothing", async () => {
    await configure({ transitionMs: 20_000, lockWaitMs: 300 });
    await put("1s1", { scale: 2 });
    const started = Date.now();
    const refused = await put("1s1", { scale: 7, name: "renamed" });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ type: "error", status: 409, code: "Conflict" });
    expect(refused.body.message).toContain("service.update");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await service("1s1")).toMatchObject({ scale: 2, name: "web", state: "updating-active" });
    // lockWaitMs 0: refused at once.
    await configure({ lockWaitMs: 0 });
    expect((await put("1s1", { scale: 5 })).status).toBe(409);
  });

  it("waits across a create and the activation it chains, then updates", async () => {
    await configure({ transitionMs: 250 });
    const created = await json(`${P}/services`, { method: "POST", body: { name: "fresh" } });
    expect(created.body.state).toBe("registering");
    const updated = await put(created.body.id, { scale: 3 });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ state: "updating-active", scale: 3, currentScale: 1 });
    expect(await waitFor(created.body.id, "active")).toMatchObject({ currentScale: 3 });
  });

  it("meets the state the process left: 409 when the update cannot start from it", async () => {
    await configure({ transitionMs: 250 });
    const upgrading = await action("1s1", "upgrade", {
      inServiceStrategy: { launchConfig: { imageUuid: "docker:nginx:1.27" } },
    });
    expect(upgrading.body.state).toBe("upgrading");
    // Waits for the upgrade, which ends in upgraded: not a start state of service.update.
    const refused = await put("1s1", { scale: 3 });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("Conflict");
    expect(await service("1s1")).toMatchObject({ state: "upgraded", scale: 1 });
  });

  it("does not wait for a PUT that changes no scheduling field", async () => {
    await configure({ transitionMs: 20_000, lockWaitMs: 200 });
    await put("1s1", { scale: 2 });
    const described = await put("1s1", { description: "front end" });
    expect(described.status).toBe(200);
    expect(described.body).toMatchObject({ description: "front end", state: "updating-active" });
    expect((await put("1s1", { scale: 3 })).status).toBe(409);
  });

  it("counts a waiting write once in the stats", async () => {
    await configure({ transitionMs: 200 });
    await put("1s1", { scale: 2 });
    await put("1s1", { scale: 3 });
    const stats = (await (await fetch(`${EMULATOR}/_emulator/stats`)).json()) as Json;
    expect(stats.byPath[`${P}/services/1s1`]).toEqual({ PUT: 2 });
  });
});

describe("actions and DELETE under the lock", () => {
  it("makes an action wait for the running process", async () => {
    await configure({ transitionMs: 300 });
    await put("1s1", { scale: 2 });
    const upgraded = await action("1s1", "upgrade", {
      inServiceStrategy: { launchConfig: { imageUuid: "docker:nginx:1.27" } },
    });
    expect(upgraded.status).toBe(202);
    expect(upgraded.body).toMatchObject({ state: "upgrading", currentScale: 2 });
  });

  it("makes DELETE wait too, and refuses it with 409 when the upgrade outlasts lockWaitMs", async () => {
    await configure({ transitionMs: 100, lockWaitMs: 250 });
    // 1s5 has scale 2: two rounds, 2 s apart.
    await action("1s5", "upgrade", {
      inServiceStrategy: {
        launchConfig: { imageUuid: "docker:myorg/api:1.1.0" },
        batchSize: 1,
        intervalMillis: 2000,
      },
    });
    const refused = await json(`${P}/services/1s5`, { method: "DELETE" });
    expect([refused.status, refused.body.code]).toEqual([409, "Conflict"]);
    expect((await service("1s5")).state).toBe("upgrading");
  });

  for (const [interrupt, state] of [
    ["cancelupgrade", "canceling-upgrade"],
    ["rollback", "rolling-back"],
  ]) {
    it(`lets ${interrupt} take over from a running upgrade without waiting for it`, async () => {
      await configure({ transitionMs: 100, lockWaitMs: 100 });
      await action("1s5", "upgrade", {
        inServiceStrategy: {
          launchConfig: { imageUuid: "docker:myorg/api:1.1.0" },
          batchSize: 1,
          intervalMillis: 5000,
        },
      });
      // Past its first round the upgrade still holds the lock for seconds: any other write waits.
      await sleep(150);
      expect((await put("1s5", { scale: 3 })).status).toBe(409);
      const interrupted = await action("1s5", interrupt as string);
      expect([interrupted.status, interrupted.body.state]).toEqual([202, state]);
    });
  }

  it("checks an action against the state first: one the state does not offer is 422 at once", async () => {
    await configure({ transitionMs: 20_000, lockWaitMs: 20_000 });
    await put("1s1", { scale: 2 });
    const finish = await action("1s1", "finishupgrade");
    expect([finish.status, finish.body.code]).toEqual([422, "ActionNotAvailable"]);
  });
});
