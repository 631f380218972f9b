import { openKv } from "@deno/kv";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/domain/clock";
import type { KvLike } from "../../src/storage/kv/kv";
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
