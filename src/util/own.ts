/**
 * A record's own value for a key that may come from a request: `__proto__`, `constructor` or
 * `toString` are not keys of a plain object, whatever its prototype says.
 */
export const own = <T>(record: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;
