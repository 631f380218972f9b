import { describe, expect, it } from "vitest";
import { type KvLike, retryingBusy } from "../../src/storage/kv/kv";
import { KV_HOP_MS, SimDenoKv } from "./denokv";
import { Random } from "./random";
import { type Owner, Scheduler } from "./scheduler";

/** A simulated Deno KV, one isolate's view of it, and a way to run the world until a promise settles. */
function setup(lockedChance = 0) {
  const scheduler = new Scheduler();
  const store = new SimDenoKv(scheduler, new Random(7));
  store.lockedChance = lockedChance;
  const owner: Owner = { label: "iso1", alive: true };
  const kv = store.view(owner);
  const settle = async <T>(work: Promise<T>): Promise<T> => {
    let done = false;
    const watched = work.finally(() => {
      done = true;
    });
    watched.catch(() => {});
    await scheduler.runUntil(scheduler.now + 60_000, () => done);
    return watched;
  };
  return { scheduler, store, owner, kv, settle };
}

const keysOf = async (kv: KvLike, selector: Parameters<KvLike["list"]>[0]) => {
  const keys: unknown[] = [];
  for await (const entry of kv.list(selector)) keys.push(entry.key);
  return keys;
};

describe("the simulated Deno KV", () => {
  it("lists in Deno KV's key order: by type (strings before numbers), then value; a prefix's own key left out", async () => {
    const { kv, settle } = setup();
    const atomic = kv.atomic();
    for (const key of [["a", 10], ["a", 9], ["a", "z"], ["a", "b"], ["a"], ["b", 1], ["a", 9, "x"]])
      atomic.set(key, 1);
    await settle(atomic.commit());
    expect(await settle(keysOf(kv, { prefix: ["a"] }))).toEqual([
      ["a", "b"],
      ["a", "z"],
      ["a", 9],
      ["a", 9, "x"],
      ["a", 10],
    ]);
    expect(await settle(keysOf(kv, { start: ["a", 9], end: ["a", 10] }))).toEqual([
      ["a", 9],
      ["a", 9, "x"],
    ]);
  });

  it("commits all or nothing: a check compares versionstamps, null is absent, each commit a later versionstamp", async () => {
    const { kv, settle } = setup();
    const first = await settle(
      kv
        .atomic()
        .check({ key: ["k"], versionstamp: null })
        .set(["k"], 1)
        .commit(),
    );
    if (!first.ok) throw new Error("the first commit failed");
    const stale = await settle(
      kv
        .atomic()
        .check({ key: ["k"], versionstamp: null })
        .set(["k"], 2)
        .set(["other"], 2)
        .commit(),
    );
    expect(stale).toEqual({ ok: false });
    expect((await settle(kv.get(["other"]))).versionstamp).toBeNull();
    const second = await settle(
      kv
        .atomic()
        .check({ key: ["k"], versionstamp: first.versionstamp })
        .set(["k"], 3)
        .commit(),
    );
    if (!second.ok) throw new Error("the second commit failed");
    expect(second.versionstamp > first.versionstamp).toBe(true);
    const [k, other] = await settle(kv.getMany<[number, number]>([["k"], ["other"]]));
    expect([k?.value, k?.versionstamp, other?.value]).toEqual([3, second.versionstamp, null]);
  });

  it("copies values in and out", async () => {
    const { kv, settle } = setup();
    const value = { list: [1] };
    const writing = kv.set(["v"], value);
    value.list.push(2);
    await settle(writing);
    const read = (await settle(kv.get<{ list: number[] }>(["v"]))).value;
    read?.list.push(3);
    expect((await settle(kv.get(["v"]))).value).toEqual({ list: [1] });
  });

  it("throws past Deno KV's limits, writing nothing", async () => {
    const { kv, settle } = setup();
    expect(() => kv.atomic().set(["big"], new Uint8Array(65_537))).toThrow(/Value too large/);
    expect(() => kv.atomic().set(["x".repeat(2_100)], 1)).toThrow(/Key too large/);
    const many = kv.atomic();
    for (let i = 0; i <= 1_000; i++) many.set(["m", i], 1);
    await expect(many.commit()).rejects.toThrow(/Too many mutations/);
    const heavy = kv.atomic();
    for (let i = 0; i < 13; i++) heavy.set(["h", i], new Uint8Array(65_000));
    await expect(heavy.commit()).rejects.toThrow(/Total mutation size too large/);
    expect(() => kv.getMany(Array.from({ length: 11 }, (_, i) => ["g", i]))).toThrow(/Too many ranges/);
    expect(await settle(keysOf(kv, { prefix: ["m"] }))).toEqual([]);
  });

  it("takes a hop each way; an answer never reaches a dead isolate, and waits while it is stalled", async () => {
    const { scheduler, owner, kv, settle } = setup();
    const start = scheduler.now;
    await settle(kv.set(["a"], 1));
    expect(scheduler.now - start).toBe(2 * KV_HOP_MS);
    scheduler.stall(owner);
    let answered = false;
    void kv.get(["a"]).then(() => {
      answered = true;
    });
    await scheduler.runUntil(scheduler.now + 1_000);
    expect(answered).toBe(false);
    scheduler.release(owner);
    await scheduler.runUntil(scheduler.now + 1);
    expect(answered).toBe(true);
    // A commit sent just before the isolate dies lands all the same; its answer never comes.
    let told = false;
    void kv.set(["b"], 2).then(() => {
      told = true;
    });
    owner.alive = false;
    await scheduler.runUntil(scheduler.now + 1_000);
    expect(told).toBe(false);
    expect(scheduler.now).toBeGreaterThan(start);
  });

  it("makes some commits fail as `database is locked`, writing nothing, which retryingBusy tries again", async () => {
    const { scheduler, kv, store, settle } = setup(0.5);
    const clock = scheduler.clockFor();
    for (let i = 0; i < 10; i++) await settle(retryingBusy(clock, () => kv.set(["n", i], i)));
    expect(store.stats.locked).toBeGreaterThan(0);
    expect(store.stats.commits).toBe(10 + store.stats.locked);
    expect(await settle(keysOf(kv, { prefix: ["n"] }))).toHaveLength(10);
  });
});
