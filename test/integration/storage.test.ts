import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import doc from "../../docs/storage.md?raw";
import { serviceCattle } from "../../src/cattle/client";
import { systemClock } from "../../src/domain/clock";
import type { Execution } from "../../src/domain/execution";
import { PROJECT_TABLES } from "../../src/project/core";
import { migrate, VERSIONS_TABLE } from "../../src/storage/migrations";
import { TargetCore } from "../../src/targets/core";
import { TARGET_TABLES } from "../../src/targets/schema";
import { scaleReceiver } from "../fixtures/receivers";
import unversioned from "../fixtures/storage-unversioned.sql?raw";
import { call, json, scaleServiceBody } from "../helpers";
import { schemaOf, tablesSection, withTables } from "../storage/schema-dump";

const unique = (prefix: string) => `${prefix}:${crypto.randomUUID()}`;

// An object gets its tables with its first receiver.
const targetSchema = () =>
  runInDurableObject(env.TARGETS.getByName(unique("scaleService:1a5")), async (instance, state) => {
    await instance.register(scaleReceiver("r0"));
    return schemaOf(state.storage.sql);
  });

const projectSchema = () =>
  runInDurableObject(env.PROJECTS.getByName(unique("1a5")), async (instance, state) => {
    await instance.claimName("n", "r1");
    return schemaOf(state.storage.sql);
  });

const versionsOf = (sql: SqlStorage) =>
  Object.fromEntries(
    sql
      .exec<{ component: string; version: number }>(`SELECT component, version FROM ${VERSIONS_TABLE}`)
      .toArray()
      .map((row) => [row.component, row.version]),
  );

describe("object storage", () => {
  it("is the schema of its committed snapshots, and docs/storage.md describes it", async () => {
    const target = await targetSchema();
    const project = await projectSchema();
    await expect(target).toMatchFileSnapshot("../storage/target-object.sql");
    await expect(project).toMatchFileSnapshot("../storage/project-object.sql");
    const section = [
      tablesSection("TargetObject", TARGET_TABLES, target),
      tablesSection("ProjectObject", PROJECT_TABLES, project),
    ].join("\n\n");
    await expect(withTables(doc, section)).toMatchFileSnapshot("../../docs/storage.md");
  });

  it("upgrades an object made before storage had versions, keeping its rows", async () => {
    const fresh = await targetSchema();
    const stub = env.TARGETS.getByName(unique("scaleService:1a5"));
    await runInDurableObject(stub, (_, state) => {
      const { sql } = state.storage;
      // Back to the unversioned object: its tables exactly as that code made them, with rows in them.
      for (const row of sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite_%'",
        )
        .toArray()) {
        sql.exec(`DROP TABLE ${row.name}`);
      }
      sql.exec(unversioned);
      const receiver = scaleReceiver("r1", { max: 10 }, 3);
      sql.exec("INSERT INTO receivers (id, record) VALUES (?, ?)", "r1", JSON.stringify(receiver));
      const execution: Execution = {
        id: "x1",
        receiverId: "r1",
        driver: "scaleService",
        outcome: "applied",
        reason: "scaled up by 1",
        from: 1,
        to: 2,
        at: 1,
      };
      sql.exec("INSERT INTO executions (receiver_id, body) VALUES (?, ?)", "r1", JSON.stringify(execution));
      sql.exec(
        "INSERT INTO upgrades (execution_id, receiver_id, service_id, job, phase) VALUES (?, ?, ?, ?, ?)",
        "x1",
        "r1",
        "1s1",
        JSON.stringify({ executionId: "x1", phase: "done", progressed: 1234 }),
        "done",
      );
      sql.exec("INSERT INTO cooldowns (receiver_id, last_applied) VALUES (?, ?)", "r1", 99);

      // The object starts again with this code.
      const core = new TargetCore(state.storage, { clock: systemClock, cattle: serviceCattle(env) });
      expect(versionsOf(sql)).toEqual({
        receivers: 1,
        revocations: 1,
        floodGuard: 1,
        history: 2,
        metrics: 1,
        notifications: 1,
        scaleService: 1,
        scaleHost: 1,
        scaleHostSteps: 1,
        serviceUpgrade: 2,
      });
      expect(schemaOf(sql)).toBe(fresh);
      expect(core.executions("r1")).toEqual([execution]);
      expect(sql.exec("SELECT execution_id FROM executions").toArray()).toEqual([{ execution_id: "x1" }]);
      expect(sql.exec("SELECT progressed FROM upgrades").toArray()).toEqual([{ progressed: 1234 }]);
      expect(core.rotate("r1")).toBe(4);

      // Starting once more changes nothing.
      new TargetCore(state.storage, { clock: systemClock, cattle: serviceCattle(env) });
      expect(schemaOf(sql)).toBe(fresh);
    });
  });

  it("refuses storage that a newer version of the service wrote", async () => {
    await runInDurableObject(env.TARGETS.getByName(unique("scaleService:1a5")), async (instance, state) => {
      await instance.register(scaleReceiver("r0"));
      state.storage.sql.exec(
        `UPDATE ${VERSIONS_TABLE} SET version = 99, runnable_from = 99 WHERE component = 'history'`,
      );
      expect(() => migrate(state.storage, TARGET_TABLES)).toThrow(/history is at version 99/);
    });
  });

  it("a target object that has no storage stays without when its metrics are read", async () => {
    const stub = env.TARGETS.getByName(unique("scaleService:1a5"));
    expect(await stub.metrics()).toEqual({ receivers: [] });
    expect(await stub.executions("r0")).toEqual([]);
    const tables = await runInDurableObject(stub, (_, state) =>
      state.storage.sql
        .exec(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite_%'",
        )
        .toArray(),
    );
    expect(tables).toEqual([]);
  });

  it("keeps receiver records in KV as docs/storage.md shows them", async () => {
    const example = JSON.parse(/```json\n([\s\S]*?)```/.exec(doc)?.[1] ?? "null") as Record<string, any>;
    const response = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        ...scaleServiceBody({ cooldownSeconds: 0 }),
        senderVerification: { scheme: "github", secret: "a-sender-secret-for-the-example" },
      },
    });
    expect(response.status).toBe(201);
    const { id } = await json(response);
    const { value, metadata } = await env.RECEIVERS.getWithMetadata<Record<string, any>>(
      `receiver:1a5:${id}`,
      "json",
    );
    const stored = value as Record<string, any>;
    expect(Object.keys(stored).sort()).toEqual(Object.keys(example).sort());
    expect(Object.keys(stored.config).sort()).toEqual(Object.keys(example.config).sort());
    expect(stored.senderVerification).toEqual(example.senderVerification);
    expect(stored.target).toBe(`scaleService:1a5:${stored.config.serviceId}`);
    expect(metadata).toEqual(stored);
  });
});
