// `npm run dev`: the webhook service on :8787 and the Cattle emulator on :8788, side by side.
// `npm run dev:deno` (`--deno`): the same service on Deno instead of workerd, same emulator.
// On first start it writes .dev.vars (the emulator's credentials and a new signing key), so
// nothing has to be set up by hand; delete the file to start over with a new key.
//
// Options, for a second stack beside one on the usual ports: `--port` (8787), `--emulator-port`
// (8788), `--inspector-port` (9229) and `--emulator-inspector-port` (9230), and `--persist-to`
// (where the receivers are kept, `.wrangler/state` by default).
//
// `--cattle-binding`: the service reaches the emulator as it would a private Rancher through a
// tunnel (docs/private-rancher.md): CATTLE_URL names http://rancher.internal:8080, which resolves
// nowhere, and a `CATTLE` service binding to the emulator carries every request. The two wrangler
// processes find each other through a dev registry of this run's own, so another stack on the
// machine is never bound by mistake.
//
// CATTLE_ACCESS_CLIENT_ID and CATTLE_ACCESS_CLIENT_SECRET, when set in this command's environment,
// are passed to the service (never on a command line), as for a Rancher behind Cloudflare Access.
//
// Stopped by SIGTERM, SIGINT or SIGHUP sent to this process alone (as systemd or a script does),
// it stops every process it started (the wrangler and workerd processes) before it exits.

// First: on too old a Node, say so before any other import can fail.
import "./require-node.mjs";
import { spawn } from "node:child_process";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { denoServeArgs } from "./deno-serve.mjs";
import { newSigningKeySet } from "./signing-key.mjs";

const DEV_VARS = ".dev.vars";

const { values: options } = parseArgs({
  options: {
    deno: { type: "boolean", default: false },
    port: { type: "string", default: "8787" },
    "emulator-port": { type: "string", default: "8788" },
    "inspector-port": { type: "string", default: "9229" },
    "emulator-inspector-port": { type: "string", default: "9230" },
    "persist-to": { type: "string" },
    "cattle-binding": { type: "boolean", default: false },
  },
});
if (options["cattle-binding"] && options.deno) {
  console.error("[dev] --cattle-binding needs the Worker: Deno has no service bindings (leave out --deno)");
  process.exit(2);
}
const port = Number(options.port);
const emulatorPort = Number(options["emulator-port"]);
const inspectorPort = Number(options["inspector-port"]);
const emulatorInspectorPort = Number(options["emulator-inspector-port"]);
const hooksUrl = `http://127.0.0.1:${port}`;
const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
/** A name nothing resolves: a request that reaches the emulator by it came through the binding. */
const PRIVATE_CATTLE_URL = "http://rancher.internal:8080";
const cattleUrl = options["cattle-binding"] ? PRIVATE_CATTLE_URL : emulatorUrl;
const ACCESS_VARS = ["CATTLE_ACCESS_CLIENT_ID", "CATTLE_ACCESS_CLIENT_SECRET"];
const accessVars = Object.fromEntries(
  ACCESS_VARS.filter((name) => process.env[name]).map((name) => [name, process.env[name]]),
);
if (Object.keys(accessVars).length === 1) {
  console.error(`[dev] set both ${ACCESS_VARS.join(" and ")}, or neither`);
  process.exit(2);
}
for (const [name, value] of Object.entries(accessVars)) {
  // Written to an env file as a single-quoted literal: a quote or a line break could not be.
  if (/['\r\n]/.test(value)) {
    console.error(`[dev] ${name} must not hold a quote or a line break`);
    process.exit(2);
  }
}

if (!existsSync(DEV_VARS)) {
  const keys = await newSigningKeySet("dev");
  // Written whole under a name of its own, then linked into place unless another `npm run dev`
  // starting at the same moment got there first: no wrangler reads half a file, and all of them
  // read the same keys.
  mkdirSync(".wrangler", { recursive: true });
  const whole = join(".wrangler", `dev-vars-${process.pid}`);
  writeFileSync(
    whole,
    [
      "# Written by `npm run dev`: local secrets only, never committed.",
      "CATTLE_ACCESS_KEY=service-access",
      "CATTLE_SECRET_KEY=service-secret",
      `WEBHOOK_SIGNING_KEYS=${JSON.stringify(keys)}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  try {
    linkSync(whole, DEV_VARS);
    console.log(`[dev] wrote ${DEV_VARS} with a new signing key`);
  } catch (error) {
    if (error.code !== "EEXIST") throw error;
  } finally {
    rmSync(whole, { force: true });
  }
}

/**
 * Where a worker keeps its state under `--persist-to`: the service in that directory itself, the
 * emulator in a folder of its own, as without the option (each beside its own wrangler.toml). Two
 * workerd processes starting over one directory's SQLite files can find them locked.
 */
const persistFor = (worker) =>
  options["persist-to"]
    ? [
        "--persist-to",
        worker === "emulator" ? join(options["persist-to"], "emulator") : options["persist-to"],
      ]
    : [];
const wrangler = (args, worker = "hooks") => [
  process.execPath,
  [
    "node_modules/wrangler/bin/wrangler.js",
    "dev",
    ...args,
    ...persistFor(worker),
    "--ip",
    "127.0.0.1",
    "--show-interactive-dev-session=false",
  ],
];

/** .dev.vars as environment variables, for the Deno server (wrangler reads the file itself). */
const devVars = () =>
  Object.fromEntries(
    readFileSync(DEV_VARS, "utf8")
      .split("\n")
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );

/**
 * What this run writes besides .dev.vars (a config with the binding, the service's secrets, the
 * dev registry), in a directory of its own (mode 0700) removed when it stops.
 */
const runDir = mkdtempSync(join(tmpdir(), "rancher-hooks-dev-"));
const registry = join(runDir, "registry");

/**
 * The service's wrangler arguments. Secrets (.dev.vars and the Access token) go in a file only this
 * user can read, passed with --env-file, which wrangler then reads instead of .dev.vars.
 */
function hooksArgs() {
  const args = [
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--var",
    `CATTLE_URL:${cattleUrl}`,
  ];
  let config = "wrangler.toml";
  if (options["cattle-binding"]) {
    // wrangler.toml itself, with its entry point made absolute, and the binding a tunnel would be.
    config = join(runDir, "wrangler.toml");
    const main = readFileSync("wrangler.toml", "utf8").replace(
      /^main = "([^"]+)"$/m,
      (_, path) => `main = ${JSON.stringify(resolve(path))}`,
    );
    // Its default state directory would be beside the generated config: keep the usual one.
    if (!options["persist-to"]) args.push("--persist-to", resolve(".wrangler/state"));
    writeFileSync(
      config,
      `${main}\n# Added by \`npm run dev -- --cattle-binding\`: the emulator, reached as a private Rancher.\n[[services]]\nbinding = "CATTLE"\nservice = "cattle-emulator"\n`,
    );
  }
  if (config !== "wrangler.toml" || Object.keys(accessVars).length > 0) {
    const envFile = join(runDir, "hooks.env");
    // .dev.vars' lines as they are (the same parser reads both); the token quoted as a literal.
    const lines = [
      ...Object.entries(devVars()).map(([name, value]) => `${name}=${value}`),
      ...Object.entries(accessVars).map(([name, value]) => `${name}='${value}'`),
    ];
    writeFileSync(envFile, `${lines.join("\n")}\n`, { mode: 0o600 });
    args.push("--env-file", envFile);
  }
  return ["-c", config, ...args];
}

const workers = [
  {
    name: "emulator",
    command: wrangler(
      [
        "-c",
        "emulator/wrangler.toml",
        "--port",
        String(emulatorPort),
        "--inspector-port",
        String(emulatorInspectorPort),
      ],
      "emulator",
    ),
  },
  options.deno
    ? {
        name: "hooks/deno",
        command: [process.execPath, denoServeArgs(port)],
        env: {
          ...devVars(),
          ...accessVars,
          CATTLE_URL: emulatorUrl,
          DATA_DIR: options["persist-to"] ? `${options["persist-to"]}/deno` : ".wrangler/deno",
        },
      }
    : {
        name: "hooks",
        command: wrangler(hooksArgs()),
      },
];

// Offline, wrangler would print a stack trace for every attempt to fetch Cloudflare's `Request.cf`
// data; the local placeholder is all this service needs, so the fetch is switched off.
const QUIET = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  DENO_NO_UPDATE_CHECK: "1",
  WRANGLER_REGISTRY_PATH: registry,
};

/**
 * Whoever reads this process's output may go away first (`npm run dev | head`, a test runner that
 * ended): writing then fails with EPIPE, which would end this process and leave its children
 * running, holding the ports. Output stops instead, and everything is stopped as on a signal.
 */
let outputGone = false;
const say = (stream, text) => {
  if (!outputGone) stream.write(text);
};
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", () => {
    outputGone = true;
    void stop(1);
  });
}
// Nor may a bug here leave them behind.
process.on("uncaughtException", (error) => {
  say(process.stderr, `[dev] ${error?.stack ?? error}; stopping\n`);
  void stop(1);
});

const ready = new Set();
const children = workers.map(({ name, command: [program, args], env = {} }) => {
  const child = spawn(program, args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    // The Access token reaches the service through its env file only, not every child's environment.
    env: { ...withoutAccessVars(process.env), ...QUIET, ...env },
  });
  const prefix = (stream, out) => {
    let partial = "";
    stream.on("data", (chunk) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        say(out, `[${name}] ${line}\n`);
        if (/Ready on http|Listening on http/.test(line)) started(name);
      }
    });
  };
  prefix(child.stdout, process.stdout);
  prefix(child.stderr, process.stderr);
  child.on("exit", (code) => {
    say(process.stdout, `[dev] ${name} exited (${code ?? "signal"}); stopping\n`);
    stop(code ?? 1);
  });
  return child;
});

/** Once both are up: where they are, how to sign in, and how to start over. */
function started(name) {
  ready.add(name);
  if (ready.size < workers.length) return;
  say(
    process.stdout,
    [
      "",
      `[dev] ready. Webhook service: ${hooksUrl}   Cattle emulator: ${emulatorUrl}/v2-beta`,
      `[dev] page: ${hooksUrl}/ (access key dev-access, secret key dev-secret)`,
      ...(options["cattle-binding"]
        ? [`[dev] Cattle is reached as ${PRIVATE_CATTLE_URL} through the CATTLE binding to the emulator`]
        : []),
      ...(Object.keys(accessVars).length > 0
        ? ["[dev] every Cattle request carries the Access service token"]
        : []),
      `[dev] start over: curl -X POST ${emulatorUrl}/_emulator/reset resets Rancher's side; receivers are kept in ${options["persist-to"] ?? ".wrangler/state"} (stop, delete it, start again)`,
      "",
      "",
    ].join("\n"),
  );
}

function withoutAccessVars(environment) {
  const copy = { ...environment };
  for (const name of ACCESS_VARS) delete copy[name];
  return copy;
}

/** Whether any process of the group `pgid` is still there. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** How long the children have to stop after SIGTERM before they are killed. */
const STOP_GRACE_MS = 5_000;

/**
 * Each child was started in a process group of its own (`detached`), which its own children
 * (wrangler's workerd and esbuild) share: the whole group is told to stop, then killed if it has
 * not within the grace period. A signal sent to this process alone reaches none of them otherwise,
 * and without waiting here they would outlive it, holding the ports.
 */
let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  const groups = children.map((child) => child.pid).filter((pid) => pid !== undefined);
  for (const pgid of groups) signalGroup(pgid, "SIGTERM");
  const until = Date.now() + STOP_GRACE_MS;
  while (groups.some(groupAlive) && Date.now() < until) await new Promise((done) => setTimeout(done, 50));
  for (const pgid of groups.filter(groupAlive)) signalGroup(pgid, "SIGKILL");
  rmSync(runDir, { recursive: true, force: true });
  process.exit(code);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => void stop(0));
