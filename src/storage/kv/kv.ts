import { deserialize, serialize } from "node:v8";
import type { Clock } from "../../domain/clock";

/**
 * The part of Deno KV that the objects over KV use (docs/deno-deploy.md). `Deno.Kv` on Deno and
 * Deno Deploy, `@deno/kv` on Node and the simulator's KV all have it: keys are tuples, every write
 * is an atomic operation whose checks compare versionstamps, and a value is at most 64 KiB.
 */
export type KvKeyPart = string | number | bigint;
export type KvKey = readonly KvKeyPart[];

export interface KvEntryMaybe<T> {
  key: KvKey;
  value: T | null;
  versionstamp: string | null;
}

export interface KvEntry<T> {
  key: KvKey;
  value: T;
  versionstamp: string;
}

export type KvCommitResult = { ok: true; versionstamp: string } | { ok: false };

export interface KvAtomic {
  check(...checks: { key: KvKey; versionstamp: string | null }[]): KvAtomic;
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): KvAtomic;
  delete(key: KvKey): KvAtomic;
  commit(): Promise<KvCommitResult>;
}

export type KvSelector = { prefix: KvKey } | { start: KvKey; end: KvKey };

export interface KvLike {
  get<T = unknown>(key: KvKey): Promise<KvEntryMaybe<T>>;
  getMany<T extends readonly unknown[]>(
    keys: readonly KvKey[],
  ): Promise<{ [K in keyof T]: KvEntryMaybe<T[K]> }>;
  list<T = unknown>(selector: KvSelector, options?: { limit?: number }): AsyncIterable<KvEntry<T>>;
  atomic(): KvAtomic;
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): Promise<KvCommitResult>;
  delete(key: KvKey): Promise<void>;
  /** Deno.Kv's watch: a stream that yields the keys' entries whenever one of them changes. */
  watch?(keys: readonly KvKey[]): ReadableStream<KvEntryMaybe<unknown>[]>;
}

/**
 * Deno KV's limits (the same locally and on Deno Deploy): a value of at most 64 KiB, an atomic
 * operation of at most 1,000 mutations and 800 KiB. Values are cut well below them, and a commit
 * that would pass them goes through a journal (src/storage/kv/mirror.ts).
 */
export const CHUNK_BYTES = 60_000;
export const MAX_COMMIT_MUTATIONS = 500;
export const MAX_COMMIT_BYTES = 600_000;
/** Keys one `getMany` may read. */
export const MAX_GET_MANY = 10;
/** Checks in one atomic operation: KV files of older Deno versions (and `@deno/kv`) take at most 10. */
export const MAX_COMMIT_CHECKS = 10;

/** A value of any size as KV values: V8's serialization (what KV uses itself), cut into chunks. */
export function toChunks(value: unknown): Uint8Array[] {
  const bytes = new Uint8Array(serialize(value));
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += CHUNK_BYTES) {
    chunks.push(bytes.slice(start, start + CHUNK_BYTES));
  }
  return chunks.length === 0 ? [new Uint8Array(0)] : chunks;
}

export function fromChunks<T>(chunks: readonly Uint8Array[]): T {
  const size = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return deserialize(bytes) as T;
}

/** One key as a string, for maps (and for its size): a BigInt part is told from a string or a number. */
export const keyId = (key: KvKey): string =>
  JSON.stringify(key, (_, part) => (typeof part === "bigint" ? { bigint: String(part) } : part));

/**
 * A local KV file shared by several processes is an SQLite database: a commit made while another
 * process writes may throw `database is locked`, and is then tried again (nothing was written).
 */
const BUSY = /database is locked|database is busy/i;
const BUSY_TRIES = 50;

/** Every entry a selector names, read again from the start if the KV file was busy. */
export function listAll<T = unknown>(
  kv: KvLike,
  clock: Clock,
  selector: KvSelector,
  options: { limit?: number } = {},
): Promise<KvEntry<T>[]> {
  return retryingBusy(clock, async () => {
    const entries: KvEntry<T>[] = [];
    for await (const entry of kv.list<T>(selector, options)) entries.push(entry);
    return entries;
  });
}

export async function retryingBusy<T>(clock: Clock, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= BUSY_TRIES || !(error instanceof Error) || !BUSY.test(error.message)) throw error;
      await clock.sleep(Math.min(100, 2 * attempt) + Math.floor(Math.random() * 5));
    }
  }
}
