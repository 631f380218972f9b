import { serialize } from "node:v8";
import type {
  KvAtomic,
  KvCommitResult,
  KvEntry,
  KvEntryMaybe,
  KvKey,
  KvKeyPart,
  KvLike,
  KvSelector,
} from "../../src/storage/kv/kv";
import { keyId } from "../../src/storage/kv/kv";
import type { Random } from "./random";
import type { Owner, Scheduler } from "./scheduler";

/** Whether `key` starts with `prefix`. */
function hasPrefix(key: KvKey, prefix: KvKey): boolean {
  return prefix.every((part, index) => key[index] === part);
}

/**
 * Deno KV in the simulation (docs/simulation.md, "Deno KV mode"): one store that every isolate
 * reaches through its own view. An operation leaves its isolate at once, lands in the store a hop
 * later whatever becomes of the isolate (and there happens at one instant: a commit is all or
 * nothing), and its answer comes back a hop after that only if the isolate still lives, held back
 * while it is stalled. Keys are ordered as Deno KV orders them, every commit gets the next
 * versionstamp, values are copied in and out, and Deno KV's limits are enforced by throwing as it
 * does, so a write that would break one in production breaks the run.
 */

/** Each way between an isolate and the store. */
export const KV_HOP_MS = 1;
/** Deno KV's limits (docs.deno.com, Deno.AtomicOperation and Deno.KvKey). */
export const KV_VALUE_MAX = 65_536;
export const KV_KEY_MAX = 2_048;
export const KV_MUTATIONS_MAX = 1_000;
export const KV_COMMIT_BYTES_MAX = 819_200;
export const KV_CHECKS_MAX = 100;
export const KV_GET_MANY_MAX = 10;
/** Entries a list reads per round trip, as Deno KV's default batch. */
const LIST_BATCH = 100;

interface Stored {
  key: KvKey;
  value: unknown;
  versionstamp: string;
}

type Mutation = { key: KvKey; value: unknown } | { key: KvKey; delete: true };

/** Deno KV orders key parts by type first (bytes, strings, numbers, bigints, booleans), then by value. */
function typeRank(part: KvKeyPart): number {
  return typeof part === "string" ? 1 : 2;
}

function comparePart(a: KvKeyPart, b: KvKeyPart): number {
  const rank = typeRank(a) - typeRank(b);
  if (rank !== 0) return rank;
  if (typeof a === "string" && typeof b === "string") return Buffer.compare(Buffer.from(a), Buffer.from(b));
  // -0 before 0, as Deno KV orders them.
  const x = a as number;
  const y = b as number;
  if (x !== y) return x < y ? -1 : 1;
  return Number(Object.is(y, -0)) - Number(Object.is(x, -0));
}

/** Key order: part by part, a key before every key it is a prefix of. */
export function compareKeys(a: KvKey, b: KvKey): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = comparePart(a[i] as KvKeyPart, b[i] as KvKeyPart);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

/** A key's size as Deno KV encodes it: a type byte, the bytes, a terminator for strings; 9 bytes a number. */
function keyBytes(key: KvKey): number {
  return key.reduce<number>(
    (sum, part) => sum + (typeof part === "string" ? Buffer.byteLength(part) + 2 : 9),
    0,
  );
}

function valueBytes(value: unknown): number {
  return value instanceof Uint8Array ? value.byteLength : serialize(value).length;
}

function validKey(key: KvKey): void {
  if (key.length === 0) throw new TypeError("Key cannot be empty");
  for (const part of key) {
    if (typeof part !== "string" && typeof part !== "number")
      throw new TypeError(`Key part of unsupported type: ${typeof part}`);
  }
  if (keyBytes(key) > KV_KEY_MAX) throw new TypeError(`Key too large for write (max ${KV_KEY_MAX} bytes)`);
}

export class SimDenoKv {
  /** Every entry, in key order. */
  readonly #entries: Stored[] = [];
  readonly #byId = new Map<string, Stored>();
  #version = 0;
  /** How often a commit fails with `database is locked` (nothing written), as the local KV does under contention. */
  lockedChance = 0.02;
  /**
   * A broken KV, for the simulator's own tests: leases read as absent and every check of an
   * atomic operation passes, so any isolate takes any object, however many hold it already.
   */
  breaksLeases = false;
  /** Commits and the ones that failed with `database is locked`, for the run's statistics. */
  readonly stats = { commits: 0, locked: 0 };

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: Random,
  ) {}

  /** The store as one isolate reaches it: each operation a hop there and, while it lives, a hop back. */
  view(owner: Owner): KvLike {
    return this.#client((apply) => {
      return new Promise((resolve, reject) => {
        this.scheduler.after(KV_HOP_MS, () => {
          let settle: () => void;
          try {
            const result = apply();
            settle = () => resolve(result);
          } catch (error) {
            settle = () => reject(error);
          }
          this.scheduler.after(KV_HOP_MS, settle, owner);
        });
      });
    });
  }

  /** A copy of the store as it is now, read and written at once and never locked: for the checker. */
  snapshot(): KvLike {
    const copy = new SimDenoKv(this.scheduler, this.random);
    copy.lockedChance = 0;
    for (const entry of this.#entries) copy.#put(entry.key, entry.value, entry.versionstamp);
    copy.#version = this.#version;
    return copy.#client(async (apply) => apply());
  }

  /** Every key there is now, in order. */
  keys(): KvKey[] {
    return this.#entries.map((entry) => entry.key);
  }

  #index(key: KvKey): { found: boolean; at: number } {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareKeys((this.#entries[middle] as Stored).key, key) < 0) low = middle + 1;
      else high = middle;
    }
    const here = this.#entries[low];
    return { found: here !== undefined && compareKeys(here.key, key) === 0, at: low };
  }

  #put(key: KvKey, value: unknown, versionstamp: string): void {
    const stored: Stored = { key: [...key], value: structuredClone(value), versionstamp };
    const { found, at } = this.#index(key);
    if (found) this.#entries[at] = stored;
    else this.#entries.splice(at, 0, stored);
    this.#byId.set(keyId(key), stored);
  }

  #remove(key: KvKey): void {
    const { found, at } = this.#index(key);
    if (found) this.#entries.splice(at, 1);
    this.#byId.delete(keyId(key));
  }

  #read<T>(key: KvKey): KvEntryMaybe<T> {
    const stored = this.breaksLeases && key[0] === "lease" ? undefined : this.#byId.get(keyId(key));
    return stored
      ? { key: [...key], value: structuredClone(stored.value) as T, versionstamp: stored.versionstamp }
      : { key: [...key], value: null, versionstamp: null };
  }

  /** Up to `limit` entries of `selector` after `after` (exclusive), in key order. */
  #range<T>(selector: KvSelector, after: KvKey | undefined, limit: number): KvEntry<T>[] {
    const prefix = "prefix" in selector ? selector.prefix : undefined;
    const start = prefix ?? (selector as { start: KvKey }).start;
    const end = prefix ? undefined : (selector as { end: KvKey }).end;
    let at = this.#index(after ?? start).at;
    const found: KvEntry<T>[] = [];
    for (; at < this.#entries.length && found.length < limit; at++) {
      const entry = this.#entries[at] as Stored;
      if (after && compareKeys(entry.key, after) <= 0) continue;
      if (prefix) {
        if (!hasPrefix(entry.key, prefix)) break;
        // A prefix's own key is not in its list.
        if (entry.key.length === prefix.length) continue;
      } else if (end && compareKeys(entry.key, end) >= 0) break;
      found.push({
        key: [...entry.key],
        value: structuredClone(entry.value) as T,
        versionstamp: entry.versionstamp,
      });
    }
    return found;
  }

  /** Applies one atomic operation at this instant: all of it or none. */
  #commit(checks: { key: KvKey; versionstamp: string | null }[], mutations: Mutation[]): KvCommitResult {
    this.stats.commits += 1;
    if (this.random.chance(this.lockedChance)) {
      this.stats.locked += 1;
      throw new TypeError("database is locked");
    }
    for (const check of checks) {
      if (this.breaksLeases) break;
      if ((this.#byId.get(keyId(check.key))?.versionstamp ?? null) !== check.versionstamp)
        return { ok: false };
    }
    const versionstamp = (++this.#version).toString(16).padStart(20, "0");
    for (const mutation of mutations) {
      if ("delete" in mutation) this.#remove(mutation.key);
      else this.#put(mutation.key, mutation.value, versionstamp);
    }
    return { ok: true, versionstamp };
  }

  /** A KvLike whose every operation goes through `send` (which applies it when it reaches the store). */
  #client(send: <T>(apply: () => T) => Promise<T>): KvLike {
    const atomic = (): KvAtomic => {
      const checks: { key: KvKey; versionstamp: string | null }[] = [];
      const mutations: Mutation[] = [];
      const operation: KvAtomic = {
        check: (...more) => {
          for (const check of more) {
            validKey(check.key);
            checks.push({ key: [...check.key], versionstamp: check.versionstamp });
          }
          return operation;
        },
        set: (key, value) => {
          validKey(key);
          if (valueBytes(value) > KV_VALUE_MAX)
            throw new TypeError(`Value too large (max ${KV_VALUE_MAX} bytes)`);
          // Copied now, as Deno KV serializes a value when it is given.
          mutations.push({ key: [...key], value: structuredClone(value) });
          return operation;
        },
        delete: (key) => {
          validKey(key);
          mutations.push({ key: [...key], delete: true });
          return operation;
        },
        commit: async () => {
          if (checks.length > KV_CHECKS_MAX) throw new TypeError(`Too many checks (max ${KV_CHECKS_MAX})`);
          if (mutations.length > KV_MUTATIONS_MAX)
            throw new TypeError(`Too many mutations (max ${KV_MUTATIONS_MAX})`);
          const bytes = mutations.reduce(
            (sum, mutation) =>
              sum + keyBytes(mutation.key) + ("delete" in mutation ? 0 : valueBytes(mutation.value)),
            0,
          );
          if (bytes > KV_COMMIT_BYTES_MAX)
            throw new TypeError(`Total mutation size too large (max ${KV_COMMIT_BYTES_MAX} bytes)`);
          return send(() => this.#commit(checks, mutations));
        },
      };
      return operation;
    };
    const kv: KvLike = {
      get: <T>(key: KvKey) => {
        validKey(key);
        return send(() => this.#read<T>(key));
      },
      getMany: ((keys: readonly KvKey[]) => {
        if (keys.length > KV_GET_MANY_MAX) throw new TypeError(`Too many ranges (max ${KV_GET_MANY_MAX})`);
        for (const key of keys) validKey(key);
        return send(() => keys.map((key) => this.#read(key)));
      }) as KvLike["getMany"],
      list: <T>(selector: KvSelector, options: { limit?: number } = {}): AsyncIterable<KvEntry<T>> => {
        const limit = options.limit ?? Number.POSITIVE_INFINITY;
        return {
          [Symbol.asyncIterator]: async function* () {
            let after: KvKey | undefined;
            let left = limit;
            while (left > 0) {
              const batch = await send(() => range<T>(selector, after, Math.min(LIST_BATCH, left)));
              yield* batch;
              left -= batch.length;
              if (batch.length < LIST_BATCH) return;
              after = (batch.at(-1) as KvEntry<T>).key;
            }
          },
        };
      },
      atomic,
      set: (key, value) => atomic().set(key, value).commit(),
      delete: async (key) => {
        await atomic().delete(key).commit();
      },
    };
    const range = <T>(selector: KvSelector, after: KvKey | undefined, limit: number) =>
      this.#range<T>(selector, after, limit);
    return kv;
  }
}
