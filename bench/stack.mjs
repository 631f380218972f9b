// The service, the Cattle emulator and a small in-workerd timing driver, started with Miniflare on
// a free loopback port. The same workers as test/e2e/local-stack.ts, plus the driver, which reaches
// the service through a service binding so that in-worker time can be measured without a network
// hop or a test harness in between.
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { serviceWorkers } from "../scripts/local-workers.mjs";

const OUT_DIR = ".wrangler/bench";

/**
 * Runs `samples` runs of `perSample` sequential calls and answers the duration of each run divided
 * by `perSample`. workerd's clock ticks in whole milliseconds, so one sub-millisecond call cannot
 * be timed alone; a run of them can, to 1 ms / perSample. A call is a request to the service (or,
 * with `emulator`, to the emulator) through a service binding; with `object`, the target Durable
 * Object's trigger() alone; with `probe`, a call to a bare object that reads or writes one row.
 */
const DRIVER = `
import { DurableObject } from "cloudflare:workers";

/** A bare SQLite-backed object: what an object call costs with and without a write. */
export class Probe extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT)");
  }
  read() {
    return this.ctx.storage.sql.exec("SELECT seq FROM rows ORDER BY seq DESC LIMIT 1").toArray().length;
  }
  write(body) {
    this.ctx.storage.sql.exec("INSERT INTO rows (body) VALUES (?)", body);
  }
}

const ROW = "x".repeat(300);

async function once(env, call) {
  if (call.probe) {
    const probe = env.PROBE.getByName("probe");
    await (call.probe === "write" ? probe.write(ROW) : probe.read());
    return;
  }
  if (call.object) {
    const { target, receiverId, version, outcome } = call.object;
    const result = await env.TARGETS.getByName(target).trigger(receiverId, version, {});
    const got = result.kind === "decided" ? result.execution.outcome : result.kind;
    if (got !== outcome) throw new Error("expected " + outcome + ", got " + got);
    return;
  }
  const worker = call.emulator ? env.EMULATOR : env.HOOKS;
  const response = await worker.fetch(new Request(call.url, { method: call.method, headers: call.headers }));
  await response.arrayBuffer();
  if (response.status !== call.status) throw new Error("expected " + call.status + ", got " + response.status);
}

export default {
  async fetch(request, env) {
    const call = await request.json();
    const perCall = [];
    try {
      for (let s = 0; s < call.samples; s++) {
        const start = performance.now();
        for (let i = 0; i < call.perSample; i++) await once(env, call);
        perCall.push((performance.now() - start) / call.perSample);
      }
    } catch (error) {
      return Response.json({ error: String(error) }, { status: 500 });
    }
    return Response.json({ perCall });
  },
};
`;

export async function startStack({ inspect = false } = {}) {
  const [hooks, emulator] = await serviceWorkers(OUT_DIR, "bench");
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      // The placeholder `cf` object: nothing is fetched from outside loopback.
      cf: false,
      ...(inspect ? { inspectorPort: 0 } : {}),
      log: process.env.BENCH_LOG ? new Log(LogLevel.DEBUG) : undefined,
      workers: [
        hooks,
        emulator,
        {
          name: "bench-driver",
          modules: true,
          script: DRIVER,
          compatibilityDate: hooks.compatibilityDate,
          serviceBindings: { HOOKS: "rancher-hooks", EMULATOR: "cattle-emulator" },
          durableObjects: {
            TARGETS: { className: "TargetObject", scriptName: "rancher-hooks" },
            PROBE: { className: "Probe", useSQLite: true },
          },
        },
      ],
    }),
  );
  const url = await mf.ready;
  const emulatorWorker = await mf.getWorker("cattle-emulator");
  const driverWorker = await mf.getWorker("bench-driver");
  return {
    /** Where the service listens, e.g. http://127.0.0.1:41234 */
    url,
    /** A request to the emulator, which the service reaches as http://127.0.0.1:8788. */
    emulator: (path, init) => emulatorWorker.fetch(`http://127.0.0.1:8788${path}`, init),
    /** Times sequential calls inside workerd; see DRIVER. */
    async timeInWorkerd(options) {
      const response = await driverWorker.fetch("http://driver/", {
        method: "POST",
        body: JSON.stringify(options),
      });
      const result = await response.json();
      if (!response.ok) throw new Error(`driver: ${result.error}`);
      return result.perCall;
    },
    /** The service's bundle, unminified: what a profile's lines point into. */
    hooksBundle: hooks.scriptPath,
    /** With `inspect`, the DevTools protocol address of the service's isolate. */
    inspector: async () => new URL("/core:user:rancher-hooks", (await mf.getInspectorURL()).href),
    dispose: () => mf.dispose(),
  };
}
