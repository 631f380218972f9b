import { parseArgs } from "node:util";
import { createApp } from "./app";
import { cattleTransport } from "./cattle/client";
import type { Settings } from "./domain/settings";
import { denoPlatform } from "./platform/deno";

/**
 * The service on Deno (`deno run … src/deno.ts`, docs/deno-server.md; on Deno Deploy,
 * docs/deno-deploy.md): the same app as the Worker, with Deno KV for receiver records. With
 * `DATA_DIR`, each target and environment is an in-process object over an SQLite file there (one
 * process); without it, every object's state is in Deno KV (`KV_PATH`, or `Deno.openKv()`'s
 * default), and any number of processes and isolates may serve at once. Settings come from the
 * environment; where it listens from `--host` (127.0.0.1 unless told otherwise: the service is
 * meant to sit behind a proxy on the same machine) and `--port` (8787).
 */
function settingsFromEnvironment(): Settings {
  const required = (name: string) => {
    const value = Deno.env.get(name);
    if (!value) throw new Error(`${name} must be set (see docs/deno-server.md)`);
    return value;
  };
  const optional = (name: keyof Settings) => {
    const value = Deno.env.get(name);
    return value ? { [name]: value } : {};
  };
  const settings: Settings = {
    CATTLE_URL: Deno.env.get("CATTLE_URL") ?? "http://127.0.0.1:8788",
    CATTLE_ACCESS_KEY: required("CATTLE_ACCESS_KEY"),
    CATTLE_SECRET_KEY: required("CATTLE_SECRET_KEY"),
    WEBHOOK_SIGNING_KEYS: required("WEBHOOK_SIGNING_KEYS"),
    ...optional("PUBLIC_URL"),
    ...optional("LEGACY_RSA_PUBLIC_KEY"),
    ...optional("CATTLE_ACCESS_CLIENT_ID"),
    ...optional("CATTLE_ACCESS_CLIENT_SECRET"),
  };
  // Half an Access service token stops the server here, saying which setting, rather than later.
  cattleTransport(settings);
  return settings;
}

/** `--host` and `--port`: a bad value stops the server before it opens anything. */
function listenAddress(): { hostname: string; port: number } {
  const { values } = parseArgs({
    args: Deno.args,
    options: { host: { type: "string", default: "127.0.0.1" }, port: { type: "string", default: "8787" } },
  });
  const port = Number(values.port);
  if (!/^\d{1,5}$/.test(values.port) || port < 1 || port > 65_535) {
    throw new Error(`--port must be a TCP port (1-65535), not ${JSON.stringify(values.port)}`);
  }
  if (values.host.trim() === "") throw new Error("--host must name an address, such as 127.0.0.1");
  return { hostname: values.host, port };
}

/** How often each isolate looks for follow-ups no one runs, besides Deno.cron's minute. */
const SWEEP_EVERY_MS = 10_000;

/** What the minute's cron does: nothing until the platform is up, then its sweep. */
let sweepFollowUps: () => Promise<void> = async () => {};

// Deno Deploy finds crons by evaluating the module's top level, and only those registered there
// unconditionally: so before anything that may stop the server, and whatever the storage (with
// DATA_DIR the sweep has nothing to do). Follow-ups whose holder stopped (an isolate Deno Deploy
// shut down, a process killed) are found by it each minute, even with no isolate up
// (docs/deno-deploy.md).
Deno.cron("rancher-hooks follow-ups", "* * * * *", () => sweepFollowUps());

const address = listenAddress();
const settings = settingsFromEnvironment();
const dataDir = Deno.env.get("DATA_DIR");
const kvPath = Deno.env.get("KV_PATH");
const platform = await denoPlatform({
  settings,
  ...(dataDir ? { dataDir, kvPath: `${dataDir}/receivers.kv` } : kvPath ? { kvPath } : {}),
  // Which process holds an object is in its lease: the process id says which one to look at.
  isolate: `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`,
  // Deno Deploy's KV tells watchers of every isolate's writes; a KV file tells only its own process's.
  watch: Deno.env.get("DENO_DEPLOYMENT_ID") !== undefined,
});
const app = createApp(() => platform);

if (!dataDir) {
  // Besides the cron's minute, each isolate sweeps every 10 s while it lives.
  sweepFollowUps = () =>
    platform
      .sweep()
      .catch((error) => console.error("sweep failed", error instanceof Error ? error.message : error));
  setInterval(() => void sweepFollowUps(), SWEEP_EVERY_MS);
  // A process told to stop gives its objects up first, so that another takes them at once rather
  // than once their leases run out.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => {
      void platform.close().finally(() => Deno.exit(0));
    });
  }
}

Deno.serve(address, (request) => app.fetch(request, settings));
