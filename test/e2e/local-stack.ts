import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare, fetch as miniflareFetch } from "miniflare";
// @ts-expect-error: a plain ESM script shared with `npm run dev:deno`
import { DENO_LAUNCHER, denoServeArgs } from "../../scripts/deno-serve.mjs";
// @ts-expect-error: a plain ESM script shared with the benchmark
import { emulatorWorker, serviceWorkers } from "../../scripts/local-workers.mjs";
// @ts-expect-error: a plain ESM script shared with `npm run dev`
import { newSigningKeySet } from "../../scripts/signing-key.mjs";

const OUT_DIR = ".wrangler/e2e";

/** The service and the Cattle emulator as real HTTP servers on loopback, configured from wrangler.toml. */
export interface LocalStack {
  /** Where the webhook service listens, e.g. http://127.0.0.1:41234 */
  url: URL;
  /** A request to the emulator (which the service reaches as http://127.0.0.1:8788). */
  emulator(path: string, init?: RequestInit): Promise<Response>;
  dispose(): Promise<void>;
}

/**
 * `reach`: origins of servers the test runs on loopback (a capture server for notifications) that
 * the service's own requests reach for real; every other request of the service still lands on the
 * emulator, so nothing leaves the machine.
 */
export async function startLocalStack(options: { reach?: readonly string[] } = {}): Promise<LocalStack> {
  const reach = new Set(options.reach ?? []);
  const [hooks, ...others] = await serviceWorkers(OUT_DIR, "e2e");
  let emulator: Awaited<ReturnType<Miniflare["getWorker"]>> | undefined;
  const outbound = async (request: Parameters<typeof miniflareFetch>[0] & { url: string }) => {
    if (reach.has(new URL(request.url).origin)) return miniflareFetch(request);
    if (!emulator) throw new Error("the emulator is not running yet");
    return emulator.fetch(request as never);
  };
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      // The placeholder `cf` object: nothing is fetched from outside loopback.
      cf: false,
      workers: reach.size === 0 ? [hooks, ...others] : [{ ...hooks, outboundService: outbound }, ...others],
    }),
  );
  const url = await mf.ready;
  const emulatorWorker = await mf.getWorker("cattle-emulator");
  emulator = emulatorWorker;
  return {
    url,
    emulator: (path, init) =>
      emulatorWorker.fetch(`http://127.0.0.1:8788${path}`, init as never) as unknown as Promise<Response>,
    dispose: () => mf.dispose(),
  };
}

/** Polls `check` every 250 ms until it gives a value, or fails after `timeoutMs` naming `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A port nothing listens on right now, for a server this process starts. */
/**
 * Stops a child process and waits for it to be gone (SIGKILL after `graceMs`): a server stopped
 * with SIGTERM may still write its data folder on the way out (Alertmanager snapshots its
 * notification log and silences), so its folder is removed only after it exited.
 */
export async function stopChild(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export { DENO_LAUNCHER as DENO };

export interface DenoStack extends LocalStack {
  /** Stops the Deno server (SIGKILL: no chance to tidy up) and starts it again on the same data. */
  restart(): Promise<void>;
  /** What the server printed since it last started. */
  output(): string;
  /** Every server of the stack, the first being the one `url`, `restart` and `output` speak of. */
  processes: DenoProcess[];
  /** The Deno KV file the servers share (none with `dataDir`). */
  kvPath: string | undefined;
}

/** One `deno run src/deno.ts` server of a stack, on a port of its own. */
export interface DenoProcess {
  url: URL;
  /**
   * The Deno server's own process id while it runs (the launcher's child): an isolate's name in a
   * lease starts with it (src/deno.ts).
   */
  pid(): number | undefined;
  /** Whether it was started and has not ended since. */
  running(): boolean;
  /** Sends `signal` to the server and waits until none of its processes is left. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts it again (after `kill`) on the same port and data. */
  start(): Promise<void>;
  /** `kill("SIGKILL")`, then `start()`. */
  restart(): Promise<void>;
  /** What the server printed since it last started. */
  output(): string;
  /** How it is doing, for a failure's message: running, or how it ended, and the end of its output. */
  describe(): string;
}

/** The live processes of group `group` (a detached child's pid), from /proc; zombies left out. */
function groupMembers(group: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so read after the last ")".
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === group && state !== "Z") members.push(Number(entry));
  }
  return members;
}

/** Spawns the Deno server on `port` with `env`, as a process group of its own, and watches it. */
function denoProcess(port: number, env: NodeJS.ProcessEnv, host: string | undefined): DenoProcess {
  const url = new URL(`http://127.0.0.1:${port}`);
  let child: ChildProcess | undefined;
  let log = "";
  /** Whether the test stopped it (rather than it ending by itself). */
  let killing = false;
  const kill = async (signal: NodeJS.Signals) => {
    const running = child;
    if (!running?.pid) return;
    killing = true;
    const group = running.pid;
    const exited =
      running.exitCode !== null || running.signalCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => running.once("exit", resolve));
    try {
      process.kill(-group, signal);
    } catch {
      // already gone
    }
    await exited;
    // The launcher may be gone before Deno is (a SIGTERM'd server first gives its leases up): wait
    // for the whole group, and end what still runs after 15 s.
    for (let waited = 0; groupMembers(group).length > 0 && waited < 20_000; waited += 50) {
      if (waited === 15_000) {
        try {
          process.kill(-group, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const start = async () => {
    log = "";
    killing = false;
    const started = spawn(process.execPath, denoServeArgs(port, host), {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env,
    });
    child = started;
    started.stdout?.on("data", (chunk) => (log += chunk));
    started.stderr?.on("data", (chunk) => (log += chunk));
    for (let attempt = 0; ; attempt++) {
      const ready = await fetch(new URL("/v1-webhooks/schemas", url)).catch(() => undefined);
      if (ready?.ok) return;
      if (attempt > 200 || started.exitCode !== null) {
        await kill("SIGKILL");
        throw new Error(`the Deno server did not start:\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return {
    url,
    pid: () => {
      const running = child;
      if (!running?.pid || running.exitCode !== null || running.signalCode !== null) return undefined;
      return groupMembers(running.pid).find((pid) => pid !== running.pid);
    },
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    kill,
    start,
    restart: async () => {
      await kill("SIGKILL");
      await start();
    },
    output: () => log,
    describe: () => {
      const running = child;
      const state = !running
        ? "never started"
        : running.exitCode === null && running.signalCode === null
          ? `running (launcher ${running.pid}, Deno ${groupMembers(running.pid ?? 0).join(", ") || "gone"})`
          : `ended (${running.exitCode ?? running.signalCode})${killing ? "" : ", not stopped by the test"}`;
      return `the Deno server on ${url.host}: ${state}; its output ends:\n${log.split("\n").slice(-15).join("\n")}`;
    },
  };
}

/**
 * The same service on Deno (`deno run src/deno.ts`), calling the emulator over real HTTP; the
 * emulator runs in Miniflare, as for the workerd stack. Objects are over SQLite files under
 * `dataDir` when it is given, else in a Deno KV file of the stack's own, which `processes` servers
 * (1 unless told) share, each on a port of its own, as several processes serve one KV file
 * (docs/deno-server.md).
 */
export async function startDenoStack(
  options: { dataDir?: string; host?: string; env?: Record<string, string>; processes?: number } = {},
): Promise<DenoStack> {
  const count = options.processes ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new Error("processes must be a whole number, at least 1");
  // SQLite files under DATA_DIR are one process's: only Deno KV is shared.
  if (options.dataDir && count > 1) throw new Error("several processes share a KV file, not a DATA_DIR");
  const mf = new Miniflare(
    convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, cf: false, workers: [emulatorWorker(OUT_DIR)] }),
  );
  const emulatorUrl = await mf.ready;
  const kvDir = options.dataDir ? undefined : mkdtempSync(join(tmpdir(), "hooks-kv-"));
  const kvPath = kvDir && join(kvDir, "hooks.kv");
  const env = {
    ...process.env,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    CATTLE_URL: emulatorUrl.origin,
    CATTLE_ACCESS_KEY: "service-access",
    CATTLE_SECRET_KEY: "service-secret",
    WEBHOOK_SIGNING_KEYS: JSON.stringify(await newSigningKeySet("deno-e2e")),
    // Without a data directory every object is in Deno KV: a file of this stack's own.
    ...(options.dataDir ? { DATA_DIR: options.dataDir } : { KV_PATH: kvPath }),
    ...options.env,
  };

  const processes: DenoProcess[] = [];
  for (let i = 0; i < count; i++) processes.push(denoProcess(await freePort(), env, options.host));
  const stopAll = () => Promise.all(processes.map((server) => server.kill("SIGTERM")));
  // They start at the same time: each start is mostly Deno loading the same modules.
  const started = await Promise.allSettled(processes.map((server) => server.start()));
  const failed = started.find((result) => result.status === "rejected");
  if (failed) {
    await stopAll();
    await mf.dispose();
    if (kvDir) rmSync(kvDir, { recursive: true, force: true });
    throw failed.reason;
  }
  const [first] = processes as [DenoProcess];
  return {
    url: first.url,
    emulator: (path, init) => fetch(new URL(path, emulatorUrl), init),
    output: () => first.output(),
    restart: () => first.restart(),
    processes,
    kvPath,
    dispose: async () => {
      await stopAll();
      await mf.dispose();
      if (kvDir) rmSync(kvDir, { recursive: true, force: true });
    },
  };
}
