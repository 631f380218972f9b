import type { TableSet } from "../../src/storage/migrations";
import { latestVersion } from "../../src/storage/migrations";
import type { SqlLike } from "../../src/storage/object-storage";

/**
 * An object's schema as SQLite itself records it (`sqlite_master`), one statement a line with its
 * whitespace collapsed, leaving out SQLite's own and the runtime's internal tables (`sqlite_*`,
 * Cloudflare's `_cf_*`, the Deno adapter's `_object` and `_alarm`).
 */
export function schemaOf(sql: SqlLike): string {
  return `${sql
    .exec<{ sql: string }>(
      `SELECT sql FROM sqlite_master
       WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\'
       ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, tbl_name, name`,
    )
    .toArray()
    .map(
      (row) =>
        `${row.sql
          .replace(/\s+/g, " ")
          .replace(/\( /g, "(")
          .replace(/ ([),])/g, "$1")};`,
    )
    .join("\n")}\n`;
}

/** A Markdown table with its columns padded, as the repository's formatter lays tables out. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((cell, i) =>
    Math.max(cell.length, 3, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)];
}

/** The part of docs/storage.md that describes one object's tables, written from its schema. */
export function tablesSection(object: string, sets: readonly TableSet[], schema: string): string {
  const rows = sets.map((set) => [
    `\`${set.component}\``,
    String(latestVersion(set)),
    set.migrations.map((step) => `${step.version}: ${step.description}`).join("<br>"),
  ]);
  return [
    `### ${object}`,
    "",
    ...table(["component", "version", "steps"], rows),
    "",
    "```sql",
    schema.trimEnd(),
    "```",
  ].join("\n");
}

const BEGIN = "<!-- tables: written by test/integration/storage.test.ts (npx vitest run -u) -->";
const END = "<!-- end of tables -->";

/** docs/storage.md with its tables part replaced by `section`. */
export function withTables(doc: string, section: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) return `${doc.trimEnd()}\n\n${BEGIN}\n${section}\n${END}\n`;
  return `${doc.slice(0, begin)}${BEGIN}\n${section}\n${doc.slice(end)}`;
}
