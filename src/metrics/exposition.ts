/**
 * The Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE` once per family, then
 * one line per series. Pure, so its escaping and layout are tested without a runtime.
 */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Readonly<Record<string, string>>;

export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: readonly { labels?: Labels; value: number }[];
}

/** A label value as the format quotes it: backslash, double quote and line feed escaped. */
export const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** HELP text escapes only backslash and line feed. */
const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

const formatValue = (value: number): string => {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
};

/**
 * The families as one exposition. A series (name and labels) that appears twice is a bug of the
 * caller, and throws: Prometheus would reject the whole scrape for it.
 */
export function exposition(families: readonly Family[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {})
        .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
        .join(",");
      const series = labels ? `${family.name}{${labels}}` : family.name;
      if (seen.has(series)) throw new Error(`duplicate series ${series}`);
      seen.add(series);
      lines.push(`${series} ${formatValue(sample.value)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
