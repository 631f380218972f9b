import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import modelBootstrap from "../fixtures/rancher-1.6/model-bootstrap-schemas.json";
import modelCloneScaleService from "../fixtures/rancher-1.6/model-clone-scaleService.json";
import modelCreateScaleHost from "../fixtures/rancher-1.6/model-create-scaleHost.json";
import modelCreateScaleHostDown from "../fixtures/rancher-1.6/model-create-scaleHost-down.json";
import modelCreateScaleService from "../fixtures/rancher-1.6/model-create-scaleService.json";
import modelCreateServiceUpgrade from "../fixtures/rancher-1.6/model-create-serviceUpgrade.json";
import modelCreateServiceUpgradeAzure from "../fixtures/rancher-1.6/model-create-serviceUpgrade-azure.json";
import uiCloneScaleHost from "../fixtures/rancher-1.6/ui-clone-scaleHost.json";
import uiCloneScaleService from "../fixtures/rancher-1.6/ui-clone-scaleService.json";
import uiCloneServiceUpgrade from "../fixtures/rancher-1.6/ui-clone-serviceUpgrade.json";
import uiCreateScaleHostDown from "../fixtures/rancher-1.6/ui-create-scaleHost-down.json";
import uiCreateScaleHostUp from "../fixtures/rancher-1.6/ui-create-scaleHost-up.json";
import uiCreateScaleService from "../fixtures/rancher-1.6/ui-create-scaleService.json";
import uiCreateServiceUpgrade from "../fixtures/rancher-1.6/ui-create-serviceUpgrade.json";
import uiCreateServiceUpgradeAlicloud from "../fixtures/rancher-1.6/ui-create-serviceUpgrade-alicloud.json";
import uiDelete from "../fixtures/rancher-1.6/ui-delete.json";
import uiListReceivers from "../fixtures/rancher-1.6/ui-list-receivers.json";
import uiLoadSchemas from "../fixtures/rancher-1.6/ui-load-schemas.json";
import { call, createReceiver, json, KEYS, ORIGIN, resetEmulator, trigger, uniqueName } from "../helpers";

/**
 * Rancher 1.6's own clients, replayed as they send their requests (fixtures written from rancher/ui
 * v1.6.52 with ember-api-store 2.2.0, and from webhook-service v0.9.15's `model` types marshalled by
 * go-rancher; the fixtures' `original` is what webhook-service itself answered); docs/rancher-ui.md.
 */

interface Fixture {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

beforeEach(async () => {
  await resetEmulator();
});

/** A recorded request sent to the worker, its body changed where the test says. */
function replay(
  fixture: Fixture,
  change: { path?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const body = change.body ?? fixture.body;
  return exports.default.fetch(
    new Request(`${ORIGIN}${change.path ?? fixture.path}`, {
      method: fixture.method,
      headers: { ...fixture.headers, ...change.headers },
      body: body === undefined || body === null ? undefined : JSON.stringify(body),
    }),
  );
}

/**
 * The UI fills a new config from the schema's defaults, so with this service's schema it sends
 * `intervalMillis` in milliseconds (2000) where the fixtures, recorded against webhook-service
 * (whose default was 2 seconds), say 2.
 */
const withOurInterval = (body: Record<string, any>) => ({
  ...body,
  name: uniqueName(String(body.name)),
  ...(body.serviceUpgradeConfig
    ? {
        serviceUpgradeConfig: {
          ...body.serviceUpgradeConfig,
          intervalMillis: body.serviceUpgradeConfig.intervalMillis * 1000,
        },
      }
    : {}),
});

describe("Rancher 1.6's UI", () => {
  it("loads its hooks page: the schemas it looks up lower-cased, with the fields its forms read", async () => {
    const response = await replay(uiLoadSchemas);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-api-schemas")).toBe(`${ORIGIN}/v1-webhooks/schemas`);
    const body = await json(response);
    // ember-api-store keeps schemas by their lower-cased id.
    const schemas = new Map<string, Record<string, any>>(
      body.data.map((schema: Record<string, any>) => [schema.id.toLowerCase(), schema]),
    );
    expect(schemas.get("receiver")?.resourceFields.name).toBeDefined();
    expect(schemas.get("scaleservice")?.resourceFields.serviceId).toBeDefined();
    expect(schemas.get("scalehost")?.resourceFields.hostSelector).toBeDefined();
    const upgrade = schemas.get("serviceupgrade")?.resourceFields;
    expect(upgrade?.serviceSelector).toBeDefined();
    for (const field of ["addressType", "batchSize", "intervalMillis", "payloadFormat", "startFirst"]) {
      expect(upgrade?.[field], field).toHaveProperty("default");
    }
    expect(upgrade?.payloadFormat.options).toContain("dockerhub");
    expect(upgrade?.addressType.options).toEqual(["registry", "registry-internal", "registry-vpc"]);
    // Every collection link resolves; the receivers' is where the UI lists them.
    for (const schema of schemas.values()) {
      const collection = schema.links.collection;
      if (!collection) continue;
      const listed = await call(`${new URL(collection).pathname}?limit=-1&sort=name&projectId=1a5`);
      expect(listed.status, collection).toBe(200);
    }
    expect(schemas.get("receiver")?.links.collection).toBe(`${ORIGIN}/v1-webhooks/receivers`);
  });

  it("lists receivers with limit=-1, Cattle's no limit", async () => {
    const receiver = await createReceiver();
    const response = await replay(uiListReceivers);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.pagination.limit).toBe(1000);
    expect(body.data.map((item: { id: string }) => item.id)).toContain(receiver.id);
  });

  it.each([
    ["Scale a Service", uiCreateScaleService, "scaleService"],
    ["Scale the number of Hosts, up", uiCreateScaleHostUp, "scaleHost"],
    ["Scale the number of Hosts, down", uiCreateScaleHostDown, "scaleHost"],
    ["Upgrade a Service", uiCreateServiceUpgrade, "serviceUpgrade"],
    ["Upgrade a Service, Alibaba Cloud", uiCreateServiceUpgradeAlicloud, "serviceUpgrade"],
  ])("adds a receiver: %s", async (_kind, fixture, driver) => {
    const response = await replay(fixture, { body: withOurInterval(fixture.body as Record<string, any>) });
    expect(response.status, await response.clone().text()).toBe(201);
    const receiver = await json(response);
    expect(receiver).toMatchObject({ type: "receiver", driver, state: "active" });
    expect(receiver[`${driver}Config`].type).toBe(driver);
    expect(receiver.url).toMatch(/\/v1-webhooks\/endpoint\?token=/);
    // The 1.6 UI knows nothing of an upgrade's health checks: the receiver gets their defaults.
    if (driver === "serviceUpgrade") {
      expect(receiver.serviceUpgradeConfig).toMatchObject({
        rollbackOnFailure: true,
        healthySeconds: 60,
        healthTimeoutSeconds: 600,
      });
    }
  });

  it.each([
    ["Scale a Service", uiCloneScaleService],
    ["Scale the number of Hosts", uiCloneScaleHost],
    ["Upgrade a Service", uiCloneServiceUpgrade],
  ])("clones a receiver, sending back what it was shown: %s", async (_kind, fixture) => {
    const response = await replay(fixture, { body: withOurInterval(fixture.body as Record<string, any>) });
    expect(response.status, await response.clone().text()).toBe(201);
    const receiver = await json(response);
    // The source's URL and state rode along and were ignored: the clone has its own URL.
    expect(receiver.url).not.toBe((fixture.body as Record<string, any>).url);
  });

  it("deletes a receiver by its self link", async () => {
    const receiver = await createReceiver();
    const response = await replay(uiDelete, {
      path: new URL(receiver.links.self).pathname + new URL(receiver.links.self).search,
    });
    expect(response.status).toBe(204);
    expect((await trigger(receiver.url)).status).toBe(403);
  });

  it("is told about a name already taken, as Cattle words validation errors", async () => {
    const body = withOurInterval(uiCreateScaleService.body as Record<string, any>);
    expect((await replay(uiCreateScaleService, { body })).status).toBe(201);
    const again = await replay(uiCreateScaleService, { body });
    expect(again.status).toBe(422);
    expect(await json(again)).toMatchObject({ code: "NotUnique", fieldName: "name" });
  });
});

describe("Rancher sessions", () => {
  const cookie = (token: string, csrf = "c5rf") => ({ cookie: `token=${token}; CSRF=${csrf}` });

  it("are checked against Cattle like keys: the session's rights, nothing more", async () => {
    const receiver = await createReceiver();
    const listed = await call("/v1-webhooks/receivers?projectId=1a5", {
      key: null,
      headers: { authorization: "Bearer dev-session" },
    });
    expect(listed.status).toBe(200);
    const readOnly = await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, {
      key: null,
      headers: cookie("readonly-session"),
    });
    expect(readOnly.status).toBe(200);
    expect(await json(readOnly)).not.toHaveProperty("url");
    const other = await call("/v1-webhooks/receivers?projectId=1a5", {
      key: null,
      headers: cookie("other-session"),
    });
    expect(other.status).toBe(403);
    const wrong = await call("/v1-webhooks/receivers?projectId=1a5", {
      key: null,
      headers: cookie("nobody"),
    });
    expect(wrong.status).toBe(401);
  });

  it("grant nothing through X-API-Project-Id or X-API-Roles alone", async () => {
    const response = await call("/v1-webhooks/receivers?projectId=1a5", {
      key: null,
      headers: { "x-api-project-id": "1a5", "x-api-roles": "owner" },
    });
    expect(response.status).toBe(401);
  });

  it("need Rancher's CSRF header for a write made with the session cookie", async () => {
    const body = {
      name: uniqueName(),
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1 },
    };
    const post = (headers: Record<string, string>) =>
      call("/v1-webhooks/receivers?projectId=1a5", { key: null, method: "POST", body, headers });
    expect((await post(cookie("dev-session"))).status).toBe(403);
    expect((await post({ ...cookie("dev-session"), "x-api-csrf": "other" })).status).toBe(403);
    expect((await post({ cookie: "token=dev-session", "x-api-csrf": "c5rf" })).status).toBe(403);
    expect((await post({ ...cookie("dev-session"), "x-api-csrf": "c5rf" })).status).toBe(201);
    // A bearer token is not sent by the browser on its own: no CSRF header needed.
    expect((await post({ authorization: "Bearer dev-session" })).status).toBe(422);
  });

  it("are not challenged when the UI asks not to be", async () => {
    const challenged = await call("/v1-webhooks/receivers?projectId=1a5", {
      key: null,
      headers: cookie("nobody"),
    });
    expect(challenged.headers.get("www-authenticate")).toBe('Basic realm="Rancher API key"');
    const quiet = await call("/v1-webhooks/receivers?projectId=1a5", {
      key: null,
      headers: { ...cookie("nobody"), "x-api-no-challenge": "true" },
    });
    expect(quiet.status).toBe(401);
    expect(quiet.headers.get("www-authenticate")).toBeNull();
    expect(await json(quiet)).toMatchObject({ type: "error", code: "Unauthorized" });
  });
});

describe("go-rancher with webhook-service's model types", () => {
  it("finds its schemas from the X-API-Schemas header, by their exact ids", async () => {
    const response = await replay(modelBootstrap);
    expect(response.headers.get("x-api-schemas")).toBe(`${ORIGIN}/v1-webhooks/schemas`);
    const ids = (await json(response)).data.map((schema: { id: string }) => schema.id);
    expect(ids).toEqual(expect.arrayContaining(["receiver", "scaleService", "scaleHost", "serviceUpgrade"]));
  });

  it.each([
    ["scaleService", modelCreateScaleService],
    ["scaleHost up", modelCreateScaleHost],
    ["scaleHost down", modelCreateScaleHostDown],
    ["a clone of a fetched receiver", modelCloneScaleService],
  ])("creates a receiver from a marshalled model.Webhook: %s", async (_kind, fixture) => {
    const body = { ...(fixture.body as Record<string, any>), name: uniqueName() };
    const response = await replay(fixture, { body });
    expect(response.status, await response.clone().text()).toBe(201);
  });

  it("takes the original's serviceUpgrade in milliseconds, and says so when seconds are sent", async () => {
    const seconds = { ...(modelCreateServiceUpgrade.body as Record<string, any>), name: uniqueName() };
    const refused = await replay(modelCreateServiceUpgrade, { body: seconds });
    expect(refused.status).toBe(422);
    expect(await json(refused)).toMatchObject({
      code: "MinLimitExceeded",
      fieldName: "serviceUpgradeConfig.intervalMillis",
      message: "serviceUpgradeConfig.intervalMillis must be at least 100",
    });
    const accepted = await replay(modelCreateServiceUpgradeAzure, {
      body: withOurInterval(modelCreateServiceUpgradeAzure.body),
    });
    expect(accepted.status).toBe(201);
    // `azure` is what webhook-service called Azure Container Registry.
    expect((await json(accepted)).serviceUpgradeConfig).toMatchObject({
      type: "serviceUpgrade",
      payloadFormat: "acr",
    });
  });
});

describe("bodies Rancher's clients send", () => {
  const body = (extra: Record<string, unknown>) => ({
    name: uniqueName(),
    driver: "scaleService",
    scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1 },
    ...extra,
  });
  const create = (payload: unknown) =>
    call("/v1-webhooks/receivers?projectId=1a5", { method: "POST", body: payload });

  it("still refuse what is truly unknown, and another driver's config with values", async () => {
    expect(await json(await create(body({ colour: "red" })))).toMatchObject({
      code: "InvalidOption",
      fieldName: "colour",
    });
    expect(await json(await create(body({ scaleHostConfig: { action: "up" } })))).toMatchObject({
      code: "InvalidOption",
      fieldName: "scaleHostConfig",
    });
    expect(await json(await create(body({ forwardPostConfig: { port: "80" } })))).toMatchObject({
      code: "InvalidOption",
      fieldName: "forwardPostConfig",
    });
  });

  it("refuse the original's Rancher Pipeline driver with a clear message", async () => {
    const response = await create({
      name: uniqueName(),
      driver: "forwardPost",
      forwardPostConfig: { projectId: "1a5" },
    });
    expect(response.status).toBe(422);
    expect(await json(response)).toMatchObject({
      code: "InvalidOption",
      fieldName: "driver",
      message: expect.stringContaining("not supported"),
    });
  });

  it("accept a config's type as the driver's name or the config field's", async () => {
    for (const type of ["scaleService", "scaleServiceConfig"]) {
      const response = await create(
        body({ scaleServiceConfig: { type, serviceId: "1s1", action: "up", amount: 1 } }),
      );
      expect(response.status, type).toBe(201);
    }
  });
});

describe("paths", () => {
  it("take a trailing slash", async () => {
    const receiver = await createReceiver();
    for (const path of [
      "/v1-webhooks/schemas/",
      "/v1-webhooks/schemas/receiver/",
      "/v1-webhooks/?projectId=1a5",
      "/v1-webhooks/receivers/?projectId=1a5",
      `/v1-webhooks/receivers/${receiver.id}/?projectId=1a5`,
      `/v1-webhooks/receivers/${receiver.id}/executions/?projectId=1a5`,
    ]) {
      expect((await call(path)).status, path).toBe(200);
    }
    const triggered = await trigger(receiver.url.replace("/endpoint?", "/endpoint/?"));
    expect(await json(triggered)).toMatchObject({ outcome: "applied" });
  });

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty"])(
    "know no resource named %s, on every route",
    async (name) => {
      const receiver = await createReceiver();
      // `__proto__` is not even a Rancher id; the others are, of an environment nobody may see.
      const unknownProject = name.includes("_") ? 422 : 403;
      const refusals: [string, { method?: string }, number][] = [
        [`/v1-webhooks/schemas/${name}`, {}, 404],
        [`/v1-webhooks/receivers/${name}?projectId=1a5`, {}, 404],
        [`/v1-webhooks/receivers/${name}?projectId=1a5`, { method: "DELETE" }, 404],
        [`/v1-webhooks/receivers/${name}?projectId=1a5&action=regenerate`, { method: "POST" }, 404],
        [`/v1-webhooks/receivers/${name}/executions?projectId=1a5`, {}, 404],
        [`/v1-webhooks/receivers/${receiver.id}?projectId=1a5&action=${name}`, { method: "POST" }, 422],
        [`/v1-webhooks/receivers?projectId=${name}`, {}, unknownProject],
        [`/v1-webhooks/endpoint?token=${name}`, { method: "POST" }, 403],
        [`/receivers/${name}/history?projectId=1a5`, {}, 404],
        [`/receivers/new?projectId=1a5&clone=${name}`, {}, 200],
        [`/?projectId=1a5&done=${name}&name=x`, {}, 200],
      ];
      for (const [path, init, status] of refusals) {
        const response = await call(path, init);
        expect(response.status, `${init.method ?? "GET"} ${path}`).toBe(status);
        const text = await response.text();
        expect(text, path).not.toMatch(/native code|\[object Object\]/);
      }
      for (const payload of [
        { name: uniqueName(), driver: name, scaleServiceConfig: {} },
        {
          name: uniqueName(),
          driver: "serviceUpgrade",
          serviceUpgradeConfig: { serviceSelector: { a: "b" }, tag: "1", payloadFormat: name },
        },
        {
          name: uniqueName(),
          driver: "scaleService",
          scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1 },
          senderVerification: { scheme: name },
        },
      ]) {
        const response = await call("/v1-webhooks/receivers?projectId=1a5", {
          method: "POST",
          body: payload,
        });
        expect(response.status, JSON.stringify(payload)).toBe(422);
      }
    },
  );

  it("check a sender header named like a property of every object", async () => {
    const created = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        name: uniqueName(),
        driver: "scaleService",
        scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1 },
        senderVerification: { scheme: "grafana", secret: "grafana-secret-0123456789", header: "constructor" },
      },
    });
    expect(created.status).toBe(201);
    const response = await trigger((await json(created)).url);
    expect(response.status).toBe(401);
  });

  it("of a page form name a sender scheme only by its own names", async () => {
    const response = await call("/receivers?projectId=1a5", {
      method: "POST",
      rawBody: new URLSearchParams({
        name: uniqueName(),
        driver: "scaleService",
        "scaleServiceConfig.serviceId": "1s1",
        "scaleServiceConfig.action": "up",
        "scaleServiceConfig.amount": "1",
        "senderVerification.scheme": "constructor",
        "senderVerification.secret": "x".repeat(20),
      }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      key: KEYS.dev,
    });
    expect(response.status).toBe(422);
  });
});
