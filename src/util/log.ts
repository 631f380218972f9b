/**
 * Structured logs: one JSON object a line, written through `console` by level, which is what Workers
 * Logs indexes field by field (docs/monitoring.md). Callers pass only what they mean to be read: this
 * module never receives a request, a header or a URL with its query string, so no token, key, secret,
 * signature or session can reach a log line through it.
 */
export type LogLevel = "info" | "warn" | "error";

export type LogValue = string | number | boolean | undefined;

const WRITERS: Record<LogLevel, (line: string) => void> = {
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

/** Writes one line `{"level":…,"event":…,…fields}`; fields that are undefined are left out. */
export function logEvent(level: LogLevel, event: string, fields: Readonly<Record<string, LogValue>>): void {
  const line: Record<string, LogValue> = { level, event };
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) line[name] = value;
  WRITERS[level](JSON.stringify(line));
}
