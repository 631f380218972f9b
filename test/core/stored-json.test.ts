import { describe, expect, it, vi } from "vitest";
import type { LiveReceiver } from "../../src/domain/receiver";
import { ProjectCore } from "../../src/project/core";
import { isStorageTooNew, StorageTooNew } from "../../src/storage/migrations";
import { fromStoredJson, JSON_COLUMNS, toStoredJson } from "../../src/storage/stored-json";
import { FakeCattle, FakeClock, memoryStorage, newTarget, scaleReceiver, settle } from "./fakes";

/**
 * JSON kept in TEXT columns carries the version of its shape (docs/storage.md, "JSON columns"): this
 * code writes it, reads the older unversioned form, and refuses a newer shape rather than misread it.
 */

const upgradeReceiver: LiveReceiver = {
  id: "ru",
  projectId: "1a5",
  name: "ru",
  version: 1,
  driver: "serviceUpgrade",
  config: {
    serviceSelector: { app: "web" },
    tag: "1.*",
    policy: "glob",
    payloadFormat: "dockerhub",
    batchSize: 1,
    intervalMillis: 2000,
    startFirst: false,
    rollbackOnFailure: true,
    healthySeconds: 60,
    healthTimeoutSeconds: 600,
  },
};

/** Every JSON value the target keeps, column by column. */
function storedValues(sql: ReturnType<typeof memoryStorage>["sql"]) {
  const column = (query: string) =>
    sql
      .exec<{ value: string }>(query)
      .toArray()
      .map((row) => JSON.parse(row.value) as Record<string, unknown>);
  return {
    "receivers.record": column("SELECT record AS value FROM receivers"),
    "executions.body": column("SELECT body AS value FROM executions"),
    "deliveries.execution": column("SELECT execution AS value FROM deliveries"),
    "pending_steps.step": column("SELECT step AS value FROM pending_steps"),
    "unresolved_write.write": column("SELECT write AS value FROM unresolved_write"),
    "upgrades.job": column("SELECT job AS value FROM upgrades"),
  };
}

describe("JSON columns", () => {
  it("are written with the version of their shape, and read back without it", async () => {
    const target = newTarget();
    const { core, clock, cattle, storage } = target;
    cattle.service().launchConfig = { imageUuid: "docker:myorg/web:1.0", labels: { app: "web" } };
    core.register(scaleReceiver("ra"));
    core.register(upgradeReceiver);
    // A write Cattle holds past the deadline: the trigger is kept pending with the unresolved write.
    cattle.writes.push({ kind: "delayed", ms: 8_000 });
    await clock.run(core.trigger("ra", 1, { identityKey: "k1" }));
    await clock.run(core.trigger("ru", 1, { pushes: [{ repository: "myorg/web", tags: ["1.1"] }] }));
    const values = storedValues(storage.sql);
    for (const [column, rows] of Object.entries(values)) {
      expect(rows.length, column).toBeGreaterThan(0);
      const version = Object.values(JSON_COLUMNS).find((each) => each.name === column)?.version;
      for (const row of rows) expect(row.v, column).toBe(version);
    }
    await settle(target);
    const [execution] = core.executions("ra");
    expect(execution).toMatchObject({ outcome: "applied", from: 1, to: 2 });
    expect(execution).not.toHaveProperty("v");
    expect(await clock.run(core.trigger("ra", 1, { identityKey: "k1" }))).toMatchObject({
      execution: { outcome: "deduplicated", from: 1, to: 2 },
    });
  });

  it("are read in the unversioned form older releases wrote", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const before = newTarget(clock, cattle, storage);
    before.core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "delayed", ms: 8_000 });
    await clock.run(before.core.trigger("ra", 1, { identityKey: "k1" }));
    before.stop();
    // As the release before versions wrote them: the same fields, no `v`.
    for (const [table, column] of [
      ["receivers", "record"],
      ["executions", "body"],
      ["deliveries", "execution"],
      ["pending_steps", "step"],
      ["unresolved_write", "write"],
    ]) {
      storage.sql.exec(`UPDATE ${table} SET ${column} = json_remove(${column}, '$.v')`);
    }
    expect(
      Object.values(storedValues(storage.sql))
        .flat()
        .some((row) => "v" in row),
    ).toBe(false);
    const after = newTarget(clock, cattle, storage);
    await settle(after);
    expect(after.core.executions("ra")).toMatchObject([{ outcome: "applied", from: 1, to: 2 }]);
    expect(cattle.scales).toEqual([1, 2]);
  });

  it("keep an upgrade job of version 1 running: its new containers are watched with the default settings", async () => {
    const target = newTarget();
    const { core, clock, cattle, storage } = target;
    cattle.service().launchConfig = { imageUuid: "docker:myorg/web:1.0", labels: { app: "web" } };
    core.register(upgradeReceiver);
    await clock.run(core.trigger("ru", 1, { pushes: [{ repository: "myorg/web", tags: ["1.1"] }] }));
    await clock.run(core.alarm());
    target.stop();
    // As the release before the watch wrote it: version 1, no steps, no health-check settings.
    storage.sql.exec(
      `UPDATE upgrades SET job = json_remove(json_set(job, '$.v', 1), '$.steps', '$.previousImage',
         '$.settings.rollbackOnFailure', '$.settings.healthySeconds', '$.settings.healthTimeoutSeconds')`,
    );
    const after = newTarget(clock, cattle, storage);
    cattle.service().state = "upgraded";
    cattle.instances.set("1s1", [
      { id: "1i1", type: "container", state: "running", startCount: 1, imageUuid: "docker:myorg/web:1.1" },
    ]);
    await clock.run(after.core.alarm());
    await clock.advance(59_000);
    await clock.run(after.core.alarm());
    expect(cattle.calls).not.toContain("POST service 1s1 finishupgrade");
    await clock.advance(1_000);
    await clock.run(after.core.alarm());
    expect(cattle.calls).toContain("POST service 1s1 finishupgrade");
    cattle.service().state = "active";
    await clock.run(after.core.alarm());
    expect(after.core.executions("ru")[0]).toMatchObject({ outcome: "applied" });
  });

  it("of a newer shape make the object refuse to run, and change nothing", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const before = newTarget(clock, cattle, storage);
    before.core.register(scaleReceiver("ra"));
    cattle.writes.push({ kind: "delayed", ms: 8_000 });
    await clock.run(before.core.trigger("ra", 1, {}));
    before.stop();
    // A newer release kept the pending trigger in a shape this code does not know.
    storage.sql.exec("UPDATE pending_steps SET step = json_set(step, '$.v', 2)");
    const kept = JSON.stringify(storedValues(storage.sql));
    const after = newTarget(clock, cattle, storage);
    expect(await clock.run(after.core.trigger("ra", 1, {}))).toMatchObject({
      kind: "unavailable",
      retryAfterSeconds: 60,
    });
    expect(() => after.core.executions("ra")).toThrow(StorageTooNew);
    await clock.advance(60_000);
    expect(JSON.stringify(storedValues(storage.sql))).toBe(kept);
    // Only the write the first object sent before it stopped.
    expect(cattle.calls.filter((call) => call.startsWith("PUT"))).toHaveLength(1);
  });

  it("refuse a value of a newer shape, whatever the column", () => {
    for (const column of Object.values(JSON_COLUMNS)) {
      const text = toStoredJson({ ...column, version: column.version + 1 }, { id: "x" });
      let refused: unknown;
      try {
        fromStoredJson(column, text);
      } catch (error) {
        refused = error;
      }
      expect(isStorageTooNew(refused), column.name).toBe(true);
      expect((refused as Error).message).toContain(column.name);
      expect(fromStoredJson(column, toStoredJson(column, { id: "x" }))).toEqual({ id: "x" });
      expect(fromStoredJson(column, '{"id":"x"}')).toEqual({ id: "x" });
    }
  });

  it("of an environment's object: a legacy key's route, written versioned and read in both forms", () => {
    const storage = memoryStorage();
    const project = new ProjectCore(storage);
    const key = "a".repeat(64);
    const route = {
      receiverId: "r1",
      target: "scaleService:1a5:1s1",
      version: 1,
      driver: "scaleService",
      config: { serviceId: "1s1" },
    } as const;
    expect(
      project.claimImports([{ genericObjectId: "1go1", originalDigest: key, keyDigest: key }], route),
    ).toBeNull();
    const [row] = storage.sql.exec<{ route: string }>("SELECT route FROM legacy_receivers").toArray();
    expect(JSON.parse(row?.route ?? "{}")).toEqual({ ...route, v: 1 });
    expect(project.legacyRoute(key)).toEqual(route);
    storage.sql.exec("UPDATE legacy_receivers SET route = json_remove(route, '$.v')");
    expect(new ProjectCore(storage).legacyRoute(key)).toEqual(route);
    storage.sql.exec("UPDATE legacy_receivers SET route = json_set(route, '$.v', 2)");
    expect(() => new ProjectCore(storage).legacyRoute(key)).toThrow(StorageTooNew);
  });
});
