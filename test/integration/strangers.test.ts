import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids";
import { call, KEYS } from "../helpers";

/** Tables of ours in an object's storage: the runtime's own (`_cf_…`, `sqlite_…`) are left out. */
const OWN_TABLES =
  "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite_%'";

const projectTables = (projectId: string) =>
  runInDurableObject(env.PROJECTS.getByName(projectId), (_, state) =>
    state.storage.sql.exec<{ name: string }>(OWN_TABLES).toArray(),
  );

const targetTables = (target: string) =>
  runInDurableObject(env.TARGETS.getByName(target), (_, state) =>
    state.storage.sql.exec<{ name: string }>(OWN_TABLES).toArray(),
  );

const kvKeysOf = async (projectId: string) =>
  (await env.RECEIVERS.list({ prefix: `receiver:${projectId}:` })).keys.map((key) => key.name);

/** An environment id no test uses, well formed: anyone may put one in a URL. */
const strangerProject = () => `1a${Math.floor(Math.random() * 1e12)}`;

describe("nothing stored for strangers", () => {
  it("a trigger URL with a key of an environment nobody set up leaves its object without storage", async () => {
    const projectId = strangerProject();
    for (const method of ["POST", "GET"]) {
      const response = await call(`/v1-webhooks/endpoint?key=k&projectId=${projectId}`, {
        method,
        key: null,
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      await response.arrayBuffer();
    }
    expect(await projectTables(projectId)).toEqual([]);
    expect(await kvKeysOf(projectId)).toEqual([]);
  });

  it("requests that fail authentication or name what does not exist create no object storage or KV entry", async () => {
    const projectId = strangerProject();
    const receiverId = newId("r");
    const requests: [string, string, string | null][] = [
      // Management of an environment the key cannot see (and that does not exist), with and without credentials.
      ["GET", `/v1-webhooks/receivers?projectId=${projectId}`, KEYS.dev],
      ["GET", `/v1-webhooks/receivers?projectId=${projectId}&action=export`, KEYS.dev],
      ["POST", `/v1-webhooks/receivers?projectId=${projectId}&action=import`, KEYS.dev],
      ["GET", `/v1-webhooks/receivers/${receiverId}?projectId=${projectId}`, null],
      ["DELETE", `/v1-webhooks/receivers/${receiverId}?projectId=${projectId}`, KEYS.wrong],
      ["GET", `/v1-webhooks/metrics?projectId=${projectId}`, KEYS.dev],
      ["GET", `/?projectId=${projectId}`, KEYS.dev],
      ["GET", `/receivers/${receiverId}/history?projectId=${projectId}`, KEYS.dev],
      // A receiver that does not exist, in an environment the key can manage.
      ["GET", `/v1-webhooks/receivers/${receiverId}?projectId=1a5`, KEYS.dev],
      ["GET", `/v1-webhooks/receivers/${receiverId}/executions?projectId=1a5`, KEYS.dev],
      ["POST", `/v1-webhooks/receivers/${receiverId}?projectId=1a5&action=regenerate`, KEYS.dev],
      ["DELETE", `/v1-webhooks/receivers/${receiverId}?projectId=1a5`, KEYS.dev],
      // Trigger URLs that are not ones: a token nobody signed.
      ["POST", `/v1-webhooks/endpoint?token=${"x".repeat(40)}&projectId=${projectId}`, null],
    ];
    for (const [method, path, key] of requests) {
      const response = await call(path, { method, key });
      // The page answers a sign-in form or its own error page; the API refuses.
      if (path.startsWith("/v1-webhooks"))
        expect(response.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      await response.arrayBuffer();
    }
    expect(await projectTables(projectId)).toEqual([]);
    expect(await kvKeysOf(projectId)).toEqual([]);
    expect(await env.RECEIVERS.get(`receiver:1a5:${receiverId}`)).toBeNull();
  });

  it("an environment's object that is only read stays without storage", async () => {
    const projectId = strangerProject();
    const stub = env.PROJECTS.getByName(projectId);
    expect(await stub.legacyRoute("a".repeat(64))).toBeNull();
    expect(await stub.importedAs("1go1", "a".repeat(64))).toBeNull();
    expect(await stub.importsOf(["r1"])).toEqual({});
    expect(await stub.wasDeleted("r1")).toBe(false);
    await stub.releaseName("n", "r1");
    await stub.retireLegacyKey("r1");
    await stub.forgetImport("r1");
    expect(await projectTables(projectId)).toEqual([]);
    // Its first write makes it.
    expect(await stub.claimName("n", "r1")).toBe(true);
    expect((await projectTables(projectId)).length).toBeGreaterThan(0);
  });

  it("a target object that is only read or triggered stays without storage", async () => {
    const target = `scaleService:${strangerProject()}:1s1`;
    const stub = env.TARGETS.getByName(target);
    expect(await stub.liveReceivers(["r1"])).toEqual([]);
    expect(await stub.rotate("r1")).toBeNull();
    expect(await targetTables(target)).toEqual([]);
  });
});
