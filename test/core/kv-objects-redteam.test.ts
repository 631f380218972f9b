import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKv } from "@deno/kv";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Clock, systemClock } from "../../src/domain/clock";
import type { KvEntry, KvLike, KvSelector } from "../../src/storage/kv/kv";
import { LEASE_MS } from "../../src/storage/kv/lease";
import { type KvObjectKind, KvObjects, type KvTiming, type Outgoing } from "../../src/storage/kv/objects";
import type { ObjectStorage, SqlValue } from "../../src/storage/object-storage";
import { COUNTER } from "../fixtures/kv-counter";

/**
 * Objects over Deno KV (docs/deno-deploy.md) under the cases that break a copy of a Durable
 * Object: callers and holders that stop at the worst moment, objects with triggers and foreign
 * keys, integers past 2^53, and isolates that stop while they take an object.
 */
const FAST = { pollMs: 5, takeWaitMs: 1_500, replyWaitMs: 5_000, idleMs: 60_000 };

/** An object that runs the SQL it is given: what an object's own schema may hold, seen whole. */
class SqlBox {
  alarms = 0;
  constructor(readonly storage: ObjectStorage) {}

  run(script: string): void {
    this.storage.sql.exec(script);
  }

  query(sql: string): Record<string, SqlValue>[] {
    return this.storage.sql.exec(sql).toArray();
  }

  /** Runs `kept` in a transaction, and within it `undone` in one that fails and is rolled back. */
  nested(kept: string, undone: string): void {
    this.storage.transactionSync(() => {
      this.storage.sql.exec(kept);
      try {
        this.storage.transactionSync(() => {
          this.storage.sql.exec(undone);
          throw new Error("undone");
        });
      } catch {
        // The inner transaction is rolled back; the outer one goes on.
      }
    });
  }

  async remind(at: number): Promise<void> {
    await this.storage.setAlarm(at);
  }
}

const SQL_BOX: KvObjectKind<SqlBox> = {
  kind: "boxes",
  open: (storage) => new SqlBox(storage),
  alarm: async (box) => {
    box.alarms += 1;
  },
  writes: new Set(["run", "nested", "remind"]),
};

const clockAhead = (ahead: number): Clock => ({ now: () => Date.now() + ahead, sleep: systemClock.sleep });

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string;
const opened: { close(): void }[] = [];
const hosts: KvObjects<object>[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rancher-hooks-kv-redteam-"));
});
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.close().catch(() => {})));
  for (const kv of opened.splice(0)) kv.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A KV file, opened once per isolate (as each process opens it). */
function kvFile(): () => Promise<KvLike> {
  const path = join(dir, `kv-${++files}.sqlite`);
  return async () => {
    const kv = await openKv(path);
    opened.push(kv);
    return kv as unknown as KvLike;
  };
}

function isolate<Core extends object>(
  kv: KvLike,
  name: string,
  kind: KvObjectKind<Core>,
  clock: Clock = systemClock,
  timing: Partial<KvTiming> = FAST,
): KvObjects<Core> {
  const host = new KvObjects<Core>(kv, clock, name, kind, timing);
  hosts.push(host as unknown as KvObjects<object>);
  return host;
}

const keysUnder = async (kv: KvLike, prefix: (string | number)[]) => {
  const keys: unknown[] = [];
  for await (const entry of kv.list({ prefix })) keys.push(entry.key);
  return keys;
};

/**
 * A process that froze (or died) right after its first commit that sets a key `after` names:
 * from then on nothing it asks of KV ever answers.
 */
function freezing(kv: KvLike, after: (key: readonly (string | number)[]) => boolean): KvLike {
  let frozen = false;
  const never = () => new Promise<never>(() => {});
  return {
    get: (key) => (frozen ? never() : kv.get(key)),
    getMany: (keys) => (frozen ? never() : kv.getMany(keys)),
    list: (selector, options) => kv.list(selector, options),
    set: (key, value, options) => kv.set(key, value, options),
    delete: (key) => kv.delete(key),
    atomic: () => {
      const atomic = kv.atomic();
      let fatal = false;
      const wrapped = {
        check: (...checks: Parameters<typeof atomic.check>) => {
          atomic.check(...checks);
          return wrapped;
        },
        set: (key: readonly (string | number)[], value: unknown, options?: { expireIn?: number }) => {
          fatal ||= after(key);
          atomic.set(key, value, options);
          return wrapped;
        },
        delete: (key: readonly (string | number)[]) => {
          atomic.delete(key);
          return wrapped;
        },
        commit: async () => {
          if (frozen) return never();
          const result = await atomic.commit();
          if (fatal) frozen = true;
          return result;
        },
      };
      return wrapped;
    },
  } as KvLike;
}

describe("forwarded calls over Deno KV, when callers and holders stop", () => {
  it("never run a call whose caller stopped waiting for it, and delete what it left in KV", async () => {
    const open = kvFile();
    // A holder that never looks for calls: as one that hangs.
    const a = isolate(await open(), "a", COUNTER, systemClock, {
      ...FAST,
      pollMs: 60_000,
      maxPollMs: 60_000,
    });
    expect(await a.call("c1", "add", [1])).toBe(1);
    // B writes its call and freezes: it will never take it back.
    const b = isolate(
      freezing(await open(), (key) => key[0] === "call"),
      "b",
      COUNTER,
    );
    void b.call("c1", "add", [5]).catch(() => {});
    const kv = await open();
    while ((await keysUnder(kv, ["call"])).length === 0) await pause(10);
    // Much later, C finds A's lease run out and takes the object: the call B made is no one's now.
    const c = isolate(await open(), "c", COUNTER, clockAhead(LEASE_MS + 10_000));
    expect(await c.call("c1", "value", [])).toBe(1);
    await pause(300);
    expect(await c.call("c1", "value", [])).toBe(1);
    expect(await keysUnder(kv, ["call"])).toEqual([]);
  });

  it("keep waiting for a forwarded call's answer through a KV that fails a few looks", async () => {
    const open = kvFile();
    const raw = await open();
    let failing = 0;
    const unsteady: KvLike = {
      ...raw,
      get: (key) => raw.get(key),
      getMany: (keys) => {
        if (failing > 0) {
          failing -= 1;
          return Promise.reject(new Error("connection reset"));
        }
        return raw.getMany(keys);
      },
      list: (selector, options) => raw.list(selector, options),
      set: (key, value, options) => raw.set(key, value, options),
      delete: (key) => raw.delete(key),
      atomic: () => {
        const atomic = raw.atomic();
        const set = atomic.set.bind(atomic);
        atomic.set = (key, value, options) => {
          // Its reads fail for a while once its call is written.
          if (key[0] === "call") failing = 5;
          return set(key, value, options);
        };
        return atomic;
      },
    };
    const a = isolate(await open(), "a", COUNTER);
    const b = isolate(unsteady, "b", COUNTER);
    expect(await a.call("c6", "add", [1])).toBe(1);
    expect(await b.call("c6", "add", [1])).toBe(2);
    expect(await a.call("c6", "value", [])).toBe(2);
  });

  it("keep serving an object while a call of it vanishes as its holder reads it", async () => {
    const open = kvFile();
    const kv = await open();
    const a = isolate(await open(), "a", COUNTER);
    expect(await a.call("c2", "add", [1])).toBe(1);
    // A call record in parts whose parts are gone: what the holder reads while the call's
    // caller takes it back (the record and its parts go in one commit, between two of its reads).
    const id = `${String(Date.now()).padStart(15, "0")}-gone-1`;
    await kv.set(["call", "counters", "c2", id], 2);
    await pause(300);
    expect(a.held).toEqual(["c2"]);
    const b = isolate(await open(), "b", COUNTER);
    expect(await b.call("c2", "add", [1])).toBe(2);
    expect(a.held).toEqual(["c2"]);
  });
});

describe("forwarded calls of any size", () => {
  it("carry a call and its answer past what one KV operation and one read take", async () => {
    const open = kvFile();
    const a = isolate(await open(), "a", SQL_BOX);
    const b = isolate(await open(), "b", SQL_BOX);
    await a.call("big", "run", ["CREATE TABLE t (v TEXT)"]);
    // 1 MB each way: over 800 KiB (one atomic operation) and over 10 parts (one getMany).
    await b.call("big", "run", [`INSERT INTO t VALUES ('${"x".repeat(1_000_000)}')`]);
    const rows = (await b.call("big", "query", ["SELECT v || hex(randomblob(1)) AS v FROM t"])) as {
      v: string;
    }[];
    expect(rows[0]?.v.length).toBe(1_000_002);
    expect(a.held).toEqual(["big"]);
    expect(b.held).toEqual([]);
  });
});

describe("taking and giving up objects over Deno KV", () => {
  it("never give two holders of an object the same epoch, even once a lease was given up", async () => {
    const open = kvFile();
    const kv = await open();
    const epochs: number[] = [];
    for (const name of ["a", "b", "a"]) {
      const host = isolate(await open(), name, COUNTER);
      await host.call("e1", "add", [1]);
      epochs.push(
        ((await kv.get<{ epoch: number }>(["lease", "counters", "e1"])).value?.epoch ?? 0) as number,
      );
      await host.close();
    }
    expect(new Set(epochs).size).toBe(3);
  });

  it("give the lease up at once when an object fails to load, so another isolate takes it", async () => {
    const open = kvFile();
    let failures = 1;
    const flaky: KvObjectKind<SqlBox> = {
      ...SQL_BOX,
      open: (storage, outgoing) => {
        if (failures-- > 0) throw new Error("the object could not start");
        return SQL_BOX.open(storage, outgoing);
      },
    };
    const a = isolate(await open(), "a", flaky);
    const b = isolate(await open(), "b", flaky);
    await expect(a.call("f1", "run", ["CREATE TABLE t (v)"])).rejects.toThrow("could not start");
    await b.call("f1", "run", ["CREATE TABLE t (v)"]);
    expect(b.held).toEqual(["f1"]);
  });

  it("give the lease up when a write fails, so another isolate takes the object at once", async () => {
    const open = kvFile();
    const raw = await open();
    let failNext = false;
    const flaky: KvLike = {
      ...raw,
      get: (key) => raw.get(key),
      getMany: (keys) => raw.getMany(keys),
      list: (selector, options) => raw.list(selector, options),
      set: (key, value, options) => raw.set(key, value, options),
      delete: (key) => raw.delete(key),
      atomic: () => {
        const atomic = raw.atomic();
        const commit = atomic.commit.bind(atomic);
        atomic.commit = async () => {
          if (!failNext) return commit();
          failNext = false;
          throw new Error("connection reset");
        };
        return atomic;
      },
    };
    const a = isolate(flaky, "a", COUNTER);
    const b = isolate(await open(), "b", COUNTER);
    expect(await a.call("c4", "add", [1])).toBe(1);
    failNext = true;
    // The caller is told why, not that the object moved.
    await expect(a.call("c4", "add", [1])).rejects.toThrow("could not be kept (connection reset)");
    const started = Date.now();
    expect(await b.call("c4", "add", [1])).toBe(2);
    expect(Date.now() - started).toBeLessThan(FAST.takeWaitMs);
    expect(b.held).toEqual(["c4"]);
  });

  it("let go an object still loading when the isolate stops", async () => {
    const open = kvFile();
    const seed = isolate(await open(), "seed", SQL_BOX);
    await seed.call("s1", "run", ["CREATE TABLE t (v); INSERT INTO t VALUES (1)"]);
    await seed.close();
    const raw = await open();
    let loading = () => {};
    const loaded = new Promise<void>((resolve) => {
      loading = resolve;
    });
    let hold: Promise<void> | undefined;
    const slowLoads: KvLike = {
      ...raw,
      get: (key) => raw.get(key),
      getMany: (keys) => raw.getMany(keys),
      atomic: () => raw.atomic(),
      set: (key, value, options) => raw.set(key, value, options),
      delete: (key) => raw.delete(key),
      list: <T>(selector: KvSelector, options?: { limit?: number }): AsyncIterable<KvEntry<T>> => {
        const inner = raw.list<T>(selector, options);
        return {
          async *[Symbol.asyncIterator]() {
            if ("prefix" in selector && selector.prefix[0] === "obj" && hold) {
              loading();
              await hold;
            }
            yield* inner;
          },
        };
      },
    };
    let letGo = () => {};
    hold = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const a = isolate(slowLoads, "a", SQL_BOX);
    const call = a.call("s1", "query", ["SELECT v FROM t"]);
    call.catch(() => {});
    await loaded;
    const closing = a.close();
    letGo();
    await closing;
    await call.catch(() => {});
    hold = undefined;
    const kv = await open();
    expect((await kv.get(["lease", "boxes", "s1"])).value).toBeNull();
  });

  it("take nothing in a sweep once the isolate is stopping", async () => {
    const open = kvFile();
    // An isolate that does not run the object's alarm: it gives the object up with its alarm due.
    const seed = isolate(await open(), "seed", { ...SQL_BOX, alarm: undefined });
    await seed.call("s2", "remind", [Date.now() - 1_000]);
    await seed.close();
    const a = isolate(await open(), "a", SQL_BOX);
    await a.close();
    expect(await a.sweep()).toBe(0);
    const kv = await open();
    expect((await kv.get(["lease", "boxes", "s2"])).value).toBeNull();
    const b = isolate(await open(), "b", SQL_BOX);
    expect(await b.sweep()).toBe(1);
  });
});

describe("a holder that stops, and its requests", () => {
  it("let the calls running finish and reach KV before the isolate gives the object up", async () => {
    const open = kvFile();
    const a = isolate(await open(), "a", COUNTER);
    expect(await a.call("c3", "add", [1])).toBe(1);
    const slow = a.call("c3", "slowAdd", [5, 300]);
    await pause(50);
    await a.close();
    expect(await slow).toBe(6);
    const b = isolate(await open(), "b", COUNTER);
    expect(await b.call("c3", "value", [])).toBe(6);
  });

  it("give the object up only once the answers of the calls it ran are in KV", async () => {
    const open = kvFile();
    const raw = await open();
    // Replies reach KV slowly: the holder gives up its lease meanwhile unless it waits for them.
    const slowReplies: KvLike = {
      ...raw,
      get: (key) => raw.get(key),
      getMany: (keys) => raw.getMany(keys),
      list: (selector, options) => raw.list(selector, options),
      set: (key, value, options) => raw.set(key, value, options),
      delete: (key) => raw.delete(key),
      atomic: () => {
        const atomic = raw.atomic();
        const set = atomic.set.bind(atomic);
        const commit = atomic.commit.bind(atomic);
        let reply = false;
        atomic.set = (key, value, options) => {
          reply ||= key[0] === "reply";
          return set(key, value, options);
        };
        atomic.commit = async () => {
          if (reply) await pause(300);
          return commit();
        };
        return atomic;
      },
    };
    const a = isolate(slowReplies, "a", COUNTER);
    const b = isolate(await open(), "b", COUNTER);
    expect(await a.call("c5", "add", [1])).toBe(1);
    const forwarded = b.call("c5", "slowAdd", [5, 200]);
    forwarded.catch(() => {});
    await pause(100);
    await a.close();
    expect(await forwarded).toBe(6);
  });

  it("answer a forwarded call whose answer cannot be copied with an error, at once", async () => {
    const open = kvFile();
    const odd: KvObjectKind<SqlBox & { odd(): unknown }> = {
      ...SQL_BOX,
      open: (storage) => Object.assign(new SqlBox(storage), { odd: () => ({ run: () => 1 }) }),
    } as KvObjectKind<SqlBox & { odd(): unknown }>;
    const a = isolate(await open(), "a", odd);
    const b = isolate(await open(), "b", odd);
    await a.call("o", "run", ["CREATE TABLE t (v)"]);
    const started = Date.now();
    await expect(b.call("o", "odd", [])).rejects.toThrow(/could not be cloned/);
    expect(Date.now() - started).toBeLessThan(FAST.replyWaitMs);
  });

  it("leave the lease to run out when a request is still out as the isolate stops", async () => {
    const open = kvFile();
    const kv = await open();
    let answer = () => {};
    const slow: KvObjectKind<{ send(): Promise<string> }> = {
      kind: "senders",
      open: (_storage, outgoing: Outgoing) => ({
        send: () =>
          outgoing(
            () =>
              new Promise<string>((resolve) => {
                answer = () => resolve("sent");
              }),
          ),
      }),
      writes: new Set(["send"]),
    };
    const a = isolate(await open(), "a", slow, systemClock, { ...FAST, closeWaitMs: 200 });
    const sending = a.call("r", "send", []);
    sending.catch(() => {});
    while ((await kv.get(["lease", "senders", "r"])).value === null) await pause(10);
    await pause(50);
    await a.close();
    // The request is still out: its lease stays until it runs out, so no one else sends meanwhile.
    expect((await kv.get<{ holder: string }>(["lease", "senders", "r"])).value?.holder).toBe("a");
    answer();
    await sending.catch(() => {});
  }, 10_000);

  it("send a request only with more lease left than the request may last", async () => {
    const open = kvFile();
    const kv = await open();
    let ahead = 0;
    const clock: Clock = { now: () => Date.now() + ahead, sleep: systemClock.sleep };
    /** Its request answers how much of the object's lease, as KV has it, is left as it leaves. */
    const leaseLeft = async () => {
      const lease = await kv.get<{ until: number }>(["lease", "senders", "o"]);
      return (lease.value?.until ?? 0) - clock.now();
    };
    const sender: KvObjectKind<{ send(lastsMs?: number): Promise<number> }> = {
      kind: "senders",
      open: (_storage, outgoing: Outgoing) => ({ send: (lastsMs) => outgoing(leaseLeft, lastsMs) }),
      writes: new Set(["send"]),
    };
    const a = isolate(await open(), "a", sender, clock);
    expect(await a.call("o", "send", [])).toBeGreaterThan(LEASE_MS - 1_000);
    // 3 s later by its clock: 9 s left, enough for a Cattle request, not for one that may take 10 s.
    ahead = 3_000;
    expect(await a.call("o", "send", [])).toBeLessThan(LEASE_MS - 2_500);
    expect(await a.call("o", "send", [10_000])).toBeGreaterThan(10_500);
    await expect(a.call("o", "send", [LEASE_MS])).rejects.toThrow("outlasts");
  });

  it("renew the lease once for requests that all find too little of it left at once", async () => {
    const open = kvFile();
    const raw = await open();
    let leaseWrites = 0;
    const counting: KvLike = {
      ...raw,
      get: (key) => raw.get(key),
      getMany: (keys) => raw.getMany(keys),
      list: (selector, options) => raw.list(selector, options),
      set: (key, value, options) => raw.set(key, value, options),
      delete: (key) => raw.delete(key),
      atomic: () => {
        const atomic = raw.atomic();
        const set = atomic.set.bind(atomic);
        atomic.set = (key, value, options) => {
          if (key[0] === "lease") leaseWrites += 1;
          return set(key, value, options);
        };
        return atomic;
      },
    };
    let ahead = 0;
    const clock: Clock = { now: () => Date.now() + ahead, sleep: systemClock.sleep };
    const sender: KvObjectKind<{ send(lastsMs?: number): Promise<void> }> = {
      kind: "senders",
      open: (_storage, outgoing: Outgoing) => ({ send: (lastsMs) => outgoing(async () => {}, lastsMs) }),
      writes: new Set(["send"]),
    };
    const a = isolate(counting, "a", sender, clock);
    await a.call("o", "send", []);
    ahead = 3_000;
    const taken = leaseWrites;
    await Promise.all(Array.from({ length: 5 }, () => a.call("o", "send", [10_000])));
    expect(leaseWrites - taken).toBe(1);
  });
});

describe("follow-ups (alarms) over Deno KV", () => {
  it("give a failing alarm up after its sixth try, as a Durable Object does", async () => {
    // A clock 20 times as fast as the machine's: the tries' 1 + 2 + 4 + 8 + 16 s pass in 1.55 s,
    // and its lease still has 0.2 s to spare when its holder renews it.
    const start = Date.now();
    const fast: Clock = {
      now: () => start + (Date.now() - start) * 20,
      sleep: (ms, signal) => systemClock.sleep(ms / 20, signal),
    };
    let tries = 0;
    const failing: KvObjectKind<SqlBox> = {
      ...SQL_BOX,
      alarm: async () => {
        tries += 1;
        throw new Error("Cattle is down");
      },
    };
    const open = kvFile();
    const a = isolate(await open(), "a", failing, fast);
    await a.call("al", "remind", [fast.now()]);
    // 80 s on its clock: the six tries are long over.
    await pause(4_000);
    expect(tries).toBe(6);
    const kv = await open();
    expect(await keysUnder(kv, ["alarms"])).toEqual([]);
  });
});

describe("sweeps", () => {
  it("take every due object no one holds, past one that cannot load", async () => {
    const open = kvFile();
    // An isolate that does not run alarms: it lets both objects go with their alarms due.
    const seed = isolate(await open(), "seed", { ...SQL_BOX, alarm: undefined });
    await seed.call("bad", "run", ["CREATE TABLE poison (v)"]);
    await seed.call("bad", "remind", [Date.now() - 2_000]);
    await seed.call("good", "remind", [Date.now() - 1_000]);
    await seed.close();
    const poisoned: KvObjectKind<SqlBox> = {
      ...SQL_BOX,
      open: (storage, outgoing) => {
        if (storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'poison'").toArray().length > 0)
          throw new Error("the object could not start");
        return SQL_BOX.open(storage, outgoing);
      },
    };
    const a = isolate(await open(), "a", poisoned);
    expect(await a.sweep()).toBe(1);
    expect(a.held).toEqual(["good"]);
  });
});

describe("sweeps over index keys left behind", () => {
  it("delete an alarm's index key of an object without state, and give it none", async () => {
    const open = kvFile();
    const kv = await open();
    await kv.set(["alarms", "boxes", Date.now() - 1_000, "ghost"], 1);
    const a = isolate(await open(), "a", SQL_BOX);
    expect(await a.sweep()).toBe(0);
    expect(a.held).toEqual([]);
    expect(await keysUnder(kv, [])).toEqual([]);
  });

  it("delete an index key the object's alarm is not at, so that sweeps stop taking it", async () => {
    const open = kvFile();
    const kv = await open();
    const seed = isolate(await open(), "seed", SQL_BOX);
    await seed.call("s", "run", ["CREATE TABLE t (v)"]);
    await seed.close();
    await kv.set(["alarms", "boxes", Date.now() - 1_000, "s"], 1);
    const a = isolate(await open(), "a", SQL_BOX);
    expect(await a.sweep()).toBe(0);
    expect(await keysUnder(kv, ["alarms"])).toEqual([]);
    await a.close();
    const b = isolate(await open(), "b", SQL_BOX);
    expect(await b.sweep()).toBe(0);
    expect(b.held).toEqual([]);
  });
});

describe("follow-ups of objects let go while idle", () => {
  it("run on time, not at the next sweep", async () => {
    let runs = 0;
    const counted: KvObjectKind<SqlBox> = {
      ...SQL_BOX,
      alarm: async () => {
        runs += 1;
      },
    };
    const open = kvFile();
    const a = isolate(await open(), "a", counted, systemClock, { ...FAST, idleMs: 200 });
    await a.call("w", "remind", [Date.now() + 1_000]);
    // Let go once idle for 0.2 s: its alarm is further away than that.
    while (a.held.length > 0) await pause(20);
    expect(runs).toBe(0);
    await pause(1_500);
    expect(runs).toBe(1);
    const kv = await open();
    expect(await keysUnder(kv, ["alarms"])).toEqual([]);
  });
});

describe("state over Deno KV, read back by a new holder", () => {
  /** Writes `script` with one isolate, and answers `sql` as a new holder reads it back. */
  async function readBack(script: string | string[], sql: string): Promise<Record<string, SqlValue>[]> {
    const open = kvFile();
    const a = isolate(await open(), "a", SQL_BOX);
    // Each script is a call of its own: its writes are one commit.
    for (const each of [script].flat()) await a.call("x", "run", [each]);
    const before = await a.call("x", "query", [sql]);
    await a.close();
    const b = isolate(await open(), "b", SQL_BOX);
    const after = (await b.call("x", "query", [sql])) as Record<string, SqlValue>[];
    expect(after).toEqual(before);
    return after;
  }

  it("put rows back without running the object's triggers again", async () => {
    const rows = await readBack(
      `CREATE TABLE entries (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL);
       CREATE TABLE log (id INTEGER PRIMARY KEY, entry INTEGER NOT NULL);
       CREATE TRIGGER logged AFTER INSERT ON entries BEGIN INSERT INTO log (entry) VALUES (NEW.id); END;
       INSERT INTO entries (amount) VALUES (10), (20);`,
      "SELECT id, entry FROM log ORDER BY id",
    );
    expect(rows).toEqual([
      { id: 1, entry: 1 },
      { id: 2, entry: 2 },
    ]);
  });

  it("put a child's rows back before its parent's, foreign keys checked", async () => {
    // "a_entries" sorts before "accounts": its rows come back first.
    const rows = await readBack(
      `CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
       CREATE TABLE a_entries (id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES accounts (id));
       INSERT INTO accounts (name) VALUES ('main');
       INSERT INTO a_entries (account) VALUES (1);`,
      "SELECT a_entries.id, name FROM a_entries JOIN accounts ON accounts.id = account",
    );
    expect(rows).toEqual([{ id: 1, name: "main" }]);
  });

  it("keep the rows of a table WITHOUT ROWID, known by their primary key", async () => {
    const rows = await readBack(
      [
        "CREATE TABLE kv (scope TEXT, k BLOB, ratio REAL, v, PRIMARY KEY (scope, k, ratio)) WITHOUT ROWID",
        "INSERT INTO kv VALUES ('a', X'00ff', 0.1, 1), ('a', X'01', 0.30000000000000004, 2), ('it''s', X'', 1e300, 3)",
        "UPDATE kv SET v = 20 WHERE v = 2",
        "UPDATE kv SET k = X'02' WHERE v = 3",
        "INSERT INTO kv VALUES ('gone', X'', 0, 0)",
        "DELETE FROM kv WHERE scope = 'gone'",
        // A migration rewrites every row: known by their key there too.
        "ALTER TABLE kv ADD COLUMN note TEXT",
        "UPDATE kv SET note = 'n' WHERE v = 1",
      ],
      "SELECT scope, hex(k) AS k, ratio, v, note FROM kv ORDER BY v",
    );
    expect(rows).toEqual([
      { scope: "a", k: "00FF", ratio: 0.1, v: 1, note: "n" },
      { scope: "it's", k: "02", ratio: 1e300, v: 3, note: null },
      { scope: "a", k: "01", ratio: 0.30000000000000004, v: 20, note: null },
    ]);
  });

  it("keep the rows of a table rebuilt WITHOUT ROWID under its name, and back", async () => {
    const rebuild = (options: string) =>
      `CREATE TABLE t2 (k INTEGER PRIMARY KEY, v TEXT)${options}; INSERT INTO t2 SELECT k, v FROM t; DROP TABLE t; ALTER TABLE t2 RENAME TO t`;
    const rows = await readBack(
      [
        "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)",
        "INSERT INTO t VALUES (1, 'one'), (2, 'two')",
        rebuild(" WITHOUT ROWID"),
        "INSERT INTO t VALUES (3, 'three')",
        rebuild(""),
        "DELETE FROM t WHERE k = 2",
      ],
      "SELECT k, v FROM t ORDER BY k",
    );
    expect(rows).toEqual([
      { k: 1, v: "one" },
      { k: 3, v: "three" },
    ]);
  });

  it("keep rows whose rowid is past 2^53, and follow them when it changes", async () => {
    const rows = await readBack(
      [
        "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)",
        "INSERT INTO big VALUES (9223372036854775807, 'max'), (-9223372036854775808, 'min'), (9007199254740993, 'moved')",
        "UPDATE big SET id = 9007199254740995 WHERE v = 'moved'",
      ],
      "SELECT CAST(id AS TEXT) AS id, v FROM big ORDER BY id",
    );
    expect(rows).toEqual([
      { id: "-9223372036854775808", v: "min" },
      { id: "9007199254740995", v: "moved" },
      { id: "9223372036854775807", v: "max" },
    ]);
  });

  it("keep integers exact past 2^53, and an INTEGER an INTEGER", async () => {
    const rows = await readBack(
      `CREATE TABLE n (big INTEGER, loose, real REAL);
       INSERT INTO n VALUES (9007199254740993, 7, 2.0);`,
      "SELECT CAST(big AS TEXT) AS big, loose / 2 AS half, typeof(loose) AS type, typeof(real) AS real FROM n",
    );
    expect(rows).toEqual([{ big: "9007199254740993", half: 3, type: "integer", real: "real" }]);
  });
});
