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
