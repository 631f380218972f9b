// `npm run bench -- cost`: what one trigger, one receiver creation and one registry push cost on
// Cloudflare, counted in workerd by bench/cost-worker.ts (the service's own classes, wrapped to
// count) and priced at Cloudflare's published rates. See docs/performance.md, "What an operation
// costs on Cloudflare".
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { bundle, serviceWorkers } from "../scripts/local-workers.mjs";
import { round, scaleUp } from "./client.mjs";
import { PRICES, priceOf } from "./prices.mjs";

const OUT_DIR = ".wrangler/bench-cost";
const PROJECT = "1a5";
const AUTHORIZATION = `Basic ${Buffer.from("dev-access:dev-secret").toString("base64")}`;
/** An alarm set further ahead than this is not waited for; the operation is over without it. */
const ALARM_HORIZON_MS = 30_000;
const SETTLE_TIMEOUT_MS = 120_000;

/** What one operation used, from the counts of one window. */
function usageOf(before, after, cattleBefore, cattleAfter) {
  const objects = after.objects;
  const sum = (pick) => objects.reduce((total, object) => total + pick(object), 0);
  const rpcByMethod = {};
  for (const object of objects) {
    for (const [method, count] of Object.entries(object.rpc)) {
      const name = `${object.className}.${method}`;
      rpcByMethod[name] = (rpcByMethod[name] ?? 0) + count;
    }
  }
  const setAlarms = sum((object) => object.setAlarms);
  return {
    workerRequests: after.workerRequests - before.workerRequests,
    objectRpcCalls: sum((object) => Object.values(object.rpc).reduce((a, b) => a + b, 0)),
    objectAlarms: sum((object) => object.alarms),
    rpcByMethod,
    objectsActive: objects.filter((object) => object.activeMs > 0 || Object.keys(object.rpc).length > 0)
      .length,
    objectActiveMs: sum((object) => object.activeMs),
    objectSpanMs: sum((object) => object.spanMs),
    rowsRead: sum((object) => object.rowsRead),
    // Each setAlarm() bills as one row written.
    rowsWritten: sum((object) => object.rowsWritten) + setAlarms,
    setAlarms,
    kvReads: after.kv.reads - before.kv.reads,
    kvWrites: after.kv.writes - before.kv.writes,
    kvDeletes: after.kv.deletes - before.kv.deletes,
    kvLists: after.kv.lists - before.kv.lists,
    cattleCalls: cattleAfter.total - cattleBefore.total,
  };
}

const MEASURED = [
  "workerRequests",
  "objectRpcCalls",
  "objectAlarms",
  "objectActiveMs",
  "objectSpanMs",
  "rowsRead",
  "rowsWritten",
  "setAlarms",
  "kvReads",
  "kvWrites",
  "kvDeletes",
  "kvLists",
  "cattleCalls",
];

function meanOf(samples) {
  const mean = {};
  for (const key of MEASURED) {
    mean[key] = round(samples.reduce((total, sample) => total + sample[key], 0) / samples.length, 3);
  }
  return mean;
}

/**
 * What every measured operation must show, whatever it costs: one Worker request, at least one
 * object call, and a row written (each decided trigger is recorded; a receiver is registered with
 * its target). Counts that break these mean the counting broke, not that the service got cheaper.
 */
function usageProblem(operation, usage) {
  if (usage.workerRequests !== 1) return `${usage.workerRequests} Worker requests counted, not 1`;
  if (usage.objectRpcCalls < 1) return "no Durable Object call counted";
  if (usage.rowsWritten < 1) return "no row written counted";
  return operation.usage?.(usage);
}

class CostBench {
  constructor(mf, url) {
    this.mf = mf;
    this.url = url;
  }

  async service(path, init = {}) {
    const response = await fetch(new URL(path, this.url), init);
    const text = await response.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  }

  async emulator(path, init = {}) {
    const worker = await this.mf.getWorker("cattle-emulator");
    const response = await worker.fetch(`http://127.0.0.1:8788${path}`, init);
    const text = await response.text();
    if (!response.ok) throw new Error(`emulator ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  counts = async () => (await this.service("/_bench/cost")).json;

  async createService(name, image, labels) {
    const created = await this.emulator(`/v2-beta/projects/${PROJECT}/services`, {
      method: "POST",
      headers: { authorization: AUTHORIZATION, "content-type": "application/json" },
      body: JSON.stringify({ name, scale: 1, launchConfig: { imageUuid: image, labels } }),
    });
    for (let i = 0; i < 200; i++) {
      const service = await this.emulator(`/v2-beta/projects/${PROJECT}/services/${created.id}`, {
        headers: { authorization: AUTHORIZATION },
      });
      if (service.state === "active" && service.transitioning !== "yes") return service;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`service ${name} stayed in transition`);
  }

  async createReceiver(body) {
    const response = await this.service(`/v1-webhooks/receivers?projectId=${PROJECT}`, {
      method: "POST",
      headers: { authorization: AUTHORIZATION, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`create receiver: ${response.status} ${response.text}`);
    const { pathname, search } = new URL(response.json.url);
    return { id: response.json.id, path: `${pathname}${search}`, response };
  }

  post(path, body, headers = {}) {
    return this.service(path, {
      method: "POST",
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async executions(receiverId) {
    const response = await this.service(
      `/v1-webhooks/receivers/${receiverId}/executions?projectId=${PROJECT}`,
      { headers: { authorization: AUTHORIZATION } },
    );
    return response.json.data;
  }

  /**
   * Waits until the operation is over: no request in the Worker, no event in any object, no alarm
   * due within ALARM_HORIZON_MS, and the counts unchanged over two looks in a row.
   */
  async settled() {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    let previous;
    for (;;) {
      const counts = await this.counts();
      const busy =
        counts.workerInFlight > 0 ||
        counts.objects.some(
          (object) =>
            object.inFlight > 0 ||
            (object.alarmAt !== null && object.alarmAt - counts.now < ALARM_HORIZON_MS),
        );
      const signature = JSON.stringify([
        counts.workerRequests,
        counts.kv,
        counts.objects.map((object) => [object.rpc, object.alarms, object.rowsWritten, object.rowsRead]),
      ]);
      if (!busy && signature === previous) return counts;
      previous = busy ? undefined : signature;
      if (Date.now() > deadline) throw new Error("the operation did not settle");
      await new Promise((resolve) => setTimeout(resolve, busy ? 50 : 150));
    }
  }

  /** Runs `operation` alone and answers what it used, with what `operation` answered. */
  async measure(operation) {
    await this.settled();
    const before = (await this.service("/_bench/cost/reset", { method: "POST" })).json;
    const cattleBefore = await this.emulator("/_emulator/stats");
    const answer = await operation();
    const after = await this.settled();
    const cattleAfter = await this.emulator("/_emulator/stats");
    return { answer, usage: usageOf(before, after, cattleBefore, cattleAfter) };
  }
}

/**
 * Each operation: a set-up (not measured), then `repeats` measured runs after one unmeasured run
 * (which builds the code paths and the objects), each checked against what it must answer.
 */
async function operations(bench, { repeats, upgrades, runId }) {
  await bench.emulator("/_emulator/reset", { method: "POST" });
  const scaleReceiver = (name, config) =>
    bench.createReceiver({ name: `${name}-${runId}`, driver: "scaleService", scaleServiceConfig: config });

  const applied = await scaleReceiver("cost-applied", scaleUp("1s1"));
  const limited = await bench.createService(`cost-limit-${runId}`, "docker:nginx:1.25", {});
  const atLimit = await scaleReceiver("cost-limit", scaleUp(limited.id, { max: 1 }));
  const cooled = await bench.createService(`cost-cooldown-${runId}`, "docker:nginx:1.25", {});
  const cooling = await scaleReceiver("cost-cooldown", scaleUp(cooled.id, { cooldownSeconds: 3600 }));
  const first = await bench.post(cooling.path);
  if (first.json?.outcome !== "applied") throw new Error(`cooldown set-up: ${first.status} ${first.text}`);

  const label = `cost-${runId}`;
  const upgraded = await bench.createService(`cost-api-${runId}`, "docker:costorg/api:1.0.0", { app: label });
  const pushes = await bench.createReceiver({
    name: `cost-push-${runId}`,
    driver: "serviceUpgrade",
    serviceUpgradeConfig: {
      serviceSelector: { app: label },
      tag: "*",
      payloadFormat: "dockerhub",
      batchSize: 1,
      intervalMillis: 100,
      // The new containers are watched for a second (the emulator's health checks pass in 300 ms).
      healthySeconds: 1,
    },
  });
  let pushed = 0;
  const push = (repository, tag) => {
    pushed++;
    const [namespace, name] = repository.split("/");
    return bench.post(pushes.path, {
      callback_url: `https://registry.hub.docker.com/u/${repository}/hook/${runId}${pushed}/`,
      push_data: { pushed_at: 1_795_428_000 + pushed, pusher: "ci-bot", tag, images: [] },
      repository: {
        repo_name: repository,
        name,
        namespace,
        owner: namespace,
        status: "Active",
        is_private: true,
        repo_url: `https://hub.docker.com/r/${repository}`,
      },
    });
  };
  let minor = 0;
  let created = 0;
  let delivery = 0;

  const expectOutcome = (status, outcome) => (response) =>
    response.status === status && response.json?.outcome === outcome
      ? undefined
      : `answered ${response.status} ${response.json?.outcome ?? response.text.slice(0, 200)}, not ${status} ${outcome}`;

  return [
    {
      name: "scale trigger that applies",
      answer: "200 applied",
      repeats,
      run: () => bench.post(applied.path),
      check: expectOutcome(200, "applied"),
    },
    {
      name: "scale trigger at a limit",
      answer: "200 noop",
      repeats,
      run: () => bench.post(atLimit.path),
      check: expectOutcome(200, "noop"),
    },
    {
      name: "scale trigger in cooldown",
      answer: "200 cooldown",
      repeats,
      run: () => bench.post(cooling.path),
      check: expectOutcome(200, "cooldown"),
      // "Cattle is not called" (README, what a trigger is answered).
      usage: (usage) =>
        usage.cattleCalls === 0 ? undefined : `${usage.cattleCalls} Cattle calls in cooldown`,
    },
    {
      name: "repeated delivery (same Idempotency-Key)",
      answer: "200 deduplicated",
      repeats,
      // The first delivery of each key is set-up; only its repeat is measured.
      prepare: async () => {
        delivery++;
        const key = `cost-${runId}-${delivery}`;
        const firstDelivery = await bench.post(applied.path, undefined, { "idempotency-key": key });
        if (firstDelivery.json?.outcome !== "applied")
          throw new Error(`deduplication set-up: ${firstDelivery.text}`);
        return key;
      },
      run: (key) => bench.post(applied.path, undefined, { "idempotency-key": key }),
      check: expectOutcome(200, "deduplicated"),
      usage: (usage) =>
        usage.cattleCalls === 0 ? undefined : `${usage.cattleCalls} Cattle calls for a repeat`,
    },
    {
      name: "receiver created (scaleService)",
      answer: "201",
      repeats,
      run: async () => {
        created++;
        return (await scaleReceiver(`cost-created-${created}`, scaleUp("1s1"))).response;
      },
      check: (response) => (response.status === 201 ? undefined : `answered ${response.status}`),
      // One record in KV per receiver (docs/storage.md).
      usage: (usage) => (usage.kvWrites === 1 ? undefined : `${usage.kvWrites} KV writes, not 1`),
    },
    {
      name: "registry push, one service upgraded to the end",
      answer: "202 queued, then applied",
      repeats: upgrades,
      run: () => {
        minor++;
        return push("costorg/api", `1.${minor}.0`);
      },
      check: expectOutcome(202, "queued"),
      // The upgrade is followed by alarms, and Cattle is asked to upgrade and to finish it.
      usage: (usage) =>
        usage.objectAlarms >= 1 && usage.cattleCalls >= 3
          ? undefined
          : `${usage.objectAlarms} alarms and ${usage.cattleCalls} Cattle calls for an upgrade`,
      // Once it has settled, the upgrade must have ended: the execution applied, the image changed.
      after: async () => {
        const [latest] = await bench.executions(pushes.id);
        if (latest?.outcome !== "applied" || !latest.finished)
          return `the upgrade's execution is ${latest?.outcome}, not applied with a finished time`;
        const service = await bench.emulator(`/v2-beta/projects/${PROJECT}/services/${upgraded.id}`, {
          headers: { authorization: AUTHORIZATION },
        });
        const image = `docker:costorg/api:1.${minor}.0`;
        return service.launchConfig.imageUuid === image && service.state === "active"
          ? undefined
          : `the service runs ${service.launchConfig.imageUuid} (${service.state}), not ${image}`;
      },
    },
    {
      name: "registry push that matches no service",
      answer: "200 ignored",
      repeats,
      run: () => push("costorg/nothing-runs-this", "1.0.0"),
      check: expectOutcome(200, "ignored"),
    },
  ];
}

/** Starts the metered service and the emulator, measures every operation, and stops them. */
export async function cost({ repeats, upgrades }) {
  const [hooks, emulator] = await serviceWorkers(OUT_DIR, "bench-cost");
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      cf: false,
      log: process.env.BENCH_LOG ? new Log(LogLevel.DEBUG) : undefined,
      workers: [{ ...hooks, scriptPath: bundle("bench/cost-worker.ts", OUT_DIR, "hooks-metered") }, emulator],
    }),
  );
  const stop = () => void mf.dispose().finally(() => process.exit(130));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const problems = [];
  try {
    const bench = new CostBench(mf, await mf.ready);
    const runId = Date.now().toString(36);
    const measured = [];
    for (const operation of await operations(bench, { repeats, upgrades, runId })) {
      process.stdout.write(`cost: ${operation.name} … `);
      const samples = [];
      for (let i = 0; i <= operation.repeats; i++) {
        const prepared = await operation.prepare?.();
        const { answer, usage } = await bench.measure(() => operation.run(prepared));
        const problem =
          operation.check(answer) ?? (await operation.after?.()) ?? usageProblem(operation, usage);
        if (problem) problems.push(`cost, ${operation.name}: ${problem}`);
        // The first run warms the code paths and the objects up; it is not counted.
        if (i > 0) samples.push(usage);
      }
      const mean = meanOf(samples);
      const usd = priceOf(mean);
      console.log(`$${round(usd.total, 3)} per million`);
      measured.push({
        name: operation.name,
        answer: operation.answer,
        samples: samples.length,
        mean,
        objectActiveMs: {
          min: Math.min(...samples.map((sample) => sample.objectActiveMs)),
          max: Math.max(...samples.map((sample) => sample.objectActiveMs)),
        },
        rpcByMethod: samples[samples.length - 1]?.rpcByMethod ?? {},
        usdPerMillion: Object.fromEntries(Object.entries(usd).map(([key, value]) => [key, round(value, 4)])),
      });
    }
    return { prices: PRICES, repeats, upgrades, operations: measured, problems };
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await mf.dispose();
  }
}

const money = (usd) => (usd >= 1 ? usd.toFixed(2) : usd.toFixed(3));

/** The cost tables as Markdown: printed by every run, written into the docs by a full one. */
export function costMarkdown(result, { generatedAt }) {
  const table = (headers, rows) => {
    const widths = headers.map((header, i) =>
      Math.max(header.length, ...rows.map((row) => String(row[i]).length)),
    );
    const line = (cells) => `| ${cells.map((cell, i) => String(cell).padEnd(widths[i])).join(" | ")} |`;
    return [line(headers), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
  };
  const { prices } = result;
  const usage = table(
    [
      "operation",
      "answer",
      "Worker requests",
      "DO RPC calls",
      "DO alarms",
      "DO active ms (span)",
      "rows read",
      "rows written",
      "KV reads / writes / lists",
      "Cattle calls",
      "$ per million",
    ],
    result.operations.map((operation) => [
      operation.name,
      operation.answer,
      operation.mean.workerRequests,
      operation.mean.objectRpcCalls,
      operation.mean.objectAlarms,
      `${operation.mean.objectActiveMs} (${operation.mean.objectSpanMs})`,
      operation.mean.rowsRead,
      operation.mean.rowsWritten,
      `${operation.mean.kvReads} / ${operation.mean.kvWrites + operation.mean.kvDeletes} / ${operation.mean.kvLists}`,
      operation.mean.cattleCalls,
      money(operation.usdPerMillion.total),
    ]),
  );
  const split = table(
    [
      "operation",
      "Worker requests",
      "DO requests",
      "DO duration",
      "rows read",
      "rows written",
      "KV",
      "total",
    ],
    result.operations.map((operation) => {
      const usd = operation.usdPerMillion;
      return [
        operation.name,
        money(usd.workerRequests),
        money(usd.objectRequests),
        money(usd.objectDuration),
        money(usd.rowsRead),
        money(usd.rowsWritten),
        money(usd.kv),
        money(usd.total),
      ];
    }),
  );
  return [
    `Run of ${generatedAt.slice(0, 10)}: means per operation over ${result.repeats} runs (${result.upgrades} for the upgrade), after one unmeasured run of each; prices of ${prices.source} (updated ${prices.sourceUpdated}, seen ${prices.seen}).`,
    "",
    usage,
    "",
    "US dollars per million operations, by what Cloudflare bills (beyond the plan's included amounts)",
    "",
    split,
  ].join("\n");
}
