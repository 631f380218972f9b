import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ProjectCore } from "../../src/project/core";
import { VERSIONS_TABLE } from "../../src/storage/migrations";
import { schemaOf } from "../storage/schema-dump";
import { memoryStorage } from "./fakes";

/** An environment's object on the SQLite the Deno adapter runs on: what backup and restore rely on. */
describe("an environment's object", () => {
  it("is the schema of the committed snapshot", () => {
    const storage = memoryStorage();
    new ProjectCore(storage).claimName("n", "r1");
    expect(schemaOf(storage.sql)).toBe(
      readFileSync(new URL("../storage/project-object.sql", import.meta.url).pathname, "utf8"),
    );
  });

  it("remembers deleted receivers, also across a restart, and one made before it learns to", () => {
    const storage = memoryStorage();
    // An object of the code before deletions were kept: names and legacy only.
    storage.sql.exec(`CREATE TABLE ${VERSIONS_TABLE} (component TEXT PRIMARY KEY, version INTEGER NOT NULL)`);
    storage.sql.exec("CREATE TABLE names (name TEXT PRIMARY KEY, receiver_id TEXT NOT NULL)");
    storage.sql.exec(`INSERT INTO ${VERSIONS_TABLE} VALUES ('names', 1)`);
    storage.sql.exec("INSERT INTO names VALUES ('kept', 'r0')");
    const project = new ProjectCore(storage);
    expect(project.claimName("kept", "r9")).toBe(false);
    expect(project.wasDeleted("r1")).toBe(false);
    project.recordDeletion("r1");
    project.recordDeletion("r1");
    expect(project.wasDeleted("r1")).toBe(true);
    expect(new ProjectCore(storage).wasDeleted("r1")).toBe(true);
    expect(new ProjectCore(storage).wasDeleted("r2")).toBe(false);
  });
});
