import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKv } from "@deno/kv";
import { afterEach, describe, expect, it } from "vitest";
import { CountingKv, type KvCostResult, kvCostLine, kvCostMarkdown } from "../../bench/kv-cost.mjs";
import {
  COST_DOCS,
  COST_README,
  fillBetween,
  KV_COST_DOCS,
  KV_COST_README,
  publishCost,
} from "../../bench/markers.mjs";
import { DENO_PRICES, denoPriceOf, PRICES, priceOf, readUnitsOf, writeUnitsOf } from "../../bench/prices.mjs";
import { DEFAULT_TIMING, WATCHED_MAX_POLL_MS } from "../../src/storage/kv/objects";

/**
 * `npm run bench` writes the cost tables of a full run between marker lines of
 * docs/performance.md and of the README; these checks run that code on copies of both files.
 */

const TABLE = "| operation | $ per million |\n| --- | --- |\n| a trigger | 4.45 |";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const copyOf = (file: string) => {
  dir ??= mkdtempSync(join(tmpdir(), "bench-cost-"));
  const copy = join(dir, file.replaceAll("/", "-"));
  copyFileSync(file, copy);
  return copy;
};

describe("the cost tables' markers", () => {
  it("replace only what lies between the markers", () => {
    const text = "before\n<!-- a -->\nold table\n<!-- /a -->\nafter\n";
    expect(fillBetween(text, "<!-- a -->", "<!-- /a -->", `\n${TABLE}\n\n`)).toBe(
      `before\n<!-- a -->\n${TABLE}\n<!-- /a -->\nafter\n`,
    );
  });

  it("leave a text without both markers, in order, alone", () => {
    expect(fillBetween("no markers", "<!-- a -->", "<!-- /a -->", TABLE)).toBeUndefined();
    expect(fillBetween("<!-- a --> only", "<!-- a -->", "<!-- /a -->", TABLE)).toBeUndefined();
    expect(fillBetween("<!-- /a --> <!-- a -->", "<!-- a -->", "<!-- /a -->", TABLE)).toBeUndefined();
  });

  it("are in docs/performance.md, so a full run fills its cost section", () => {
    const text = readFileSync(COST_DOCS.file, "utf8");
    expect(fillBetween(text, COST_DOCS.start, COST_DOCS.end, TABLE)).toBeDefined();
  });

  it("fill a copy of the docs and of a README that has the README's markers", () => {
    const docs = copyOf(COST_DOCS.file);
    const readme = copyOf("README.md");
    const original = readFileSync(readme, "utf8");
    const cut = original.indexOf("\n## ");
    const head = original.slice(0, cut + 1);
    const tail = original.slice(cut + 1);
    writeFileSync(readme, `${head}${COST_README.start}\nstale\n${COST_README.end}\n${tail}`);

    const written = publishCost(TABLE, [
      { ...COST_DOCS, file: docs },
      { ...COST_README, file: readme },
    ]);

    expect(written).toEqual([docs, readme]);
    expect(readFileSync(readme, "utf8")).toBe(
      `${head}${COST_README.start}\n${TABLE}\n${COST_README.end}\n${tail}`,
    );
    const filled = readFileSync(docs, "utf8");
    expect(filled).toContain(`${COST_DOCS.start}\n${TABLE}\n${COST_DOCS.end}`);
    // Outside the markers the page is as it was.
    const source = readFileSync(COST_DOCS.file, "utf8");
    expect(filled.slice(0, filled.indexOf(COST_DOCS.start))).toBe(
      source.slice(0, source.indexOf(COST_DOCS.start)),
    );
    expect(filled.slice(filled.indexOf(COST_DOCS.end))).toBe(source.slice(source.indexOf(COST_DOCS.end)));
  });

  it("do not touch a README without them", () => {
    const readme = copyOf("README.md");
    writeFileSync(readme, "# rancher-hooks\n\nNo cost section here.\n");
    expect(publishCost(TABLE, [{ ...COST_README, file: readme }])).toEqual([]);
    expect(readFileSync(readme, "utf8")).toBe("# rancher-hooks\n\nNo cost section here.\n");
  });
});

describe("the price of an operation", () => {
  it("adds up what each billed unit costs, per million operations", () => {
    const price = priceOf({
      workerRequests: 1,
      objectRpcCalls: 1,
      objectAlarms: 1,
      objectActiveMs: 1000,
      rowsRead: 10,
      rowsWritten: 2,
      kvReads: 1,
      kvWrites: 1,
      kvDeletes: 1,
      kvLists: 1,
    });
    expect(price.workerRequests).toBeCloseTo(0.3);
    // An RPC call and an alarm invocation are each a billed request.
    expect(price.objectRequests).toBeCloseTo(0.3);
    // One second of an object's 128 MB: 0.128 GB-s at $12.50 per million.
    expect(price.objectDuration).toBeCloseTo(1.6);
    expect(price.rowsRead).toBeCloseTo(0.01);
    expect(price.rowsWritten).toBeCloseTo(2);
    expect(price.kv).toBeCloseTo(0.5 + 5 + 5 + 5);
    expect(price.total).toBeCloseTo(0.3 + 0.3 + 1.6 + 0.01 + 2 + 15.5);
  });

  it("uses the rates docs/performance.md cites, with its source and the date it was read", () => {
    const docs = readFileSync(COST_DOCS.file, "utf8");
    expect(docs).toContain(PRICES.source);
    expect(docs).toContain(PRICES.seen);
    const rate = PRICES.usdPerMillion;
    for (const quoted of [
      `$${rate.workerRequests.toFixed(2)} per million requests`,
      `$${rate.objectRequests.toFixed(2)} per million requests`,
      `$${rate.objectGbSeconds.toFixed(2)} per million GB-s`,
      `$${rate.rowsRead.toFixed(3)} per million rows read`,
      `$${rate.rowsWritten.toFixed(2)} per million rows written`,
      `$${rate.kvReads.toFixed(2)} per million keys read`,
      `$${rate.kvWrites.toFixed(2)} per million keys written, deleted or listed`,
    ]) {
      expect(docs).toContain(quoted);
    }
    expect(rate.kvDeletes).toBe(rate.kvWrites);
    expect(rate.kvLists).toBe(rate.kvWrites);
  });
});

// ---- Deno KV: `npm run bench -- kv`, docs/deno-deploy.md and the README's line ----------------

/** What lies between a place's markers in its file as committed. */
const between = ({ file, start, end }: { file: string; start: string; end: string }) => {
  const text = readFileSync(file, "utf8");
  const from = text.indexOf(start);
  const to = text.indexOf(end, from);
  expect(from, `${file} has ${start}`).toBeGreaterThanOrEqual(0);
  expect(to, `${file} has ${end} after ${start}`).toBeGreaterThan(from);
  return text.slice(from + start.length, to).trim();
};

const counts = (over: Partial<Record<string, number>> = {}) => ({
  commits: 0,
  failedCommits: 0,
  mutations: 0,
  checks: 0,
  reads: 0,
  keysRead: 0,
  bytesRead: 0,
  bytesWritten: 0,
  readUnits: 0,
  writeUnits: 0,
  ...over,
});

const SAMPLE: KvCostResult = {
  prices: DENO_PRICES,
  repeats: 20,
  burst: 100,
  upgrades: 5,
  operations: [
    {
      name: "trigger on the holder (one isolate, object in memory)",
      triggers: 1,
      samples: 20,
      mean: { ...counts({ commits: 3, mutations: 7, writeUnits: 7, bytesWritten: 1450 }), ms: 4 },
      usdPerMillion: { requests: 2, kvReads: 0, kvWrites: 17.5, total: 19.5 },
    },
  ],
  holdingPerSecond: counts({ reads: 45.6, readUnits: 45.6, commits: 0.4, writeUnits: 0.4 }),
  sweep: counts({ reads: 1, readUnits: 1 }),
};

describe("the Deno KV cost figures", () => {
  it("count a read unit per 4 KiB a read returns and a write unit per KiB a key takes, at least one each", () => {
    expect(readUnitsOf(0)).toBe(1);
    expect(readUnitsOf(4096)).toBe(1);
    expect(readUnitsOf(4097)).toBe(2);
    expect(writeUnitsOf(1)).toBe(1);
    expect(writeUnitsOf(1024)).toBe(1);
    expect(writeUnitsOf(1025)).toBe(2);
    const price = denoPriceOf({ requests: 1, readUnits: 3, writeUnits: 7 });
    expect(price.requests).toBeCloseTo(2);
    expect(price.kvReads).toBeCloseTo(3);
    expect(price.kvWrites).toBeCloseTo(17.5);
    expect(price.total).toBeCloseTo(22.5);
  });

  it("count what a KV does, and a holder's renewals and idle looks for calls apart", async () => {
    const kv = await openKv(":memory:");
    try {
      const counting = new CountingKv(kv);
      const big = new Uint8Array(5000);
      await counting
        .atomic()
        .check({ key: ["obj", "a"], versionstamp: null })
        .set(["obj", "a"], big)
        .commit();
      await counting.get(["obj", "a"]);
      await counting.getMany([
        ["obj", "a"],
        ["obj", "none"],
      ]);
      for await (const _ of counting.list({ prefix: ["obj"] }));
      expect(counting.counts.work).toMatchObject({ commits: 1, mutations: 1, checks: 1, reads: 3 });
      // The value read three times, each over 4 KiB; the missing key of the getMany is a unit all the same.
      expect(counting.counts.work.keysRead).toBe(3);
      expect(counting.counts.work.readUnits).toBe(2 + (2 + 1) + 2);
      expect(counting.counts.work.writeUnits).toBe(5);

      counting.reset();
      // A lease taken, renewed by its holder, then taken by another after it ran out.
      await counting.set(["lease", "targets", "t"], { holder: "a", epoch: 1, until: 1 });
      await counting.set(["lease", "targets", "t"], { holder: "a", epoch: 1, until: 2 });
      await counting.set(["lease", "targets", "t"], { holder: "b", epoch: 2, until: 3 });
      for await (const _ of counting.list({ prefix: ["call", "targets", "t"] }));
      expect(counting.counts.work).toMatchObject({ commits: 2, reads: 0 });
      expect(counting.counts.holding).toMatchObject({ commits: 1, reads: 1, readUnits: 1 });
      // A look that finds a call is the call's.
      await counting.set(["call", "targets", "t", "1"], 1);
      for await (const _ of counting.list({ prefix: ["call", "targets", "t"] }));
      expect(counting.counts.work).toMatchObject({ commits: 3, reads: 1, keysRead: 1 });
    } finally {
      kv.close();
    }
  });

  it("use the rates docs/deno-deploy.md cites, with their source and the date they were read", () => {
    const docs = readFileSync(KV_COST_DOCS.file, "utf8");
    expect(docs).toContain(DENO_PRICES.source);
    expect(docs).toContain(DENO_PRICES.seen);
    const rate = DENO_PRICES.usdPerMillion;
    expect(docs).toContain(`$${rate.requests.toFixed(2)} per million requests`);
    expect(docs).toContain(`$${rate.kvReadUnits.toFixed(2)} per million KV read units`);
    expect(docs).toContain(`$${rate.kvWriteUnits.toFixed(2)} per million KV write units`);
    expect(docs).toContain(`up to ${DENO_PRICES.readUnitBytes / 1024} KiB read`);
    expect(docs).toContain(`up to ${DENO_PRICES.writeUnitBytes / 1024} KiB written`);
  });

  it("are written between markers of docs/deno-deploy.md and the README, by the code that prints them", () => {
    const generatedAt = "2026-12-06T12:00:00.000Z";
    const docs = copyOf(KV_COST_DOCS.file);
    const readme = copyOf(KV_COST_README.file);
    const table = kvCostMarkdown(SAMPLE, { generatedAt });
    const line = kvCostLine(SAMPLE, { generatedAt });
    expect(publishCost(table, [{ ...KV_COST_DOCS, file: docs }])).toEqual([docs]);
    expect(publishCost(line, [{ ...KV_COST_README, file: readme }])).toEqual([readme]);
    expect(between({ ...KV_COST_DOCS, file: docs })).toBe(table);
    expect(between({ ...KV_COST_README, file: readme })).toBe(line);
    expect(line).toBe(
      "Run of 2026-12-06: a scale trigger applied on the isolate that holds its target is 3 atomic commits and 0 reads in Deno KV (7 write units, 0 read units), about $19.50 per million triggers with the request; while an isolate holds the target, until 30 s after its last call, it also reads KV 45.6 times a second over a KV file (45.6 read units), an eighth of that on Deno Deploy, where holders watch for calls.",
    );
  });

  it("say how much less a holder reads where it watches for calls (Deno Deploy)", () => {
    // The bench measures over a KV file, whose holders look at most every maxPollMs; those that
    // watch a bell look every WATCHED_MAX_POLL_MS.
    expect(WATCHED_MAX_POLL_MS / DEFAULT_TIMING.maxPollMs).toBe(8);
  });

  it("in the README are those of the run docs/deno-deploy.md shows", () => {
    const table = between(KV_COST_DOCS);
    const line = between(KV_COST_README);
    // The table as the bench prints it: its heading, then one row a case, the holder's first.
    const header = kvCostMarkdown(SAMPLE, { generatedAt: "2026-12-06" })
      .split("\n")[2]
      ?.split("|")
      .map((cell) => cell.trim());
    const rows = table.split("\n").filter((row) => row.startsWith("| "));
    expect(rows[0]?.split("|").map((cell) => cell.trim())).toEqual(header);
    const warm = rows[2]?.split("|").map((cell) => cell.trim()) ?? [];
    expect(warm[1]).toBe("trigger on the holder (one isolate, object in memory)");
    const [, commits, , reads, , , , readUnits, writeUnits, usd] = warm.slice(1);
    const holding = /per second whatever comes: ([\d.]+) reads \(([\d.]+) read units\)/.exec(table);
    expect(holding).not.toBeNull();
    const date = /^Run of (\d{4}-\d{2}-\d{2}):/.exec(table)?.[1];
    expect(line).toBe(
      `Run of ${date}: a scale trigger applied on the isolate that holds its target is ${commits} atomic commits and ${reads} reads in Deno KV (${writeUnits} write units, ${readUnits} read units), about $${usd} per million triggers with the request; while an isolate holds the target, until 30 s after its last call, it also reads KV ${holding?.[1]} times a second over a KV file (${holding?.[2]} read units), an eighth of that on Deno Deploy, where holders watch for calls.`,
    );
  });
});
