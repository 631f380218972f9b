import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKv } from "@deno/kv";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Clock, systemClock } from "../../src/domain/clock";
import type { KvAtomic, KvKey, KvLike } from "../../src/storage/kv/kv";
import { LEASE_MS } from "../../src/storage/kv/lease";
import { KvObjectStorage } from "../../src/storage/kv/mirror";
import { KvObjects, type KvTiming, ObjectUnavailable } from "../../src/storage/kv/objects";
import { COUNTER, type Counter } from "../fixtures/kv-counter";

/**
 * Objects over Deno KV (docs/deno-deploy.md) with a small object of their own: a counter whose
 * every change is a row. Several `KvObjects` over one KV file are several isolates; a clock set
 * ahead is an isolate that sees another's lease run out; a KV that fails its commits from some
 * point on is a process that died there.
 */
const FAST = { pollMs: 5, takeWaitMs: 1_500, idleMs: 60_000 };

/** A clock `ahead` ms ahead of the machine's: it sees leases run out that others still hold. */
const clockAhead = (ahead: () => number): Clock => ({
  now: () => Date.now() + ahead(),
  sleep: systemClock.sleep,
});

/**
 * A KV that dies after the first commit that sets a key `diesAfter` accepts: every commit after it
 * fails, as in a process that died there.
 */
function dying(kv: KvLike, diesAfter: (key: KvKey) => boolean): KvLike {
  let dead = false;
  const wrap = (atomic: KvAtomic): KvAtomic => {
    let fatal = false;
    const wrapped: KvAtomic = {
      check: (...checks) => {
        atomic.check(...checks);
        return wrapped;
      },
      set: (key, value, options) => {
        fatal ||= diesAfter(key);
        atomic.set(key, value, options);
        return wrapped;
      },
      delete: (key) => {
        atomic.delete(key);
        return wrapped;
      },
      commit: async () => {
        if (dead) throw new Error("the process died");
        const result = await atomic.commit();
        if (fatal) dead = true;
        return result;
      },
    };
    return wrapped;
  };
  return {
    get: (key) => kv.get(key),
    getMany: (keys) => kv.getMany(keys),
    list: (selector, options) => kv.list(selector, options),
    atomic: () => wrap(kv.atomic()),
    set: (key, value, options) => kv.set(key, value, options),
    delete: (key) => kv.delete(key),
  } as KvLike;
}

let dir: string;
const opened: { close(): void }[] = [];
const hosts: KvObjects<Counter>[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rancher-hooks-kv-objects-"));
});
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.close().catch(() => {})));
  for (const kv of opened.splice(0)) kv.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A KV file, opened once per isolate (as each process opens it). */
async function kvFile(): Promise<() => Promise<KvLike>> {
  const path = join(dir, `kv-${++files}.sqlite`);
  return async () => {
    const kv = await openKv(path);
    opened.push(kv);
    return kv as unknown as KvLike;
  };
}

function isolate(
  kv: KvLike,
  name: string,
  clock: Clock = systemClock,
  timing: Partial<KvTiming> = FAST,
): KvObjects<Counter> {
  const host = new KvObjects<Counter>(kv, clock, name, COUNTER, timing);
  hosts.push(host);
  return host;
}

const keysUnder = async (kv: KvLike, prefix: (string | number)[]) => {
  const keys: unknown[] = [];
  for await (const entry of kv.list({ prefix })) keys.push(entry.key);
  return keys;
};

describe("objects over Deno KV", () => {
  it("keep every change in KV, and a new holder reads it all back", async () => {
    const open = await kvFile();
    const a = isolate(await open(), "a");
    for (let i = 0; i < 5; i++) expect(await a.call("c1", "add", [2])).toBe(2 * (i + 1));
    // A row past one KV value is kept in chunks, and a shorter version of it leaves none behind.
    await a.call("c1", "note", [3, 150_000]);
    await a.call("c1", "replaceNote", [2, 10]);
    await a.close();
    const b = isolate(await open(), "b");
    expect(await b.call("c1", "value", [])).toBe(10);
    expect(await b.call("c1", "notes", [])).toEqual([
      { id: 1, length: 150_000 },
      { id: 2, length: 10 },
      { id: 3, length: 150_000 },
    ]);
    const kv = await open();
    const chunks = (await keysUnder(kv, ["obj", "counters", "c1", "chunk"])) as unknown[][];
    expect(new Set(chunks.map((key) => key[5]))).toEqual(new Set([1, 3]));
  });

  it("never give a number AUTOINCREMENT gave once again, across holders", async () => {
    const open = await kvFile();
    const a = isolate(await open(), "a");
    await a.call("c9", "note", [3, 1]);
    await a.call("c9", "dropNote", [3]);
    await a.close();
    const b = isolate(await open(), "b");
    await b.call("c9", "note", [1, 1]);
    expect(await b.call("c9", "notes", [])).toEqual([
      { id: 1, length: 1 },
      { id: 2, length: 1 },
      { id: 4, length: 1 },
    ]);
  });

  it("answer a call of an object without state from an empty one, and store nothing", async () => {
    const open = await kvFile();
    const kv = await open();
    const a = isolate(kv, "a");
    expect(await a.call("nobody", "value", [])).toBe(0);
    expect(await keysUnder(kv, [])).toEqual([]);
  });

  it("put a transaction too large for one commit through a journal: all of it or none of it", async () => {
    const open = await kvFile();
    const a = isolate(await open(), "a");
    // 1,200 rows: more mutations than one atomic operation takes.
    expect(await a.call("c2", "note", [1_200, 10])).toBe(1_200);
    await a.close();
    const kv = await open();
    const db = await KvObjectStorage.read(kv, ["obj", "counters", "c2"]);
    expect(db.prepare("SELECT count(*) AS n FROM notes").all()).toEqual([{ n: 1_200 }]);
    expect(await keysUnder(kv, ["obj", "counters", "c2", "journal"])).toEqual([]);
    expect(await keysUnder(kv, ["obj", "counters", "c2", "head"])).toEqual([]);
  });

  it("finish a journal whose holder died after its commit point, and drop one that never reached it", async () => {
    const journal = (part: string) => (key: KvKey) => key[3] === part;
    for (const [diesAfter, expected] of [
      // Dies once the journal's head is in, before the rows are: the next holder applies it.
      [journal("head"), 1_201],
      // Dies after the journal's first parts: the transaction never happened, and its parts are deleted.
      [journal("journal"), 1],
    ] as const) {
      const open = await kvFile();
      const seed = isolate(await open(), "seed");
      await seed.call("c3", "add", [1]);
      await seed.call("c3", "note", [1, 10]);
      await seed.close();
      let armed = false;
      const raw = await open();
      const a = isolate(
        dying(raw, (key) => armed && diesAfter(key)),
        "a",
      );
      expect(await a.call("c3", "value", [])).toBe(1);
      armed = true;
      // 1,200 rows of 600 characters: two journal parts, then the head.
      const call = a.call("c3", "note", [1_200, 600]);
      call.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const later = clockAhead(() => LEASE_MS + 5_000);
      const b = isolate(await open(), "b", later);
      const notes = (await b.call("c3", "notes", [])) as unknown[];
      expect(notes.length).toBe(expected);
      const kv = await open();
      expect(await keysUnder(kv, ["obj", "counters", "c3", "journal"])).toEqual([]);
      expect(await keysUnder(kv, ["obj", "counters", "c3", "head"])).toEqual([]);
    }
  }, 30_000);

  it("forward a call that reaches another isolate to the holder, and answer it there", async () => {
    const open = await kvFile();
    const a = isolate(await open(), "a");
    const b = isolate(await open(), "b");
    expect(await a.call("c4", "add", [1])).toBe(1);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).call("c4", "add", [1])),
    );
    expect([...(answers as number[])].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 2),
    );
    expect(a.held).toEqual(["c4"]);
    expect(b.held).toEqual([]);
    await expect(b.call("c4", "missing", [])).rejects.toThrow("no method missing");
  });

  it("fence a holder whose lease ran out: nothing it writes after that lands, and its call fails", async () => {
    const open = await kvFile();
    let ahead = 0;
    const a = isolate(await open(), "a");
    const b = isolate(
      await open(),
      "b",
      clockAhead(() => ahead),
    );
    expect(await a.call("c5", "add", [1])).toBe(1);
    // A's call is running when B, whose clock says A's lease ran out, takes the object.
    const slow = a.call("c5", "slowAdd", [100, 300]);
    ahead = LEASE_MS + 5_000;
    expect(await b.call("c5", "add", [10])).toBe(11);
    await expect(slow).rejects.toBeInstanceOf(ObjectUnavailable);
    expect(await b.call("c5", "value", [])).toBe(11);
    const kv = await open();
    const db = await KvObjectStorage.read(kv, ["obj", "counters", "c5"]);
    expect(db.prepare("SELECT value FROM counter").all()).toEqual([{ value: 11 }]);
  });

  it("take a call back that no holder takes in time: it never runs, and the caller is told", async () => {
    const open = await kvFile();
    // A holder that never looks for calls: as one that hangs.
    const a = isolate(await open(), "a", systemClock, { ...FAST, pollMs: 60_000, maxPollMs: 60_000 });
    const b = isolate(await open(), "b");
    expect(await a.call("c6", "add", [1])).toBe(1);
    await expect(b.call("c6", "add", [5])).rejects.toBeInstanceOf(ObjectUnavailable);
    const kv = await open();
    expect(await keysUnder(kv, ["call"])).toEqual([]);
    expect(await a.call("c6", "value", [])).toBe(1);
  }, 15_000);

  it("give an object up when its holder closes, so another takes it at once", async () => {
    const open = await kvFile();
    const a = isolate(await open(), "a");
    const b = isolate(await open(), "b");
    expect(await a.call("c7", "add", [3])).toBe(3);
    await a.close();
    expect(await b.call("c7", "add", [1])).toBe(4);
    expect(b.held).toEqual(["c7"]);
  });
});
