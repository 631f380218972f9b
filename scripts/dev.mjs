// `npm run dev`: the webhook service on :8787 and the Cattle emulator on :8788, side by side.
// On first start it writes .dev.vars (the emulator's credentials and a new signing key), so
// nothing has to be set up by hand; delete the file to start over with a new key.
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { newSigningKeySet } from "./signing-key.mjs";

const DEV_VARS = ".dev.vars";

if (!existsSync(DEV_VARS)) {
  const keys = await newSigningKeySet("dev");
  writeFileSync(
    DEV_VARS,
    [
      "# Written by `npm run dev`: local secrets only, never committed.",
      "CATTLE_ACCESS_KEY=dev-access",
      "CATTLE_SECRET_KEY=dev-secret",
      `WEBHOOK_SIGNING_KEYS=${JSON.stringify(keys)}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  console.log(`[dev] wrote ${DEV_VARS} with a new signing key`);
}

const workers = [
  { name: "emulator", args: ["-c", "emulator/wrangler.toml", "--port", "8788", "--inspector-port", "9230"] },
  { name: "hooks", args: ["-c", "wrangler.toml", "--port", "8787", "--inspector-port", "9229"] },
];

const children = workers.map(({ name, args }) => {
  const child = spawn(
    process.execPath,
    [
      "node_modules/wrangler/bin/wrangler.js",
      "dev",
      ...args,
      "--ip",
      "127.0.0.1",
      "--show-interactive-dev-session=false",
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    },
  );
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
console.log("[dev] webhook service: http://127.0.0.1:8787   Cattle emulator: http://127.0.0.1:8788/v2-beta");
