import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VERSIONS_TABLE } from "../../src/storage/migrations";
import { schemaOf } from "../storage/schema-dump";
import { memoryStorage, newTarget } from "./fakes";

/** The same storage contract on the SQLite the Deno adapter runs on as on Durable Objects. */
describe("target storage on SQLite", () => {
  it("is the schema of the committed snapshot", () => {
    const { storage } = newTarget();
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
      storage.sql.exec(`SELECT component, version FROM ${VERSIONS_TABLE} ORDER BY component`).toArray(),
    ).toEqual([
      { component: "history", version: 2 },
      { component: "receivers", version: 1 },
      { component: "scaleHost", version: 1 },
      { component: "scaleService", version: 1 },
      { component: "serviceUpgrade", version: 2 },
    ]);
    expect(storage.sql.exec("SELECT execution_id FROM executions").toArray()).toEqual([
      { execution_id: "x1" },
    ]);
    expect(schemaOf(storage.sql)).toBe(schemaOf(newTarget().storage.sql));
  });
});
