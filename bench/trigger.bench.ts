import { env, exports } from "cloudflare:workers";
import { bench, describe, expect } from "vitest";
import { signingKeys } from "../src/tokens/signing";

/**
 * The trigger path inside workerd with Cattle left out: token verification, the call to the
 * target Durable Object and what it decides before it would talk to Cattle.
 *
 * workerd's clocks (performance.now, Date.now, process.hrtime) tick in whole milliseconds, so one
 * sub-millisecond trigger cannot be timed alone. Each sample is a run of TRIGGERS_PER_SAMPLE
 * sequential calls; per call, a sample is worth its time divided by that count (to 1 ms / count).
 *
 * Under @cloudflare/vitest-plugin every call into the worker's default export and every Durable
 * Object call first goes through the plugin's runner object, which resolves the worker's module
 * for it. That cost is measured on its own ("unknown path") so it can be told apart from the
 * worker's; bench/run.mjs also times the same path in plain workerd without the plugin.
 */
const TRIGGERS_PER_SAMPLE = 25;

const ORIGIN = "http://hooks.bench";
const AUTHORIZATION = `Basic ${btoa("dev-access:dev-secret")}`;

const management = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      ...init,
      headers: { authorization: AUTHORIZATION, "content-type": "application/json" },
    }),
  );

async function createReceiver(name: string, config: Record<string, unknown>) {
  const response = await management("/v1-webhooks/receivers?projectId=1a5", {
    method: "POST",
    body: JSON.stringify({
      name,
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 100_000, ...config },
    }),
  });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; url: string };
}

const local = (url: string) => {
  const { pathname, search } = new URL(url);
  return `${ORIGIN}${pathname}${search}`;
};

const post = (url: string) => exports.default.fetch(new Request(url, { method: "POST" }));

async function cattleCalls(): Promise<number> {
  const response = await fetch("http://127.0.0.1:8788/_emulator/stats");
  return ((await response.json()) as { total: number }).total;
}

// Scales once, then cools down for an hour: every later trigger is decided and recorded by its
// Durable Object without a Cattle call. The flood limit is raised so the bench never reaches it
// (it would then time the rate limiter instead).
const cooling = await createReceiver(`bench-cooldown-${Date.now()}`, {
  cooldownSeconds: 3600,
  maxTriggersPerMinute: 100_000,
});
const coolingUrl = local(cooling.url);
expect(((await (await post(coolingUrl)).json()) as { outcome: string }).outcome).toBe("applied");
const callsBefore = await cattleCalls();
expect(((await (await post(coolingUrl)).json()) as { outcome: string }).outcome).toBe("cooldown");
expect(await cattleCalls()).toBe(callsBefore);

// Deleted: its token still verifies, and its Durable Object refuses it.
const deleted = await createReceiver(`bench-deleted-${Date.now()}`, {});
const removal = await management(`/v1-webhooks/receivers/${deleted.id}?projectId=1a5`, { method: "DELETE" });
expect(removal.status).toBe(204);
const deletedUrl = local(deleted.url);

// A signature that does not verify: refused before any object is called.
const forgedUrl = `${coolingUrl.slice(0, -4)}AAAA`;

const token = new URL(cooling.url).searchParams.get("token") ?? "";
const keys = await signingKeys(env.WEBHOOK_SIGNING_KEYS);
const claims = await keys.verify(token);
if (!claims) throw new Error("the bench receiver's token does not verify");

async function repeat(call: () => Promise<Response>, status: number): Promise<void> {
  for (let i = 0; i < TRIGGERS_PER_SAMPLE; i++) {
    const response = await call();
    await response.arrayBuffer();
    if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}`);
  }
}

const options = { time: 1_500, warmupTime: 300 };

describe(`through the worker's default export, ${TRIGGERS_PER_SAMPLE} calls per sample`, () => {
  bench("trigger ending in cooldown", () => repeat(() => post(coolingUrl), 200), options);
  bench("trigger of a deleted receiver", () => repeat(() => post(deletedUrl), 403), options);
  bench("trigger with a forged token", () => repeat(() => post(forgedUrl), 403), options);
  bench(
    "unknown path (the plugin's cost per call)",
    () => repeat(() => exports.default.fetch(new Request(`${ORIGIN}/bench-unknown`)), 404),
    options,
  );
});

describe(`parts of the trigger, called directly, ${TRIGGERS_PER_SAMPLE} calls per sample`, () => {
  bench(
    "token verification (jose, cached key set)",
    async () => {
      for (let i = 0; i < TRIGGERS_PER_SAMPLE; i++) {
        if (!(await keys.verify(token))) throw new Error("token did not verify");
      }
    },
    options,
  );
  // Signed URLs are remembered per isolate, so each call signs another receiver version: this is
  // the cost of a listing page's first sight of a receiver.
  let version = 1;
  bench(
    "token signing (a receiver's trigger URL, first time)",
    async () => {
      for (let i = 0; i < TRIGGERS_PER_SAMPLE; i++)
        await keys.sign({ ...claims, ver: ++version }, 1_795_428_000_000);
    },
    options,
  );
  bench(
    "token signing (a trigger URL already signed in this isolate)",
    async () => {
      for (let i = 0; i < TRIGGERS_PER_SAMPLE; i++) await keys.sign(claims, 1_795_428_000_000);
    },
    options,
  );
  bench(
    "Durable Object trigger() ending in cooldown",
    async () => {
      for (let i = 0; i < TRIGGERS_PER_SAMPLE; i++) {
        const result = await env.TARGETS.getByName(claims.tgt).trigger(claims.sub, claims.ver, {});
        if (result.kind !== "decided" || result.execution.outcome !== "cooldown") {
          throw new Error(`expected a cooldown, got ${JSON.stringify(result)}`);
        }
      }
    },
    options,
  );
});
