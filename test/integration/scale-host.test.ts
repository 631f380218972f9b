import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, json, KEYS, resetEmulator, trigger, uniqueName } from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

const authorization = { authorization: `Basic ${btoa(KEYS.dev)}` };

async function hostsOf(pool: string) {
  const response = await fetch(`${EMULATOR}/v2-beta/projects/1a5/hosts?limit=1000`, {
    headers: authorization,
  });
  const hosts = (await json(response)).data as Record<string, any>[];
  return hosts.filter(
    (host) =>
      host.labels?.pool === pool && !host.removed && !["removing", "removed", "purged"].includes(host.state),
  );
}

async function waitActive(pool: string) {
  for (let i = 0; i < 60; i++) {
    const hosts = await hostsOf(pool);
    if (hosts.every((host) => host.state === "active")) return hosts;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`hosts of ${pool} stayed in transition`);
}

/**
 * A group of its own for each test (`pool=<unique>`, hosts node1…nodeN, oldest first), so each
 * test has its own Durable Object and Cattle world.
 */
async function makeGroup(size: number, machineDriver = true) {
  const pool = uniqueName("pool");
  for (let i = 1; i <= size; i++) {
    const created = await fetch(`${EMULATOR}/v2-beta/projects/1a5/hosts`, {
      method: "POST",
      headers: { ...authorization, "content-type": "application/json" },
      body: JSON.stringify({
        hostname: `node${i}`,
        labels: { pool },
        ...(machineDriver ? { amazonec2Config: { region: "eu-west-1", instanceType: "t3.small" } } : {}),
      }),
    });
    expect(created.status, await created.clone().text()).toBeLessThan(300);
    // Distinct creation times, so "oldest" is well defined.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await waitActive(pool);
  return pool;
}

async function createHostReceiver(config: Record<string, unknown>) {
  return call("/v1-webhooks/receivers?projectId=1a5", {
    method: "POST",
    body: {
      name: uniqueName("hosts"),
      driver: "scaleHost",
      scaleHostConfig: { action: "up", amount: 1, min: 1, max: 10, ...config },
    },
  });
}

async function receiver(config: Record<string, unknown>) {
  const response = await createHostReceiver(config);
  expect(response.status, await response.clone().text()).toBe(201);
  return json(response);
}

describe("scaleHost", () => {
  it("adds hosts cloned from the seed group's oldest machine-driver host, after the highest number", async () => {
    const grow = await receiver({ hostSelector: { pool: "workers" }, amount: 2, max: 5 });
    const execution = await json(await trigger(grow.url));
    expect(execution).toMatchObject({ outcome: "applied", from: 3, to: 5, driver: "scaleHost" });
    expect(execution.reason).toBe("scaled up by 2: added worker4, worker5");
    const hosts = await hostsOf("workers");
    expect(hosts.map((host) => host.hostname).sort()).toEqual([
      "worker1",
      "worker2",
      "worker3",
      "worker4",
      "worker5",
    ]);
    const added = hosts.find((host) => host.hostname === "worker4");
    const oldest = hosts.find((host) => host.hostname === "worker1");
    expect(added?.amazonec2Config?.region).toBe(oldest?.amazonec2Config?.region);
    expect(await json(await trigger(grow.url))).toMatchObject({ outcome: "noop", from: 5, to: 5 });
  });

  it("removes unhealthy hosts first, then the oldest, through host.evacuate, never below min", async () => {
    const pool = await makeGroup(3);
    const shrink = await receiver({ hostSelector: { pool }, action: "down", amount: 1, min: 1 });
    const node2 = (await hostsOf(pool)).find((host) => host.hostname === "node2");
    const marked = await fetch(`${EMULATOR}/_emulator/hosts/${node2?.id}/state`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ state: "reconnecting" }),
    });
    expect(marked.ok).toBe(true);
    expect(await json(await trigger(shrink.url))).toMatchObject({
      outcome: "applied",
      from: 3,
      to: 2,
      reason: "scaled down by 1: removed node2",
    });
    expect(await json(await trigger(shrink.url))).toMatchObject({
      from: 2,
      to: 1,
      reason: "scaled down by 1: removed node1",
    });
    expect(await json(await trigger(shrink.url))).toMatchObject({ outcome: "noop", from: 1, to: 1 });
    // Once Cattle has removed them, only the youngest host is left.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await hostsOf(pool)).map((host) => host.hostname)).toEqual(["node3"]);
  });

  it("removes the newest first with deleteOption mostRecent", async () => {
    const pool = await makeGroup(3);
    const shrink = await receiver({
      hostSelector: { pool },
      action: "down",
      amount: 2,
      deleteOption: "mostRecent",
    });
    expect((await json(await trigger(shrink.url))).reason).toBe("scaled down by 2: removed node3, node2");
  });

  it("is exact under concurrent triggers: each host added once, the group ends at max", async () => {
    const pool = await makeGroup(3);
    const grow = await receiver({ hostSelector: { pool }, amount: 1, max: 6 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => trigger(grow.url).then(json)));
    expect(answers.filter((answer) => answer.outcome === "applied")).toHaveLength(3);
    expect(answers.filter((answer) => answer.outcome === "noop")).toHaveLength(7);
    const names = (await hostsOf(pool)).map((host) => host.hostname).sort();
    expect(names).toEqual(["node1", "node2", "node3", "node4", "node5", "node6"]);
  });

  it("never gives a new host the name of one still draining: up, down, up", async () => {
    const pool = await makeGroup(3);
    const grow = await receiver({ hostSelector: { pool }, amount: 1, max: 6 });
    const shrink = await receiver({
      hostSelector: { pool },
      action: "down",
      amount: 1,
      deleteOption: "mostRecent",
    });
    expect((await json(await trigger(grow.url))).reason).toBe("scaled up by 1: added node4");
    await waitActive(pool);
    expect((await json(await trigger(shrink.url))).reason).toBe("scaled down by 1: removed node4");
    // node4 is still draining: it is out of the group, and keeps its name until Cattle removed it.
    const listed = await fetch(`${EMULATOR}/v2-beta/projects/1a5/hosts?limit=1000`, {
      headers: authorization,
    });
    const node4 = ((await json(listed)).data as Record<string, any>[]).find(
      (host) => host.labels?.pool === pool && host.hostname === "node4",
    );
    expect(["deactivating", "inactive", "removing"]).toContain(node4?.state);
    expect((await json(await trigger(grow.url))).reason).toBe("scaled up by 1: added node5");
  });

  it("refuses at create an up receiver whose group cannot be cloned, unless it names a template", async () => {
    const custom = await createHostReceiver({ hostSelector: { pool: "custom" } });
    expect(custom.status).toBe(422);
    expect(await json(custom)).toMatchObject({
      code: "InvalidReference",
      fieldName: "scaleHostConfig.hostSelector",
    });
    const unknownTemplate = await createHostReceiver({
      hostSelector: { pool: "custom" },
      hostTemplateId: "1ht99",
    });
    expect(await json(unknownTemplate)).toMatchObject({
      code: "InvalidReference",
      fieldName: "scaleHostConfig.hostTemplateId",
    });
    expect((await createHostReceiver({ hostSelector: { pool: "custom" }, action: "down" })).status).toBe(201);

    const fromTemplate = await receiver({ hostSelector: { pool: "custom" }, hostTemplateId: "1ht1" });
    expect(await json(await trigger(fromTemplate.url))).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    const created = (await hostsOf("custom")).find((host) => host.hostname === "custom2");
    expect(created?.hostTemplateId).toBe("1ht1");
  });

  it("answers 503 and adds nothing when Cattle is down", async () => {
    const pool = await makeGroup(1);
    const grow = await receiver({ hostSelector: { pool } });
    await fetch(`${EMULATOR}/_emulator/faults`, {
      method: "POST",
      body: JSON.stringify({ status: 503, count: 1000 }),
    });
    const response = await trigger(grow.url);
    expect(response.status).toBe(503);
    await fetch(`${EMULATOR}/_emulator/faults`, { method: "POST", body: JSON.stringify({ count: 0 }) });
    expect((await hostsOf(pool)).length).toBe(1);
  });
});
