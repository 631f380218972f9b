import type { KvLike } from "../src/storage/kv/kv";
import type { DenoPrices } from "./prices.mjs";

export interface KvCounts {
  commits: number;
  failedCommits: number;
  mutations: number;
  checks: number;
  reads: number;
  keysRead: number;
  bytesRead: number;
  bytesWritten: number;
  readUnits: number;
  writeUnits: number;
}
export interface KvOperation {
  name: string;
  triggers: number;
  samples: number;
  mean: KvCounts & { ms: number };
  usdPerMillion: { requests: number; kvReads: number; kvWrites: number; total: number };
}
export interface KvCostResult {
  prices: DenoPrices;
  repeats: number;
  burst: number;
  upgrades: number;
  operations: KvOperation[];
  holdingPerSecond: KvCounts;
  sweep: KvCounts;
}
/** A KvLike that counts what goes through it. */
export class CountingKv implements KvLike {
  constructor(kv: unknown);
  get: KvLike["get"];
  getMany: KvLike["getMany"];
  list: KvLike["list"];
  atomic: KvLike["atomic"];
  set: KvLike["set"];
  delete: KvLike["delete"];
  counts: { work: KvCounts; holding: KvCounts };
  reset(): void;
}
export function kvCost(options: {
  repeats: number;
  burst: number;
}): Promise<KvCostResult & { problems: string[] }>;
export function kvCostMarkdown(result: KvCostResult, run: { generatedAt: string }): string;
export function kvCostLine(result: KvCostResult, run: { generatedAt: string }): string;
