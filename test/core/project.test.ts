import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { LegacyRoute } from "../../src/domain/ports";
import { ProjectCore } from "../../src/project/core";
import { VERSIONS_TABLE } from "../../src/storage/migrations";
import { schemaOf } from "../storage/schema-dump";
import { memoryStorage } from "./fakes";

/** An environment's object on the SQLite the Deno adapter runs on: what backup and restore rely on. */
describe("an environment's object", () => {
  const route = (receiverId: string): LegacyRoute => ({
    receiverId,
    target: "scaleService:1a5:1s1",
    version: 2,
    driver: "scaleService",
    config: { serviceId: "1s1" },
  });

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

  it("hands out a receiver's imports and takes them back as they were, a retired key staying retired", () => {
    const source = new ProjectCore(memoryStorage());
    source.recordImport("1go1", "a".repeat(64), route("r1"));
    source.recordImport("1go2", "b".repeat(64), route("r2"));
    source.retireLegacyKey("r2");
    const exported = [...source.importsOf("r1"), ...source.importsOf("r2")];
    expect(exported).toEqual([
      { genericObjectId: "1go1", originalDigest: "a".repeat(64), keyDigest: "a".repeat(64) },
      { genericObjectId: "1go2", originalDigest: "b".repeat(64), keyDigest: null },
    ]);

    const restored = new ProjectCore(memoryStorage());
    for (const entry of exported)
      restored.restoreImport(entry, route(entry.genericObjectId === "1go1" ? "r1" : "r2"));
    expect(restored.legacyRoute("a".repeat(64))).toEqual(route("r1"));
    expect(restored.legacyRoute("b".repeat(64))).toBeNull();
    expect(restored.importedAs("1go2", "b".repeat(64))).toBe("r2");
    expect([...restored.importsOf("r1"), ...restored.importsOf("r2")]).toEqual(exported);
  });
});
