// Side by side with the original: this service and, when its binary is given, Rancher's own
// webhook-service (Go), against the same cheap Cattle stub (bench/cattle-stub.mjs) at the same
// Cattle latency, under the same loads. For each: the CPU its own process used per trigger (from
// /proc, so nothing inside the process decides it), latency, throughput, Cattle calls per trigger,
// and whether every trigger's step reached Cattle.
//
// The service runs two ways. In workerd with a socket of its own (Miniflare's `unsafeDirectSockets`,
// so requests reach the Worker as Cloudflare's edge hands them over, without Miniflare's entry
// worker in between): that process's CPU is the Worker's. And under `wrangler dev`, as `npm run dev`
// runs it, where every process of the harness is measured on its own line: the workerd that holds
// the Worker (behind Miniflare's entry worker), the proxy workerd in front of it that holds the
// port, and wrangler's node; so that the harness's cost is never taken for the Worker's.
//
// Beside them, workerd's own floor under the same loads: a bare Worker that answers, one that
// calls a Durable Object, and one whose object writes a row (FLOOR below).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { serviceWorkers } from "../scripts/local-workers.mjs";
import { newSigningKeySet } from "../scripts/signing-key.mjs";
import { Client, percentile, round } from "./client.mjs";
import { cpuNanoseconds, descendants, listenerOf, startGroup } from "./processes.mjs";

const PROJECT = "1a5";
const SERVICE = "1s1";
const BASIC = `Basic ${Buffer.from("bench-access:bench-secret").toString("base64")}`;
/** The original listens here and nowhere else (its main.go). */
const ORIGINAL_PORT = 8085;

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function json(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${response.status}: ${text.slice(0, 300)}`);
  }
}

async function until(what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // Not up yet.
    }
    if (Date.now() > deadline) throw new Error(`${what} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The Cattle stub, in its own process. */
export async function startStub() {
  const group = startGroup(process.execPath, ["bench/cattle-stub.mjs"], {
    matches: (line) => line.startsWith("{"),
  });
  const { port } = JSON.parse(await group.ready);
  const url = `http://127.0.0.1:${port}`;
  const call = async (path, body) =>
    json(await fetch(`${url}${path}`, body ? { method: "POST", body: JSON.stringify(body) } : {}));
  return {
    url,
    pid: group.child.pid,
    stop: group.stop,
    stats: () => call("/_stub/stats"),
    setDelay: (delayMs) => call("/_stub/config", { delayMs }),
    scale: async () => (await call("/_stub/stats")).services[SERVICE].scale,
  };
}

/** A receiver of this service that scales 1s1 up by one, with no limit a benchmark reaches. */
async function createOurs(base) {
  const response = await fetch(`${base}/v1-webhooks/receivers?projectId=${PROJECT}`, {
    method: "POST",
    headers: { authorization: BASIC, "content-type": "application/json" },
    body: JSON.stringify({
      name: `versus-${Date.now().toString(36)}`,
      driver: "scaleService",
      scaleServiceConfig: {
        serviceId: SERVICE,
        action: "up",
        amount: 1,
        min: 1,
        max: 1_000_000,
        maxTriggersPerMinute: 100_000,
      },
    }),
  });
  const receiver = await json(response);
  if (response.status !== 201) throw new Error(`creating a receiver: ${JSON.stringify(receiver)}`);
  return new URL(receiver.url).pathname + new URL(receiver.url).search;
}

/**
 * A worker in workerd through Miniflare, on a socket of the worker itself, as Cloudflare's edge
 * hands a Worker its requests: Miniflare's own entry worker, which its port goes through, is the
 * harness and not measured. Answers its address, its workerd's pid and how to stop it.
 */
async function onOwnSocket(worker) {
  const direct = await freePort();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: await freePort(),
      cf: false,
      workers: [{ ...worker, unsafeDirectSockets: [{ host: "127.0.0.1", port: direct }] }],
    }),
  );
  await mf.ready;
  const pid = listenerOf(direct);
  if (pid === undefined) throw new Error(`no process listens on port ${direct}`);
  return { url: `http://127.0.0.1:${direct}`, pid, stop: () => mf.dispose() };
}

/** The service on its own workerd socket: that workerd process is the Worker's. */
export async function startPlain(stub) {
  const [hooks] = await serviceWorkers(".wrangler/bench-versus", "versus");
  const { outboundService: _emulator, ...worker } = hooks;
  const { url, pid, stop } = await onOwnSocket({
    ...worker,
    bindings: { ...worker.bindings, CATTLE_URL: stub.url },
  });
  return {
    name: "this service, its own workerd socket",
    url,
    processes: { "Worker's workerd": [pid] },
    path: await createOurs(url),
    stop,
  };
}

/** The service under `wrangler dev`, each process of the harness told apart (see the top). */
async function startWranglerDev(stub) {
  const dir = mkdtempSync(`${os.tmpdir()}/versus-dev-`);
  const envFile = `${dir}/.env`;
  writeFileSync(
    envFile,
    [
      "CATTLE_ACCESS_KEY=service-access",
      "CATTLE_SECRET_KEY=service-secret",
      `WEBHOOK_SIGNING_KEYS=${JSON.stringify(await newSigningKeySet("versus-dev"))}`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const group = startGroup(
    process.execPath,
    [
      "node_modules/wrangler/bin/wrangler.js",
      "dev",
      "--port",
      String(port),
      "--inspector-port",
      String(await freePort()),
      "--ip",
      "127.0.0.1",
      "--env-file",
      envFile,
      "--var",
      `CATTLE_URL:${stub.url}`,
      "--persist-to",
      `${dir}/state`,
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
    ],
    { env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" }, matches: () => false },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await until("wrangler dev", async () => (await fetch(`${url}/v1-webhooks`)).status < 500, 90_000);
  } catch (error) {
    await group.stop();
    throw new Error(`${error.message}\n${group.output()}`);
  }
  const tree = descendants(group.child.pid);
  const proxy = listenerOf(port);
  const workerd = tree.filter((p) => p.name === "workerd");
  if (workerd.length !== 2 || !workerd.some((p) => p.pid === proxy)) {
    await group.stop();
    throw new Error(`wrangler dev: expected two workerd, one holding port ${port}`);
  }
  return {
    name: "this service, wrangler dev",
    url,
    processes: {
      "Worker's workerd": workerd.filter((p) => p.pid !== proxy).map((p) => p.pid),
      "proxy workerd": [proxy],
      "wrangler (node)": [group.child.pid, ...tree.filter((p) => p.name !== "workerd").map((p) => p.pid)],
    },
    path: await createOurs(url),
    async stop() {
      await group.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The original webhook-service v0.9.15, built from its source (see docs/performance.md). */
async function startOriginal(binary, stub) {
  const { generateKeyPairSync } = await import("node:crypto");
  const dir = mkdtempSync(`${os.tmpdir()}/versus-original-`);
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(`${dir}/private.pem`, privateKey.export({ type: "pkcs1", format: "pem" }));
  writeFileSync(`${dir}/public.pem`, publicKey.export({ type: "spki", format: "pem" }));
  const group = startGroup(
    binary,
    ["--rsa-private-key-file", `${dir}/private.pem`, "--rsa-public-key-file", `${dir}/public.pem`],
    {
      env: {
        CATTLE_URL: `${stub.url}/v2-beta`,
        CATTLE_ACCESS_KEY: "service-access",
        CATTLE_SECRET_KEY: "service-secret",
      },
      matches: () => false,
    },
  );
  const url = `http://127.0.0.1:${ORIGINAL_PORT}`;
  try {
    await until("the original", async () => (await fetch(`${url}/v1-webhooks/schemas`)).ok, 30_000);
  } catch (error) {
    await group.stop();
    throw new Error(`${error.message}\n${group.output()}`);
  }
  const response = await fetch(`${url}/v1-webhooks/receivers?projectId=${PROJECT}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      name: "versus",
      driver: "scaleService",
      scaleServiceConfig: { serviceId: SERVICE, action: "up", amount: 1, min: 1, max: 1_000_000 },
    }),
  });
  const receiver = await json(response);
  if (!receiver.url) throw new Error(`the original did not create a receiver: ${JSON.stringify(receiver)}`);
  const trigger = new URL(receiver.url);
  return {
    name: "webhook-service v0.9.15 (Go)",
    url,
    processes: { "the Go process": [group.child.pid] },
    path: trigger.pathname + trigger.search,
    async stop() {
      await group.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What workerd itself costs, for scale: a bare Worker on its own socket that answers at once, that
 * calls a Durable Object which reads nothing, and that calls one which writes one row (a trigger's
 * execution is such a row). Nothing of this service runs in it.
 */
const FLOOR = `
import { DurableObject } from "cloudflare:workers";
export class Floor extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT)");
  }
  call() { return { kind: "decided" }; }
  record(body) {
    this.ctx.storage.sql.exec("INSERT INTO rows (body) VALUES (?)", body);
    return { kind: "decided" };
  }
}
const ROW = "x".repeat(300);
export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/answer") return Response.json({ type: "execution" });
    const floor = env.FLOOR.getByName("floor");
    return Response.json(path === "/record" ? await floor.record(ROW) : await floor.call());
  },
};`;

async function startFloor() {
  const { url, pid, stop } = await onOwnSocket({
    name: "floor",
    modules: true,
    script: FLOOR,
    compatibilityDate: "2026-04-20",
    durableObjects: { FLOOR: { className: "Floor", useSQLite: true } },
  });
  const variant = (name, path) => ({ name, url, path, floor: true, processes: { workerd: [pid] } });
  return {
    targets: [
      variant("workerd floor: a bare Worker that answers", "/answer"),
      variant("workerd floor: + a Durable Object call", "/call"),
      variant("workerd floor: + a Durable Object call that writes one row", "/record"),
    ],
    stop,
  };
}

const cpuOf = (pids) => pids.reduce((sum, pid) => sum + cpuNanoseconds(pid), 0);

/**
 * One load against one service: `senders` closed-loop senders sending `triggers` in all, or (with
 * `senders` equal to `triggers`) every trigger in flight at once, each on its own connection.
 */
export async function load(target, stub, { senders, triggers }) {
  const client = new Client(target.url, senders, { keepAlive: senders < triggers });
  // A few triggers first, so that nothing measured pays for a first compilation or connection.
  for (let i = 0; i < 5; i++) await client.request(target.path, { method: "POST" });
  const scaleBefore = await stub.scale();
  const statsBefore = await stub.stats();
  const cpuBefore = Object.fromEntries(
    Object.entries(target.processes).map(([role, pids]) => [role, cpuOf(pids)]),
  );
  const stubCpuBefore = cpuNanoseconds(stub.pid);
  const latencies = [];
  const statuses = {};
  let sent = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (sent < triggers) {
        sent++;
        const response = await client.request(target.path, { method: "POST" });
        latencies.push(response.ms);
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpuMsPerTrigger = Object.fromEntries(
    Object.entries(target.processes).map(([role, pids]) => [
      role,
      round((cpuOf(pids) - cpuBefore[role]) / 1e6 / triggers, 3),
    ]),
  );
  const stubCpuMs = (cpuNanoseconds(stub.pid) - stubCpuBefore) / 1e6;
  // Settled: a step still on its way to Cattle would be counted as lost.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const scaleAfter = await stub.scale();
  client.close();
  const statsAfter = await stub.stats();
  const calls = statsAfter.total - statsBefore.total;
  const reads = (statsAfter.byMethod.GET ?? 0) - (statsBefore.byMethod.GET ?? 0);
  return {
    senders,
    triggers,
    statuses,
    triggersPerSecond: round(triggers / seconds, 0),
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p95: round(percentile(latencies, 95)),
      p99: round(percentile(latencies, 99)),
    },
    cpuMsPerTrigger,
    stubCpuMsPerTrigger: round(stubCpuMs / triggers, 3),
    cattleCallsPerTrigger: round(calls / triggers, 3),
    cattleReadsPerTrigger: round(reads / triggers, 3),
    // A floor target scales nothing.
    stepsLost: target.floor ? 0 : triggers - (scaleAfter - scaleBefore),
  };
}

/** The median of every number of a load's results over rounds; statuses and steps lost are summed. */
function combine(results) {
  const [first] = results;
  const med = (pick) => round(percentile(results.map(pick), 50), 3);
  return {
    senders: first.senders,
    triggers: first.triggers,
    rounds: results.length,
    statuses: results.reduce((sum, result) => {
      for (const [status, count] of Object.entries(result.statuses)) sum[status] = (sum[status] ?? 0) + count;
      return sum;
    }, {}),
    triggersPerSecond: med((result) => result.triggersPerSecond),
    latencyMs: {
      p50: med((result) => result.latencyMs.p50),
      p95: med((result) => result.latencyMs.p95),
      p99: med((result) => result.latencyMs.p99),
    },
    cpuMsPerTrigger: Object.fromEntries(
      Object.keys(first.cpuMsPerTrigger).map((role) => [role, med((result) => result.cpuMsPerTrigger[role])]),
    ),
    stubCpuMsPerTrigger: med((result) => result.stubCpuMsPerTrigger),
    cattleCallsPerTrigger: med((result) => result.cattleCallsPerTrigger),
    cattleReadsPerTrigger: med((result) => result.cattleReadsPerTrigger),
    stepsLost: results.reduce((sum, result) => sum + result.stepsLost, 0),
  };
}

/**
 * Every target under every load at `delayMs` of Cattle latency, `rounds` times. All targets are
 * started first (an idle one uses no CPU), then the rounds take turns between them, so that a busy
 * spell of the machine falls on all of them alike; each number is the median over the rounds.
 */
export async function versus({ original, delayMs, loads, rounds }) {
  const starts = [startPlain, startWranglerDev];
  if (original) starts.push((stub) => startOriginal(original, stub));
  const running = [];
  const stops = [];
  try {
    for (const start of starts) {
      const stub = await startStub();
      stops.push(stub.stop);
      const target = await start(stub);
      stops.push(target.stop);
      await stub.setDelay(delayMs);
      running.push({ stub, target });
    }
    const stub = await startStub();
    stops.push(stub.stop);
    const floor = await startFloor();
    stops.push(floor.stop);
    for (const target of floor.targets) running.push({ stub, target });

    const results = new Map();
    for (let r = 0; r < rounds; r++) {
      for (const { stub, target } of running) {
        for (const shape of loads) {
          const key = `${target.name}\n${shape.senders}`;
          const result = await load(target, stub, shape);
          results.set(key, [...(results.get(key) ?? []), result]);
        }
      }
      console.log(`versus: round ${r + 1} of ${rounds}`);
    }
    return running.flatMap(({ target }) =>
      loads.map((shape) => ({
        target: target.name,
        delayMs: target.floor ? 0 : delayMs,
        ...combine(results.get(`${target.name}\n${shape.senders}`)),
      })),
    );
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}
