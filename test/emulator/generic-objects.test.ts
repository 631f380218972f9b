import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, type Json, json, KEYS, P, reset, sleep } from "./emulator-client";

beforeEach(reset);

const ids = (body: Json): string[] => body.data.map((item: { id: string }) => item.id);

const configure = (config: Record<string, number>) =>
  fetch(`${EMULATOR}/_emulator/config`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(config),
  });

const SCALE_KEY = "pqBYqbi51bUmXMQ4vAgQKoFSNjRRcKTfZkG9ZoB7";
const UPGRADE_KEY = "BlhSL3f1PSCFpbk47GqDYjOk7MAPh1UUAkkWvOe8";

describe("the seeded receivers of the original webhook-service", () => {
  it("are generic objects of kind webhookReceiver, as webhook-service v0.9.15 wrote them", async () => {
    const { status, body } = await json(`${P}/genericobjects?kind=webhookReceiver`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      type: "collection",
      resourceType: "genericObject",
      links: { self: "http://127.0.0.1:8788/v2-beta/projects/1a5/genericobjects" },
      createTypes: { genericObject: "http://127.0.0.1:8788/v2-beta/projects/1a5/genericobjects" },
      pagination: { limit: 100, partial: false, next: null },
    });
    expect(body.filters.kind).toEqual([{ modifier: "eq", value: "webhookReceiver" }]);
    expect(ids(body)).toEqual(["1go1", "1go2"]);
    const [scale, upgrade] = body.data;
    expect(scale).toEqual({
      id: "1go1",
      type: "genericObject",
      baseType: "genericObject",
      links: { self: "http://127.0.0.1:8788/v2-beta/projects/1a5/genericobjects/1go1" },
      actions: {},
      name: "scale-web-up",
      description: null,
      kind: "webhookReceiver",
      key: SCALE_KEY,
      resourceData: {
        url: `http://127.0.0.1:8788/v1-webhooks/endpoint?key=${SCALE_KEY}&projectId=1a5`,
        driver: "scaleService",
        config: { serviceId: "1s1", amount: 1, action: "up", min: 1, max: 5, type: "scaleService" },
      },
      accountId: "1a5",
      state: "active",
      created: "2026-01-06T09:00:00.000Z",
      createdTS: Date.parse("2026-01-06T09:00:00Z"),
      removed: null,
      removeTime: null,
      transitioning: "no",
      transitioningMessage: null,
      transitioningProgress: null,
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(upgrade).toMatchObject({
      id: "1go2",
      name: "upgrade-api-acr",
      kind: "webhookReceiver",
      key: UPGRADE_KEY,
      resourceData: {
        url: `http://127.0.0.1:8788/v1-webhooks/endpoint?key=${UPGRADE_KEY}&projectId=1a5`,
        driver: "serviceUpgrade",
        config: {
          serviceSelector: { app: "api" },
          tag: "latest",
          payloadFormat: "azure",
          batchSize: 1,
          intervalMillis: 5,
          startFirst: true,
        },
      },
    });
    // The original's omitempty: no addressType, no type in a config made without the UI.
    expect(Object.keys(upgrade.resourceData.config).sort()).toEqual([
      "batchSize",
      "intervalMillis",
      "payloadFormat",
      "serviceSelector",
      "startFirst",
      "tag",
    ]);
    for (const receiver of body.data) expect(receiver.key).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it("are found by key and name, as the original looked them up, and only in their project", async () => {
    expect(ids((await json(`${P}/genericobjects?key=${UPGRADE_KEY}`)).body)).toEqual(["1go2"]);
    expect(ids((await json(`${P}/genericobjects?name=scale-web-up`)).body)).toEqual(["1go1"]);
    expect(ids((await json(`${P}/genericobjects?key=nothing`)).body)).toEqual([]);
    expect(ids((await json(`${P}/genericObjects?kind=other`)).body)).toEqual([]);
    expect((await json(`${P}/genericobjects/1go2`)).body.name).toBe("upgrade-api-acr");
    const other = await json("/v2-beta/projects/1a7/genericobjects", { key: KEYS.other });
    expect(ids(other.body)).toEqual([]);
    expect((await call("/v2-beta/projects/1a7/genericobjects/1go1", { key: KEYS.other })).status).toBe(404);
    expect((await call(`${P}/genericobjects/1go1`, { key: KEYS.other })).status).toBe(403);
  });
});

describe("generic objects", () => {
  it("creates (201, activating → active), lists with filters, gets and deletes (removing → removed)", async () => {
    await configure({ transitionMs: 60 });
    const resourceData = {
      url: "http://rancher.example.com/v1-webhooks/endpoint?key=k&projectId=1a5",
      driver: "scaleHost",
      config: { hostSelector: { pool: "workers" }, amount: 1, action: "up", min: 1, max: 4 },
    };
    const created = await json(`${P}/genericobjects`, {
      method: "POST",
      body: {
        type: "genericObject",
        name: "hosts-up",
        key: "K".repeat(40),
        kind: "webhookReceiver",
        resourceData,
        state: "removed",
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: "1go3",
      type: "genericObject",
      name: "hosts-up",
      key: "K".repeat(40),
      kind: "webhookReceiver",
      resourceData,
      state: "activating",
      transitioning: "yes",
    });
    await sleep(100);
    expect((await json(`${P}/genericobjects/1go3`)).body).toMatchObject({
      state: "active",
      transitioning: "no",
    });
    expect(ids((await json(`${P}/genericobjects?kind=webhookReceiver&key=${"K".repeat(40)}`)).body)).toEqual([
      "1go3",
    ]);
    const plain = await json(`${P}/genericobjects`, { method: "POST", body: { name: "n" } });
    expect(plain.body).toMatchObject({ id: "1go4", kind: "genericObject", key: null, resourceData: null });
    expect(ids((await json(`${P}/genericobjects?kind=webhookReceiver`)).body)).toEqual([
      "1go1",
      "1go2",
      "1go3",
    ]);

    const deleted = await json(`${P}/genericobjects/1go3`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ state: "removing", removed: null });
    await sleep(100);
    const removed = (await json(`${P}/genericobjects/1go3`)).body;
    expect(removed.state).toBe("removed");
    expect(removed.removed).not.toBeNull();
    // Still listed with removed set, as Cattle lists removed resources for a while.
    expect(ids((await json(`${P}/genericobjects?kind=webhookReceiver`)).body)).toEqual([
      "1go1",
      "1go2",
      "1go3",
    ]);
    expect(ids((await json(`${P}/genericobjects?kind=webhookReceiver&removed_null=true`)).body)).toEqual([
      "1go1",
      "1go2",
    ]);
    const again = await json(`${P}/genericobjects/1go3`, { method: "DELETE" });
    expect([again.status, again.body.code]).toEqual([409, "Conflict"]);
    expect((await call(`${P}/genericobjects/1go99`, { method: "DELETE" })).status).toBe(404);
  });

  it("updates resourceData and description with PUT; name, key and kind stay", async () => {
    const { status, body } = await json(`${P}/genericobjects/1go1`, {
      method: "PUT",
      body: {
        resourceData: { url: "u", driver: "scaleService", config: {} },
        description: "d",
        name: "x",
        key: "y",
      },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      resourceData: { url: "u", driver: "scaleService", config: {} },
      description: "d",
      name: "scale-web-up",
      key: SCALE_KEY,
      kind: "webhookReceiver",
    });
  });

  it("validates input from the schema", async () => {
    const cases: [unknown, string, string][] = [
      [{ name: { a: 1 } }, "InvalidFormat", "name"],
      [{ resourceData: "text" }, "InvalidFormat", "resourceData"],
      [{ key: ["k"] }, "InvalidFormat", "key"],
    ];
    for (const [body, code, fieldName] of cases) {
      const result = await json(`${P}/genericobjects`, { method: "POST", body });
      expect([body, result.status, result.body.code, result.body.fieldName]).toEqual([
        body,
        422,
        code,
        fieldName,
      ]);
    }
    expect(ids((await json(`${P}/genericobjects`)).body)).toEqual(["1go1", "1go2"]);
  });

  it("lets a read-only key list and get, but not create, change or delete (405)", async () => {
    const readonly = { key: KEYS.readonly };
    const list = await json(`${P}/genericobjects?kind=webhookReceiver`, readonly);
    expect(list.status).toBe(200);
    expect(ids(list.body)).toEqual(["1go1", "1go2"]);
    expect(list.body.createTypes).toEqual({});
    expect((await call(`${P}/genericobjects/1go1`, readonly)).status).toBe(200);
    const create = await json(`${P}/genericobjects`, { ...readonly, method: "POST", body: { name: "x" } });
    expect([create.status, create.body.code]).toEqual([405, "MethodNotAllowed"]);
    expect((await call(`${P}/genericobjects/1go1`, { ...readonly, method: "PUT", body: {} })).status).toBe(
      405,
    );
    expect((await call(`${P}/genericobjects/1go1`, { ...readonly, method: "DELETE" })).status).toBe(405);
    expect((await json(`${P}/genericobjects/1go1`)).body.state).toBe("active");
    const schema = await json(`${P}/schemas/genericobject`, readonly);
    expect(schema.body).toMatchObject({
      id: "genericObject",
      resourceMethods: ["GET"],
      collectionMethods: ["GET"],
    });
    const owner = await json(`${P}/schemas/genericObject`);
    expect(owner.body).toMatchObject({
      resourceMethods: ["GET", "PUT", "DELETE"],
      collectionMethods: ["GET", "POST"],
      links: { collection: "http://127.0.0.1:8788/v2-beta/projects/1a5/genericobjects" },
    });
    expect(Object.keys(owner.body.collectionFilters)).toEqual(
      expect.arrayContaining(["kind", "key", "name"]),
    );
  });
});
