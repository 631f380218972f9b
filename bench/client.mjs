// A minimal HTTP load client: node:http, one socket per request in flight, so a burst of N is N
// requests on the wire at once, and every response body is kept for checking.
import http from "node:http";
import { performance } from "node:perf_hooks";

export class Client {
  constructor(base, connections, { keepAlive = true } = {}) {
    this.base = new URL(base);
    this.agent = new http.Agent({ keepAlive, maxSockets: connections, maxFreeSockets: connections });
  }

  /** One request; resolves with the status, the parsed JSON body (if any) and the time it took. */
  request(path, { method = "GET", headers = {}, body } = {}) {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const fail = (error) =>
        reject(new Error(`${method} ${path.split("?")[0]}: ${error.message}`, { cause: error }));
      const start = performance.now();
      const request = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          path,
          method,
          agent: this.agent,
          headers: {
            ...headers,
            // A bodiless POST says so, as curl and Go's client do (Node would send it chunked).
            ...(payload
              ? { "content-type": "application/json", "content-length": payload.length }
              : method === "GET"
                ? {}
                : { "content-length": 0 }),
          },
        },
        (response) => {
          const chunks = [];
          response.on("data", (chunk) => chunks.push(chunk));
          response.on("end", () => {
            const ms = performance.now() - start;
            const text = Buffer.concat(chunks).toString("utf8");
            let json;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: response.statusCode, json, text, ms });
          });
          response.on("error", fail);
        },
      );
      request.on("error", fail);
      request.end(payload);
    });
  }

  close() {
    this.agent.destroy();
  }
}

/** Nearest-rank percentile of unsorted values. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export const round = (value, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** A scale receiver whose triggers go up by 1 and never reach a limit or the flood limit. */
export const scaleUp = (serviceId, extra = {}) => ({
  serviceId,
  action: "up",
  amount: 1,
  min: 1,
  max: 100_000,
  maxTriggersPerMinute: 100_000,
  ...extra,
});

/** Runs `task` over `items` with at most `limit` in flight. */
export async function inPool(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
