import { env, evictDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { acrPush, dockerHubPush, ghcrPackageEvent } from "../fixtures/pushes";
import {
  call,
  EMULATOR,
  json,
  KEYS,
  resetEmulator,
  setFaults,
  settledExecution,
  trigger,
  uniqueName,
} from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

async function createUpgradeReceiver(config: Record<string, unknown>) {
  const response = await call("/v1-webhooks/receivers?projectId=1a5", {
    method: "POST",
    body: {
      name: uniqueName("upgrade"),
      driver: "serviceUpgrade",
      serviceUpgradeConfig: {
        serviceSelector: { tier: "backend" },
        tag: "1.*",
        intervalMillis: 100,
        ...config,
      },
    },
  });
  expect(response.status).toBe(201);
  return json(response);
}

const push = (url: string, body: unknown) =>
  trigger(url, {
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", "user-agent": "Docker-Hookshot" },
  });

async function service(id: string) {
  const response = await fetch(`${EMULATOR}/v2-beta/projects/1a5/services/${id}`, {
    headers: { authorization: `Basic ${btoa(KEYS.dev)}` },
  });
  return json(response);
}

describe("serviceUpgrade", () => {
  it("upgrades every matching service to the pushed tag and follows it to the end", async () => {
    const receiver = await createUpgradeReceiver({ batchSize: 1, startFirst: true });
    const response = await push(receiver.url, dockerHubPush("myorg/api", "1.1.0"));
    expect(response.status).toBe(202);
    const queued = await json(response);
    expect(queued).toMatchObject({ type: "execution", outcome: "queued", driver: "serviceUpgrade" });
    expect(queued.reason).toBe("upgrading 1s5 (api), 1s6 (worker) to myorg/api:1.1.0");

    const done = await settledExecution(receiver.id, queued.id);
    expect(done).toMatchObject({
      outcome: "applied",
      reason: "upgraded 1s5 (api), 1s6 (worker) to myorg/api:1.1.0",
    });
    expect(done.finished).toMatch(/Z$/);

    for (const id of ["1s5", "1s6"]) {
      const upgraded = await service(id);
      expect(upgraded.state).toBe("active");
      expect(upgraded.launchConfig.imageUuid).toBe("docker:myorg/api:1.1.0");
      expect(upgraded.launchConfig.labels["io.rancher.container.pull_image"]).toBe("always");
    }
    // The sidekick runs another repository and is left as it was; so is every other service.
    expect((await service("1s5")).secondaryLaunchConfigs[0].imageUuid).toBe("docker:myorg/sidecar:2.1");
    expect((await service("1s1")).launchConfig.imageUuid).toBe("docker:nginx:1.25");
  });

  it("upgrades a sidekick alone when only its image was pushed", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "api" }, tag: "*" });
    const queued = await json(await push(receiver.url, dockerHubPush("myorg/sidecar", "2.2")));
    expect(queued.reason).toBe("upgrading 1s5 (api) to myorg/sidecar:2.2");
    expect(await settledExecution(receiver.id, queued.id)).toMatchObject({ outcome: "applied" });
    const upgraded = await service("1s5");
    expect(upgraded.secondaryLaunchConfigs[0].imageUuid).toBe("docker:myorg/sidecar:2.2");
    expect(upgraded.launchConfig.imageUuid).toBe("docker:myorg/api:1.0.0");
  });

  it("ignores a tag that does not match, and a push no service runs, saying why", async () => {
    const receiver = await createUpgradeReceiver({ tag: "1.*" });
    const wrongTag = await push(receiver.url, dockerHubPush("myorg/api", "2.0.0"));
    expect(wrongTag.status).toBe(200);
    expect(await json(wrongTag)).toMatchObject({
      outcome: "ignored",
      reason: "pushed tag 2.0.0 does not match 1.*",
    });
    const otherImage = await json(await push(receiver.url, dockerHubPush("myorg/web", "1.0.1")));
    expect(otherImage).toMatchObject({
      outcome: "ignored",
      reason: "no service matches tier=backend with an image of myorg/web",
    });
    expect((await service("1s5")).launchConfig.imageUuid).toBe("docker:myorg/api:1.0.0");
  });

  it("answers 400 to a payload of the wrong shape and records nothing", async () => {
    const receiver = await createUpgradeReceiver({});
    for (const body of [
      undefined,
      "not json",
      JSON.stringify({ repository: "x" }),
      JSON.stringify(acrPush()),
    ]) {
      const response = await trigger(receiver.url, { body, headers: { "content-type": "application/json" } });
      expect(response.status).toBe(400);
      const error = await json(response);
      expect(error).toMatchObject({ type: "error", code: "InvalidFormat" });
      expect(error.message).toContain("Docker Hub push");
    }
    const executions = await json(
      await call(`/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`),
    );
    expect(executions.data).toEqual([]);
  });

  it("records Cattle's message when an upgrade fails", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "worker" } });
    await setFaults({ upgradeFailure: "pull access denied for myorg/api" } as never);
    const queued = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.9.9")));
    const failed = await settledExecution(receiver.id, queued.id);
    expect(failed.outcome).toBe("failed");
    expect(failed.reason).toBe(
      "upgrade of 1s6 (worker) to myorg/api:1.9.9 failed: pull access denied for myorg/api",
    );
  });

  it("queues a push behind a running upgrade of the same service", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "worker" }, intervalMillis: 300 });
    const first = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.1.0")));
    const second = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.2.0")));
    expect([first.outcome, second.outcome]).toEqual(["queued", "queued"]);
    const firstDone = await settledExecution(receiver.id, first.id);
    const secondDone = await settledExecution(receiver.id, second.id);
    expect(firstDone.outcome).toBe("applied");
    expect(secondDone.outcome).toBe("applied");
    expect(secondDone.finishedTS).toBeGreaterThan(firstDone.finishedTS);
    expect((await service("1s6")).launchConfig.imageUuid).toBe("docker:myorg/api:1.2.0");
  });

  it("keeps following an upgrade after the object is evicted", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "worker" } });
    const queued = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.3.0")));
    await evictDurableObject(env.TARGETS.getByName("serviceUpgrade:1a5"));
    expect(await settledExecution(receiver.id, queued.id)).toMatchObject({ outcome: "applied" });
    expect((await service("1s6")).state).toBe("active");
  });

  it("takes GitHub Packages events for services running ghcr.io images", async () => {
    const created = await fetch(`${EMULATOR}/v2-beta/projects/1a5/services`, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(KEYS.dev)}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "gh-api",
        scale: 1,
        launchConfig: { imageUuid: "docker:ghcr.io/myorg/api:1.0.0", labels: { app: "gh" } },
      }),
    });
    expect(created.status).toBeLessThan(300);
    const { id } = await json(created);
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "gh" }, payloadFormat: "ghcr" });
    // A new service takes a transition to become active; the push waits for it.
    const queued = await json(await push(receiver.url, ghcrPackageEvent("1.4.0")));
    expect(queued.reason).toBe(`upgrading ${id} (gh-api) to ghcr.io/myorg/api:1.4.0`);
    expect(await settledExecution(receiver.id, queued.id)).toMatchObject({ outcome: "applied" });
    expect((await service(id)).launchConfig.imageUuid).toBe("docker:ghcr.io/myorg/api:1.4.0");
  });

  it("de-duplicates a redelivered push", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "worker" } });
    const headers = { "content-type": "application/json", "x-github-delivery": "d-42" };
    const first = await trigger(receiver.url, {
      body: JSON.stringify(dockerHubPush("myorg/api", "1.5.0")),
      headers,
    });
    expect(first.status).toBe(202);
    const again = await trigger(receiver.url, {
      body: JSON.stringify(dockerHubPush("myorg/api", "1.5.0")),
      headers,
    });
    expect(again.status).toBe(200);
    expect(await json(again)).toMatchObject({ outcome: "deduplicated" });
  });
});
