import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { Platform } from "../../src/domain/ports";
import { denoPlatform } from "../../src/platform/deno";
import { describeProjectPort } from "./project";
import { ServicesOverFetch } from "./services-over-fetch";
import { describeTargetPort } from "./target";

/**
 * The ports as the Deno server has them: the Deno platform's in-process objects over SQLite files
 * in a data directory, Cattle's services reached through the `CATTLE` fetcher of the settings.
 * Runs only with vitest on Deno (`npm test -- --project deno`).
 */

const cattle = new ServicesOverFetch();
let dataDir: string;
let platform: Platform;
let starts = 0;

/** A platform over the data directory, as a server process (re)started over it has. */
const start = () =>
  denoPlatform({
    settings: {
      CATTLE_URL: "http://cattle.test",
      CATTLE_ACCESS_KEY: "service-access",
      CATTLE_SECRET_KEY: "service-secret",
      WEBHOOK_SIGNING_KEYS: "",
      CATTLE: cattle,
    },
    kvPath: join(dataDir, `receivers-${++starts}.kv`),
    dataDir,
  });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "rancher-hooks-conformance-"));
  platform = await start();
});

afterAll(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  cattle.reset();
});

/** The object's database file, where the Deno platform keeps it (docs/deno-server.md). */
const databaseOf = (name: string) =>
  join(dataDir, "targets", `${createHash("sha256").update(name).digest("hex")}.sqlite`);

describeTargetPort("Deno", () => ({
  target: (name) => platform.target(name),
  query: async (name, statement) => {
    // An object never written has no file at all (nothing stored for strangers): it holds no rows.
    if (!existsSync(databaseOf(name))) return [];
    const db = new DatabaseSync(databaseOf(name), { readOnly: true });
    try {
      return db.prepare(statement).all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  },
  settle: (work) => work,
  restart: async (name) => (await start()).target(name),
}));

describeProjectPort("Deno", () => ({
  project: (name) => platform.project(name),
  restart: async (name) => (await start()).project(name),
}));
