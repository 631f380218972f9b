import { env, evictDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { UpgradeStep } from "../../src/domain/execution";
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
        // Healthy once is enough here, except where a test says otherwise: the emulator's health
        // checks pass in 300 ms, so these tests stay short.
        healthySeconds: 0,
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

  it("records Cattle's message when an upgrade fails and rollbackOnFailure is off", async () => {
    const receiver = await createUpgradeReceiver({
      serviceSelector: { app: "worker" },
      rollbackOnFailure: false,
    });
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

async function instances(id: string) {
  const response = await fetch(`${EMULATOR}/v2-beta/projects/1a5/services/${id}/instances`, {
    headers: { authorization: `Basic ${btoa(KEYS.dev)}` },
  });
  expect(response.status).toBe(200);
  return (await json(response)).data as Record<string, any>[];
}

const stepsOf = (execution: Record<string, any>, serviceId: string): UpgradeStep[] =>
  execution.upgrades
    .find((upgrade: { serviceId: string }) => upgrade.serviceId === serviceId)
    .steps.map((step: { step: UpgradeStep }) => step.step);

/** Polls the receiver's executions until `check` holds for this one. */
async function executionWhen(
  receiverId: string,
  executionId: string,
  check: (execution: Record<string, any>) => boolean,
) {
  for (let i = 0; i < 150; i++) {
    const list = await json(await call(`/v1-webhooks/receivers/${receiverId}/executions?projectId=1a5`));
    const execution = list.data.find((item: { id: string }) => item.id === executionId);
    if (execution && check(execution)) return execution;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`execution ${executionId} never got there`);
}

describe("serviceUpgrade health checks and rollback", () => {
  it("watches the new containers, then finishes, each step in the execution with its time", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "api" }, healthySeconds: 1 });
    const queued = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.21.0")));
    expect(queued.upgrades).toEqual([
      expect.objectContaining({ serviceId: "1s5", serviceName: "api", image: "myorg/api:1.21.0" }),
    ]);
    const verifying = await executionWhen(receiver.id, queued.id, (execution) =>
      stepsOf(execution, "1s5").includes("verifying"),
    );
    expect(verifying.outcome).toBe("queued");
    const done = await settledExecution(receiver.id, queued.id);
    expect(done).toMatchObject({ outcome: "applied", reason: "upgraded 1s5 (api) to myorg/api:1.21.0" });
    expect(stepsOf(done, "1s5")).toEqual([
      "waiting",
      "upgrading",
      "upgraded",
      "verifying",
      "finishing",
      "finished",
    ]);
    const upgrade = done.upgrades[0];
    expect(upgrade.previousImage).toBe("myorg/api:1.0.0");
    const times = upgrade.steps.map((step: { atTS: number }) => step.atTS);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const verified = upgrade.steps.find((step: { step: string }) => step.step === "verifying").atTS;
    const finishing = upgrade.steps.find((step: { step: string }) => step.step === "finishing").atTS;
    expect(finishing - verified).toBeGreaterThanOrEqual(1_000);
    // The old api containers are gone; the sidekick's keep running, as its image was not pushed.
    const api = (await instances("1s5")).filter((container) =>
      container.imageUuid.startsWith("docker:myorg/api:"),
    );
    expect(api.map((container) => container.imageUuid)).toEqual(Array(2).fill("docker:myorg/api:1.21.0"));
  });

  it("rolls back a service whose new containers fail their health check", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "api" } });
    await setFaults({ unhealthyImage: "myorg/api:1.22.0" } as never);
    const queued = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.22.0")));
    const done = await settledExecution(receiver.id, queued.id);
    expect(done.outcome).toBe("rolledBack");
    expect(done.reason).toMatch(
      /^rolled back 1s5 \(api\) from myorg\/api:1\.22\.0 to myorg\/api:1\.0\.0: 1i\d+ \([^)]+\) unhealthy/,
    );
    expect(stepsOf(done, "1s5").slice(-2)).toEqual(["rolling back", "rolled back"]);
    const api = await service("1s5");
    expect(api).toMatchObject({ state: "active", launchConfig: { imageUuid: "docker:myorg/api:1.0.0" } });
  });

  it("rolls back while Cattle is still upgrading, once the first batch's container is unhealthy", async () => {
    // Two containers replaced one at a time, 3 s apart: the first is unhealthy long before the second.
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "api" }, intervalMillis: 3000 });
    await setFaults({ unhealthyImage: "myorg/api:1.27.0" } as never);
    const queued = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.27.0")));
    const done = await settledExecution(receiver.id, queued.id);
    expect(done.outcome).toBe("rolledBack");
    expect(stepsOf(done, "1s5")).toEqual(["waiting", "upgrading", "rolling back", "rolled back"]);
    expect(done.reason).toMatch(/: 1i\d+ \([^)]+\) unhealthy$/);
    const api = (await instances("1s5")).filter((container) =>
      container.imageUuid.startsWith("docker:myorg/api:"),
    );
    expect(api.map((container) => container.imageUuid)).toEqual(Array(2).fill("docker:myorg/api:1.0.0"));
  });

  it("rolls back a service without a health check whose new containers keep restarting", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "worker" }, healthySeconds: 2 });
    await setFaults({ unhealthyImage: "myorg/api:1.23.0" } as never);
    const queued = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.23.0")));
    const done = await settledExecution(receiver.id, queued.id);
    expect(done.outcome).toBe("rolledBack");
    expect(done.reason).toMatch(
      /^rolled back 1s6 \(worker\) from myorg\/api:1\.23\.0 to myorg\/api:1\.0\.0: 1i\d+ \([^)]+\) restarting/,
    );
    expect((await service("1s6")).launchConfig.imageUuid).toBe("docker:myorg/api:1.0.0");
  });

  it("rolls back when Cattle ends the upgrade in an error", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "worker" } });
    await setFaults({ upgradeFailure: "pull access denied for myorg/api" } as never);
    const queued = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.9.9")));
    const done = await settledExecution(receiver.id, queued.id);
    expect(done).toMatchObject({
      outcome: "rolledBack",
      reason:
        "rolled back 1s6 (worker) from myorg/api:1.9.9 to myorg/api:1.0.0: Cattle ended the upgrade in an error: pull access denied for myorg/api",
    });
    expect(await service("1s6")).toMatchObject({
      state: "active",
      launchConfig: { imageUuid: "docker:myorg/api:1.0.0" },
    });
  });

  it("ignores a push of the image it rolled back; another tag proceeds", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "worker" }, healthySeconds: 2 });
    await setFaults({ unhealthyImage: "myorg/api:1.24.0" } as never);
    const first = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.24.0")));
    expect((await settledExecution(receiver.id, first.id)).outcome).toBe("rolledBack");
    // Pushed again later (Docker Hub names each push by its time): a new delivery, the same image.
    const repushed = dockerHubPush("myorg/api", "1.24.0");
    repushed.push_data.pushed_at += 60;
    const again = await push(receiver.url, repushed);
    expect(again.status).toBe(200);
    const ignored = await json(again);
    expect(ignored.outcome).toBe("ignored");
    expect(ignored.reason).toMatch(
      /^1s6 \(worker\): myorg\/api:1\.24\.0 was rolled back at \S+Z \(.+\); push another tag or digest to upgrade$/,
    );
    const fixed = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.24.1")));
    expect((await settledExecution(receiver.id, fixed.id)).outcome).toBe("applied");
  });

  it("resumes the watch after the object is evicted mid-verify", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "api" }, healthySeconds: 3 });
    const queued = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.25.0")));
    await executionWhen(receiver.id, queued.id, (execution) =>
      stepsOf(execution, "1s5").includes("verifying"),
    );
    await evictDurableObject(env.TARGETS.getByName("serviceUpgrade:1a5"));
    const done = await settledExecution(receiver.id, queued.id);
    expect(done.outcome).toBe("applied");
    expect(stepsOf(done, "1s5")).toEqual([
      "waiting",
      "upgrading",
      "upgraded",
      "verifying",
      "finishing",
      "finished",
    ]);
  });

  it("counts rolledBack executions in the metrics", async () => {
    const receiver = await createUpgradeReceiver({ serviceSelector: { app: "worker" }, healthySeconds: 2 });
    await setFaults({ unhealthyImage: "myorg/api:1.26.0" } as never);
    const queued = await json(await push(receiver.url, dockerHubPush("myorg/api", "1.26.0")));
    expect((await settledExecution(receiver.id, queued.id)).outcome).toBe("rolledBack");
    const response = await call("/v1-webhooks/metrics?projectId=1a5");
    expect(response.status).toBe(200);
    const line = (await response.text())
      .split("\n")
      .find(
        (row) =>
          row.startsWith("rancher_hooks_executions_total{") &&
          row.includes(`receiver_id="${receiver.id}"`) &&
          row.includes('outcome="rolledBack"'),
      );
    expect(line).toMatch(/ 1$/);
  });

  it("refuses settings out of range with the field, and creates nothing", async () => {
    for (const [field, value, code] of [
      ["healthySeconds", -1, "MinLimitExceeded"],
      ["healthySeconds", 3601, "MaxLimitExceeded"],
      ["healthTimeoutSeconds", 9, "MinLimitExceeded"],
      ["healthTimeoutSeconds", 7201, "MaxLimitExceeded"],
      ["healthySeconds", 1.5, "InvalidFormat"],
      ["rollbackOnFailure", "yes", "InvalidFormat"],
    ] as const) {
      const name = uniqueName("bad-check");
      const response = await call("/v1-webhooks/receivers?projectId=1a5", {
        method: "POST",
        body: {
          name,
          driver: "serviceUpgrade",
          serviceUpgradeConfig: { serviceSelector: { app: "api" }, tag: "1.*", [field]: value },
        },
      });
      expect(response.status, `${field} ${value}`).toBe(422);
      expect(await json(response)).toMatchObject({ code, fieldName: `serviceUpgradeConfig.${field}` });
      const list = await json(await call("/v1-webhooks/receivers?projectId=1a5&limit=1000"));
      expect(list.data.some((item: { name: string }) => item.name === name)).toBe(false);
    }
  });

  it("shows the defaults in the created receiver and in the config's schema", async () => {
    const response = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        name: uniqueName("defaults"),
        driver: "serviceUpgrade",
        serviceUpgradeConfig: { serviceSelector: { app: "api" }, tag: "1.*" },
      },
    });
    expect(response.status).toBe(201);
    expect((await json(response)).serviceUpgradeConfig).toMatchObject({
      rollbackOnFailure: true,
      healthySeconds: 60,
      healthTimeoutSeconds: 600,
    });
    const schema = await json(await call("/v1-webhooks/schemas/serviceUpgrade"));
    expect(schema.resourceFields).toMatchObject({
      rollbackOnFailure: { type: "boolean", default: true },
      healthySeconds: { type: "int", default: 60, min: 0, max: 3600 },
      healthTimeoutSeconds: { type: "int", default: 600, min: 10, max: 7200 },
    });
  });
});
