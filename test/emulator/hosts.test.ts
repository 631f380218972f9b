import { beforeEach, describe, expect, it } from "vitest";
import { call, type Json, json, KEYS, P, reset } from "./emulator-client";

beforeEach(reset);

const ids = (body: Json): string[] => body.data.map((item: { id: string }) => item.id);

describe("hosts", () => {
  it("lists the three seeded workers with their machine-driver config", async () => {
    const { status, body } = await json(`${P}/hosts`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ type: "collection", resourceType: "host", createTypes: {} });
    expect(ids(body)).toEqual(["1h1", "1h2", "1h3"]);
    const [first] = body.data;
    expect(first).toMatchObject({
      id: "1h1",
      type: "host",
      hostname: "worker1",
      state: "active",
      driver: "amazonec2",
      labels: { pool: "workers" },
      amazonec2Config: { type: "amazonec2Config", region: "us-east-1", instanceType: "t2.micro" },
      accountId: "1a5",
      links: { self: "http://127.0.0.1:8788/v2-beta/projects/1a5/hosts/1h1" },
    });
    const created = body.data.map((host: { createdTS: number }) => host.createdTS);
    expect(new Set(created).size).toBe(3);
    expect(created).toEqual([...created].sort((a: number, b: number) => a - b));
  });

  it("filters and sorts as the original webhook driver asked (sort=created&order=desc)", async () => {
    expect(ids((await json(`${P}/hosts?sort=created&order=desc`)).body)).toEqual(["1h3", "1h2", "1h1"]);
    expect(ids((await json(`${P}/hosts?hostname=worker2`)).body)).toEqual(["1h2"]);
    expect(ids((await json(`${P}/hosts?hostname_like=worker%25&limit=2`)).body)).toEqual(["1h1", "1h2"]);
    expect(ids((await json(`${P}/hosts?state=active&driver=amazonec2`)).body)).toEqual(["1h1", "1h2", "1h3"]);
    expect(ids((await json(`${P}/hosts?created_gt=2026-01-04T08:30:00Z`)).body)).toEqual(["1h2", "1h3"]);
  });

  it("gets one host, 404s unknown ones and refuses other projects' keys", async () => {
    expect((await json(`${P}/hosts/1h2`)).body).toMatchObject({ id: "1h2", hostname: "worker2" });
    expect((await call(`${P}/hosts/1h9`)).status).toBe(404);
    expect((await call("/v2-beta/projects/1a7/hosts", { key: KEYS.other })).status).toBe(200);
    expect(ids((await json("/v2-beta/projects/1a7/hosts", { key: KEYS.other })).body)).toEqual([]);
    expect((await call(`${P}/hosts/1h1`, { key: KEYS.other })).status).toBe(403);
    expect((await call("/v2-beta/hosts/1h1", { key: KEYS.other })).status).toBe(404);
  });

  it("does not offer writes on hosts yet (405)", async () => {
    expect((await call(`${P}/hosts`, { method: "POST", body: { hostname: "x" } })).status).toBe(405);
    expect((await call(`${P}/hosts/1h1`, { method: "DELETE" })).status).toBe(405);
  });
});

describe("stacks", () => {
  it("lists the seed stack", async () => {
    const { body } = await json(`${P}/stacks`);
    expect(ids(body)).toEqual(["1st1"]);
    expect((await json(`${P}/stacks/1st1`)).body).toMatchObject({ type: "stack", name: "Default" });
  });
});
