import { beforeEach, describe, expect, it } from "vitest";
import { json, KEYS, P, reset } from "./emulator-client";

beforeEach(reset);

describe("schemas per key", () => {
  it("gives an owner PUT and DELETE on services and POST on the collection", async () => {
    const { status, body } = await json(`${P}/schemas/service`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: "service", type: "schema", pluralName: "services" });
    expect(body.resourceMethods).toEqual(["GET", "PUT", "DELETE"]);
    expect(body.collectionMethods).toEqual(["GET", "POST"]);
    expect(body.resourceFields.scale).toMatchObject({
      type: "int",
      create: true,
      update: true,
      min: 0,
      default: 1,
    });
    expect(body.resourceFields.name).toMatchObject({ required: true, create: true });
    expect(body.resourceFields.launchConfig).toMatchObject({ create: true, update: false });
    expect(Object.keys(body.resourceActions)).toEqual(
      expect.arrayContaining(["upgrade", "finishupgrade", "rollback", "cancelupgrade"]),
    );
    expect(body.collectionFilters.name.modifiers).toEqual(expect.arrayContaining(["eq", "ne", "like"]));
    expect(body.links.collection).toBe("http://127.0.0.1:8788/v2-beta/projects/1a5/services");
  });

  it("gives a read-only member GET only, nothing writable and no actions", async () => {
    const { status, body } = await json(`${P}/schemas/service`, { key: KEYS.readonly });
    expect(status).toBe(200);
    expect(body.resourceMethods).toEqual(["GET"]);
    expect(body.collectionMethods).toEqual(["GET"]);
    expect(body.resourceMethods).not.toContain("PUT");
    expect(body.resourceFields.scale).toMatchObject({ create: false, update: false });
    expect(body.resourceActions).toEqual({});
  });

  it("serves loadBalancerService, host and project schemas, case-insensitively", async () => {
    const lb = await json(`${P}/schemas/loadBalancerService`);
    expect(lb.status).toBe(200);
    expect(lb.body.id).toBe("loadBalancerService");
    expect(lb.body.resourceFields.launchConfig).toMatchObject({ update: true, required: true });
    const lower = await json(`${P}/schemas/loadbalancerservice`);
    expect(lower.body.id).toBe("loadBalancerService");
    const host = await json(`${P}/schemas/host`);
    expect(host.body.resourceFields.hostname).toMatchObject({ type: "string", required: true });
    expect(host.body.collectionFilters.hostname).toBeDefined();
    const project = await json(`${P}/schemas/project`, { key: KEYS.other });
    expect(project.status).toBe(403);
    const mine = await json(`${P}/schemas/project`);
    expect(mine.body).toMatchObject({ id: "project", type: "schema" });
  });

  it("lists the schemas as a collection", async () => {
    const { status, body } = await json(`${P}/schemas`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ type: "collection", resourceType: "schema" });
    const ids = body.data.map((schema: { id: string }) => schema.id);
    expect(ids).toEqual(
      expect.arrayContaining(["service", "loadBalancerService", "externalService", "host", "project"]),
    );
  });

  it("answers 404 for an unknown schema", async () => {
    const { status, body } = await json(`${P}/schemas/nothing`);
    expect(status).toBe(404);
    expect(body.code).toBe("NotFound");
  });

  it("serves the account-level schemas for the key's default project", async () => {
    const { status, body } = await json("/v2-beta/schemas/service", { key: KEYS.readonly });
    expect(status).toBe(200);
    expect(body.resourceMethods).toEqual(["GET"]);
  });
});
