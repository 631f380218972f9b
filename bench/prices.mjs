// What Cloudflare charges for what bench/cost.mjs counts.

/**
 * Cloudflare's published prices (Workers Paid, Standard usage model, beyond the monthly included
 * amounts), as read on the date below from the Workers pricing page, whose Durable Objects and
 * Workers KV sections repeat the Durable Objects and KV pricing pages. docs/performance.md cites
 * the same figures; change both together.
 */
export const PRICES = {
  source: "https://developers.cloudflare.com/workers/platform/pricing/",
  sourceUpdated: "2026-07-07",
  seen: "2026-12-06",
  usdPerMillion: {
    workerRequests: 0.3,
    objectRequests: 0.15,
    objectGbSeconds: 12.5,
    rowsRead: 0.001,
    rowsWritten: 1.0,
    kvReads: 0.5,
    kvWrites: 5.0,
    kvDeletes: 5.0,
    kvLists: 5.0,
  },
  /** Duration bills the 128 MB an object is given, as GB-s; the pricing page's examples count 128 MB as 0.128 GB. */
  objectMemoryGb: 0.128,
};

/** US dollars per million operations, by what Cloudflare bills, for an operation's mean usage. */
export function priceOf(mean, prices = PRICES) {
  const rate = prices.usdPerMillion;
  const parts = {
    workerRequests: mean.workerRequests * rate.workerRequests,
    objectRequests: (mean.objectRpcCalls + mean.objectAlarms) * rate.objectRequests,
    objectDuration: (mean.objectActiveMs / 1000) * prices.objectMemoryGb * rate.objectGbSeconds,
    rowsRead: mean.rowsRead * rate.rowsRead,
    rowsWritten: mean.rowsWritten * rate.rowsWritten,
    kv:
      mean.kvReads * rate.kvReads +
      mean.kvWrites * rate.kvWrites +
      mean.kvDeletes * rate.kvDeletes +
      mean.kvLists * rate.kvLists,
  };
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  return { ...parts, total };
}

/**
 * Deno Deploy's published prices for what a trigger uses there (the Pro plan, beyond its included
 * amounts), as read on the date below, and how Deno KV counts its units: a read unit is up to
 * 4 KiB read, a write unit up to 1 KiB written. docs/deno-deploy.md cites the same figures;
 * change both together.
 */
export const DENO_PRICES = {
  source: "https://deno.com/pricing",
  seen: "2026-12-06",
  usdPerMillion: {
    requests: 2.0,
    kvReadUnits: 1.0,
    kvWriteUnits: 2.5,
  },
  readUnitBytes: 4096,
  writeUnitBytes: 1024,
};

/**
 * Read units of one read: a get, each key of a getMany, or one page of a list, each at least one
 * unit, plus one per further 4 KiB it returned.
 */
export function readUnitsOf(bytes, prices = DENO_PRICES) {
  return Math.max(1, Math.ceil(bytes / prices.readUnitBytes));
}

/** Write units of one mutation: a key set (one per KiB of key and value, at least one) or deleted (one). */
export function writeUnitsOf(bytes, prices = DENO_PRICES) {
  return Math.max(1, Math.ceil(bytes / prices.writeUnitBytes));
}

/** US dollars per million triggers on Deno Deploy, for a trigger's mean KV units (and its one request). */
export function denoPriceOf(mean, prices = DENO_PRICES) {
  const rate = prices.usdPerMillion;
  const parts = {
    requests: mean.requests * rate.requests,
    kvReads: mean.readUnits * rate.kvReadUnits,
    kvWrites: mean.writeUnits * rate.kvWriteUnits,
  };
  return { ...parts, total: parts.requests + parts.kvReads + parts.kvWrites };
}
