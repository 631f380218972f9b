import { describe, expect, it, vi } from "vitest";
import type { CattleApi } from "../cattle/client";
import type { TargetMetrics } from "../domain/metrics";
import type { Platform, ReceiverPage, Target } from "../domain/ports";
import type { ReceiverRecord } from "../domain/receiver";
import { families, observe } from "./collect";
import { exposition } from "./exposition";

const record = (id: string, target: string, name = id): ReceiverRecord =>
  ({
    id,
    projectId: "1a5",
    name,
    driver: "scaleService",
    config: {},
    target,
    version: 1,
    created: 1,
  }) as unknown as ReceiverRecord;

/** A store that hands out `records` in pages of `pageSize` (repeating the last of each page on the next). */
function platformOf(
  records: ReceiverRecord[],
  pageSize: number,
  answers: Record<string, TargetMetrics | Error>,
) {
  let inFlight = 0;
  let mostInFlight = 0;
  const asked: string[] = [];
  const list = vi.fn(async (_projectId: string, _limit: number, marker?: string): Promise<ReceiverPage> => {
    const start = marker === undefined ? 0 : Number(marker);
    const end = Math.min(records.length, start + pageSize);
    // An eventually consistent listing may show a record on two pages.
    const from = start === 0 ? 0 : start - 1;
    return { records: records.slice(from, end), next: end < records.length ? String(end) : undefined };
  });
  const platform = {
    receivers: { list },
    target: (name: string): Partial<Target> => ({
      metrics: async () => {
        asked.push(name);
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight--;
        const answer = answers[name] ?? { receivers: [] };
        if (answer instanceof Error) throw answer;
        return answer;
      },
    }),
  } as unknown as Platform;
  return { platform, asked, list, mostInFlight: () => mostInFlight };
}

const cattleAnswering = (ok: boolean) =>
  ({
    getProject: async () =>
      ok ? { ok: true, value: {} } : { ok: false, failure: { kind: "unavailable", message: "down" } },
  }) as unknown as CattleApi;

describe("observe", () => {
  it("reads every page, asks each target once and a few at a time, and counts a target that does not answer", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const records = Array.from({ length: 2_500 }, (_, i) => record(`r${i}`, `scaleService:1a5:1s${i % 40}`));
    const answers: Record<string, TargetMetrics | Error> = {
      "scaleService:1a5:1s0": {
        receivers: [
          {
            receiverId: "r0",
            outcomes: [{ outcome: "failed", count: 2, lastAt: 5_000 }],
            pending: 1,
            oldestPendingAt: 4_000,
          },
        ],
      },
      "scaleService:1a5:1s1": new Error("object unavailable"),
    };
    const fake = platformOf(records, 1_000, answers);
    const observed = await observe(fake.platform, cattleAnswering(false), "1a5", () => 0);
    expect(fake.list).toHaveBeenCalledTimes(3);
    expect(observed.receivers).toHaveLength(2_500);
    expect(fake.asked.sort()).toEqual([...new Set(records.map((r) => r.target))].sort());
    expect(fake.mostInFlight()).toBeLessThanOrEqual(8);
    expect(observed.cattleUp).toBe(false);

    const text = exposition(families(observed));
    expect(text).toContain(
      'rancher_hooks_executions_total{receiver_id="r0",receiver_name="r0",driver="scaleService",outcome="failed"} 2\n',
    );
    expect(text).toContain(
      'rancher_hooks_last_execution_timestamp_seconds{receiver_id="r0",receiver_name="r0",driver="scaleService",outcome="failed"} 5\n',
    );
    expect(text).toContain(
      'rancher_hooks_pending_executions{receiver_id="r0",receiver_name="r0",driver="scaleService"} 1\n',
    );
    expect(text).toContain(
      'rancher_hooks_oldest_pending_execution_timestamp_seconds{receiver_id="r0",receiver_name="r0",driver="scaleService"} 4\n',
    );
    // r1 lives in the target that did not answer: no series of it, rather than wrong zeros.
    expect(text).not.toContain('receiver_id="r1"');
    expect(text).toContain(
      'rancher_hooks_executions_total{receiver_id="r2",receiver_name="r2",driver="scaleService",outcome="failed"} 0\n',
    );
    expect(text).toContain("rancher_hooks_unanswered_targets 1\n");
    expect(text).toContain('rancher_hooks_receivers{driver="scaleService"} 2500\n');
    expect(text).toContain("rancher_hooks_cattle_up 0\n");
  });

  it("writes a receiver name with quotes and backslashes as an escaped label value", async () => {
    const fake = platformOf([record("r1", "t1", 'say "hi" \\ bye')], 100, {});
    const text = exposition(families(await observe(fake.platform, cattleAnswering(true), "1a5", () => 0)));
    expect(text).toContain('receiver_name="say \\"hi\\" \\\\ bye"');
    expect(text).toContain("rancher_hooks_cattle_up 1\n");
  });
});
