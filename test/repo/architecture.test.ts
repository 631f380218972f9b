import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { DRIVER_NAMES } from "../../src/drivers";

/**
 * The layout is the architecture (docs/development.md), and these checks keep it so: imports only run down
 * the layers and never in a circle, a driver's knowledge stays in its folder behind the registry, and the
 * code names no driver elsewhere.
 */

const SRC = new URL("../../src/", import.meta.url).pathname;

/** Lowest first: a module may import from its own layer's folders or lower ones. */
const LAYERS: string[][] = [
  ["util"],
  ["domain"],
  ["cattle", "senders", "tokens", "storage", "delivery"],
  ["access", "drivers", "notifications"],
  ["targets", "project"],
  ["objects", "platform"],
  ["api"],
  ["receivers", "metrics"],
  ["middleware", "routes", "page"],
  ["."],
];

const layerOf = (file: string): number => {
  const folder = file.includes("/") ? (file.split("/")[0] as string) : ".";
  const layer = LAYERS.findIndex((folders) => folders.includes(folder));
  if (layer < 0) throw new Error(`${file} is in a folder no layer names: add it to LAYERS`);
  return layer;
};

function sources(dir = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !/\.(test|d)\.ts$/.test(name) ? [relative(SRC, path)] : [];
  });
}

/** The project files a module imports, as paths under src/ (packages and runtime modules left out). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), "utf8");
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^"';]*?from\s+"([^"]+)"/gm)].map(
    (match) => match[1] as string,
  );
  return specifiers
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => {
      const base = normalize(join(dirname(file), specifier));
      for (const candidate of [`${base}.ts`, `${base}.tsx`, join(base, "index.ts")]) {
        try {
          if (statSync(join(SRC, candidate)).isFile()) return candidate;
        } catch {}
      }
      return base;
    });
}

/**
 * Each driver's folder, as the registry (src/drivers/index.ts) imports its definition from it: the
 * driver names come from the registry itself, so a new driver is checked without editing this file.
 */
const DRIVER_FOLDERS: Map<string, string> = (() => {
  const registry = readFileSync(join(SRC, "drivers/index.ts"), "utf8");
  const folders = new Map<string, string>();
  for (const match of registry.matchAll(/^import\s*\{\s*(\w+)\s*\}\s*from\s+"\.\/([\w-]+)";/gm)) {
    const [, name, folder] = match as unknown as [string, string, string];
    if ((DRIVER_NAMES as string[]).includes(name)) folders.set(name, `drivers/${folder}/`);
  }
  return folders;
})();

const kindOf = (file: string) => [...DRIVER_FOLDERS.values()].find((folder) => file.startsWith(folder));

/**
 * What code outside src/drivers/ may import from it: the registry (the definitions, looked up by name,
 * and what it re-exports for the API and the page) and the definition's types. Drivers' folders and
 * their shared helpers sit behind these two (docs/development.md).
 */
const DRIVERS_ENTRY = ["drivers/index.ts", "drivers/definition.ts"];

describe("the source tree", () => {
  const files = sources();

  it("imports only down the layers", () => {
    const upward = files.flatMap((file) =>
      importsOf(file)
        .filter((target) => layerOf(target) > layerOf(file))
        .map((target) => `${file} → ${target}`),
    );
    expect(upward).toEqual([]);
  });

  it("keeps each driver's knowledge in its folder: no driver imports another's", () => {
    const crossing = files.flatMap((file) => {
      const kind = kindOf(file);
      return importsOf(file)
        .filter((target) => {
          const other = kindOf(target);
          return kind !== undefined && other !== undefined && other !== kind;
        })
        .map((target) => `${file} → ${target}`);
    });
    expect(crossing).toEqual([]);
  });

  it("finds every driver's folder through the registry", () => {
    expect([...DRIVER_FOLDERS.keys()].sort()).toEqual([...DRIVER_NAMES].sort());
    for (const folder of DRIVER_FOLDERS.values()) {
      expect(files.filter((file) => file.startsWith(folder))).toContain(`${folder}index.ts`);
    }
  });

  it("reaches the drivers from outside src/drivers/ only through the registry", () => {
    const around = files.flatMap((file) =>
      file.startsWith("drivers/")
        ? []
        : importsOf(file)
            .filter((target) => target.startsWith("drivers/") && !DRIVERS_ENTRY.includes(target))
            .map((target) => `${file} → ${target}`),
    );
    expect(around).toEqual([]);
  });

  it("has no import cycle", () => {
    // Depth-first over the import graph, type-only imports included: a module on the current path
    // that is imported again closes a cycle.
    const graph = new Map(files.map((file) => [file, importsOf(file)]));
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      const at = path.indexOf(file);
      if (at >= 0) {
        cycles.push([...path.slice(at), file].join(" → "));
        return;
      }
      if (done.has(file)) return;
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      done.add(file);
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("names a driver only in its own folder and the registry", () => {
    const naming = files.filter((file) => {
      if (kindOf(file) || file === "drivers/index.ts") return false;
      const code = readFileSync(join(SRC, file), "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/\/\/.*$/gm, "");
      return DRIVER_NAMES.some((name) => new RegExp(`\\b${name}\\b`).test(code));
    });
    expect(naming).toEqual([]);
  });

  it("has every folder in a layer, and none named as tools name build output", () => {
    // Editors, search tools and coverage reports skip folders such as target/ or dist/ as build
    // output: source there would be hidden from them.
    const BUILD_OUTPUT = new Set(["target", "build", "dist", "out", "bin", "obj", "coverage"]);
    const folders = new Set(
      files.filter((file) => file.includes("/")).map((file) => file.split("/")[0] as string),
    );
    expect([...folders].filter((folder) => BUILD_OUTPUT.has(folder))).toEqual([]);
    expect([...folders].filter((folder) => !LAYERS.some((layer) => layer.includes(folder)))).toEqual([]);
  });

  it("imports nothing from the tests", () => {
    expect(files.filter((file) => importsOf(file).some((target) => target.startsWith("../")))).toEqual([]);
  });
});
