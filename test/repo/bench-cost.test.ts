import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { COST_DOCS, COST_README, fillBetween, publishCost } from "../../bench/markers.mjs";
import { PRICES, priceOf } from "../../bench/prices.mjs";

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
