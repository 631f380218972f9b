import { describe, expect, it } from "vitest";
import type { Target, TriggerResult } from "../../src/domain/ports";
import { prepareSenderCheck } from "../../src/senders/verification";
import { EXECUTIONS_KEPT } from "../../src/targets/history";
import { scaleReceiver } from "../fixtures/receivers";

/**
 * What every runtime's `Target` must do, whatever holds the object: the target core called
 * directly over node:sqlite, a Durable Object through its stub in workerd, an in-process object of
 * the Deno platform. Each runtime registers it with `describeTargetPort` and its own way of
 * reaching an object, its storage and Cattle (service 1s1 of 1a5 at scale 1 when each test starts).
 */
export interface TargetRuntime {
  /** The object of this name, as the runtime's platform hands it out; each test uses names of its own. */
  target(name: string): Target;
  /** The rows a read-only SQL statement finds in the storage of the object of this name. */
  query(name: string, statement: string): Promise<Record<string, unknown>[]>;
  /** Waits for calls to targets; where time is faked, moves it on while they wait. */
  settle<T>(work: Promise<T>): Promise<T>;
  /** The same object once the runtime has let it go and started it again over its storage. */
  restart(name: string): Promise<Target>;
}

const receiver = (id: string, version = 1, max = 5) => scaleReceiver(id, { max }, version);

const outcomeOf = (result: TriggerResult) =>
  result.kind === "decided" ? result.execution.outcome : result.kind;

/** The tables and indexes an object keeps, but the runtime's own (whose names start with `_`). */
const TABLES_OF_OURS = "SELECT name FROM sqlite_master WHERE name NOT LIKE '\\_%' ESCAPE '\\'";

export function describeTargetPort(runtime: string, make: () => TargetRuntime): void {
  describe(`the Target port on ${runtime}`, () => {
    const open = (test: string) => {
      const port = make();
      const name = `scaleService:1a5:1s1:${test}`;
      return { ...port, name, target: port.target(name) };
    };

    describe("register, trigger, rotate and revoke", () => {
      it("honours only the live version of a receiver", async () => {
        const { target, settle } = open("versions");
        await target.register(receiver("ra"));
        expect(await settle(target.trigger("ra", 2, {}))).toEqual({ kind: "revoked" });
        expect(await settle(target.trigger("rb", 1, {}))).toEqual({ kind: "revoked" });
        expect(await target.rotate("ra")).toBe(2);
        expect(await settle(target.trigger("ra", 1, {}))).toEqual({ kind: "revoked" });
        expect(await settle(target.trigger("ra", 2, {}))).toMatchObject({
          kind: "decided",
          execution: { outcome: "applied" },
        });
        await target.revoke("ra");
        expect(await settle(target.trigger("ra", 2, {}))).toEqual({ kind: "revoked" });
        expect(await target.rotate("ra")).toBeNull();
      });

      it("refuses a revoked or regenerated version at once", async () => {
        const { target, settle } = open("fences");
        await target.register(receiver("ra"));
        expect(await target.rotate("ra")).toBe(2);
        expect(await settle(target.trigger("ra", 1, {}))).toEqual({ kind: "revoked" });
        expect(await settle(target.trigger("ra", 2, {}))).toMatchObject({ kind: "decided" });
        await target.revoke("ra");
        expect(await settle(target.trigger("ra", 2, {}))).toEqual({ kind: "revoked" });
        expect(await target.executions("ra")).toEqual([]);
      });

      it("takes a registration again as the receiver's new version, and forgets nothing of its history", async () => {
        const { target, settle } = open("reregister");
        await target.register(receiver("ra"));
        expect(outcomeOf(await settle(target.trigger("ra", 1, {})))).toBe("applied");
        await target.register(receiver("ra", 3, 10));
        expect(await settle(target.trigger("ra", 1, {}))).toEqual({ kind: "revoked" });
        expect(outcomeOf(await settle(target.trigger("ra", 3, {})))).toBe("applied");
        expect(await target.liveReceivers(["ra"])).toEqual([receiver("ra", 3, 10)]);
        expect((await target.executions("ra")).map((execution) => execution.to)).toEqual([3, 2]);
        expect(await target.rotate("ra")).toBe(4);
      });

      it("checks the sender a receiver asks for, and a rotate keeps, replaces or drops that check", async () => {
        const { target, settle } = open("senders");
        const first = (await prepareSenderCheck({ scheme: "bearer", token: "first-token-0123456789" })).check;
        const second = (await prepareSenderCheck({ scheme: "bearer", token: "second-token-0123456789" }))
          .check;
        const proof = (token: string) => ({
          headers: { authorization: `Bearer ${token}` },
          body: new Uint8Array(),
        });
        await target.register({ ...receiver("ra"), senderCheck: first });
        expect(await settle(target.trigger("ra", 1, {}))).toMatchObject({ kind: "unverified" });
        expect(await settle(target.trigger("ra", 1, {}, proof("second-token-0123456789")))).toMatchObject({
          kind: "unverified",
        });
        expect(await target.executions("ra")).toEqual([]);
        expect(outcomeOf(await settle(target.trigger("ra", 1, {}, proof("first-token-0123456789"))))).toBe(
          "applied",
        );

        // No check given: the one it has stays.
        expect(await target.rotate("ra")).toBe(2);
        expect(await target.liveReceivers(["ra"])).toEqual([{ ...receiver("ra", 2), senderCheck: first }]);
        expect(await settle(target.trigger("ra", 2, {}))).toMatchObject({ kind: "unverified" });
        // A new check replaces it.
        expect(await target.rotate("ra", second)).toBe(3);
        expect(await settle(target.trigger("ra", 3, {}, proof("first-token-0123456789")))).toMatchObject({
          kind: "unverified",
        });
        expect(outcomeOf(await settle(target.trigger("ra", 3, {}, proof("second-token-0123456789"))))).toBe(
          "applied",
        );
        // Null drops it: any delivery with the URL is taken.
        expect(await target.rotate("ra", null)).toBe(4);
        expect(await target.liveReceivers(["ra"])).toEqual([receiver("ra", 4)]);
        expect(outcomeOf(await settle(target.trigger("ra", 4, {})))).toBe("applied");
        expect((await target.executions("ra")).map((execution) => execution.to)).toEqual([4, 3, 2]);
      });

      it("applies concurrent triggers one after another, each from where the one before left", async () => {
        const { target, settle } = open("serialised");
        await target.register(receiver("ra", 1, 100));
        const results = await settle(
          Promise.all(Array.from({ length: 12 }, () => target.trigger("ra", 1, {}))),
        );
        const steps = results.map((result) =>
          result.kind === "decided"
            ? [result.execution.outcome, result.execution.from, result.execution.to]
            : null,
        );
        expect(steps.sort((a, b) => Number(a?.[1]) - Number(b?.[1]))).toEqual(
          Array.from({ length: 12 }, (_, i) => ["applied", i + 1, i + 2]),
        );
      });
    });

    describe("restart", () => {
      it("keeps its receivers at their versions with their sender checks, and their history", async () => {
        const { target, settle, restart, name } = open("restart");
        const check = (await prepareSenderCheck({ scheme: "bearer", token: "kept-token-0123456789" })).check;
        await target.register({ ...receiver("ra"), senderCheck: check });
        await target.register(receiver("rb"));
        await target.register(receiver("rc"));
        expect(await target.rotate("rb")).toBe(2);
        await target.revoke("rc");
        const proof = { headers: { authorization: "Bearer kept-token-0123456789" }, body: new Uint8Array() };
        expect(outcomeOf(await settle(target.trigger("ra", 1, {}, proof)))).toBe("applied");

        const again = await restart(name);
        expect(await again.liveReceivers(["ra", "rb", "rc"])).toEqual([
          { ...receiver("ra"), senderCheck: check },
          receiver("rb", 2),
        ]);
        expect(await settle(again.trigger("ra", 1, {}))).toMatchObject({ kind: "unverified" });
        expect(await settle(again.trigger("rb", 1, {}))).toEqual({ kind: "revoked" });
        expect(await settle(again.trigger("rc", 1, {}))).toEqual({ kind: "revoked" });
        expect(await settle(again.trigger("rb", 2, {}))).toMatchObject({
          kind: "decided",
          execution: { outcome: "applied", from: 2, to: 3 },
        });
        expect((await again.executions("ra")).map((execution) => [execution.from, execution.to])).toEqual([
          [1, 2],
        ]);
        expect(
          Object.fromEntries(
            (await again.metrics()).receivers.map((entry) => [entry.receiverId, entry.outcomes.length]),
          ),
        ).toEqual({ ra: 1, rb: 1 });
      });
    });

    describe("executions", () => {
      it("lists a receiver's own executions newest first, as many as asked", async () => {
        const { target, settle } = open("executions");
        await target.register(receiver("ra", 1, 100));
        await target.register(receiver("rb", 1, 100));
        const answers: TriggerResult[] = [];
        for (const id of ["ra", "rb", "ra", "ra"]) answers.push(await settle(target.trigger(id, 1, {})));
        const ids = answers.map((answer) => (answer.kind === "decided" ? answer.execution.id : answer.kind));
        const ra = [ids[3], ids[2], ids[0]];
        expect((await target.executions("ra")).map((execution) => execution.id)).toEqual(ra);
        expect((await target.executions("ra", 2)).map((execution) => execution.id)).toEqual(ra.slice(0, 2));
        expect(await target.executions("ra", 1)).toEqual([
          (answers[3] as Extract<TriggerResult, { kind: "decided" }>).execution,
        ]);
        expect((await target.executions("rb")).map((execution) => [execution.from, execution.to])).toEqual([
          [2, 3],
        ]);
        expect(await target.executions("rz")).toEqual([]);
      });

      it("stores at most the latest executions per receiver, in SQLite", async () => {
        const { target, settle, query, name } = open("history");
        await target.register(receiver("rd"));
        await target.register(receiver("re", 1, 1));
        const answers: TriggerResult[] = [];
        for (let round = 0; round < 5; round++) {
          answers.push(
            ...(await settle(Promise.all(Array.from({ length: 60 }, () => target.trigger("re", 1, {}))))),
          );
        }
        await settle(target.trigger("rd", 1, {}));
        // History is trimmed now and then, not on every trigger: never far above what is kept.
        const rows = await query(
          name,
          "SELECT receiver_id, COUNT(*) AS n FROM executions GROUP BY receiver_id ORDER BY receiver_id",
        );
        expect(rows[0]).toEqual({ receiver_id: "rd", n: 1 });
        expect(rows[1]?.n).toBeGreaterThanOrEqual(EXECUTIONS_KEPT);
        expect(rows[1]?.n).toBeLessThanOrEqual(EXECUTIONS_KEPT + 16);
        const kept = await target.executions("re");
        expect(kept.map((execution) => execution.id)).toEqual(
          answers
            .slice(-EXECUTIONS_KEPT)
            .map((answer) => (answer.kind === "decided" ? answer.execution.id : undefined))
            .reverse(),
        );
        await target.revoke("re");
        expect(await target.executions("re")).toEqual([]);
        expect(await target.executions("rd")).toHaveLength(1);
      });
    });

    describe("liveReceivers", () => {
      it("answers the receivers asked for that are live here, at their current version, in the order asked", async () => {
        const { target } = open("live");
        expect(await target.liveReceivers(["ra"])).toEqual([]);
        await target.register(receiver("ra"));
        await target.register(receiver("rb", 4));
        await target.register(receiver("rc"));
        expect(await target.rotate("ra")).toBe(2);
        await target.revoke("rc");
        expect(await target.liveReceivers(["rb", "rz", "ra", "rc"])).toEqual([
          receiver("rb", 4),
          receiver("ra", 2),
        ]);
        expect(await target.liveReceivers([])).toEqual([]);
      });
    });

    describe("metrics", () => {
      it("are read without giving storage to an object that has none", async () => {
        const { target, query, name, settle } = open("no-storage");
        expect(await target.metrics()).toEqual({ receivers: [] });
        expect(await target.executions("ra")).toEqual([]);
        expect(await target.liveReceivers(["ra"])).toEqual([]);
        expect(await target.rotate("ra")).toBeNull();
        await target.revoke("ra");
        expect(await settle(target.trigger("ra", 1, {}))).toEqual({ kind: "revoked" });
        expect(await query(name, TABLES_OF_OURS)).toEqual([]);
        await target.register(receiver("ra"));
        expect(
          await query(name, "SELECT name FROM sqlite_master WHERE name = 'execution_counts'"),
        ).toHaveLength(1);
      });

      it("count each receiver's outcomes, and leave out a revoked receiver", async () => {
        const { target, settle } = open("metrics");
        await target.register(receiver("ra", 1, 2));
        await target.register(receiver("rb"));
        for (const id of ["ra", "ra", "rb"]) await settle(target.trigger(id, 1, {}));
        const byReceiver = Object.fromEntries(
          (await target.metrics()).receivers.map((entry) => [
            entry.receiverId,
            {
              pending: entry.pending,
              outcomes: Object.fromEntries(entry.outcomes.map((o) => [o.outcome, o.count])),
            },
          ]),
        );
        expect(byReceiver).toEqual({
          ra: { pending: 0, outcomes: { applied: 1, noop: 1 } },
          rb: { pending: 0, outcomes: { applied: 1 } },
        });
        const lastAt = (await target.metrics()).receivers.flatMap((entry) =>
          entry.outcomes.map((o) => o.lastAt),
        );
        expect(lastAt.every((at) => Number.isInteger(at) && at > 0)).toBe(true);
        await target.revoke("ra");
        expect((await target.metrics()).receivers.map((entry) => entry.receiverId)).toEqual(["rb"]);
      });
    });
  });
}
