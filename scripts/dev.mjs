// `npm run dev`: the webhook service on :8787 and the Cattle emulator on :8788, side by side.
// `npm run dev:deno` (`--deno`): the same service on Deno instead of workerd, same emulator.
// On first start it writes .dev.vars (the emulator's credentials and a new signing key), so
// nothing has to be set up by hand; delete the file to start over with a new key.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { denoServeArgs } from "./deno-serve.mjs";
import { newSigningKeySet } from "./signing-key.mjs";

const DEV_VARS = ".dev.vars";

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

const wrangler = (args) => [
  process.execPath,
  [
    "node_modules/wrangler/bin/wrangler.js",
    "dev",
    ...args,
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

const onDeno = process.argv.includes("--deno");
const workers = [
  {
    name: "emulator",
    command: wrangler(["-c", "emulator/wrangler.toml", "--port", "8788", "--inspector-port", "9230"]),
  },
  onDeno
    ? {
        name: "hooks/deno",
        command: [process.execPath, denoServeArgs(8787)],
        env: { ...devVars(), CATTLE_URL: "http://127.0.0.1:8788", DATA_DIR: ".wrangler/deno" },
      }
    : {
        name: "hooks",
        command: wrangler(["-c", "wrangler.toml", "--port", "8787", "--inspector-port", "9229"]),
      },
];

const children = workers.map(({ name, command: [program, args], env = {} }) => {
  const child = spawn(program, args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", DENO_NO_UPDATE_CHECK: "1", ...env },
  });
  const prefix = (stream, out) => {
    let partial = "";
    stream.on("data", (chunk) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) out.write(`[${name}] ${line}\n`);
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
console.log(
  `[dev] webhook service${onDeno ? " (Deno)" : ""}: http://127.0.0.1:8787   Cattle emulator: http://127.0.0.1:8788/v2-beta`,
);
