import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VERSIONS_TABLE } from "../../src/storage/migrations";
import { call, createReceiver, json, KEYS, resetEmulator, setFaults, trigger } from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const metrics = (projectId = "1a5", key: string | null = KEYS.dev) =>
  call(`/v1-webhooks/metrics?projectId=${projectId}`, { key });

/** The value of one series, by its exact labels, or undefined when the exposition has none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const rendered = Object.entries(labels)
    .map(([label, value]) => `${label}="${value}"`)
    .join(",");
  const series = rendered ? `${name}{${rendered}} ` : `${name} `;
  const line = text.split("\n").find((candidate) => candidate.startsWith(series));
  return line === undefined ? undefined : Number(line.slice(series.length));
}

describe("GET /v1-webhooks/metrics", () => {
  it("counts each receiver's executions by outcome, with zeros for one never triggered", async () => {
    const triggered = await createReceiver({ max: 3 });
    const idle = await createReceiver();
    // 1 → 2 → 3 applied, then a noop at the max.
    for (let i = 0; i < 3; i++) expect((await trigger(triggered.url)).status).toBe(200);

    const response = await metrics();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    const of = (receiver: Record<string, any>, outcome?: string) => ({
      receiver_id: receiver.id,
      receiver_name: receiver.name,
      driver: "scaleService",
      ...(outcome ? { outcome } : {}),
    });
    expect(sample(text, "rancher_hooks_executions_total", of(triggered, "applied"))).toBe(2);
    expect(sample(text, "rancher_hooks_executions_total", of(triggered, "noop"))).toBe(1);
    expect(sample(text, "rancher_hooks_executions_total", of(triggered, "failed"))).toBe(0);
    const last = sample(text, "rancher_hooks_last_execution_timestamp_seconds", of(triggered, "noop"));
    expect(last).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(last).toBeLessThanOrEqual(Date.now() / 1000);
    expect(sample(text, "rancher_hooks_pending_executions", of(triggered))).toBe(0);

    expect(sample(text, "rancher_hooks_executions_total", of(idle, "applied"))).toBe(0);
    expect(sample(text, "rancher_hooks_executions_total", of(idle, "failed"))).toBe(0);
    expect(sample(text, "rancher_hooks_pending_executions", of(idle))).toBe(0);
    expect(
      sample(text, "rancher_hooks_last_execution_timestamp_seconds", of(idle, "applied")),
    ).toBeUndefined();
    expect(sample(text, "rancher_hooks_cattle_up")).toBe(1);
    expect(sample(text, "rancher_hooks_unanswered_targets")).toBe(0);
    expect(sample(text, "rancher_hooks_receivers", { driver: "scaleService" })).toBeGreaterThanOrEqual(2);
    expect(text).toContain("# TYPE rancher_hooks_executions_total counter\n");

    // The target object is evicted (as after a deploy or idleness): the counts are its storage's.
    await evictDurableObject(env.TARGETS.getByName("scaleService:1a5:1s1"));
    const again = await (await metrics()).text();
    expect(sample(again, "rancher_hooks_executions_total", of(triggered, "applied"))).toBe(2);
    expect(sample(again, "rancher_hooks_executions_total", of(triggered, "noop"))).toBe(1);

    // Deleted: its series go with it.
    await call(`/v1-webhooks/receivers/${triggered.id}?projectId=1a5`, { method: "DELETE" });
    expect(await (await metrics()).text()).not.toContain(triggered.id);
  });

  it("says Cattle is down when it does not answer the service's key", async () => {
    await createReceiver();
    // The caller's key is checked (and cached) first; then every Cattle request fails.
    expect((await metrics()).status).toBe(200);
    await setFaults({ status: 503, count: 20 });
    const response = await metrics();
    expect(response.status).toBe(200);
    expect(sample(await response.text(), "rancher_hooks_cattle_up")).toBe(0);
    await setFaults({ count: 0 });
  });

  it("is for keys that can read the environment, and refuses bad input in the envelope", async () => {
    const anonymous = await metrics("1a5", null);
    expect(anonymous.status).toBe(401);
    expect(await json(anonymous)).toMatchObject({ type: "error", code: "Unauthorized" });
    const stranger = await metrics("1a5", KEYS.other);
    expect(stranger.status).toBe(403);
    expect(await json(stranger)).toMatchObject({ type: "error", code: "Forbidden" });
    const malformed = await metrics("not a project");
    expect(malformed.status).toBe(422);
    expect(await json(malformed)).toMatchObject({ type: "error", status: 422, fieldName: "projectId" });
    const written = await call("/v1-webhooks/metrics?projectId=1a5", { method: "POST" });
    expect(written.status).toBe(405);
    // The read-only key may read them.
    expect((await metrics("1a5", KEYS.readonly)).status).toBe(200);
  });
});

describe("a target object over storage a newer release wrote", () => {
  it("refuses with 503 in the envelope, not a misread, after one storage_too_new line", async () => {
    const error = vi.spyOn(console, "error");
    const receiver = await createReceiver();
    const stub = env.TARGETS.getByName(`scaleService:1a5:1s1`);
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec(
        `UPDATE ${VERSIONS_TABLE} SET version = 99, runnable_from = 99 WHERE component = 'history'`,
      );
    });
    // The object starts again (as after a deploy of older code), over that storage.
    await evictDurableObject(stub);

    const listed = await call(`/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`);
    expect(listed.status).toBe(503);
    expect(await json(listed)).toMatchObject({ type: "error", status: 503, code: "ServiceUnavailable" });
    const triggered = await trigger(receiver.url);
    expect(triggered.status).toBe(503);
    expect(await json(triggered)).toMatchObject({ type: "error", code: "ServiceUnavailable" });
    const lines = error.mock.calls
      .map((args) => String(args[0]))
      .filter((line) => line.includes("storage_too_new"));
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      {
        level: "error",
        event: "storage_too_new",
        component: "history",
        storedVersion: 99,
        runnableFrom: 99,
        codeVersion: 2,
      },
    ]);

    // Put back, so other tests of this service's target run over storage they can read.
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec(
        `UPDATE ${VERSIONS_TABLE} SET version = 2, runnable_from = 2 WHERE component = 'history'`,
      );
    });
    await evictDurableObject(stub);
  });
});
