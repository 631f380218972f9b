import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, type Json, json, KEYS, P, reset, sleep } from "./emulator-client";

beforeEach(reset);

const hook = async (path: string, body: unknown): Promise<Response> =>
  fetch(`${EMULATOR}/_emulator${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const configure = async (body: Record<string, unknown>) =>
  expect((await hook("/config", body)).status).toBe(200);

const instances = async (serviceId: string, kind = "services"): Promise<Json[]> => {
  const { status, body } = await json(`${P}/${kind}/${serviceId}/instances`);
  expect(status).toBe(200);
  return body.data;
};

const byName = (containers: Json[]): Record<string, Json> =>
  Object.fromEntries(containers.map((container) => [container.name, container]));

const names = (containers: Json[]): string[] => containers.map((container) => container.name).sort();

/** Polls a service until it rests in `state`. */
async function settled(id: string, state: string, timeoutMs = 5000): Promise<Json> {
  const started = Date.now();
  for (;;) {
    const { body } = await json(`${P}/services/${id}`);
    if (body.state === state && body.transitioning === "no") return body;
    if (Date.now() - started > timeoutMs) throw new Error(`${id} stayed ${body.state}/${body.transitioning}`);
    await sleep(20);
  }
}

/** Polls the service's containers until `check` holds; returns them. */
async function until(
  serviceId: string,
  check: (containers: Json[]) => boolean,
  timeoutMs = 5000,
): Promise<Json[]> {
  const started = Date.now();
  for (;;) {
    const containers = await instances(serviceId);
    if (check(containers)) return containers;
    if (Date.now() - started > timeoutMs)
      throw new Error(`containers of ${serviceId}: ${JSON.stringify(containers)}`);
    await sleep(20);
  }
}

describe("seeded containers", () => {
  it("lists a service's containers with the fields Cattle shows, one per launch config per unit", async () => {
    const { status, body } = await json(`${P}/services/1s5/instances`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ type: "collection", resourceType: "instance" });
    expect(body.pagination).toMatchObject({ limit: 100, partial: false });
    expect(names(body.data)).toEqual([
      "Default-api-1",
      "Default-api-2",
      "Default-api-api-sidecar-1",
      "Default-api-api-sidecar-2",
    ]);
    const containers = byName(body.data);
    const primary = containers["Default-api-1"];
    expect(primary).toMatchObject({
      type: "container",
      baseType: "instance",
      kind: "container",
      state: "running",
      healthState: "healthy",
      startCount: 1,
      imageUuid: "docker:myorg/api:1.0.0",
      version: "0",
      serviceId: "1s5",
      serviceIds: ["1s5"],
      accountId: "1a5",
      removed: null,
      transitioning: "no",
      transitioningMessage: null,
      actions: {},
      labels: {
        app: "api",
        tier: "backend",
        "io.rancher.service.launch.config": "io.rancher.service.primary.launch.config",
        "io.rancher.stack_service.name": "Default/api",
      },
    });
    expect(primary.id).toMatch(/^1i\d+$/);
    expect(primary.links.self).toBe(`http://127.0.0.1:8788/v2-beta/projects/1a5/containers/${primary.id}`);
    expect(typeof primary.created).toBe("string");
    expect(typeof primary.createdTS).toBe("number");
    expect(Date.parse(primary.firstRunning)).toBe(primary.createdTS);
    expect(typeof primary.deploymentUnitUuid).toBe("string");
    expect(typeof primary.createIndex).toBe("number");
    // A sidekick shares its unit (and its number) with the primary; it has no health check.
    const sidekick = containers["Default-api-api-sidecar-1"];
    expect(sidekick).toMatchObject({
      state: "running",
      healthState: null,
      imageUuid: "docker:myorg/sidecar:2.1",
      deploymentUnitUuid: primary.deploymentUnitUuid,
      labels: { "io.rancher.service.launch.config": "api-sidecar" },
    });
    expect(containers["Default-api-2"].deploymentUnitUuid).not.toBe(primary.deploymentUnitUuid);
    const ids = body.data.map((container: Json) => container.id);
    expect(new Set(ids).size).toBe(4);

    expect(await instances("1s6")).toMatchObject([
      { name: "Default-worker-1", state: "running", healthState: null, startCount: 1, version: "0" },
    ]);
    expect(await instances("1s2", "loadbalancerservices")).toMatchObject([
      { name: "Default-lb-1", imageUuid: "docker:rancher/lb-service-haproxy:v0.9.1" },
    ]);
    expect(await instances("1s4")).toHaveLength(3);
    expect(await instances("1s3", "externalservices")).toEqual([]);
  });

  it("is the service's instances link", async () => {
    const { body } = await json(`${P}/services/1s6`);
    expect(body.links.instances).toBe("http://127.0.0.1:8788/v2-beta/projects/1a5/services/1s6/instances");
    const viaLink = await json(new URL(body.links.instances).pathname);
    expect(names(viaLink.body.data)).toEqual(["Default-worker-1"]);
    // Un-scoped, the project comes from the key, and so do the links.
    const unscoped = await json("/v2-beta/services/1s6/instances");
    expect(unscoped.body.data[0].links.self).toMatch(
      /^http:\/\/127\.0\.0\.1:8788\/v2-beta\/containers\/1i\d+$/,
    );
  });

  it("pages, filters and answers 404 and 405 like the other collections", async () => {
    const page = await json(`${P}/services/1s5/instances?limit=1&sort=name`);
    expect(page.body.data).toHaveLength(1);
    expect(page.body.data[0].name).toBe("Default-api-1");
    expect(page.body.pagination).toMatchObject({ limit: 1, partial: true });
    const next = await json(
      new URL(page.body.pagination.next).pathname + new URL(page.body.pagination.next).search,
    );
    expect(next.body.data[0].name).toBe("Default-api-2");
    const checked = await json(`${P}/services/1s5/instances?healthState=healthy`);
    expect(names(checked.body.data)).toEqual(["Default-api-1", "Default-api-2"]);

    const missing = await json(`${P}/services/1s99/instances`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("NotFound");
    // A load balancer's collection does not reach an ordinary service.
    expect((await json(`${P}/loadbalancerservices/1s5/instances`)).status).toBe(404);
    const post = await json(`${P}/services/1s5/instances`, { method: "POST", body: {} });
    expect(post.status).toBe(405);
    expect(post.body.code).toBe("MethodNotAllowed");
  });

  it("lists every container of the project under /containers and /instances, for read-only keys too", async () => {
    const all = await json(`${P}/containers`);
    expect(all.status).toBe(200);
    expect(all.body.resourceType).toBe("container");
    // web 1, lb 1, agent 3, api 2 × 2, worker 1; the other project's container is not here.
    expect(all.body.data).toHaveLength(10);
    expect(all.body.data.every((container: Json) => container.accountId === "1a5")).toBe(true);
    const viaInstances = await json(`${P}/instances?serviceId=1s6`, { key: KEYS.readonly });
    expect(viaInstances.status).toBe(200);
    expect(viaInstances.body.resourceType).toBe("instance");
    expect(names(viaInstances.body.data)).toEqual(["Default-worker-1"]);
    const id = viaInstances.body.data[0].id;
    const one = await json(`${P}/containers/${id}`);
    expect(one.body).toMatchObject({ id, name: "Default-worker-1", type: "container" });
    expect((await json(`${P}/instances/${id}`)).body.id).toBe(id);
    expect((await json(`${P}/containers/1i999`)).status).toBe(404);
    const other = await json("/v2-beta/projects/1a7/containers", { key: KEYS.other });
    expect(names(other.body.data)).toEqual(["Default-api-1"]);
    expect((await json(`/v2-beta/projects/1a7/containers/${id}`, { key: KEYS.other })).status).toBe(404);
    expect((await json(`${P}/containers/${id}`, { method: "DELETE" })).status).toBe(405);
    const schema = await json(`${P}/schemas/container`);
    expect(schema.body.resourceMethods).toEqual(["GET"]);
    expect(schema.body.collectionMethods).toEqual(["GET"]);
    expect(schema.body.resourceFields.startCount).toMatchObject({
      type: "int",
      create: false,
      update: false,
    });
    expect(schema.body.resourceFields.name).toMatchObject({ create: false, update: false });
  });
});

describe("containers follow the scale", () => {
  it("adds units on scale up and removes the newest units on scale down", async () => {
    await configure({ transitionMs: 400 });
    expect((await call(`${P}/services/1s5`, { method: "PUT", body: { scale: 4 } })).status).toBe(200);
    // Nothing changes until the update is over.
    expect(await instances("1s5")).toHaveLength(4);
    await settled("1s5", "active");
    const grown = byName(await instances("1s5"));
    expect(Object.keys(grown).sort()).toEqual([
      "Default-api-1",
      "Default-api-2",
      "Default-api-3",
      "Default-api-4",
      "Default-api-api-sidecar-1",
      "Default-api-api-sidecar-2",
      "Default-api-api-sidecar-3",
      "Default-api-api-sidecar-4",
    ]);
    expect(grown["Default-api-4"]).toMatchObject({ state: "running", startCount: 1, version: "0" });
    expect(grown["Default-api-4"].createIndex).toBeGreaterThan(grown["Default-api-2"].createIndex);
    expect(grown["Default-api-api-sidecar-4"].deploymentUnitUuid).toBe(
      grown["Default-api-4"].deploymentUnitUuid,
    );
    const removedIds = ["Default-api-2", "Default-api-3", "Default-api-4"].map((name) => grown[name].id);

    await call(`${P}/services/1s5`, { method: "PUT", body: { scale: 1 } });
    await settled("1s5", "active");
    expect(names(await instances("1s5"))).toEqual(["Default-api-1", "Default-api-api-sidecar-1"]);
    // Removed containers stay listed in the project's collection, with `removed` set.
    for (const id of removedIds) {
      const { body } = await json(`${P}/containers/${id}`);
      expect(body).toMatchObject({ state: "removed" });
      expect(body.removed).not.toBeNull();
    }
    const live = await json(`${P}/containers?serviceId=1s5&removed_null=true`);
    expect(live.body.data).toHaveLength(2);

    // Scaling up again takes the lowest free numbers.
    await call(`${P}/services/1s5`, { method: "PUT", body: { scale: 2 } });
    await settled("1s5", "active");
    expect(names(await instances("1s5"))).toContain("Default-api-2");
  });

  it("starts containers when a service activates, stops them on deactivate and removes them with it", async () => {
    await configure({ transitionMs: 250, healthyMs: 2000 });
    const created = await json(`${P}/services`, {
      method: "POST",
      body: {
        name: "cache",
        scale: 2,
        launchConfig: { imageUuid: "docker:redis:7", healthCheck: { port: 6379, interval: 2000 } },
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(await instances(id)).toEqual([]);
    await settled(id, "active");
    const running = await instances(id);
    expect(names(running)).toEqual(["Default-cache-1", "Default-cache-2"]);
    expect(running.every((container) => container.state === "running" && container.version === "0")).toBe(
      true,
    );

    await call(`${P}/services/${id}?action=deactivate`, { method: "POST" });
    await settled(id, "inactive");
    expect((await instances(id)).map((container) => container.state)).toEqual(["stopped", "stopped"]);

    await call(`${P}/services/${id}?action=activate`, { method: "POST" });
    await settled(id, "active");
    const again = await instances(id);
    expect(again.map((container) => [container.state, container.startCount])).toEqual([
      ["running", 2],
      ["running", 2],
    ]);
    expect(again.map((container) => container.id)).toEqual(running.map((container) => container.id));
    // Started again after a stop: the check runs anew.
    expect(again[0].healthState).toBe("reinitializing");

    await call(`${P}/services/${id}`, { method: "DELETE" });
    await settled(id, "removed");
    expect(await instances(id)).toEqual([]);
    const gone = await json(`${P}/containers?serviceId=${id}`);
    expect(gone.body.data.map((container: Json) => container.state)).toEqual(["removed", "removed"]);

    // A service created without starting has no containers.
    const idle = await json(`${P}/services`, {
      method: "POST",
      body: { name: "idle", startOnCreate: false, launchConfig: { imageUuid: "docker:redis:7" } },
    });
    await settled(idle.body.id, "inactive");
    expect(await instances(idle.body.id)).toEqual([]);
  });

  it("renames the containers with their service, keeping them running", async () => {
    await configure({ transitionMs: 50 });
    const before = await instances("1s5");
    expect((await call(`${P}/services/1s5`, { method: "PUT", body: { name: "backend" } })).status).toBe(200);
    await settled("1s5", "active");
    const after = await instances("1s5");
    expect(names(after)).toEqual([
      "Default-backend-1",
      "Default-backend-2",
      "Default-backend-api-sidecar-1",
      "Default-backend-api-sidecar-2",
    ]);
    expect(after.map((c) => [c.id, c.state, c.startCount])).toEqual(before.map((c) => [c.id, "running", 1]));
    expect(after[0].labels["io.rancher.stack_service.name"]).toBe("Default/backend");
  });

  it("runs one container per active host for a global service", async () => {
    await configure({ transitionMs: 50 });
    await call(`${P}/services/1s4?action=restart`, { method: "POST", body: {} });
    await settled("1s4", "active");
    // Four active hosts (1h1–1h4); the restart restarted the three that ran and started a fourth.
    const containers = await instances("1s4");
    expect(containers.map((container) => container.startCount).sort()).toEqual([1, 2, 2, 2]);
  });
});

describe("health checks", () => {
  it("walks initializing → healthy after healthyMs, and shows healthyMs in the config", async () => {
    await configure({ transitionMs: 50, healthyMs: 600 });
    const config = await (await fetch(`${EMULATOR}/_emulator/config`)).json();
    expect(config).toMatchObject({ healthyMs: 600 });
    await call(`${P}/services/1s5`, { method: "PUT", body: { scale: 3 } });
    await settled("1s5", "active");
    const fresh = byName(await instances("1s5"));
    expect(fresh["Default-api-3"]).toMatchObject({ state: "running", healthState: "initializing" });
    expect(fresh["Default-api-api-sidecar-3"].healthState).toBeNull();
    const healthy = await until(
      "1s5",
      (containers) => byName(containers)["Default-api-3"]?.healthState === "healthy",
    );
    expect(byName(healthy)["Default-api-3"].startCount).toBe(1);
    // Now and then must agree: the container became healthy no sooner than healthyMs after it started.
    expect(Date.now() - Date.parse(fresh["Default-api-3"].firstRunning)).toBeGreaterThanOrEqual(600);
  });

  it("refuses a bad healthyMs and changes nothing", async () => {
    for (const [body, code] of [
      [{ healthyMs: -1 }, "MinLimitExceeded"],
      [{ healthyMs: "soon" }, "InvalidFormat"],
      [{ healthyMs: 600_001 }, "MaxLimitExceeded"],
    ] as const) {
      const response = await hook("/config", body);
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ code, fieldName: "healthyMs" });
    }
    expect(await (await fetch(`${EMULATOR}/_emulator/config`)).json()).toMatchObject({ healthyMs: 300 });
  });
});

describe("the unhealthyImage fault", () => {
  // The new launch config replaces the old one whole, so an upgrade keeps the check only by sending it.
  const CHECK = { type: "instanceHealthCheck", port: 8080, requestLine: "GET /healthz HTTP/1.0" };
  const upgrade = (id: string, imageUuid: string) =>
    json(`${P}/services/${id}?action=upgrade`, {
      method: "POST",
      body: {
        inServiceStrategy: {
          launchConfig: id === "1s5" ? { imageUuid, healthCheck: CHECK } : { imageUuid },
          batchSize: 2,
          intervalMillis: 100,
        },
      },
    });

  it("makes checked containers of that image unhealthy after healthyMs", async () => {
    await configure({ transitionMs: 50, healthyMs: 300 });
    const set = await hook("/faults", { unhealthyImage: "myorg/api:1.1.0" });
    expect(await set.json()).toMatchObject({ unhealthyImage: "myorg/api:1.1.0" });
    expect((await upgrade("1s5", "docker:myorg/api:1.1.0")).status).toBe(202);
    const started = await until("1s5", (containers) =>
      containers.some((container) => container.imageUuid === "docker:myorg/api:1.1.0"),
    );
    for (const container of started.filter((c) => c.imageUuid === "docker:myorg/api:1.1.0")) {
      expect(["initializing", "unhealthy"]).toContain(container.healthState);
    }
    const failed = await until(
      "1s5",
      (containers) =>
        containers.filter((c) => c.imageUuid === "docker:myorg/api:1.1.0" && c.healthState === "unhealthy")
          .length === 2,
    );
    const fresh = failed.filter((c) => c.imageUuid === "docker:myorg/api:1.1.0");
    expect(fresh.map((c) => [c.state, c.startCount])).toEqual([
      ["running", 1],
      ["running", 1],
    ]);
    // The sidekick was not upgraded and the fault does not name its image.
    expect(failed.filter((c) => c.name.includes("sidecar")).every((c) => c.state === "running")).toBe(true);
  });

  it("restarts unchecked containers of that image again and again, matching with or without docker:", async () => {
    await configure({ transitionMs: 50, healthyMs: 200 });
    await hook("/faults", { unhealthyImage: "docker:myorg/api:1.1.0" });
    expect(await (await fetch(`${EMULATOR}/_emulator/faults`)).json()).toMatchObject({
      unhealthyImage: "docker:myorg/api:1.1.0",
    });
    // The worker's launch config names the image without Cattle's prefix.
    await upgrade("1s6", "myorg/api:1.1.0");
    await settled("1s6", "upgraded");
    const first = (await instances("1s6")).find((c) => c.imageUuid === "myorg/api:1.1.0");
    expect(first).toMatchObject({ state: "running", healthState: null });
    const counts: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const now = (await instances("1s6")).find((c) => c.id === first.id);
      expect(now.state).toBe("running");
      counts.push(now.startCount);
      await sleep(250);
    }
    // Once every healthyMs: each look a quarter second later sees it grown.
    for (let i = 1; i < counts.length; i += 1) expect(counts[i]).toBeGreaterThan(counts[i - 1] as number);
  });

  it("spares containers of other images and containers created before it was set; null clears it", async () => {
    await configure({ transitionMs: 50, healthyMs: 100 });
    await hook("/faults", { unhealthyImage: "myorg/api:9.9.9" });
    await upgrade("1s6", "docker:myorg/api:1.1.0");
    await settled("1s6", "upgraded");
    await sleep(350);
    const fresh = (await instances("1s6")).find((c) => c.version !== "0");
    expect(fresh).toMatchObject({ imageUuid: "docker:myorg/api:1.1.0", startCount: 1 });
    // The seeded api runs myorg/api:1.0.0 from before: setting the fault for it changes nothing there.
    await hook("/faults", { unhealthyImage: "myorg/api:1.0.0" });
    await sleep(150);
    expect((await instances("1s5")).filter((c) => c.healthState === "unhealthy")).toEqual([]);
    const cleared = await hook("/faults", { unhealthyImage: null });
    expect(await cleared.json()).toMatchObject({ unhealthyImage: null });
    await upgrade("1s5", "docker:myorg/api:1.0.0");
    await settled("1s5", "upgraded");
    await sleep(150);
    expect((await instances("1s5")).filter((c) => c.healthState === "unhealthy")).toEqual([]);
  });

  it("refuses a value that is not an image reference and keeps the one it had", async () => {
    await hook("/faults", { unhealthyImage: "myorg/api:1.1.0" });
    for (const unhealthyImage of ["", "my org/api", 7]) {
      const response = await hook("/faults", { unhealthyImage });
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ fieldName: "unhealthyImage" });
    }
    expect(await (await fetch(`${EMULATOR}/_emulator/faults`)).json()).toMatchObject({
      unhealthyImage: "myorg/api:1.1.0",
    });
    await reset();
    expect(await (await fetch(`${EMULATOR}/_emulator/faults`)).json()).toMatchObject({
      unhealthyImage: null,
    });
  });
});
