/**
 * Label selectors as receivers use them: every pair must match, and an empty value matches any
 * value of that label (the label must still be present).
 */
export function selectorMatches(
  selector: Record<string, string>,
  labels: Record<string, string> | null | undefined,
): boolean {
  const present = labels ?? {};
  return Object.entries(selector).every(
    ([key, value]) => Object.hasOwn(present, key) && (value === "" || present[key] === value),
  );
}

/** `app=web,tier`: a selector as people write it; `tier` alone matches any value. */
export const describeSelector = (selector: Record<string, string>, separator = ","): string =>
  Object.entries(selector)
    .map(([key, value]) => (value === "" ? key : `${key}=${value}`))
    .join(separator);
