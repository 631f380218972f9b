import { describe, expect, it } from "vitest";
import type { Service } from "../../cattle/types";
import { type ProtocolStep, READ_BACK_MS, ScaleProtocol, TRIGGER_DEADLINE_MS, type World } from "./protocol";

const start = 1_800_000_000_000;
const world = (now: number): World => ({ now, cooldowns: () => new Map(), live: () => true });
const target = { projectId: "1a5", serviceId: "1s1" };
const service = (scale: number): Service => ({
  id: "1s1",
  type: "service",
  name: "web",
  kind: "service",
  state: "active",
  scale,
  launchConfig: { imageUuid: "docker:nginx:1.25" },
});
const step = (seq: number, changes: Partial<ProtocolStep> = {}): ProtocolStep => ({
  seq,
  receiverId: "ra",
  version: 1,
  rule: { action: "up", amount: 1, min: 1, max: 10 },
  cooldownSeconds: 0,
  arrived: start,
  identified: true,
  waiting: false,
  owed: false,
  ...changes,
});

describe("the scaleService write protocol, event by event", () => {
  it("reads, keeps the write before it sends it, and records the trigger once Cattle answers", () => {
    const protocol = new ScaleProtocol();
    const { waiting: _w, owed: _o, ...arrived } = step(1);
    expect(protocol.handle({ kind: "arrived", step: arrived, target }, world(start))).toEqual([
      { kind: "arm", timer: "deadline", token: 1, ms: TRIGGER_DEADLINE_MS },
      { kind: "read" },
    ]);
    const sent = protocol.handle({ kind: "read", result: { ok: true, value: service(1) } }, world(start));
    expect(sent.map((effect) => effect.kind)).toEqual(["persist", "send", "arm"]);
    expect(sent[0]).toMatchObject({ changes: [{ kind: "keepWrite", write: { from: 1, to: 2 } }] });
    expect(sent[1]).toEqual({ kind: "send", write: 1, to: 2 });
    expect(sent[2]).toMatchObject({ timer: "readBack", ms: READ_BACK_MS });
    const landed = protocol.handle(
      { kind: "written", write: 1, result: { ok: true, value: service(2) } },
      world(start + 50),
    );
    expect(landed).toEqual([
      {
        kind: "persist",
        changes: [
          { kind: "record", steps: [[1, { outcome: "applied", from: 1, to: 2, reason: "scaled up by 1" }]] },
          { kind: "cooldowns", changes: new Map([["ra", start]]) },
          { kind: "resolveWrite" },
        ],
      },
      { kind: "disarm", timer: "readBack" },
    ]);
    expect(protocol.running).toBe(false);
  });

  it("after a restart, records a trigger of the unresolved write whose sender waited before anything else", () => {
    const protocol = new ScaleProtocol();
    const effects = protocol.handle(
      {
        kind: "restored",
        target,
        queue: [],
        write: {
          from: 2,
          to: 4,
          sentAt: start,
          planned: [
            [step(1), { outcome: "applied", from: 2, to: 3, reason: "scaled up by 1" }],
            [
              step(2, { identified: false }),
              { outcome: "applied", from: 3, to: 4, reason: "scaled up by 1" },
            ],
          ],
          cooldowns: new Map(),
        },
      },
      world(start + 450),
    );
    expect(effects).toMatchObject([
      {
        kind: "persist",
        changes: [
          {
            kind: "record",
            steps: [
              [
                1,
                {
                  outcome: "pending",
                  reason: "scale 2 → 4 was written to Cattle, which has not confirmed it yet",
                },
              ],
            ],
          },
          { kind: "keepWrite", write: { from: 2, to: 4 } },
        ],
      },
      { kind: "alarm", ms: 0 },
    ]);
    // The alarm reads the write's fate; the service shows it: both triggers are settled with it.
    expect(protocol.handle({ kind: "alarm" }, world(start + 500))).toEqual([
      { kind: "read" },
      { kind: "alarm", ms: 5_000 },
    ]);
    const settled = protocol.handle(
      { kind: "read", result: { ok: true, value: service(4) } },
      world(start + 600),
    );
    expect(settled).toMatchObject([
      {
        kind: "persist",
        changes: [
          { kind: "record", steps: [[2, { outcome: "applied", from: 3, to: 4 }]] },
          { kind: "settle", steps: [[1, { outcome: "applied", from: 2, to: 3 }]] },
          { kind: "cooldowns" },
          { kind: "resolveWrite" },
        ],
      },
    ]);
    expect(protocol.write).toBeUndefined();
    expect(protocol.running).toBe(false);
  });

  it("after a restart, fails an acknowledged trigger of a receiver regenerated before it was written", () => {
    const protocol = new ScaleProtocol();
    // Nobody may drive the loop for it again (its receiver's URL is refused): it ends at once.
    const effects = protocol.handle(
      { kind: "restored", queue: [step(1, { owed: true }), step(2, { receiverId: "rb", owed: true })] },
      { ...world(start), live: (receiverId) => receiverId === "rb" },
    );
    expect(effects).toMatchObject([
      {
        kind: "persist",
        changes: [
          {
            kind: "settle",
            steps: [[1, { outcome: "failed", reason: expect.stringContaining("regenerated") }]],
          },
        ],
      },
    ]);
    expect(protocol.queue.map((queued) => queued.seq)).toEqual([2]);
  });
});
