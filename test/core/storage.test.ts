import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ProjectCore } from "../../src/project/core";
import {
  isStorageTooNew,
  type Migration,
  migrate,
  StorageTooNew,
  type TableSet,
  VERSIONS_TABLE,
} from "../../src/storage/migrations";
import { schemaOf } from "../storage/schema-dump";
import { memoryStorage, newTarget, scaleReceiver } from "./fakes";

/** The same storage contract on the SQLite the Deno adapter runs on as on Durable Objects. */
describe("target storage on SQLite", () => {
  it("is the schema of the committed snapshot", () => {
    const { core, storage } = newTarget();
    core.register(scaleReceiver("ra"));
    expect(schemaOf(storage.sql)).toBe(
      readFileSync(new URL("../storage/target-object.sql", import.meta.url).pathname, "utf8"),
    );
  });

  it("upgrades an unversioned object in place and records each component's version", () => {
    const storage = memoryStorage();
    storage.sql.exec(
      readFileSync(new URL("../fixtures/storage-unversioned.sql", import.meta.url).pathname, "utf8"),
    );
    storage.sql.exec("INSERT INTO executions (receiver_id, body) VALUES ('r1', '{\"id\":\"x1\"}')");
    newTarget(undefined, undefined, storage);
    expect(
      storage.sql
        .exec(`SELECT component, version, runnable_from FROM ${VERSIONS_TABLE} ORDER BY component`)
        .toArray(),
    ).toEqual([
      { component: "floodGuard", version: 1, runnable_from: 0 },
      { component: "history", version: 2, runnable_from: 2 },
      { component: "metrics", version: 1, runnable_from: 0 },
      { component: "notifications", version: 1, runnable_from: 0 },
      { component: "receivers", version: 1, runnable_from: 0 },
      { component: "revocations", version: 1, runnable_from: 0 },
      { component: "scaleHost", version: 1, runnable_from: 0 },
      { component: "scaleHostSteps", version: 1, runnable_from: 0 },
      { component: "scaleService", version: 1, runnable_from: 0 },
      { component: "serviceUpgrade", version: 2, runnable_from: 2 },
    ]);
    expect(storage.sql.exec("SELECT execution_id FROM executions").toArray()).toEqual([
      { execution_id: "x1" },
    ]);
    const fresh = newTarget();
    fresh.core.register(scaleReceiver("ra"));
    expect(schemaOf(storage.sql)).toBe(schemaOf(fresh.storage.sql));
  });
});

const step = (version: number, olderCodeCanRun: boolean, statement: string): Migration => ({
  version,
  description: `step ${version}`,
  olderCodeCanRun,
  up: (sql) => sql.exec(statement),
});

/** A component as three releases know it: v1 a table, v2 a new nullable column, v3 a rewrite. */
const demo = (upTo: number): TableSet => ({
  component: "demo",
  migrations: [
    step(1, true, "CREATE TABLE IF NOT EXISTS demo (id TEXT PRIMARY KEY)"),
    step(2, true, "ALTER TABLE demo ADD COLUMN note TEXT"),
    step(3, false, "UPDATE demo SET id = 'v3:' || id"),
  ].slice(0, upTo),
});

const logLines = (spy: { mock: { calls: unknown[][] } }) =>
  spy.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("rolling back across storage versions", () => {
  it("runs older code over additive steps, and refuses it past a step it cannot run over", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const storage = memoryStorage();
    migrate(storage, [demo(2)]);
    // The release that knows only v1 runs over v2: its one step kept older code running.
    expect(() => migrate(storage, [demo(1)])).not.toThrow();
    storage.sql.exec("INSERT INTO demo (id) VALUES ('a')");

    migrate(storage, [demo(3)]);
    const versions = () => storage.sql.exec(`SELECT * FROM ${VERSIONS_TABLE}`).toArray();
    expect(versions()).toEqual([{ component: "demo", version: 3, runnable_from: 3 }]);
    const before = schemaOf(storage.sql);
    for (const older of [1, 2]) {
      let refusal: unknown;
      try {
        migrate(storage, [demo(older)]);
      } catch (caught) {
        refusal = caught;
      }
      expect(refusal).toBeInstanceOf(StorageTooNew);
      expect(isStorageTooNew(refusal)).toBe(true);
      expect((refusal as Error).message).toBe(
        `storage_too_new: storage of demo is at version 3 and needs code at version 3 or newer; this code is at ${older}`,
      );
    }
    // Refused before anything was read or written; migrate() itself logs nothing.
    expect(versions()).toEqual([{ component: "demo", version: 3, runnable_from: 3 }]);
    expect(schemaOf(storage.sql)).toBe(before);
    expect(error).not.toHaveBeenCalled();
  });

  it("takes version rows written before runnable_from was kept as needing their own version", () => {
    const storage = memoryStorage();
    // As the release before this one made it: no runnable_from column.
    storage.sql.exec(`CREATE TABLE ${VERSIONS_TABLE} (component TEXT PRIMARY KEY, version INTEGER NOT NULL)`);
    storage.sql.exec("CREATE TABLE demo (id TEXT PRIMARY KEY)");
    storage.sql.exec(`INSERT INTO ${VERSIONS_TABLE} (component, version) VALUES ('demo', 2)`);
    expect(() => migrate(storage, [demo(1)])).toThrow(StorageTooNew);
    migrate(storage, [demo(2)]);
    expect(storage.sql.exec(`SELECT * FROM ${VERSIONS_TABLE}`).toArray()).toEqual([
      { component: "demo", version: 2, runnable_from: null },
    ]);
  });

  it("a target over storage too new logs one storage_too_new line and refuses every call", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { core, storage, clock, cattle } = newTarget();
    core.register(scaleReceiver("ra"));
    storage.sql.exec(
      `UPDATE ${VERSIONS_TABLE} SET version = 9, runnable_from = 9 WHERE component = 'history'`,
    );

    const older = newTarget(clock, cattle, storage);
    expect(logLines(error)).toEqual([
      {
        level: "error",
        event: "storage_too_new",
        component: "history",
        storedVersion: 9,
        runnableFrom: 9,
        codeVersion: 2,
      },
    ]);
    expect(() => older.core.executions("ra")).toThrow(StorageTooNew);
    expect(() => older.core.register(scaleReceiver("rb"))).toThrow(StorageTooNew);
    expect(() => older.core.metrics()).toThrow(StorageTooNew);
    expect(await older.core.trigger("ra", 1, {})).toMatchObject({
      kind: "unavailable",
      retryAfterSeconds: 60,
    });
    expect(error).toHaveBeenCalledTimes(1);
    expect(storage.sql.exec("SELECT COUNT(*) AS n FROM executions").toArray()).toEqual([{ n: 0 }]);
  });

  /** Tables of ours: the storage adapter's own (`_alarm`, `_object`) are left out. */
  const ownTables = (storage: ReturnType<typeof memoryStorage>) =>
    storage.sql
      .exec("SELECT name FROM sqlite_master WHERE name NOT LIKE '\\_%' ESCAPE '\\'")
      .toArray()
      .map((row) => row.name);

  it("an environment's object gets storage on its first write, never on a read", () => {
    const storage = memoryStorage();
    const project = new ProjectCore(storage);
    expect(project.legacyRoute("a".repeat(64))).toBeNull();
    expect(project.importedAs("1go1", "a".repeat(64))).toBeNull();
    expect(project.importsOf(["r1"])).toEqual({});
    expect(project.wasDeleted("r1")).toBe(false);
    project.releaseName("n", "r1");
    project.retireLegacyKey("r1");
    project.forgetImport("r1");
    expect(
      project.claimImports([], {
        receiverId: "r1",
        target: "t",
        version: 1,
        driver: "scaleService",
        config: {},
      }),
    ).toBeNull();
    expect(ownTables(storage)).toEqual([]);
    // Started again over it: still nothing.
    expect(new ProjectCore(storage).wasDeleted("r1")).toBe(false);
    expect(ownTables(storage)).toEqual([]);
    expect(project.claimName("n", "r1")).toBe(true);
    expect(new ProjectCore(storage).claimName("n", "r2")).toBe(false);
    expect(ownTables(storage)).toContain("names");
  });

  it("an environment's object over storage too new logs one storage_too_new line and refuses every call", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const storage = memoryStorage();
    new ProjectCore(storage).recordDeletion("r1");
    storage.sql.exec(
      `UPDATE ${VERSIONS_TABLE} SET version = 9, runnable_from = 9 WHERE component = 'deletions'`,
    );
    const older = new ProjectCore(storage);
    expect(logLines(error)).toMatchObject([
      { level: "error", event: "storage_too_new", component: "deletions" },
    ]);
    expect(() => older.wasDeleted("r1")).toThrow(StorageTooNew);
    expect(() => older.claimName("n", "r2")).toThrow(StorageTooNew);
    expect(() => older.legacyRoute("a".repeat(64))).toThrow(StorageTooNew);
    expect(() => older.releaseName("n", "r2")).toThrow(StorageTooNew);
    expect(error).toHaveBeenCalledTimes(1);
  });
});
