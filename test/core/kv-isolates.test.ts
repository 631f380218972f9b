import { openKv } from "@deno/kv";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/domain/clock";
import type { KvLike } from "../../src/storage/kv/kv";
import { Fence, LEASE_MS, LeaseLost, OUTGOING_MIN_LEFT_MS } from "../../src/storage/kv/lease";
import { KvObjects } from "../../src/storage/kv/objects";
import type { ObjectStorage } from "../../src/storage/object-storage";

/** A clock that stands still (so calls made together get the same time) and sleeps for real. */
const stillClock: Clock = {
  now: () => 1_800_000_000_000,
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return;
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener("abort", () => clearTimeout(timer), { once: true });
    }),
};

/** An object that says which kind and which object answered. */
const kindOf = (kind: string) => ({
  kind,
  open: (storage: ObjectStorage) => ({
    hold: () => {
      storage.sql.exec("CREATE TABLE IF NOT EXISTS held (id INTEGER PRIMARY KEY)");
      return true;
    },
    who: (name: string) => `${kind}:${name}`,
  }),
  writes: new Set(["hold"]),
});

describe("objects over KV, called through another isolate", () => {
  it("answers a target's and an environment's call forwarded at the same instant each with its own reply", async () => {
    const kv = (await openKv(":memory:")) as unknown as KvLike & { close(): void };
    const timing = { pollMs: 5 };
    const holder = {
      targets: new KvObjects(kv, stillClock, "b", kindOf("targets"), timing),
      projects: new KvObjects(kv, stillClock, "b", kindOf("projects"), timing),
    };
    const caller = {
      targets: new KvObjects(kv, stillClock, "a", kindOf("targets"), timing),
      projects: new KvObjects(kv, stillClock, "a", kindOf("projects"), timing),
    };
    try {
      await holder.targets.call("t", "hold", []);
      await holder.projects.call("p", "hold", []);
      // Isolate a holds neither: both calls go to b through KV, made at one and the same time.
      const answers = await Promise.all([
        caller.targets.call("t", "who", ["t"]),
        caller.projects.call("p", "who", ["p"]),
      ]);
      expect(answers).toEqual(["targets:t", "projects:p"]);
    } finally {
      await Promise.all([holder.targets.close(), holder.projects.close()]);
      kv.close();
    }
  });
});

describe("a lease held by a stalled isolate", () => {
  it("does not let a request leave when the isolate stalled while it renewed the lease", async () => {
    const kv = (await openKv(":memory:")) as unknown as KvLike & { close(): void };
    let now = 1_800_000_000_000;
    const clock: Clock = { now: () => now, sleep: stillClock.sleep };
    // The renewal's commit lands, and its answer reaches the isolate 14 s later: past the lease.
    let stallOnCommit = false;
    const stalling: KvLike = {
      ...kv,
      get: (key) => kv.get(key),
      getMany: (keys) => kv.getMany(keys),
      list: (selector, options) => kv.list(selector, options),
      set: (key, value) => kv.set(key, value),
      delete: (key) => kv.delete(key),
      atomic: () => {
        const atomic = kv.atomic();
        const commit = atomic.commit.bind(atomic);
        atomic.commit = async () => {
          const result = await commit();
          if (stallOnCommit) now += 14_000;
          return result;
        };
        return atomic;
      },
    };
    try {
      const key = ["lease", "targets", "t"];
      const fence = await Fence.take(stalling, clock, key, await kv.get(key), "a");
      if (!fence) throw new Error("the lease was not taken");
      now += LEASE_MS - OUTGOING_MIN_LEFT_MS + 1;
      stallOnCommit = true;
      await expect(fence.ensure(OUTGOING_MIN_LEFT_MS)).rejects.toBeInstanceOf(LeaseLost);
      expect(fence.lost).toBe(true);
    } finally {
      kv.close();
    }
  });
});
