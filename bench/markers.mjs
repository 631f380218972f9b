// Where a full benchmark run writes its tables: between marker lines of a Markdown file, so that
// the text around them stays as its authors wrote it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/**
 * `text` with what lies between the `start` and `end` marker lines replaced by `content`, or
 * undefined when the markers are not both there, in that order (the text is then left alone).
 */
export function fillBetween(text, start, end, content) {
  const from = text.indexOf(start);
  const to = from < 0 ? -1 : text.indexOf(end, from + start.length);
  if (from < 0 || to < 0) return undefined;
  return `${text.slice(0, from + start.length)}\n${content.trim()}\n${text.slice(to)}`;
}

/** The cost tables' markers in docs/performance.md. */
export const COST_DOCS = {
  file: "docs/performance.md",
  start: "<!-- bench:cost:start -->",
  end: "<!-- bench:cost:end -->",
};
/** The cost tables' markers in the README, which has them only where it shows the costs. */
export const COST_README = { file: "README.md", start: "<!-- bench:cost -->", end: "<!-- /bench:cost -->" };

/** The Deno KV cost tables' markers in docs/deno-deploy.md. */
export const KV_COST_DOCS = {
  file: "docs/deno-deploy.md",
  start: "<!-- bench:kv:start -->",
  end: "<!-- bench:kv:end -->",
};
/** The README's one line of what a trigger costs on Deno Deploy. */
export const KV_COST_README = { file: "README.md", start: "<!-- bench:kv -->", end: "<!-- /bench:kv -->" };

/**
 * Writes the cost tables between their markers in each file that has them, and answers the files
 * written. A file without the markers is not touched.
 */
export function publishCost(markdown, places = [COST_DOCS, COST_README]) {
  const written = [];
  for (const { file, start, end } of places) {
    if (!existsSync(file)) continue;
    const text = fillBetween(readFileSync(file, "utf8"), start, end, markdown);
    if (text === undefined) continue;
    writeFileSync(file, text);
    written.push(file);
  }
  return written;
}
