// `npm run dev`: the webhook service on :8787 and the Cattle emulator on :8788, side by side.
// `npm run dev:deno` (`--deno`): the same service on Deno instead of workerd, same emulator.
// On first start it writes .dev.vars (the emulator's credentials and a new signing key), so
// nothing has to be set up by hand; delete the file to start over with a new key.
//
// Options, for a second stack beside one on the usual ports: `--port` (8787), `--emulator-port`
// (8788), `--inspector-port` (9229) and `--emulator-inspector-port` (9230), and `--persist-to`
// (where the receivers are kept, `.wrangler/state` by default).
// First: on too old a Node, say so before any other import can fail.
import "./require-node.mjs";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
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
  },
});
const port = Number(options.port);
const emulatorPort = Number(options["emulator-port"]);
const inspectorPort = Number(options["inspector-port"]);
const emulatorInspectorPort = Number(options["emulator-inspector-port"]);
const hooksUrl = `http://127.0.0.1:${port}`;
const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;

if (!existsSync(DEV_VARS)) {
  const keys = await newSigningKeySet("dev");
  writeFileSync(
    DEV_VARS,
    [
      "# Written by `npm run dev`: local secrets only, never committed.",
      "CATTLE_ACCESS_KEY=service-access",
      "CATTLE_SECRET_KEY=service-secret",
      `WEBHOOK_SIGNING_KEYS=${JSON.stringify(keys)}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  console.log(`[dev] wrote ${DEV_VARS} with a new signing key`);
}

const persist = options["persist-to"] ? ["--persist-to", options["persist-to"]] : [];
const wrangler = (args) => [
  process.execPath,
  [
    "node_modules/wrangler/bin/wrangler.js",
    "dev",
    ...args,
    ...persist,
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

const workers = [
  {
    name: "emulator",
    command: wrangler([
      "-c",
      "emulator/wrangler.toml",
      "--port",
      String(emulatorPort),
      "--inspector-port",
      String(emulatorInspectorPort),
    ]),
  },
  options.deno
    ? {
        name: "hooks/deno",
        command: [process.execPath, denoServeArgs(port)],
        env: {
          ...devVars(),
          CATTLE_URL: emulatorUrl,
          DATA_DIR: options["persist-to"] ? `${options["persist-to"]}/deno` : ".wrangler/deno",
        },
      }
    : {
        name: "hooks",
        command: wrangler([
          "-c",
          "wrangler.toml",
          "--port",
          String(port),
          "--inspector-port",
          String(inspectorPort),
          "--var",
          `CATTLE_URL:${emulatorUrl}`,
        ]),
      },
];

// Offline, wrangler would print a stack trace for every attempt to fetch Cloudflare's `Request.cf`
// data; the local placeholder is all this service needs, so the fetch is switched off.
const QUIET = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  DENO_NO_UPDATE_CHECK: "1",
};

const ready = new Set();
const children = workers.map(({ name, command: [program, args], env = {} }) => {
  const child = spawn(program, args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, ...QUIET, ...env },
  });
  const prefix = (stream, out) => {
    let partial = "";
    stream.on("data", (chunk) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        out.write(`[${name}] ${line}\n`);
        if (/Ready on http|Listening on http/.test(line)) started(name);
      }
    });
  };
  prefix(child.stdout, process.stdout);
  prefix(child.stderr, process.stderr);
  child.on("exit", (code) => {
    console.log(`[dev] ${name} exited (${code ?? "signal"}); stopping`);
    stop(code ?? 1);
  });
  return child;
});

/** Once both are up: where they are, how to sign in, and how to start over. */
function started(name) {
  ready.add(name);
  if (ready.size < workers.length) return;
  console.log(
    [
      "",
      `[dev] ready. Webhook service: ${hooksUrl}   Cattle emulator: ${emulatorUrl}/v2-beta`,
      `[dev] page: ${hooksUrl}/ (access key dev-access, secret key dev-secret)`,
      `[dev] start over: curl -X POST ${emulatorUrl}/_emulator/reset resets Rancher's side; receivers are kept in ${options["persist-to"] ?? ".wrangler/state"} (stop, delete it, start again)`,
      "",
    ].join("\n"),
  );
}

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  setTimeout(() => process.exit(code), 500);
}

process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
