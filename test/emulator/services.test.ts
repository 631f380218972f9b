import { beforeEach, describe, expect, it } from "vitest";
import { call, type Json, json, KEYS, P, reset } from "./emulator-client";

beforeEach(reset);

const ids = (body: Json): string[] => body.data.map((item: { id: string }) => item.id);

describe("service resources", () => {
  it("shows a seeded service with Cattle's resource shape", async () => {
    const { status, body } = await json(`${P}/services/1s1`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: "1s1",
      type: "service",
      baseType: "service",
      name: "web",
      kind: "service",
      state: "active",
      transitioning: "no",
      transitioningMessage: null,
      removed: null,
      accountId: "1a5",
      stackId: "1st1",
      scale: 1,
      currentScale: 1,
      launchConfig: { type: "launchConfig", imageUuid: "docker:nginx:1.25", labels: { app: "web" } },
      links: { self: "http://127.0.0.1:8788/v2-beta/projects/1a5/services/1s1" },
    });
    expect(body.created).toBe("2026-01-05T10:00:00.000Z");
    expect(body.createdTS).toBe(Date.parse("2026-01-05T10:00:00Z"));
    expect(body.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.actions.upgrade).toBe(
      "http://127.0.0.1:8788/v2-beta/projects/1a5/services/1s1/?action=upgrade",
    );
    expect(body.actions.finishupgrade).toBeUndefined();
  });

  it("returns every kind of the seed, each with its own type", async () => {
    const lb = await json(`${P}/services/1s2`);
    expect(lb.body).toMatchObject({ type: "loadBalancerService", kind: "loadBalancerService", scale: 1 });
    expect(lb.body.launchConfig.imageUuid).toBe("docker:rancher/lb-service-haproxy:v0.9.1");
    expect(lb.body.links.self).toBe("http://127.0.0.1:8788/v2-beta/projects/1a5/loadbalancerservices/1s2");
    const ext = await json(`${P}/services/1s3`);
    expect(ext.body).toMatchObject({ type: "externalService", kind: "externalService", state: "active" });
    expect(ext.body.externalIpAddresses).toEqual(["203.0.113.10", "203.0.113.11"]);
    expect("launchConfig" in ext.body).toBe(false);
    expect("scale" in ext.body).toBe(false);
    const global = await json(`${P}/services/1s4`);
    expect(global.body.launchConfig.labels["io.rancher.scheduler.global"]).toBe("true");
    expect(global.body.currentScale).toBe(3);
  });

  it("answers 404 for an unknown id and for a service through the wrong kind's collection", async () => {
    const unknown = await json(`${P}/services/1s999`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ type: "error", code: "NotFound" });
    expect((await call(`${P}/loadbalancerservices/1s1`)).status).toBe(404);
    expect((await call(`${P}/loadbalancerservices/1s2`)).status).toBe(200);
    expect((await call(`${P}/services/%00%ff`)).status).toBe(404);
  });
});

describe("service collections", () => {
  it("lists the project's services in id order with Cattle's collection envelope", async () => {
    const { status, body } = await json(`${P}/services`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      type: "collection",
      resourceType: "service",
      links: { self: "http://127.0.0.1:8788/v2-beta/projects/1a5/services" },
      actions: {},
      sort: null,
      createDefaults: {},
      pagination: { first: null, previous: null, next: null, limit: 100, total: null, partial: false },
    });
    expect(ids(body)).toEqual(["1s1", "1s2", "1s3", "1s4", "1s5", "1s6"]);
    expect(body.createTypes.service).toBe("http://127.0.0.1:8788/v2-beta/projects/1a5/services");
    expect(body.filters.name).toBeNull();
    expect(body.sortLinks.name).toBe("http://127.0.0.1:8788/v2-beta/projects/1a5/services?sort=name");
  });

  it("filters by equality on name, kind and state, and echoes the filters", async () => {
    const byName = await json(`${P}/services?name=web`);
    expect(ids(byName.body)).toEqual(["1s1"]);
    expect(byName.body.filters.name).toEqual([{ modifier: "eq", value: "web" }]);
    expect(ids((await json(`${P}/services?kind=service`)).body)).toEqual(["1s1", "1s4", "1s5", "1s6"]);
    expect(ids((await json(`${P}/services?kind=loadBalancerService`)).body)).toEqual(["1s2"]);
    expect(ids((await json(`${P}/services?state=active`)).body)).toEqual([
      "1s1",
      "1s2",
      "1s3",
      "1s4",
      "1s5",
      "1s6",
    ]);
    expect(ids((await json(`${P}/services?state=inactive`)).body)).toEqual([]);
    expect(ids((await json(`${P}/services?id=1s3`)).body)).toEqual(["1s3"]);
  });

  it("applies modifiers: ne, like, notlike, prefix, numeric comparisons, null", async () => {
    expect(ids((await json(`${P}/services?name_ne=web`)).body)).toEqual(["1s2", "1s3", "1s4", "1s5", "1s6"]);
    expect(ids((await json(`${P}/services?name_like=%25e%25`)).body)).toEqual(["1s1", "1s3", "1s4", "1s6"]);
    expect(ids((await json(`${P}/services?name_notlike=%25e%25`)).body)).toEqual(["1s2", "1s5"]);
    expect(ids((await json(`${P}/services?name_prefix=a`)).body)).toEqual(["1s4", "1s5"]);
    expect(ids((await json(`${P}/services?removed_null=true`)).body)).toEqual([
      "1s1",
      "1s2",
      "1s3",
      "1s4",
      "1s5",
      "1s6",
    ]);
    expect(ids((await json(`${P}/services?removed_notnull=true`)).body)).toEqual([]);
    await call(`${P}/services/1s1`, { method: "PUT", body: { scale: 5 } });
    // The external service has no scale, so a NULL never satisfies a comparison.
    expect(ids((await json(`${P}/services?scale_gt=1`)).body)).toEqual(["1s1", "1s5"]);
    expect(ids((await json(`${P}/services?scale_gte=1`)).body)).toEqual(["1s1", "1s2", "1s4", "1s5", "1s6"]);
    expect(ids((await json(`${P}/services?scale_lt=5`)).body)).toEqual(["1s2", "1s4", "1s5", "1s6"]);
    expect(ids((await json(`${P}/services?scale_lte=5&kind=service`)).body)).toEqual([
      "1s1",
      "1s4",
      "1s5",
      "1s6",
    ]);
  });

  it("ignores parameters that name no filter or a modifier the field does not take", async () => {
    expect(ids((await json(`${P}/services?colour=blue&name_gt=a&launchConfig=x`)).body)).toEqual([
      "1s1",
      "1s2",
      "1s3",
      "1s4",
      "1s5",
      "1s6",
    ]);
  });

  it("sorts on request and says how to reverse", async () => {
    const byName = await json(`${P}/services?sort=name`);
    expect(ids(byName.body)).toEqual(["1s4", "1s5", "1s3", "1s2", "1s1", "1s6"]);
    expect(byName.body.sort).toMatchObject({ name: "name", order: "asc" });
    expect(byName.body.sort.reverse).toBe(
      "http://127.0.0.1:8788/v2-beta/projects/1a5/services?sort=name&order=desc",
    );
    expect(ids((await json(`${P}/services?sort=name&order=desc`)).body)).toEqual([
      "1s6",
      "1s1",
      "1s2",
      "1s3",
      "1s5",
      "1s4",
    ]);
  });

  it("pages with limit and marker until partial is false", async () => {
    for (let n = 0; n < 120; n++) {
      const created = await call(`${P}/services`, { method: "POST", body: { name: `page-${n}` } });
      expect(created.status).toBe(201);
    }
    const first = await json(`${P}/services`);
    expect(first.body.data).toHaveLength(100);
    expect(first.body.pagination).toMatchObject({ limit: 100, partial: true });
    expect(first.body.pagination.next).toBe(
      "http://127.0.0.1:8788/v2-beta/projects/1a5/services?marker=m100",
    );
    const second = await json(first.body.pagination.next.replace("http://127.0.0.1:8788", ""));
    expect(second.body.data).toHaveLength(26);
    expect(second.body.pagination).toMatchObject({ partial: false, next: null });
    const all = [...ids(first.body), ...ids(second.body)];
    expect(new Set(all).size).toBe(126);
    expect(all.at(-1)).toBe("1s129");

    const small = await json(`${P}/services?limit=3&kind=service`);
    expect(ids(small.body)).toEqual(["1s1", "1s4", "1s5"]);
    expect(small.body.pagination.next).toBe(
      "http://127.0.0.1:8788/v2-beta/projects/1a5/services?limit=3&kind=service&marker=m3",
    );
    const next = await json(small.body.pagination.next.replace("http://127.0.0.1:8788", ""));
    expect(ids(next.body)).toEqual(["1s6", "1s10", "1s11"]);

    const big = await json(`${P}/services?limit=1000`);
    expect(big.body.data).toHaveLength(126);
    expect(big.body.pagination.limit).toBe(1000);
    expect((await json(`${P}/services?limit=99999`)).body.pagination.limit).toBe(3000);
    expect((await json(`${P}/services?limit=abc`)).body.pagination.limit).toBe(100);
    expect(ids((await json(`${P}/services?marker=garbage&limit=2`)).body)).toEqual(["1s1", "1s2"]);
  });

  it("lists each kind in its own collection", async () => {
    expect(ids((await json(`${P}/loadbalancerservices`)).body)).toEqual(["1s2"]);
    expect(ids((await json(`${P}/externalservices`)).body)).toEqual(["1s3"]);
    expect(ids((await json("/v2-beta/projects/1a7/services", { key: KEYS.other })).body)).toEqual(["1s9"]);
  });
});

describe("creating services", () => {
  it("creates a service with Cattle's defaults, registering then activating", async () => {
    const { status, body } = await json(`${P}/services`, {
      method: "POST",
      body: { name: "cache", launchConfig: { imageUuid: "docker:redis:7", labels: { role: "cache" } } },
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      id: "1s10",
      type: "service",
      kind: "service",
      name: "cache",
      scale: 1,
      stackId: "1st1",
      startOnCreate: true,
      state: "registering",
      transitioning: "yes",
      accountId: "1a5",
      launchConfig: { imageUuid: "docker:redis:7", labels: { role: "cache" } },
    });
    const next = await json(`${P}/services`, { method: "POST", body: { name: "cache2", scale: 3 } });
    expect(next.body).toMatchObject({ id: "1s11", scale: 3 });
  });

  it("creates a load balancer in its own collection", async () => {
    const { status, body } = await json(`${P}/loadbalancerservices`, {
      method: "POST",
      body: {
        name: "edge",
        launchConfig: { imageUuid: "docker:rancher/lb-service-haproxy:v0.9.1" },
        lbConfig: { portRules: [{ sourcePort: 443, targetPort: 80, serviceId: "1s1" }] },
      },
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({ type: "loadBalancerService", kind: "loadBalancerService", name: "edge" });
    expect(ids((await json(`${P}/services?kind=loadBalancerService`)).body)).toEqual(["1s2", "1s10"]);
  });

  it("requires a name (422 MissingRequired, fieldName name)", async () => {
    const { status, body } = await json(`${P}/services`, { method: "POST", body: { scale: 2 } });
    expect(status).toBe(422);
    expect(body).toMatchObject({ type: "error", status: 422, code: "MissingRequired", fieldName: "name" });
    const empty = await json(`${P}/services`, { method: "POST" });
    expect(empty.body).toMatchObject({ code: "MissingRequired", fieldName: "name" });
  });

  it("refuses a name already used in the stack, in any case (422 NotUnique)", async () => {
    const { status, body } = await json(`${P}/services`, { method: "POST", body: { name: "WEB" } });
    expect(status).toBe(422);
    expect(body).toMatchObject({ code: "NotUnique", fieldName: "name" });
    // The other project's stack is another namespace.
    const other = await json("/v2-beta/projects/1a7/services", {
      method: "POST",
      key: KEYS.other,
      body: { name: "web" },
    });
    expect(other.status).toBe(201);
  });

  it("validates names, scale and references", async () => {
    const cases: [unknown, string, string][] = [
      [{ name: "bad_name" }, "InvalidCharacters", "name"],
      [{ name: "trailing-" }, "InvalidCharacters", "name"],
      [{ name: "" }, "MinLengthExceeded", "name"],
      [{ name: "x".repeat(64) }, "MaxLengthExceeded", "name"],
      [{ name: { first: "a" } }, "InvalidFormat", "name"],
      [{ name: "ok", scale: -1 }, "MinLimitExceeded", "scale"],
      [{ name: "ok", scale: 1.5 }, "InvalidFormat", "scale"],
      [{ name: "ok", scale: "many" }, "InvalidFormat", "scale"],
      [{ name: "ok", scale: 1e300 }, "InvalidFormat", "scale"],
      [{ name: "ok", scale: true }, "InvalidFormat", "scale"],
      [{ name: "ok", stackId: "1st2" }, "InvalidReference", "stackId"],
      [{ name: "ok", stackId: "1st99" }, "InvalidReference", "stackId"],
      [{ name: "ok", launchConfig: "docker:nginx" }, "InvalidFormat", "launchConfig"],
      [{ name: "ok", launchConfig: { labels: { a: { b: 1 } } } }, "InvalidFormat", "launchConfig.labels.a"],
      [{ name: "ok", launchConfig: { memory: -5 } }, "MinLimitExceeded", "launchConfig.memory"],
    ];
    for (const [body, code, fieldName] of cases) {
      const result = await json(`${P}/services`, { method: "POST", body });
      expect({
        body,
        status: result.status,
        code: result.body.code,
        fieldName: result.body.fieldName,
      }).toEqual({
        body,
        status: 422,
        code,
        fieldName,
      });
    }
    expect((await json(`${P}/services`)).body.data).toHaveLength(6);
  });

  it("accepts an integer in a string, as Cattle converts it, and drops fields it may not set", async () => {
    const { status, body } = await json(`${P}/services`, {
      method: "POST",
      body: { name: "lenient", scale: "2", currentScale: 9, state: "active", colour: "blue" },
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({ scale: 2, currentScale: 0, state: "registering" });
    expect("colour" in body).toBe(false);
  });

  it("requires launchConfig and lbConfig for a load balancer", async () => {
    const { status, body } = await json(`${P}/loadbalancerservices`, {
      method: "POST",
      body: { name: "edge" },
    });
    expect(status).toBe(422);
    expect(body.code).toBe("MissingRequired");
    expect(["launchConfig", "lbConfig"]).toContain(body.fieldName);
  });
});

describe("launch configs kept whole", () => {
  const extras = { environment: { A: "1" }, ports: ["80:80"], customThing: { x: 1 } };

  it("keeps fields it does not know, as sent, on create", async () => {
    const { status, body } = await json(`${P}/services`, {
      method: "POST",
      body: {
        name: "kept",
        launchConfig: {
          imageUuid: "docker:redis:7",
          labels: { role: "cache" },
          ...extras,
          volumeDriver: "rexray",
        },
      },
    });
    expect(status).toBe(201);
    expect(body.launchConfig).toMatchObject({
      ...extras,
      volumeDriver: "rexray",
      imageUuid: "docker:redis:7",
    });
    expect((await json(`${P}/services/${body.id}`)).body.launchConfig).toMatchObject({
      ...extras,
      volumeDriver: "rexray",
    });
    // Known fields are still checked, and the emulator's own (version) cannot be set.
    const bad = await json(`${P}/services`, {
      method: "POST",
      body: { name: "bad", launchConfig: { ...extras, ports: [{ not: "a string" }] } },
    });
    expect([bad.status, bad.body.fieldName]).toEqual([422, "launchConfig.ports"]);
    const versioned = await json(`${P}/services`, {
      method: "POST",
      body: { name: "versioned", launchConfig: { version: "7", customThing: { x: 2 } } },
    });
    expect(versioned.body.launchConfig).toMatchObject({ version: "0", customThing: { x: 2 } });
  });

  it("keeps them on a load balancer's PUT", async () => {
    const { status, body } = await json(`${P}/loadbalancerservices/1s2`, {
      method: "PUT",
      body: { launchConfig: { imageUuid: "docker:rancher/lb-service-haproxy:v0.9.2", ...extras } },
    });
    expect(status).toBe(200);
    expect(body.launchConfig).toMatchObject({
      imageUuid: "docker:rancher/lb-service-haproxy:v0.9.2",
      ...extras,
    });
  });

  it("keeps them on upgrade, in the primary and the sidekicks, and gives them back on rollback", async () => {
    await json(`${P}/services/1s5?action=upgrade`, {
      method: "POST",
      body: {
        inServiceStrategy: {
          launchConfig: { imageUuid: "docker:myorg/api:1.1.0", labels: { app: "api" }, ...extras },
          secondaryLaunchConfigs: [
            { name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.2", customThing: { y: 2 } },
          ],
        },
      },
    });
    const upgrading = (await json(`${P}/services/1s5`)).body;
    expect(upgrading.launchConfig).toMatchObject({ imageUuid: "docker:myorg/api:1.1.0", ...extras });
    expect(upgrading.secondaryLaunchConfigs[0]).toMatchObject({ name: "api-sidecar", customThing: { y: 2 } });
    expect(upgrading.upgrade.inServiceStrategy.launchConfig).toMatchObject(extras);

    await json(`${P}/services/1s1?action=upgrade`, {
      method: "POST",
      body: { inServiceStrategy: { launchConfig: { imageUuid: "docker:nginx:1.27", ...extras } } },
    });
    const rolling = await json(`${P}/services/1s1?action=rollback`, { method: "POST" });
    expect(rolling.body.launchConfig).toMatchObject({
      imageUuid: "docker:nginx:1.25",
      ports: ["8080:80/tcp"],
    });
    expect("customThing" in rolling.body.launchConfig).toBe(false);
    expect(rolling.body.upgrade.inServiceStrategy.launchConfig).toMatchObject(extras);
  });
});
