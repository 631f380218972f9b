import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/domain/clock";
import { DenoKvReceiverStore, type DenoPlatform, denoPlatform } from "../../src/platform/deno";
import type { KvLike } from "../../src/storage/kv/kv";
import { KvObjectStorage } from "../../src/storage/kv/mirror";
import { KvObjects } from "../../src/storage/kv/objects";
import { COUNTER } from "../fixtures/kv-counter";
import { describeProjectPort } from "./project";
import { ServicesOverFetch } from "./services-over-fetch";
import { describeTargetPort } from "./target";

/**
 * The ports as the Deno server has them without a data directory: every object's state in Deno KV
 * (docs/deno-deploy.md), run by whichever isolate holds its lease. A restart is a new platform (a
 * new isolate) over the same KV file, after the old one gave its objects up. Runs only with vitest
 * on Deno (`npm test -- --project deno`).
 */

const cattle = new ServicesOverFetch();
let dir: string;
let platform: DenoPlatform;
let kv: Deno.Kv;

const settings = {
  CATTLE_URL: "http://cattle.test",
  CATTLE_ACCESS_KEY: "service-access",
  CATTLE_SECRET_KEY: "service-secret",
  WEBHOOK_SIGNING_KEYS: "",
  CATTLE: cattle,
};

/** A platform over the KV file, as a process (re)started over it has; the one before it stops first. */
const start = async () => {
  await platform?.close();
  platform = await denoPlatform({ settings, kvPath: join(dir, "hooks.kv") });
  return platform;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rancher-hooks-conformance-kv-"));
  await start();
  kv = await Deno.openKv(join(dir, "hooks.kv"));
});

afterAll(async () => {
  await platform?.close();
  kv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  cattle.reset();
});

describeTargetPort("Deno KV", () => ({
  target: (name) => platform.target(name),
  query: async (name, statement) => {
    // What the object keeps in KV, read back as its database (an object never written has nothing there).
    const db = await KvObjectStorage.read(kv as unknown as KvLike, ["obj", "targets", name]);
    try {
      return db.prepare(statement).all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  },
  settle: (work) => work,
  restart: async (name) => (await start()).target(name),
}));

describeProjectPort("Deno KV", () => ({
  project: (name) => platform.project(name),
  restart: async (name) => (await start()).project(name),
}));

describe("objects over Deno KV, where holders watch for calls (Deno Deploy)", () => {
  it("wakes a holder as soon as a call is written for it", async () => {
    // One KV handle for both isolates: Deno KV's watch sees the writes made through its handle (on
    // Deno Deploy, every isolate's). The holder looks for calls only a minute apart, and a call not
    // taken within 1.5 s is taken back: only the bell gets these calls through.
    const shared = await Deno.openKv(":memory:");
    const timing = { watch: true, pollMs: 60_000, maxPollMs: 60_000, takeWaitMs: 1_500 };
    const a = new KvObjects(shared as unknown as KvLike, systemClock, "a", COUNTER, timing);
    const b = new KvObjects(shared as unknown as KvLike, systemClock, "b", COUNTER, timing);
    try {
      expect(await a.call("c1", "add", [1])).toBe(1);
      expect(await b.call("c1", "add", [1])).toBe(2);
      expect(await b.call("c1", "add", [1])).toBe(3);
      expect(a.held).toEqual(["c1"]);
    } finally {
      await Promise.all([a.close(), b.close()]);
      shared.close();
    }
  });
});

describe("receiver records in a KV file another process is writing", () => {
  it("makes each operation again when the file answers `database is locked`, and fails on other errors", async () => {
    const real = await Deno.openKv(":memory:");
    // Each operation's first try fails as a locked SQLite file fails it; the next one goes through.
    const tried = new Map<string, number>();
    const busy = new Proxy(real, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function" || !["get", "set", "delete", "list"].includes(String(property)))
          return typeof value === "function" ? value.bind(target) : value;
        return (...args: unknown[]) => {
          const tries = (tried.get(String(property)) ?? 0) + 1;
          tried.set(String(property), tries);
          if (tries % 2 === 1) {
            if (property === "list") {
              // A list fails as it is read, as Deno KV's does.
              return {
                cursor: "",
                [Symbol.asyncIterator]() {
                  return { next: () => Promise.reject(new TypeError("database is locked")) };
                },
              };
            }
            return Promise.reject(new TypeError("database is locked"));
          }
          return value.apply(target, args);
        };
      },
    });
    try {
      const store = new DenoKvReceiverStore(busy, systemClock);
      const record = {
        id: "r1",
        projectId: "1a5",
        name: "web",
        driver: "scaleService",
        config: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 10 },
        target: "scaleService:1a5:1s1",
        version: 1,
        created: 1,
      } as unknown as Parameters<DenoKvReceiverStore["put"]>[0];
      await store.put(record);
      expect(await store.get("1a5", "r1")).toEqual(record);
      expect((await store.list("1a5", 10)).records).toEqual([record]);
      await store.delete("1a5", "r1");
      expect(await store.get("1a5", "r1")).toBeNull();
      expect(Object.fromEntries(tried)).toEqual({ set: 2, get: 4, list: 2, delete: 2 });

      // Any other failure is the request's: not made again.
      const broken = new Proxy(real, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (property === "get") return () => Promise.reject(new TypeError("disk I/O error"));
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      await expect(new DenoKvReceiverStore(broken, systemClock).get("1a5", "r1")).rejects.toThrow(
        "disk I/O error",
      );
    } finally {
      real.close();
    }
  });
});
