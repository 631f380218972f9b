import { openKv } from "@deno/kv";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/domain/clock";
import type { KvLike } from "../../src/storage/kv/kv";
import { KvObjects } from "../../src/storage/kv/objects";
import type { ObjectStorage } from "../../src/storage/object-storage";

/**
 * Calls that reach an isolate which does not hold the object go to the holder through KV
 * (docs/deno-deploy.md, "One writer per object"). The holder takes the calls waiting for it in one
 * commit that checks each of them and its lease; Deno KV refuses a commit with more checks than it
 * allows, and a burst must still be taken, a few at a time, not end the holder.
 */

/** A counter object: `add` writes a row, so that its answers come after a fenced commit. */
class Counter {
  constructor(private readonly storage: ObjectStorage) {
    storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS n (id INTEGER PRIMARY KEY CHECK (id = 1), v INTEGER NOT NULL)",
    );
  }

  add(by: number): number {
    this.storage.sql.exec(
      "INSERT INTO n (id, v) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET v = v + ?",
      by,
      by,
    );
    const [row] = this.storage.sql.exec<{ v: number }>("SELECT v FROM n").toArray();
    return row?.v ?? 0;
  }
}

const KIND = {
  kind: "counters",
  open: (storage: ObjectStorage) => new Counter(storage),
  writes: new Set(["add"]),
};
const TIMING = { pollMs: 5 };

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe("calls forwarded through KV", () => {
  it("a burst of calls from another isolate is taken and answered, each once", async () => {
    const kv = await openKv(":memory:");
    const holder = new KvObjects<Counter>(kv as unknown as KvLike, systemClock, "holder", KIND, TIMING);
    const other = new KvObjects<Counter>(kv as unknown as KvLike, systemClock, "other", KIND, TIMING);
    close = async () => {
      await Promise.all([holder.close(), other.close()]);
      kv.close();
    };
    expect(await holder.call("c", "add", [1])).toBe(1);
    expect(holder.held).toEqual(["c"]);

    // More calls at once than one commit may check: each waits in KV for the holder.
    const answers = await Promise.all(Array.from({ length: 25 }, () => other.call("c", "add", [1])));

    expect([...answers].sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 2),
    );
    expect(other.held).toEqual([]);
    expect(holder.held).toEqual(["c"]);
    expect(await holder.call("c", "add", [0])).toBe(26);
  }, 30_000);
});
