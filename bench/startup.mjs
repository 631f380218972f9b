// The Worker's start-up, three ways:
// - `wrangler check startup` (wrangler builds the Worker as `wrangler deploy` would, starts it in
//   local workerd and profiles the start-up phase), the figure the goal names. Its profile takes a
//   sample about every 10 ms, so one run says 0, ~10 or ~20 ms: it runs several times and the
//   median is reported, with the bundle's size.
// - The same, finer: the bundle `wrangler deploy --dry-run` writes, imported in workerd by a first
//   request as wrangler's check does, profiled with a sample every 50 µs; beside it an empty module
//   imported the same way, which is the runtime's own cost of that request and import. Runs of the
//   two alternate; medians.
// - The bundle compiled and its top level run in Node's V8 in a fresh context each time, timed with
//   the process's CPU clock: the two parts of a start-up, apart.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import vm from "node:vm";
import { buildSync } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { percentile, round } from "./client.mjs";
import { profileOf } from "./profile.mjs";

const number = (text, pattern) => {
  const match = text.match(pattern);
  return match ? Number(match[1]) : undefined;
};

const compatibilityDate = () =>
  readFileSync("wrangler.toml", "utf8").match(/^compatibility_date = "([^"]+)"/m)?.[1];

/** One `wrangler check startup` of the Worker a wrangler.toml describes. */
function checkStartupOnce(config, profile) {
  const result = spawnSync(
    process.execPath,
    ["node_modules/wrangler/bin/wrangler.js", "check", "startup", "-c", config, "--outfile", profile],
    { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  const output = `${result.stdout}${result.stderr}`;
  const active = number(output, /Active: ([\d.]+) ms/);
  if (result.status !== 0 || active === undefined) {
    throw new Error(`wrangler check startup failed:\n${output.slice(-2000)}`);
  }
  return {
    active,
    bundleKiB: number(output, /Bundle: ([\d.]+) KiB/),
    gzipKiB: number(output, /gzip: ([\d.]+) KiB/),
  };
}

/**
 * This Worker's `wrangler check startup`, `runs` times, alternating with a Worker that only
 * answers "ok": what the tool reads for a start-up that does next to nothing.
 */
function wranglerCheckStartup(runs) {
  const dir = mkdtempSync(`${os.tmpdir()}/rancher-hooks-startup-`);
  const profile = `${dir}/startup.cpuprofile`;
  const date = compatibilityDate();
  writeFileSync(`${dir}/index.js`, 'export default { fetch: () => new Response("ok") };\n');
  writeFileSync(
    `${dir}/wrangler.toml`,
    `name = "hello"\nmain = "index.js"\ncompatibility_date = "${date}"\n`,
  );
  const activeMs = [];
  const helloMs = [];
  let last;
  try {
    for (let i = 0; i < runs; i++) {
      last = checkStartupOnce("wrangler.toml", profile);
      activeMs.push(last.active);
      helloMs.push(checkStartupOnce(`${dir}/wrangler.toml`, profile).active);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const sorted = (values) => [...values].sort((a, b) => a - b);
  return {
    activeMs: sorted(activeMs),
    medianMs: percentile(activeMs, 50),
    hello: { activeMs: sorted(helloMs), medianMs: percentile(helloMs, 50) },
    bundleKiB: last?.bundleKiB,
    gzipKiB: last?.gzipKiB,
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

/** What `wrangler deploy` would upload: the bundle, built as wrangler.toml says (minified). */
function deployBundle() {
  const dir = mkdtempSync(`${os.tmpdir()}/rancher-hooks-bundle-`);
  try {
    const result = spawnSync(
      process.execPath,
      ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", dir],
      { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
    );
    if (result.status !== 0)
      throw new Error(`wrangler deploy --dry-run failed:\n${result.stderr.slice(-2000)}`);
    return readFileSync(`${dir}/index.js`, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU ms of one start-up of `main` in a fresh workerd: the profile's samples that are not idle. */
async function profiledStartup(main, compatibilityDate) {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      cf: false,
      inspectorPort: 0,
      workers: [
        {
          name: "startup",
          compatibilityDate,
          modulesRoot: "/",
          modules: [
            {
              type: "ESModule",
              path: "/entry.js",
              contents:
                'export default { async fetch() { await import("./main.js"); return new Response("ok"); } };',
            },
            { type: "ESModule", path: "/main.js", contents: main },
          ],
        },
      ],
    }),
  );
  try {
    await mf.ready;
    let status;
    const profile = await profileOf(
      new URL("/core:user:startup", (await mf.getInspectorURL()).href),
      async () => {
        const response = await mf.dispatchFetch("http://startup/");
        await response.text();
        status = response.status;
      },
    );
    if (status !== 200) throw new Error(`the module failed to load: ${status}`);
    const idle = new Set(
      profile.nodes.filter((node) => node.callFrame.functionName === "(idle)").map((node) => node.id),
    );
    let activeUs = 0;
    profile.samples.forEach((node, i) => {
      if (!idle.has(node)) activeUs += profile.timeDeltas[i] ?? 0;
    });
    return activeUs / 1000;
  } finally {
    await mf.dispose();
  }
}

async function inWorkerd(runs) {
  const bundle = deployBundle();
  const date = compatibilityDate();
  const bundleMs = [];
  const emptyMs = [];
  for (let i = 0; i < runs; i++) {
    emptyMs.push(await profiledStartup("export default {};", date));
    bundleMs.push(await profiledStartup(bundle, date));
  }
  const bundleMedian = percentile(bundleMs, 50);
  const emptyMedian = percentile(emptyMs, 50);
  return {
    runs,
    bundleMs: round(bundleMedian),
    emptyModuleMs: round(emptyMedian),
    netMs: round(bundleMedian - emptyMedian),
  };
}

export async function startup({ runs }) {
  return { runs, ...wranglerCheckStartup(runs), workerd: await inWorkerd(15), node: inNode(15) };
}
