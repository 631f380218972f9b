import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layout is the architecture (docs/development.md), and these checks keep it so: imports only run down
 * the layers, a driver's knowledge stays in its folder, and the code names no driver elsewhere.
 */

const SRC = new URL("../../src/", import.meta.url).pathname;

/** Lowest first: a module may import from its own layer's folders or lower ones. */
const LAYERS: string[][] = [
  ["util"],
  ["domain"],
  ["cattle", "senders", "tokens", "storage", "delivery"],
  ["access", "drivers"],
  ["target", "project"],
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

const DRIVER_FOLDERS = ["scale-service", "scale-host", "service-upgrade"];
const kindOf = (file: string) =>
  file.startsWith("drivers/")
    ? DRIVER_FOLDERS.find((kind) => file.startsWith(`drivers/${kind}/`))
    : undefined;

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

  it("names a driver only in its own folder and the registry", () => {
    const naming = files.filter((file) => {
      if (kindOf(file) || file === "drivers/index.ts") return false;
      const code = readFileSync(join(SRC, file), "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/\/\/.*$/gm, "");
      return /\b(scaleService|scaleHost|serviceUpgrade)\b/.test(code);
    });
    expect(naming).toEqual([]);
  });

  it("imports nothing from the tests", () => {
    expect(files.filter((file) => importsOf(file).some((target) => target.startsWith("../")))).toEqual([]);
  });
});
