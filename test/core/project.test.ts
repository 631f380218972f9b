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

  it("hands out receivers' imports and takes them back as they were, a retired key staying retired", () => {
    const a = "a".repeat(64);
    const b = "b".repeat(64);
    const source = new ProjectCore(memoryStorage());
    expect(
      source.claimImports([{ genericObjectId: "1go1", originalDigest: a, keyDigest: a }], route("r1")),
    ).toBeNull();
    expect(
      source.claimImports([{ genericObjectId: "1go2", originalDigest: b, keyDigest: b }], route("r2")),
    ).toBeNull();
    source.retireLegacyKey("r2");
    const exported = source.importsOf(["r1", "r2", "r3"]);
    expect(exported).toEqual({
      r1: [{ genericObjectId: "1go1", originalDigest: a, keyDigest: a }],
      r2: [{ genericObjectId: "1go2", originalDigest: b, keyDigest: null }],
    });

    const restored = new ProjectCore(memoryStorage());
    for (const [receiverId, entries] of Object.entries(exported))
      expect(restored.claimImports(entries, route(receiverId))).toBeNull();
    expect(restored.legacyRoute(a)).toEqual(route("r1"));
    expect(restored.legacyRoute(b)).toBeNull();
    expect(restored.importedAs("1go2", b)).toBe("r2");
    expect(restored.importsOf(["r1", "r2"])).toEqual(exported);
    // The same receiver's imports again (a restore run twice) change nothing.
    expect(restored.claimImports(exported.r2 ?? [], route("r2"))).toBeNull();
    expect(restored.importsOf(["r2"])).toEqual({ r2: exported.r2 });
  });

  it("gives a key to one receiver only, a retired one too, and writes all of an import or none", () => {
    const a = "a".repeat(64);
    const b = "b".repeat(64);
    const project = new ProjectCore(memoryStorage());
    expect(
      project.claimImports([{ genericObjectId: "1go1", originalDigest: a, keyDigest: a }], route("r1")),
    ).toBeNull();
    // The same generic object, the same key under another generic object: both the first receiver's.
    expect(
      project.claimImports([{ genericObjectId: "1go1", originalDigest: a, keyDigest: a }], route("r2")),
    ).toBe("webhook-service generic object 1go1 is already imported as receiver r1");
    expect(
      project.claimImports([{ genericObjectId: "1go9", originalDigest: a, keyDigest: null }], route("r2")),
    ).toBe("its original webhook-service URL already triggers receiver r1");
    // Retired by a regenerate: the key is still r1's, and its URL is not brought back.
    project.retireLegacyKey("r1");
    expect(
      project.claimImports([{ genericObjectId: "1go9", originalDigest: a, keyDigest: a }], route("r2")),
    ).toBe("its webhook-service key belongs to receiver r1, whose original URL a regenerate retired");
    expect(project.legacyRoute(a)).toBeNull();
    // One entry of two listing a key twice: neither is written.
    const twice = [
      { genericObjectId: "1go3", originalDigest: b, keyDigest: b },
      { genericObjectId: "1go4", originalDigest: b, keyDigest: b },
    ];
    expect(project.claimImports(twice, route("r3"))).toBe(
      "webhook-service generic object 1go4 or its key is listed twice",
    );
    expect(project.importsOf(["r2", "r3"])).toEqual({});
    expect(project.legacyRoute(b)).toBeNull();
  });

  it("answers for many receivers at once, past the values one statement binds", () => {
    const project = new ProjectCore(memoryStorage());
    const ids = Array.from({ length: 250 }, (_, index) => `r${index}`);
    for (const [index, id] of ids.entries()) {
      const digest = index.toString(16).padStart(64, "0");
      expect(
        project.claimImports(
          [{ genericObjectId: `1go${index}`, originalDigest: digest, keyDigest: digest }],
          route(id),
        ),
      ).toBeNull();
    }
    const imports = project.importsOf(ids);
    expect(Object.keys(imports).sort()).toEqual([...ids].sort());
    expect(imports.r249).toEqual([
      {
        genericObjectId: "1go249",
        originalDigest: (249).toString(16).padStart(64, "0"),
        keyDigest: (249).toString(16).padStart(64, "0"),
      },
    ]);
  });
});
