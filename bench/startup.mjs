// The Worker's start-up. `wrangler check startup` (wrangler builds the Worker as `wrangler deploy`
// would, starts it in local workerd and profiles the start-up phase) samples about once a
// millisecond and varies from run to run, so it runs several times and the median is reported,
// with the bundle's size. Beside it, the same bundle compiled and its top level run in Node's V8
// in a fresh context each time, timed with the process's CPU clock: finer, and split into the
// two parts of a start-up.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import vm from "node:vm";
import { buildSync } from "esbuild";
import { percentile, round } from "./client.mjs";

const number = (text, pattern) => {
  const match = text.match(pattern);
  return match ? Number(match[1]) : undefined;
};

function wranglerCheckStartup(runs) {
  const profile = `${os.tmpdir()}/rancher-hooks-startup.cpuprofile`;
  const activeMs = [];
  let bundleKiB;
  let gzipKiB;
  for (let i = 0; i < runs; i++) {
    const result = spawnSync(
      process.execPath,
      ["node_modules/wrangler/bin/wrangler.js", "check", "startup", "--outfile", profile],
      { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
    );
    const output = `${result.stdout}${result.stderr}`;
    const active = number(output, /Active: ([\d.]+) ms/);
    if (result.status !== 0 || active === undefined) {
      throw new Error(`wrangler check startup failed:\n${output.slice(-2000)}`);
    }
    activeMs.push(active);
    bundleKiB = number(output, /Bundle: ([\d.]+) KiB/);
    gzipKiB = number(output, /gzip: ([\d.]+) KiB/);
  }
  rmSync(profile, { force: true });
  return {
    activeMs: [...activeMs].sort((a, b) => a - b),
    medianMs: percentile(activeMs, 50),
    bundleKiB,
    gzipKiB,
  };
}

/** What a Worker's global scope offers that the bundle's top level may touch. */
const WEB_GLOBALS = [
  "AbortController",
  "AbortSignal",
  "Headers",
  "ReadableStream",
  "Request",
  "Response",
  "TextDecoder",
  "TextEncoder",
  "TransformStream",
  "URL",
  "URLSearchParams",
  "WritableStream",
  "atob",
  "btoa",
  "clearTimeout",
  "console",
  "crypto",
  "navigator",
  "performance",
  "setTimeout",
  "structuredClone",
];

/** CPU milliseconds of this process spent in `work`. */
function cpuMs(work) {
  const before = process.cpuUsage();
  work();
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000;
}

function inNode(runs) {
  const dir = mkdtempSync(`${os.tmpdir()}/rancher-hooks-startup-`);
  try {
    // The runtime's module, as far as loading the Worker needs it.
    writeFileSync(
      `${dir}/cloudflare-workers.js`,
      "export class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }\n",
    );
    const [bundle] = buildSync({
      entryPoints: ["src/index.ts"],
      bundle: true,
      format: "iife",
      platform: "neutral",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      alias: { "cloudflare:workers": `${dir}/cloudflare-workers.js` },
      // As wrangler.toml has `wrangler deploy` build it.
      minify: true,
      write: false,
      logLevel: "warning",
    }).outputFiles;
    const compileMs = [];
    const topLevelMs = [];
    for (let i = 0; i < runs; i++) {
      // A different source each time, so V8's compilation cache never answers.
      const source = `${bundle.text}\n// run ${i}\n`;
      let script;
      compileMs.push(cpuMs(() => (script = new vm.Script(source))));
      const context = vm.createContext(
        Object.fromEntries(WEB_GLOBALS.map((name) => [name, globalThis[name]])),
      );
      topLevelMs.push(cpuMs(() => script.runInContext(context)));
    }
    return {
      compileMs: round(percentile(compileMs, 50)),
      topLevelMs: round(percentile(topLevelMs, 50)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function startup({ runs }) {
  return { runs, ...wranglerCheckStartup(runs), node: inNode(15) };
}
