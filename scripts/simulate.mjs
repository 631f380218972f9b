// `npm run simulate -- [--seeds N] [--from K] [--seed S]`: the deterministic simulator of
// docs/simulation.md. The simulator is TypeScript under test/sim/; it is bundled with esbuild (a
// fraction of a second) into a folder of the system's temporary directory, then run in this process.
// First: on too old a Node, say so before any other import can fail.
import "./require-node.mjs";
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
// One bundle per checkout, so two checkouts on one machine never run each other's simulator.
const folder = join(
  tmpdir(),
  `rancher-hooks-simulate-${createHash("sha256").update(root).digest("hex").slice(0, 12)}`,
);
mkdirSync(folder, { recursive: true });
const outfile = join(folder, "main.mjs");
await build({
  entryPoints: [join(root, "test/sim/main.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  outfile,
  logLevel: "warning",
  // A dependency that still calls require() gets Node's.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
await import(pathToFileURL(outfile).href);
