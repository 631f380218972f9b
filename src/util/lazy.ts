/**
 * A value built on first use and kept: module load does nothing a request does not need (a
 * Worker's start-up time counts against every cold request).
 */
export function lazy<T>(build: () => T): () => T {
  let value: { built: T } | undefined;
  return () => {
    value ??= { built: build() };
    return value.built;
  };
}
