import { env, evictDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { scaleReceiver } from "../fixtures/receivers";
import { cattleService, resetEmulator } from "../helpers";

const receiver = (id: string, version = 1, max = 5) => scaleReceiver(id, { max }, version);

beforeEach(async () => {
  await resetEmulator();
});

/**
 * What only a Durable Object does: it is evicted from memory and starts again over its storage.
 * What every runtime's target and environment do through their ports is test/conformance/.
 */
describe("TargetObject", () => {
  it("keeps live receivers and history across eviction", async () => {
    const stub = env.TARGETS.getByName("scaleService:1a5:1s1:eviction");
    await stub.register(receiver("rc"));
    await stub.trigger("rc", 1, {});
    await evictDurableObject(stub);
    const after = await stub.trigger("rc", 1, { userAgent: "curl/8" });
    expect(after).toMatchObject({ kind: "decided", execution: { from: 2, to: 3, sender: "curl/8" } });
    expect((await stub.executions("rc")).map((execution) => execution.to)).toEqual([3, 2]);
    expect((await cattleService("1s1")).scale).toBe(3);
  });
});
