import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Service } from "../../src/cattle/types";
import type { Execution } from "../../src/domain/execution";
import type { TriggerResult } from "../../src/domain/ports";
import {
  type ProtocolEvent,
  ScaleProtocol,
  type Timer,
  type World,
} from "../../src/drivers/scale-service/protocol";
import { WRITE_FATE_WINDOW_MS } from "../../src/drivers/scale-service/scale-writer";
import type { StoredWrite } from "../../src/drivers/scale-service/write-log";
import { CATTLE_409, CATTLE_503, newTarget, scaleReceiver, settle, type WriteFate } from "./fakes";

/**
 * Property: whatever Cattle does with each write (answers it, answers it late, applies it and
 * drops the connection, applies it seconds later, refuses it with 409 or 503), however its reads
 * fail and its lock holds, and wherever regenerates and deletes fall among the triggers:
 * - the service ends exactly where the applied executions take it, one after another;
 * - Cattle never applies an older write after a newer one (no acknowledged step rolled back);
 * - every trigger acknowledged is settled (applied, noop, cooldown or failed), never left pending,
 *   and one answered 503 or 403 left nothing in the history;
 * - nothing of a receiver's older version is applied once it was sent after the regenerate or delete.
 */

const seed = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : Date.now() ^ (Math.random() * 0x100000000);
const runs = Number(process.env.FUZZ_RUNS ?? 60);

const writeFate: fc.Arbitrary<WriteFate> = fc.oneof(
  fc.constant({ kind: "answered" as const }),
  fc.integer({ min: 0, max: 7_000 }).map((ms) => ({ kind: "late" as const, ms })),
  fc.constant({ kind: "lost" as const }),
  // Applied later than the client waited, but within the fate window, counted from when the write
  // was sent: its way there (latency and jitter, up to 2.65 s below) is part of it.
  fc.integer({ min: 0, max: WRITE_FATE_WINDOW_MS - 3_000 }).map((ms) => ({ kind: "delayed" as const, ms })),
  fc.constant({ kind: "refused" as const, failure: CATTLE_409 }),
  fc.constant({ kind: "refused" as const, failure: CATTLE_503 }),
);

/** Mostly bursts (triggers queue behind one another), sometimes a pause longer than a write. */
const gap = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2_500 }));

const event = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("trigger" as const),
      who: fc.constantFrom("ra", "rb"),
      stale: fc.boolean(),
      count: fc.integer({ min: 1, max: 4 }),
      gap,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("regenerate" as const),
      who: fc.constantFrom("ra", "rb"),
      gap,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("delete" as const),
      who: fc.constant("rb"),
      gap,
    }),
  },
);

const scenario = fc.record({
  events: fc.array(event, { minLength: 1, maxLength: 30 }),
  writes: fc.array(writeFate, { maxLength: 12 }),
  failedReads: fc.array(fc.boolean(), { maxLength: 20 }),
  latencyMs: fc.integer({ min: 0, max: 300 }),
  // Calls overtake one another: a read sent before a write may come back after its answer.
  jitterMs: fc.array(fc.tuple(fc.integer({ min: 0, max: 2_500 }), fc.integer({ min: 0, max: 2_500 })), {
    maxLength: 40,
  }),
  transitionMs: fc.constantFrom(0, 300, 2_000, 5_000),
});

interface Sent {
  tag: string;
  who: string;
  version: number;
  at: number;
  answeredAt?: number;
  result?: TriggerResult;
}

/** The triggers of the write in flight now, as the target keeps it: the one exception to a fence. */
const inFlight = (target: ReturnType<typeof newTarget>): Set<string> => {
  const [row] = target.storage.sql.exec<{ write: string }>("SELECT write FROM unresolved_write").toArray();
  const write = row ? (JSON.parse(row.write) as StoredWrite) : undefined;
  return new Set(write?.steps.map(({ step }) => step.delivery.userAgent ?? "") ?? []);
};

describe("the scaleService write protocol, property-based", () => {
  it("is exact and honest whatever Cattle, time and fences do", async () => {
    console.info(`write protocol property with seed ${seed} (repeat with FUZZ_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(scenario, async (input) => {
        const target = newTarget();
        const { core, clock, cattle } = target;
        cattle.service().scale = 5;
        cattle.scales.splice(0, cattle.scales.length, 5);
        cattle.latencyMs = input.latencyMs;
        cattle.jitterMs.push(...input.jitterMs);
        cattle.transitionMs = input.transitionMs;
        cattle.writes.push(...input.writes);
        for (const fails of input.failedReads) {
          cattle.reads.push(fails ? { kind: "refused", failure: CATTLE_503 } : { kind: "answered" });
        }
        core.register(scaleReceiver("ra", { amount: 2, max: 15 }));
        core.register(scaleReceiver("rb", { action: "down", max: 15 }));

        const versions: Record<string, number> = { ra: 1, rb: 1 };
        /** When each version stopped being live, and the triggers of the write in flight then. */
        const ended: Record<string, { at: number; written: Set<string> }> = {};
        const deleted = new Set<string>();
        const sent: Sent[] = [];
        const answers: Promise<unknown>[] = [];
        const driver = (async () => {
          for (const [i, step] of input.events.entries()) {
            await clock.sleep(step.gap);
            const version = versions[step.who] ?? 1;
            if (step.kind === "trigger") {
              for (let n = 0; n < step.count; n++) {
                const record: Sent = {
                  tag: `t${i}.${n}`,
                  who: step.who,
                  version: step.stale && version > 1 ? version - 1 : version,
                  at: clock.now(),
                };
                sent.push(record);
                answers.push(
                  core.trigger(step.who, record.version, { userAgent: record.tag }).then((result) => {
                    record.result = result;
                    record.answeredAt = clock.now();
                  }),
                );
              }
            } else if (step.kind === "regenerate") {
              const next = core.rotate(step.who);
              if (next !== null) {
                ended[`${step.who}@${version}`] = { at: clock.now(), written: inFlight(target) };
                versions[step.who] = next;
              }
            } else if (!deleted.has(step.who)) {
              ended[`${step.who}@${version}`] = { at: clock.now(), written: inFlight(target) };
              core.revoke(step.who);
              deleted.add(step.who);
            }
          }
        })();
        await clock.run(driver);
        await clock.run(Promise.all(answers));
        await settle(target);

        const history = new Map<string, Execution>();
        for (const who of ["ra", "rb"]) {
          for (const execution of core.executions(who)) history.set(execution.sender ?? "", execution);
        }
        // Every acknowledged trigger is settled; refusals left nothing behind.
        for (const trigger of sent) {
          const result = trigger.result;
          const execution = history.get(trigger.tag);
          expect(result, trigger.tag).toBeDefined();
          if (result?.kind !== "decided") {
            expect(execution, `${trigger.tag} answered ${result?.kind}`).toBeUndefined();
            continue;
          }
          if (deleted.has(trigger.who)) continue;
          expect(execution, trigger.tag).toBeDefined();
          expect(execution?.outcome, trigger.tag).not.toBe("pending");
          if (result.execution.outcome !== "pending") {
            expect(execution).toMatchObject({
              outcome: result.execution.outcome,
              from: result.execution.from,
              to: result.execution.to,
            });
          }
          // Nothing of an older version is applied unless it was settled, or written, before it ended.
          const end = ended[`${trigger.who}@${trigger.version}`];
          if (execution?.outcome === "applied" && end !== undefined) {
            expect(trigger.at, trigger.tag).toBeLessThanOrEqual(end.at);
            const settledBefore =
              (result.execution.outcome === "applied" && (trigger.answeredAt ?? 0) <= end.at) ||
              (execution.finished !== undefined && execution.finished <= end.at);
            expect(
              settledBefore || end.written.has(trigger.tag),
              `${trigger.tag} applied after the fence`,
            ).toBe(true);
          }
        }
        // Cattle applied the writes in the order they were sent, and ends where the steps take it.
        const scales = cattle.scales;
        const final = scales.at(-1);
        expect(cattle.service().scale).toBe(final);
        if (deleted.size === 0) {
          const moved = [...history.values()]
            .filter((execution) => execution.outcome === "applied")
            .reduce((sum, execution) => sum + ((execution.to ?? 0) - (execution.from ?? 0)), 0);
          expect(5 + moved).toBe(final);
        }
        expect(cattle.outOfOrder).toEqual([]);
        for (const value of scales) {
          expect(value).toBeGreaterThanOrEqual(1);
          expect(value).toBeLessThanOrEqual(15);
        }
        expect(target.owes()).toBe(false);
      }),
      { numRuns: runs, seed },
    );
  }, 600_000);
});

/**
 * The same protocol driven directly, without clock, Cattle or storage (src/drivers/scale-service/protocol.ts):
 * random sequences of events (triggers, timers, reads and writes answered in any order and any way,
 * fences, alarms), with Cattle's answers made up from a service that only the protocol's writes move.
 * After every event:
 * - at most one write is unresolved, and nothing is sent while one is: each write is kept before it
 *   is sent, and kept only once the one before it was resolved;
 * - a sender is answered once, either by a recorded execution (after the transaction that records
 *   it) or with 503/403, and one answered 503 or 403 never gets an execution;
 * - an acknowledged trigger is settled (or dropped with its deleted receiver) exactly once, and once
 *   everything is answered and time has passed, none is left owed;
 * - exact: the service ends moved by what the applied executions say (Cattle applying a write only
 *   within the fate window after it was sent, as the protocol assumes).
 */
describe("the scaleService write protocol as a state machine", () => {
  type Command =
    | { kind: "arrive"; who: "ra" | "rb"; identified: boolean }
    | { kind: "tick"; ms: number }
    | { kind: "fire"; timer: Timer }
    | { kind: "read"; answer: "ok" | "down" | "gone" }
    | { kind: "write"; answer: "ok" | "lost" | "timeout" | "busy" | "refused" }
    | { kind: "apply" }
    | { kind: "fence"; who: "ra" | "rb"; change: "deleted" | "regenerated" }
    | { kind: "alarm" };

  const command: fc.Arbitrary<Command> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("arrive" as const),
        who: fc.constantFrom("ra" as const, "rb" as const),
        identified: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 12_000 }) }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("fire" as const),
        timer: fc.constantFrom(
          "deadline" as const,
          "deadline" as const,
          "readBack" as const,
          "pause" as const,
        ),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("read" as const),
        answer: fc.oneof(
          { weight: 12, arbitrary: fc.constant("ok" as const) },
          { weight: 4, arbitrary: fc.constant("down" as const) },
          { weight: 1, arbitrary: fc.constant("gone" as const) },
        ),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("write" as const),
        answer: fc.constantFrom(
          "ok" as const,
          "lost" as const,
          "timeout" as const,
          "busy" as const,
          "refused" as const,
        ),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "apply" as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("fence" as const),
        who: fc.constantFrom("ra" as const, "rb" as const),
        change: fc.constantFrom("deleted" as const, "regenerated" as const),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "alarm" as const }) },
  );

  const CATTLE_404 = { kind: "notFound", status: 404, message: "Cattle answered 404" } as const;
  const service = (scale: number): Service => ({
    id: "1s1",
    type: "service",
    name: "web",
    kind: "service",
    state: "active",
    scale,
    launchConfig: { imageUuid: "docker:nginx:1.25" },
  });
  /** What the runs reached, so that a property that never sends a write cannot pass unnoticed. */
  const reached = { sent: 0, acknowledged: 0, settled: 0 };

  /** Runs the commands against a ScaleProtocol, checking the invariants after each event. */
  function run(commands: readonly Command[]): void {
    const protocol = new ScaleProtocol();
    let now = 1_800_000_000_000;
    let scale = 1;
    let seq = 0;
    const versions = new Map([
      ["ra", 1],
      ["rb", 1],
    ]);
    const cooldowns = new Map<string, number>();
    const world = (): World => ({
      now,
      cooldowns: () => new Map(cooldowns),
      live: (receiverId, version) => versions.get(receiverId) === version,
    });
    /** Effects not yet answered: reads in order, writes in order, the latest token of each timer. */
    let reads = 0;
    /** Writes sent and not answered; Cattle applies one only within the fate window after it was sent. */
    const sends: { write: number; to: number; sentAt: number; applied: boolean }[] = [];
    const applicable = (sent: (typeof sends)[number]) =>
      !sent.applied && now - sent.sentAt < WRITE_FATE_WINDOW_MS;
    /** What the applied executions moved the service by, altogether. */
    let moved = 0;
    /** Once Cattle said the service is gone, it stays gone, and its scale means nothing. */
    let gone = false;
    const timers = new Map<Timer, { token: number; due: number }>();
    /** What storage holds, as the persist effects left it. */
    let keptWrite: number | undefined;
    const owed = new Set<number>();
    const settledOnce = new Set<number>();
    const answered = new Map<number, string>();
    const waiting = new Set<number>();

    const handle = (event: ProtocolEvent) => {
      for (const effect of protocol.handle(event, world())) {
        switch (effect.kind) {
          case "read":
            reads++;
            break;
          case "send":
            // Kept before it is sent, and the only write unresolved.
            expect(keptWrite).toBe(effect.write);
            sends.push({ write: effect.write, to: effect.to, sentAt: now, applied: false });
            reached.sent++;
            break;
          case "arm":
            timers.set(effect.timer, { token: effect.token, due: now + effect.ms });
            break;
          case "disarm":
            timers.delete(effect.timer);
            break;
          case "alarm":
            break;
          case "answer":
            expect(waiting.has(effect.seq)).toBe(true);
            waiting.delete(effect.seq);
            expect(answered.has(effect.seq)).toBe(false);
            answered.set(effect.seq, effect.result.kind);
            break;
          case "persist":
            for (const change of effect.changes) {
              switch (change.kind) {
                case "record":
                  for (const [stepSeq, decision] of change.steps) {
                    if (decision.outcome === "applied") moved += (decision.to ?? 0) - (decision.from ?? 0);
                    // Never recorded after an answer without one, nor twice.
                    expect(answered.get(stepSeq)).toBeUndefined();
                    answered.set(stepSeq, decision.outcome);
                    waiting.delete(stepSeq);
                    if (decision.outcome === "pending") {
                      owed.add(stepSeq);
                      reached.acknowledged++;
                    }
                  }
                  break;
                case "settle":
                  for (const [stepSeq, decision] of change.steps) {
                    if (decision.outcome === "applied") moved += (decision.to ?? 0) - (decision.from ?? 0);
                    expect(owed.has(stepSeq)).toBe(true);
                    expect(settledOnce.has(stepSeq)).toBe(false);
                    owed.delete(stepSeq);
                    settledOnce.add(stepSeq);
                    reached.settled++;
                  }
                  break;
                case "drop":
                  expect(owed.delete(change.seq)).toBe(true);
                  settledOnce.add(change.seq);
                  break;
                case "cooldowns":
                  for (const [receiverId, at] of change.changes) cooldowns.set(receiverId, at);
                  break;
                case "keepWrite":
                  // At most one unresolved write: a new one only once the last was resolved.
                  if (keptWrite !== undefined) expect(change.write.id).toBe(keptWrite);
                  keptWrite = change.write.id;
                  // Every owed trigger of the write is recorded before the write that names it is kept.
                  for (const [step] of change.write.planned)
                    if (step.owed) expect(owed.has(step.seq)).toBe(true);
                  break;
                case "resolveWrite":
                  keptWrite = undefined;
                  break;
              }
            }
            break;
        }
      }
      // The protocol's own view agrees with what was kept.
      expect(protocol.write?.id).toBe(keptWrite);
    };

    const step = (command: Command) => {
      switch (command.kind) {
        case "arrive": {
          const version = versions.get(command.who) as number;
          seq++;
          waiting.add(seq);
          handle({
            kind: "arrived",
            step: {
              seq,
              receiverId: command.who,
              version,
              rule: { action: command.who === "ra" ? "up" : "down", amount: 1, min: 1, max: 5 },
              cooldownSeconds: 0,
              arrived: now,
              identified: command.identified,
            },
            target: { projectId: "1a5", serviceId: "1s1" },
          });
          return;
        }
        case "tick":
          now += command.ms;
          return;
        case "fire": {
          // A timer fires at its time: the clock moves there if it is not there yet.
          const armed = timers.get(command.timer);
          if (armed === undefined) return;
          timers.delete(command.timer);
          now = Math.max(now, armed.due);
          handle({ kind: "timer", timer: command.timer, token: armed.token });
          return;
        }
        case "read":
          if (reads === 0) return;
          reads--;
          gone ||= command.answer === "gone";
          handle({
            kind: "read",
            result:
              command.answer === "ok" && !gone
                ? { ok: true, value: service(scale) }
                : { ok: false, failure: command.answer === "down" ? CATTLE_503 : CATTLE_404 },
          });
          return;
        case "apply": {
          const sent = sends.find(applicable);
          if (!sent) return;
          sent.applied = true;
          scale = sent.to;
          return;
        }
        case "write": {
          const sent = sends.shift();
          if (!sent) return;
          // A write Cattle applied is not answered as refused; one past its fate window is not applied.
          let answer = command.answer;
          if (sent.applied && (answer === "busy" || answer === "refused")) answer = "ok";
          if (!sent.applied && !applicable(sent) && answer !== "busy" && answer !== "refused")
            answer = "timeout";
          if ((answer === "ok" || answer === "lost") && !sent.applied) {
            sent.applied = true;
            scale = sent.to;
          }
          handle({
            kind: "written",
            write: sent.write,
            result:
              answer === "ok"
                ? { ok: true, value: service(sent.to) }
                : {
                    ok: false,
                    failure:
                      answer === "lost"
                        ? { kind: "unavailable", message: "Cattle unreachable" }
                        : answer === "timeout"
                          ? { kind: "unavailable", message: "Cattle did not answer in time" }
                          : answer === "busy"
                            ? CATTLE_409
                            : { kind: "rejected", status: 422, message: "Cattle answered 422" },
                  },
          });
          return;
        }
        case "fence": {
          if (command.change === "deleted") versions.set(command.who, -1);
          else versions.set(command.who, (versions.get(command.who) as number) + 1);
          handle({ kind: "fence", receiverId: command.who, change: command.change });
          return;
        }
        case "alarm":
          handle({ kind: "alarm" });
          return;
      }
    };

    for (const command of commands) step(command);
    // Then Cattle answers everything as it comes and time passes: nothing may stay owed.
    for (let round = 0; round < 2_000 && (protocol.running || owed.size > 0 || waiting.size > 0); round++) {
      if (sends.length > 0) step({ kind: "write", answer: "ok" });
      else if (reads > 0) step({ kind: "read", answer: "ok" });
      else if (timers.size > 0) step({ kind: "fire", timer: [...timers.keys()][0] as Timer });
      else step({ kind: "alarm" });
      now += 1_000;
    }
    expect(owed.size).toBe(0);
    // Exact: the service moved by what the applied executions say, no more and no less.
    if (!gone) expect(scale - 1).toBe(moved);
    expect(waiting.size).toBe(0);
    expect(keptWrite).toBeUndefined();
    expect(protocol.running).toBe(false);
  }

  it("keeps its invariants under any order of events", () => {
    console.info(`write protocol state machine property with seed ${seed} (repeat with FUZZ_SEED=${seed})`);
    Object.assign(reached, { sent: 0, acknowledged: 0, settled: 0 });
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 80 }), (commands) => run(commands)),
      { numRuns: runs * 10, seed },
    );
    console.info("reached", JSON.stringify(reached));
    // The generator must keep reaching these states. How often it does varies widely with the seed
    // (15 to 52 of 600 runs acknowledged a write over seeds 1-12 and a CI seed): the bound is well
    // below that, and far above the zero a generator that no longer reaches them gives.
    expect(reached.sent).toBeGreaterThan(runs);
    expect(reached.acknowledged).toBeGreaterThan(runs / 10);
    expect(reached.settled).toBeGreaterThan(runs / 10);
  });
});
