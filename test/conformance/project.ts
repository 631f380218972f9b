import { describe, expect, it } from "vitest";
import type { LegacyImport, LegacyRoute, Project } from "../../src/domain/ports";

/**
 * What every runtime's `Project` must do, whatever holds the object: the environment's core called
 * directly over node:sqlite, a Durable Object through its stub in workerd, an in-process object of
 * the Deno platform. Each runtime registers it with `describeProjectPort`.
 */
export interface ProjectRuntime {
  /** The object of this name, as the runtime's platform hands it out; each test uses names of its own. */
  project(name: string): Project;
  /** The same object once the runtime has let it go and started it again over its storage. */
  restart(name: string): Promise<Project>;
}

const route = (receiverId: string): LegacyRoute => ({
  receiverId,
  target: "scaleService:1a5:1s1",
  version: 2,
  driver: "scaleService",
  config: { serviceId: "1s1" },
});

const a = "a".repeat(64);
const b = "b".repeat(64);
const entry = (genericObjectId: string, digest: string, keyDigest: string | null = digest): LegacyImport => ({
  genericObjectId,
  originalDigest: digest,
  keyDigest,
});

export function describeProjectPort(runtime: string, make: () => ProjectRuntime): void {
  describe(`the Project port on ${runtime}`, () => {
    const open = (test: string) => {
      const port = make();
      const name = `1a5:${test}`;
      return { ...port, name, project: port.project(name) };
    };

    describe("claimName and releaseName", () => {
      it("lets one receiver hold a name until it releases it", async () => {
        const { project } = open("names");
        expect(await project.claimName("web", "r1")).toBe(true);
        expect(await project.claimName("web", "r1")).toBe(true);
        expect(await project.claimName("web", "r2")).toBe(false);
        await project.releaseName("web", "r2");
        expect(await project.claimName("web", "r2")).toBe(false);
        await project.releaseName("web", "r1");
        expect(await project.claimName("web", "r2")).toBe(true);
      });

      it("gives a name to exactly one of the receivers that claim it at once, also after a release", async () => {
        const { project } = open("name-race");
        const ids = Array.from({ length: 12 }, (_, i) => `r${i}`);
        const first = await Promise.all(ids.map((id) => project.claimName("web", id)));
        expect(first.filter(Boolean)).toHaveLength(1);
        const holder = ids[first.indexOf(true)] ?? "";
        await project.releaseName("web", holder);
        const others = ids.filter((id) => id !== holder);
        const second = await Promise.all(others.map((id) => project.claimName("web", id)));
        expect(second.filter(Boolean)).toHaveLength(1);
        const owner = others[second.indexOf(true)] ?? "";
        expect(await project.claimName("web", holder)).toBe(false);
        expect(await project.claimName("web", owner)).toBe(true);
        // Names are independent of each other.
        expect(await project.claimName("api", holder)).toBe(true);
      });
    });

    describe("nameHolder and takeOverName", () => {
      it("tells where and since when a name is held, and hands it on only from its holder, across a restart", async () => {
        const { project, name, restart } = open("name-holder");
        expect(await project.nameHolder("web")).toBeNull();
        expect(await project.takeOverName("web", "r1", "r2", { target: "t2", at: 2 })).toBe(false);
        expect(await project.claimName("web", "r1", { target: "t1", at: 1 })).toBe(true);
        expect(await project.nameHolder("web")).toEqual({ receiverId: "r1", target: "t1", claimedAt: 1 });
        expect(await project.takeOverName("web", "r9", "r2", { target: "t2", at: 2 })).toBe(false);
        const taken = await Promise.all(
          ["r2", "r3"].map((id) => project.takeOverName("web", "r1", id, { target: "t2", at: 2 })),
        );
        expect(taken.filter(Boolean)).toHaveLength(1);
        const winner = taken[0] ? "r2" : "r3";
        const again = await restart(name);
        expect(await again.nameHolder("web")).toEqual({ receiverId: winner, target: "t2", claimedAt: 2 });
        expect(await again.claimName("web", "r1")).toBe(false);
        // A claim that records neither where nor when answers them as unknown.
        expect(await again.claimName("api", "r4")).toBe(true);
        expect(await again.nameHolder("api")).toEqual({ receiverId: "r4", target: null, claimedAt: null });
      });
    });

    describe("claimImports, legacyRoute, importedAs and importsOf", () => {
      it("hands out receivers' imports and takes them back as they were, a retired key staying retired", async () => {
        const { project: source } = open("export-source");
        const { project: restored } = open("export-restored");
        expect(await source.claimImports([entry("1go1", a)], route("r1"))).toBeNull();
        expect(await source.claimImports([entry("1go2", b)], route("r2"))).toBeNull();
        await source.retireLegacyKey("r2");
        const exported = await source.importsOf(["r1", "r2", "r3"]);
        expect(exported).toEqual({
          r1: [{ genericObjectId: "1go1", originalDigest: a, keyDigest: a }],
          r2: [{ genericObjectId: "1go2", originalDigest: b, keyDigest: null }],
        });

        for (const [receiverId, entries] of Object.entries(exported))
          expect(await restored.claimImports(entries, route(receiverId))).toBeNull();
        expect(await restored.legacyRoute(a)).toEqual(route("r1"));
        expect(await restored.legacyRoute(b)).toBeNull();
        expect(await restored.importedAs("1go2", b)).toBe("r2");
        expect(await restored.importsOf(["r1", "r2"])).toEqual(exported);
        // The same receiver's imports again (a restore run twice) change nothing.
        expect(await restored.claimImports(exported.r2 ?? [], route("r2"))).toBeNull();
        expect(await restored.importsOf(["r2"])).toEqual({ r2: exported.r2 });
      });

      it("gives a key to one receiver only, a retired one too, and writes all of an import or none", async () => {
        const { project } = open("import-conflicts");
        expect(await project.claimImports([entry("1go1", a)], route("r1"))).toBeNull();
        // The same generic object, the same key under another generic object: both the first receiver's.
        expect(await project.claimImports([entry("1go1", a)], route("r2"))).toBe(
          "webhook-service generic object 1go1 is already imported as receiver r1",
        );
        expect(await project.claimImports([entry("1go9", a, null)], route("r2"))).toBe(
          "its original webhook-service URL already triggers receiver r1",
        );
        // Retired by a regenerate: the key is still r1's, and its URL is not brought back.
        await project.retireLegacyKey("r1");
        expect(await project.claimImports([entry("1go9", a)], route("r2"))).toBe(
          "its webhook-service key belongs to receiver r1, whose original URL a regenerate retired",
        );
        expect(await project.legacyRoute(a)).toBeNull();
        // One entry of two listing a key twice: neither is written.
        const twice = [entry("1go3", b), entry("1go4", b)];
        expect(await project.claimImports(twice, route("r3"))).toBe(
          "webhook-service generic object 1go4 or its key is listed twice",
        );
        expect(await project.importsOf(["r2", "r3"])).toEqual({});
        expect(await project.legacyRoute(b)).toBeNull();
        expect(await project.importedAs("1go3", b)).toBeNull();
      });

      it("writes none of an import whose later entry conflicts, and gives a key two receivers import at once to one", async () => {
        const { project } = open("import-race");
        const c = "c".repeat(64);
        expect(await project.claimImports([entry("1go1", a)], route("r1"))).toBeNull();
        // The second entry is r1's key: the first, free on its own, is not written either.
        expect(await project.claimImports([entry("1go2", b), entry("1go3", a)], route("r2"))).toBe(
          "its original webhook-service URL already triggers receiver r1",
        );
        expect(await project.importedAs("1go2", b)).toBeNull();
        expect(await project.legacyRoute(b)).toBeNull();
        expect(await project.importsOf(["r2"])).toEqual({});

        const answers = await Promise.all(
          ["r3", "r4", "r5", "r6"].map((receiverId) =>
            project.claimImports([entry("1go5", c)], route(receiverId)),
          ),
        );
        expect(answers.filter((answer) => answer === null)).toHaveLength(1);
        const winner = ["r3", "r4", "r5", "r6"][answers.indexOf(null)] ?? "";
        expect(answers.filter((answer) => answer !== null)).toEqual(
          Array.from(
            { length: 3 },
            () => `webhook-service generic object 1go5 is already imported as receiver ${winner}`,
          ),
        );
        expect(await project.legacyRoute(c)).toEqual(route(winner));
        expect(await project.importedAs("1go5", c)).toBe(winner);
      });

      it("answers for many receivers at once, past the values one statement binds", async () => {
        const { project } = open("imports-many");
        const ids = Array.from({ length: 250 }, (_, index) => `r${index}`);
        const digestOf = (index: number) => index.toString(16).padStart(64, "0");
        const answers = await Promise.all(
          ids.map((id, index) => project.claimImports([entry(`1go${index}`, digestOf(index))], route(id))),
        );
        expect(answers).toEqual(ids.map(() => null));
        const imports = await project.importsOf(ids);
        expect(Object.keys(imports).sort()).toEqual([...ids].sort());
        expect(imports.r249).toEqual([
          {
            genericObjectId: "1go249",
            originalDigest: digestOf(249),
            keyDigest: digestOf(249),
          },
        ]);
      });
    });

    describe("retireLegacyKey and forgetImport", () => {
      it("retires a receiver's original URL on regenerate, and frees its import on delete", async () => {
        const { project } = open("retire-forget");
        expect(await project.claimImports([entry("1go1", a), entry("1go2", b)], route("r1"))).toBeNull();
        expect(await project.legacyRoute(a)).toEqual(route("r1"));
        expect(await project.legacyRoute(b)).toEqual(route("r1"));

        await project.retireLegacyKey("r1");
        expect(await project.legacyRoute(a)).toBeNull();
        expect(await project.legacyRoute(b)).toBeNull();
        expect(await project.importedAs("1go1", a)).toBe("r1");
        expect(await project.importsOf(["r1"])).toEqual({
          r1: [entry("1go1", a, null), entry("1go2", b, null)],
        });
        // Retiring again, or another receiver's, changes nothing.
        await project.retireLegacyKey("r1");
        await project.retireLegacyKey("r9");
        expect(await project.importsOf(["r1"])).toEqual({
          r1: [entry("1go1", a, null), entry("1go2", b, null)],
        });

        await project.forgetImport("r1");
        expect(await project.importedAs("1go1", a)).toBeNull();
        expect(await project.importsOf(["r1"])).toEqual({});
        // The generic object and its key are free again: imported anew, the URL works for the new receiver.
        expect(await project.claimImports([entry("1go1", a)], route("r2"))).toBeNull();
        expect(await project.legacyRoute(a)).toEqual(route("r2"));
        await project.forgetImport("r9");
        expect(await project.importedAs("1go1", a)).toBe("r2");
      });
    });

    describe("recordDeletion and wasDeleted", () => {
      it("remembers deleted receivers, recorded twice or not, also across a restart", async () => {
        const { project, name, restart } = open("deletions");
        expect(await project.wasDeleted("r1")).toBe(false);
        await project.recordDeletion("r1");
        await project.recordDeletion("r1");
        await project.recordDeletion("r2");
        expect(await project.wasDeleted("r1")).toBe(true);
        expect(await project.wasDeleted("r3")).toBe(false);
        const again = await restart(name);
        expect(await again.wasDeleted("r1")).toBe(true);
        expect(await again.wasDeleted("r2")).toBe(true);
        expect(await again.wasDeleted("r3")).toBe(false);
      });

      it("keeps names and imports across a restart", async () => {
        const { project, name, restart } = open("restart");
        expect(await project.claimName("web", "r1")).toBe(true);
        expect(await project.claimImports([entry("1go1", a)], route("r1"))).toBeNull();
        const again = await restart(name);
        expect(await again.claimName("web", "r2")).toBe(false);
        expect(await again.legacyRoute(a)).toEqual(route("r1"));
      });
    });
  });
}
