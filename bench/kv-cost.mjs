// `npm run bench -- kv`: what a trigger costs in Deno KV when the objects live there (Deno Deploy,
// or any Deno server without DATA_DIR). The service's own app and objects (src/app.ts, `kvObjects`
// of src/platform/deno.ts) run in Node over `@deno/kv`, as two isolates sharing one KV, with
// the Cattle emulator under Miniflare as the `cost` scenario has it; every KV operation goes
// through a counting wrapper and is priced at Deno Deploy's published rates. See
// docs/deno-deploy.md, "What a trigger costs".
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { serialize } from "node:v8";
import { openKv } from "@deno/kv";
import { buildSync } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { emulatorWorker } from "../scripts/local-workers.mjs";
import { newSigningKeySet } from "../scripts/signing-key.mjs";
import { round, scaleUp } from "./client.mjs";
import { DENO_PRICES, denoPriceOf, readUnitsOf, writeUnitsOf } from "./prices.mjs";

const OUT_DIR = ".wrangler/bench-kv";
const PROJECT = "1a5";
const SERVICE = "1s1";
const ORIGIN = "http://hooks.bench";
const AUTHORIZATION = `Basic ${Buffer.from("dev-access:dev-secret").toString("base64")}`;
/** A window closes once the trigger's own KV work has stayed the same over this long. */
const QUIET_MS = 300;
/** An upgrade is followed by alarms up to 5 s apart: its window closes after longer than that. */
const ALARM_QUIET_MS = 6_000;
const SETTLE_TIMEOUT_MS = 60_000;

/** What the counts say, by kind; `work` is what triggers do, `holding` what a holder does anyway. */
const FIELDS = [
  "commits",
  "failedCommits",
  "mutations",
  "checks",
  "reads",
  "keysRead",
  "bytesRead",
  "bytesWritten",
  "readUnits",
  "writeUnits",
];
const zero = () => Object.fromEntries(FIELDS.map((field) => [field, 0]));

const keyBytes = (key) => Buffer.byteLength(JSON.stringify(key));
/** A value's size as KV stores it: bytes as they are, anything else V8-serialized. */
const valueBytes = (value) => (value instanceof Uint8Array ? value.length : serialize(value).length);
const entryBytes = (entry) => (entry.value === null ? 0 : keyBytes(entry.key) + valueBytes(entry.value));

/**
 * A KvLike (src/storage/kv/kv.ts) over `kv` that counts every operation. What a holder does
 * whether or not a trigger comes (its look for forwarded calls that finds none, the renewal of
 * its lease) is counted apart, as `holding`, so that a trigger's figures are its own.
 */
export class CountingKv {
  /** The latest lease value written under each lease key: a write of the same holder and epoch is a renewal. */
  #leases = new Map();

  constructor(kv) {
    this.kv = kv;
    this.reset();
  }

  reset() {
    this.counts = { work: zero(), holding: zero() };
  }

  #read(bucket, keys, bytes, units) {
    const counts = this.counts[bucket];
    counts.reads += 1;
    counts.keysRead += keys;
    counts.bytesRead += bytes;
    counts.readUnits += units;
  }

  async get(key) {
    const entry = await this.kv.get(key);
    const bytes = entryBytes(entry);
    this.#read("work", entry.value === null ? 0 : 1, bytes, readUnitsOf(bytes));
    return entry;
  }

  async getMany(keys) {
    const entries = await this.kv.getMany(keys);
    // Each key of a getMany is read as a get is.
    const bytes = entries.map(entryBytes);
    this.#read(
      "work",
      entries.filter((entry) => entry.value !== null).length,
      bytes.reduce((a, b) => a + b, 0),
      bytes.reduce((sum, size) => sum + readUnitsOf(size), 0),
    );
    return entries;
  }

  list(selector, options) {
    const entries = this.kv.list(selector, options);
    // A holder's look for calls: a list of the object's recent calls (from a start key), which
    // finding none is the cost of holding it, not of the work measured.
    const idlePoll = (selector.prefix ?? selector.start)?.[0] === "call";
    const counting = this;
    return {
      get cursor() {
        return entries.cursor;
      },
      async *[Symbol.asyncIterator]() {
        let keys = 0;
        let bytes = 0;
        try {
          for await (const entry of entries) {
            keys += 1;
            bytes += entryBytes(entry);
            yield entry;
          }
        } finally {
          counting.#read(idlePoll && keys === 0 ? "holding" : "work", keys, bytes, readUnitsOf(bytes));
        }
      },
    };
  }

  atomic() {
    const real = this.kv.atomic();
    const checks = [];
    const mutations = [];
    const atomic = {
      check: (...added) => {
        real.check(...added);
        checks.push(...added);
        return atomic;
      },
      set: (key, value, options) => {
        real.set(key, value, options);
        mutations.push({ key, value });
        return atomic;
      },
      delete: (key) => {
        real.delete(key);
        mutations.push({ key, value: null });
        return atomic;
      },
      commit: async () => {
        const result = await real.commit();
        this.#committed(checks, mutations, result.ok);
        return result;
      },
    };
    return atomic;
  }

  async set(key, value, options) {
    const result = await this.kv.set(key, value, options);
    this.#committed([], [{ key, value }], result.ok);
    return result;
  }

  async delete(key) {
    await this.kv.delete(key);
    this.#committed([], [{ key, value: null }], true);
  }

  #committed(checks, mutations, ok) {
    const lease = mutations.length === 1 && mutations[0].key[0] === "lease" ? mutations[0] : undefined;
    const id = lease && JSON.stringify(lease.key);
    const before = lease && this.#leases.get(id);
    const renewal =
      lease !== undefined &&
      lease.value !== null &&
      before !== undefined &&
      before.holder === lease.value.holder &&
      before.epoch === lease.value.epoch;
    if (lease && ok) {
      if (lease.value === null) this.#leases.delete(id);
      else this.#leases.set(id, lease.value);
    }
    const counts = this.counts[renewal ? "holding" : "work"];
    if (!ok) {
      counts.failedCommits += 1;
      return;
    }
    counts.commits += 1;
    counts.checks += checks.length;
    counts.mutations += mutations.length;
    for (const { key, value } of mutations) {
      const bytes = keyBytes(key) + (value === null ? 0 : valueBytes(value));
      counts.bytesWritten += bytes;
      counts.writeUnits += value === null ? 1 : writeUnitsOf(bytes);
    }
  }
}

/** The service's app and the KV objects' platform, bundled for Node from src/. */
async function serviceModules() {
  mkdirSync(OUT_DIR, { recursive: true });
  const outfile = `${OUT_DIR}/service.mjs`;
  buildSync({
    stdin: {
      contents:
        'export { createApp } from "./src/app";\nexport { DenoKvReceiverStore, kvObjects } from "./src/platform/deno";\n',
      resolveDir: process.cwd(),
      loader: "ts",
      sourcefile: "bench-kv-service.ts",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    outfile,
    logLevel: "warning",
  });
  return import(pathToFileURL(resolve(outfile)).href);
}

/** One isolate of the service: its app over its own objects, all sharing `kv`. */
function isolate(modules, kv, settings, name) {
  const objects = modules.kvObjects(kv, settings, name);
  const platform = { receivers: new modules.DenoKvReceiverStore(kv), ...objects };
  const app = modules.createApp(() => platform);
  const request = async (path, init = {}) => {
    const response = await app.fetch(new Request(`${ORIGIN}${path}`, init), settings);
    const text = await response.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  };
  return { name, objects, request };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the work counted has stayed the same for `quietMs`: trailing writes (a reply
 * forgotten, an upgrade's last alarm) included.
 */
async function settled(counting, quietMs = QUIET_MS) {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let previous = JSON.stringify(counting.counts.work);
  for (;;) {
    await sleep(quietMs);
    const now = JSON.stringify(counting.counts.work);
    if (now === previous) return;
    previous = now;
    if (Date.now() > deadline) throw new Error("KV work did not settle");
  }
}

/** Runs the scenarios and answers the mean counts per trigger of each. */
export async function kvCost({ repeats, burst, upgrades }) {
  const modules = await serviceModules();
  const mf = new Miniflare(
    convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, cf: false, workers: [emulatorWorker(OUT_DIR)] }),
  );
  const stop = () => void mf.dispose().finally(() => process.exit(130));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const kv = await openKv(":memory:");
  const isolates = [];
  const problems = [];
  try {
    const emulator = new URL(await mf.ready).origin;
    const emulatorCall = async (path, init = {}) => {
      const response = await fetch(`${emulator}${path}`, {
        ...init,
        headers: { authorization: AUTHORIZATION, "content-type": "application/json" },
      });
      if (!response.ok) throw new Error(`emulator ${path}: ${response.status} ${await response.text()}`);
      const text = await response.text();
      return text ? JSON.parse(text) : undefined;
    };
    await emulatorCall("/_emulator/reset", { method: "POST" });
    const settings = {
      CATTLE_URL: emulator,
      CATTLE_ACCESS_KEY: "service-access",
      CATTLE_SECRET_KEY: "service-secret",
      WEBHOOK_SIGNING_KEYS: JSON.stringify(await newSigningKeySet("bench-kv")),
      PUBLIC_URL: ORIGIN,
    };
    const counting = new CountingKv(kv);
    let generation = 0;
    const start = (label) => {
      const started = isolate(modules, counting, settings, `${label}-${++generation}`);
      isolates.push(started);
      return started;
    };
    let holder = start("a");
    const other = start("b");

    const created = await holder.request(`/v1-webhooks/receivers?projectId=${PROJECT}`, {
      method: "POST",
      headers: { authorization: AUTHORIZATION, "content-type": "application/json" },
      body: JSON.stringify({
        name: "bench-kv",
        driver: "scaleService",
        scaleServiceConfig: scaleUp(SERVICE),
      }),
    });
    if (created.status !== 201) throw new Error(`create receiver: ${created.status} ${created.text}`);
    const { pathname, search } = new URL(created.json.url);
    const trigger = (through) => through.request(`${pathname}${search}`, { method: "POST" });
    const expectApplied = (label, answers) => {
      const bad = answers.filter((answer) => answer.status !== 200 || answer.json?.outcome !== "applied");
      if (bad.length > 0) {
        problems.push(
          `kv, ${label}: ${bad.length} of ${answers.length} answers not 200 applied (${bad[0].status} ${bad[0].text})`,
        );
      }
      const tos = answers.map((answer) => answer.json?.to).sort((a, b) => a - b);
      if (!tos.every((to, i) => i === 0 || to === (tos[i - 1] ?? 0) + 1)) {
        problems.push(`kv, ${label}: the answers' to values are not one chain`);
      }
    };
    // The first trigger takes the target's lease and builds its code paths; not counted.
    expectApplied("warm-up", [await trigger(holder)]);

    /**
     * Counts what `run` does, per trigger: `triggers` answers, after the holder's own work settled.
     * `check` looks at the answers once the counts are taken; the window closes after `quietMs`
     * without KV work.
     */
    const measure = async (label, triggers, run, times, check = expectApplied, quietMs = QUIET_MS) => {
      const samples = [];
      for (let i = 0; i < times; i++) {
        await settled(counting, quietMs);
        counting.reset();
        const began = performance.now();
        const answers = await run();
        const ms = performance.now() - began;
        await settled(counting, quietMs);
        samples.push({ ...counting.counts.work, ms });
        await check(label, answers);
      }
      const mean = {};
      for (const field of [...FIELDS, "ms"]) {
        mean[field] = round(
          samples.reduce((sum, sample) => sum + sample[field], 0) / samples.length / triggers,
          2,
        );
      }
      const usd = denoPriceOf({ requests: 1, readUnits: mean.readUnits, writeUnits: mean.writeUnits });
      console.log(`kv: ${label}: $${round(usd.total, 2)} per million triggers`);
      return {
        name: label,
        triggers,
        samples: samples.length,
        mean,
        usdPerMillion: Object.fromEntries(Object.entries(usd).map(([key, value]) => [key, round(value, 3)])),
      };
    };

    const operations = [];
    operations.push(
      await measure(
        "trigger on the holder (one isolate, object in memory)",
        1,
        async () => [await trigger(holder)],
        repeats,
      ),
    );
    operations.push(
      await measure(
        "trigger forwarded from a second isolate to the holder",
        1,
        async () => [await trigger(other)],
        repeats,
      ),
    );
    // A cold start: the holder gives its objects up (a clean stop), and a new isolate takes the
    // target and reads its state back from KV to answer the next trigger.
    const coldSamples = [];
    for (let i = 0; i < repeats; i++) {
      await settled(counting);
      await holder.objects.close();
      holder = start("a");
      coldSamples.push(
        await measure(
          "trigger that takes the object and loads it from KV (cold start)",
          1,
          async () => [await trigger(holder)],
          1,
        ),
      );
    }
    operations.push(meanOfOperations(coldSamples));
    const half = Math.floor(burst / 2);
    operations.push(
      await measure(
        `burst of ${burst} triggers spread over 2 isolates (per trigger)`,
        burst,
        () => Promise.all(Array.from({ length: burst }, (_, i) => trigger(i < half ? holder : other))),
        Math.max(1, Math.round(repeats / 10)),
      ),
    );

    // What holding an object costs while nothing comes: its look for forwarded calls, and its
    // renewals; per object held (leases not run out at the end of the window).
    await settled(counting);
    counting.reset();
    const window = 5_000;
    await sleep(window);
    let held = 0;
    for await (const lease of kv.list({ prefix: ["lease"] })) if (lease.value.until > Date.now()) held += 1;
    if (held === 0) throw new Error("no object was held while holding was measured");
    const holding = Object.fromEntries(
      FIELDS.map((field) => [field, round((counting.counts.holding[field] / window / held) * 1000, 2)]),
    );

    // A registry push that upgrades one service to the end: answered `queued`, then followed by
    // the holder's alarms until Cattle has upgraded it, its new container was watched healthy for
    // a second, and the upgrade is finished (as the `cost` scenario's push).
    const label = `bench-kv-${Date.now().toString(36)}`;
    const service = await emulatorCall(`/v2-beta/projects/${PROJECT}/services`, {
      method: "POST",
      body: JSON.stringify({
        name: label,
        scale: 1,
        launchConfig: { imageUuid: "docker:kvorg/api:1.0.0", labels: { app: label } },
      }),
    });
    const serviceNow = () => emulatorCall(`/v2-beta/projects/${PROJECT}/services/${service.id}`);
    const runs = async (image) => {
      const deadline = Date.now() + SETTLE_TIMEOUT_MS;
      for (;;) {
        const now = await serviceNow();
        if (now.launchConfig.imageUuid === image && now.state === "active" && now.transitioning !== "yes")
          return;
        if (Date.now() > deadline) throw new Error(`${service.id} did not come to run ${image}`);
        await sleep(50);
      }
    };
    await runs("docker:kvorg/api:1.0.0");
    const pushes = await holder.request(`/v1-webhooks/receivers?projectId=${PROJECT}`, {
      method: "POST",
      headers: { authorization: AUTHORIZATION, "content-type": "application/json" },
      body: JSON.stringify({
        name: `${label}-push`,
        driver: "serviceUpgrade",
        serviceUpgradeConfig: {
          serviceSelector: { app: label },
          tag: "*",
          payloadFormat: "dockerhub",
          batchSize: 1,
          intervalMillis: 100,
          healthySeconds: 1,
        },
      }),
    });
    if (pushes.status !== 201) throw new Error(`create push receiver: ${pushes.status} ${pushes.text}`);
    const pushUrl = new URL(pushes.json.url);
    let minor = 0;
    const push = async () => {
      minor++;
      const answer = await holder.request(`${pushUrl.pathname}${pushUrl.search}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          callback_url: `https://registry.hub.docker.com/u/kvorg/api/hook/${label}${minor}/`,
          push_data: { pushed_at: 1_795_428_000 + minor, pusher: "ci-bot", tag: `1.${minor}.0`, images: [] },
          repository: {
            repo_name: "kvorg/api",
            name: "api",
            namespace: "kvorg",
            owner: "kvorg",
            status: "Active",
          },
        }),
      });
      await runs(`docker:kvorg/api:1.${minor}.0`);
      return [answer];
    };
    const upgradedToTheEnd = async (what, [answer]) => {
      if (answer.status !== 202 || answer.json?.outcome !== "queued") {
        problems.push(`kv, ${what}: answered ${answer.status} ${answer.text.slice(0, 200)}, not 202 queued`);
      }
      const executions = await holder.request(
        `/v1-webhooks/receivers/${pushes.json.id}/executions?projectId=${PROJECT}`,
        { headers: { authorization: AUTHORIZATION } },
      );
      const [latest] = executions.json?.data ?? [];
      if (latest?.outcome !== "applied" || !latest.finished) {
        problems.push(`kv, ${what}: the execution is ${latest?.outcome}, not applied with a finished time`);
      }
    };
    const firstPush = await push();
    await settled(counting, ALARM_QUIET_MS);
    await upgradedToTheEnd("registry push (unmeasured)", firstPush);
    operations.push(
      await measure(
        "registry push, one service upgraded to the end",
        1,
        push,
        upgrades,
        upgradedToTheEnd,
        ALARM_QUIET_MS,
      ),
    );

    // One sweep for due follow-ups, as each isolate runs every 10 s and Deno.cron each minute.
    await settled(counting);
    counting.reset();
    await holder.objects.sweep();
    await settled(counting);
    const sweep = { ...counting.counts.work };

    return {
      prices: DENO_PRICES,
      repeats,
      burst,
      upgrades,
      operations,
      holdingPerSecond: holding,
      sweep,
      problems,
    };
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await Promise.all(isolates.map((started) => started.objects.close().catch(() => {})));
    kv.close();
    await mf.dispose();
  }
}

function meanOfOperations(samples) {
  const [first] = samples;
  const mean = {};
  for (const field of Object.keys(first.mean)) {
    mean[field] = round(samples.reduce((sum, sample) => sum + sample.mean[field], 0) / samples.length, 2);
  }
  const usd = denoPriceOf({ requests: 1, readUnits: mean.readUnits, writeUnits: mean.writeUnits });
  return {
    name: first.name,
    triggers: 1,
    samples: samples.length,
    mean,
    usdPerMillion: Object.fromEntries(Object.entries(usd).map(([key, value]) => [key, round(value, 3)])),
  };
}

const money = (usd) => (usd >= 1 ? usd.toFixed(2) : usd.toFixed(3));

/** The Deno KV cost table as Markdown: printed by every run, written into docs/deno-deploy.md by a full one. */
export function kvCostMarkdown(result, { generatedAt }) {
  const headers = [
    "operation",
    "atomic commits",
    "mutations",
    "reads",
    "keys read",
    "KiB read",
    "KiB written",
    "read units",
    "write units",
    "$ per million",
  ];
  const rows = result.operations.map((operation) => [
    operation.name,
    operation.mean.commits,
    operation.mean.mutations,
    operation.mean.reads,
    operation.mean.keysRead,
    round(operation.mean.bytesRead / 1024, 2),
    round(operation.mean.bytesWritten / 1024, 2),
    operation.mean.readUnits,
    operation.mean.writeUnits,
    money(operation.usdPerMillion.total),
  ]);
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => String(row[i]).length)),
  );
  const line = (cells) => `| ${cells.map((cell, i) => String(cell).padEnd(widths[i])).join(" | ")} |`;
  const { holdingPerSecond: holding, sweep, prices } = result;
  return [
    `Run of ${generatedAt.slice(0, 10)}: means per trigger over ${result.repeats} runs of each (the burst: ${Math.max(1, Math.round(result.repeats / 10))} bursts of ${result.burst}; the push: ${result.upgrades} upgrades, each followed to its end), after one unmeasured run of each; prices of ${prices.source} (seen ${prices.seen}), each trigger also one request.`,
    "",
    line(headers),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.map(line),
    "",
    `Holding an object, per second whatever comes: ${holding.reads} reads (${holding.readUnits} read units) looking for forwarded calls, ${holding.commits} commits (${holding.writeUnits} write units) renewing its lease. A sweep for due follow-ups: ${sweep.reads} read(s), ${sweep.readUnits} read unit(s).`,
  ].join("\n");
}

/** The README's line: what a trigger applied on the holder costs on Deno Deploy. */
export function kvCostLine(result, { generatedAt }) {
  const [warm] = result.operations;
  const holding = result.holdingPerSecond;
  return `Run of ${generatedAt.slice(0, 10)}: a scale trigger applied on the isolate that holds its target is ${warm.mean.commits} atomic commits and ${warm.mean.reads} reads in Deno KV (${warm.mean.writeUnits} write units, ${warm.mean.readUnits} read units), about $${money(warm.usdPerMillion.total)} per million triggers with the request; while an isolate holds the target, until 30 s after its last call, it also reads KV ${holding.reads} times a second over a KV file (${holding.readUnits} read units), an eighth of that on Deno Deploy, where holders watch for calls.`;
}
