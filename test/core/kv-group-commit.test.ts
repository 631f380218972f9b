import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKv } from "@deno/kv";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/domain/clock";
import { GroupCommit } from "../../src/storage/kv/group-commit";
import { type KvAtomic, type KvKey, type KvLike, MAX_COMMIT_MUTATIONS } from "../../src/storage/kv/kv";

/**
 * Writes that check nothing, made by many requests of one process at once, in as few commits as
 * KV's limits allow (src/storage/kv/group-commit.ts): what a burst of forwarded calls costs on a KV
 * file whose every commit waits for the disk.
 */

const dir = mkdtempSync(join(tmpdir(), "rancher-hooks-group-commit-"));
const opened: { close(): void }[] = [];
afterEach(() => {
  for (const kv of opened.splice(0)) kv.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/**
 * A KV file whose commits are counted, with the mutations each held, and may be made to fail: the
 * next `failures` commits throw `failWith` before writing anything.
 */
async function countedKv() {
  const kv = (await openKv(join(dir, `kv-${++files}.sqlite`))) as unknown as KvLike & { close(): void };
  opened.push(kv);
  const commits: number[] = [];
  const faults = { failures: 0, failWith: "database is locked" };
  const counted: KvLike = {
    get: (key) => kv.get(key),
    getMany: (keys) => kv.getMany(keys),
    list: (selector, options) => kv.list(selector, options),
    set: (key, value, options) => kv.set(key, value, options),
    delete: (key) => kv.delete(key),
    atomic: () => {
      const atomic = kv.atomic();
      let mutations = 0;
      const wrapped: KvAtomic = {
        check: (...checks) => {
          atomic.check(...checks);
          return wrapped;
        },
        set: (key, value, options) => {
          mutations += 1;
          atomic.set(key, value, options);
          return wrapped;
        },
        delete: (key) => {
          mutations += 1;
          atomic.delete(key);
          return wrapped;
        },
        commit: async () => {
          if (faults.failures > 0) {
            faults.failures -= 1;
            throw new TypeError(faults.failWith);
          }
          commits.push(mutations);
          return atomic.commit();
        },
      };
      return wrapped;
    },
  };
  return { kv: counted, commits, faults };
}

const value = async (kv: KvLike, key: KvKey) => (await kv.get(key)).value;

describe("a group of writes over KV", () => {
  it("sends a lone write at once, and those that come while it commits in one commit after it", async () => {
    const { kv, commits } = await countedKv();
    const group = new GroupCommit(kv, systemClock);
    await Promise.all(Array.from({ length: 30 }, (_, i) => group.write([{ key: ["call", i], value: i }])));
    // The first left alone; the 29 that came while it committed went together.
    expect(commits).toEqual([1, 29]);
    for (let i = 0; i < 30; i++) expect(await value(kv, ["call", i])).toBe(i);

    // Deletes and sets go together too; a key written twice in one commit is written as the later says.
    await Promise.all([
      group.write([{ key: ["call", 0], value: null }]),
      group.write([{ key: ["bell"], value: "a" }]),
      group.write([
        { key: ["bell"], value: "b" },
        { key: ["call", 1], value: null },
      ]),
    ]);
    // The first alone; then the bell once (as "b") with the delete.
    expect(commits.slice(2)).toEqual([1, 2]);
    expect([await value(kv, ["call", 0]), await value(kv, ["call", 1]), await value(kv, ["bell"])]).toEqual([
      null,
      null,
      "b",
    ]);
  });

  it("keeps each commit within KV's limits, and refuses a write no commit could take", async () => {
    const { kv, commits } = await countedKv();
    const group = new GroupCommit(kv, systemClock);
    const many = (tag: string, count: number) =>
      Array.from({ length: count }, (_, i) => ({ key: [tag, i], value: i }));
    await Promise.all([
      group.write(many("a", 10)),
      group.write(many("b", 300)),
      group.write(many("c", 300)),
      group.write(many("d", 100)),
    ]);
    // b and c together would pass the limit: c waits for the next commit, with d.
    expect(commits).toEqual([10, 300, 400]);
    expect(commits.every((mutations) => mutations <= MAX_COMMIT_MUTATIONS)).toBe(true);
    expect(await value(kv, ["d", 99])).toBe(99);

    await expect(group.write(many("e", MAX_COMMIT_MUTATIONS + 1))).rejects.toThrow(RangeError);
    expect(await value(kv, ["e", 0])).toBeNull();
    expect(commits).toHaveLength(3);
  });

  it("makes a commit again while the file is locked, and fails every write of a commit that failed otherwise", async () => {
    const { kv, commits, faults } = await countedKv();
    const group = new GroupCommit(kv, systemClock);
    faults.failures = 3;
    await group.write([{ key: ["locked"], value: 1 }]);
    expect(await value(kv, ["locked"])).toBe(1);

    // The first write leaves alone and fails; the two that came meanwhile fail with it only if they
    // were in its commit: they were not, so they are written.
    faults.failures = 1;
    faults.failWith = "disk I/O error";
    const results = await Promise.allSettled([
      group.write([{ key: ["x", 1], value: 1 }]),
      group.write([{ key: ["x", 2], value: 2 }]),
      group.write([{ key: ["x", 3], value: 3 }]),
    ]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    expect([await value(kv, ["x", 1]), await value(kv, ["x", 2]), await value(kv, ["x", 3])]).toEqual([
      null,
      2,
      3,
    ]);

    // A failed group: every write in it fails, none is made, and the group goes on after it.
    const first = group.write([{ key: ["y", 0], value: 0 }]);
    faults.failures = 1;
    const grouped = Promise.allSettled([
      group.write([{ key: ["y", 1], value: 1 }]),
      group.write([{ key: ["y", 2], value: 2 }]),
    ]);
    await first;
    expect((await grouped).map((result) => result.status)).toEqual(["rejected", "rejected"]);
    expect([await value(kv, ["y", 1]), await value(kv, ["y", 2])]).toEqual([null, null]);
    await group.write([{ key: ["y", 3], value: 3 }]);
    expect(await value(kv, ["y", 3])).toBe(3);
    expect(commits.at(-1)).toBe(1);
  });
});
