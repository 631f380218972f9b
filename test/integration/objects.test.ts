import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { TargetObject } from "../../src/objects/target-object";
import { EXECUTIONS_KEPT } from "../../src/target/history";
import { scaleReceiver } from "../fixtures/receivers";
import { cattleService, resetEmulator } from "../helpers";

const receiver = (id: string, version = 1, max = 5) => scaleReceiver(id, { max }, version);

beforeEach(async () => {
  await resetEmulator();
});

describe("TargetObject", () => {
  it("honours only the live version of a receiver", async () => {
    const stub = env.TARGETS.getByName("scaleService:1a5:1s1:versions");
    await stub.register(receiver("ra"));
    expect(await stub.trigger("ra", 2, {})).toEqual({ kind: "revoked" });
    expect(await stub.trigger("rb", 1, {})).toEqual({ kind: "revoked" });
    expect(await stub.rotate("ra")).toBe(2);
    expect(await stub.trigger("ra", 1, {})).toEqual({ kind: "revoked" });
    expect(await stub.trigger("ra", 2, {})).toMatchObject({
      kind: "decided",
      execution: { outcome: "applied" },
    });
    await stub.revoke("ra");
    expect(await stub.trigger("ra", 2, {})).toEqual({ kind: "revoked" });
    expect(await stub.rotate("ra")).toBeNull();
  });

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

  it("stores at most the latest executions per receiver, in SQLite", async () => {
    const stub = env.TARGETS.getByName("scaleService:1a5:1s1:history");
    await stub.register(receiver("rd"));
    await stub.register(receiver("re", 1, 1));
    const answers: { kind: string; execution?: { id: string } }[] = [];
    for (let round = 0; round < 5; round++) {
      answers.push(...(await Promise.all(Array.from({ length: 60 }, () => stub.trigger("re", 1, {})))));
    }
    await stub.trigger("rd", 1, {});
    // History is trimmed now and then, not on every trigger: never far above what is kept.
    await runInDurableObject(stub, (_instance: TargetObject, state) => {
      const rows = state.storage.sql
        .exec<{ receiver_id: string; n: number }>(
          "SELECT receiver_id, COUNT(*) AS n FROM executions GROUP BY receiver_id ORDER BY receiver_id",
        )
        .toArray();
      expect(rows[0]).toEqual({ receiver_id: "rd", n: 1 });
      expect(rows[1]?.n).toBeGreaterThanOrEqual(EXECUTIONS_KEPT);
      expect(rows[1]?.n).toBeLessThanOrEqual(EXECUTIONS_KEPT + 16);
    });
    const kept = await stub.executions("re");
    expect(kept.map((execution) => execution.id)).toEqual(
      answers
        .slice(-EXECUTIONS_KEPT)
        .map((answer) => answer.execution?.id)
        .reverse(),
    );
    await stub.revoke("re");
    expect(await stub.executions("re")).toEqual([]);
    expect(await stub.executions("rd")).toHaveLength(1);
  });
});

describe("ProjectObject", () => {
  it("lets one receiver hold a name until it releases it", async () => {
    const stub = env.PROJECTS.getByName("1a5:names");
    expect(await stub.claimName("web", "r1")).toBe(true);
    expect(await stub.claimName("web", "r1")).toBe(true);
    expect(await stub.claimName("web", "r2")).toBe(false);
    await stub.releaseName("web", "r2");
    expect(await stub.claimName("web", "r2")).toBe(false);
    await stub.releaseName("web", "r1");
    expect(await stub.claimName("web", "r2")).toBe(true);
  });
});
