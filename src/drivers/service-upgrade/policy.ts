/**
 * Version policies: which pushed tag may replace the one a service runs. `glob` takes any tag the
 * receiver's pattern matches; the semantic ones take only a newer version within a range of the
 * running one, so a late or replayed push of an older release never downgrades a service.
 */
export const POLICIES = ["glob", "semver-major", "semver-minor", "semver-patch"] as const;
export type Policy = (typeof POLICIES)[number];

export const isSemanticPolicy = (policy: Policy | undefined): policy is Exclude<Policy, "glob"> =>
  policy !== undefined && policy !== "glob";

/**
 * A tag read as a version: `1.4.2`, `v1.4.2`, `1.4` (1.4.0), with a suffix after `-`. A suffix
 * that starts with a pre-release word or a number (`rc.1`, `beta2`, `1`) is a pre-release and
 * orders as SemVer says; any other suffix (`alpine`, `slim`, `bookworm`) names a variant of the
 * image, which a policy never changes.
 */
export interface Version {
  core: [number, number, number];
  prerelease: string[];
  variant: string;
}

const VERSION = /^v?(\d{1,9})\.(\d{1,9})(?:\.(\d{1,9}))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const PRERELEASE_WORD = /^(?:alpha|beta|rc|pre|preview|dev|snapshot|canary|nightly|next|milestone|m)?\d*$/i;
const NUMERIC = /^\d+$/;
/** A number written with a leading zero: `01`, `007` (`0` alone is a number like any other). */
const ZERO_PADDED = /^0\d/;
/** A four-digit year leading a calendar version, whose month and day are written `03`, `02`. */
const YEAR = /^[1-9]\d{3}$/;

/**
 * SemVer forbids leading zeros in numbers, so `01.2.1` or `1.02.3` is no version: read as
 * 1.2.1 it would equal another tag and could replace or be replaced by it. The one exception is a
 * calendar version (`2026.03.02`), whose month and day are zero-padded by convention; its year is not.
 */
export function parseVersion(tag: string): Version | null {
  const match = VERSION.exec(tag);
  if (!match) return null;
  const [major = "", minor = "", patch] = [match[1], match[2], match[3]];
  if (ZERO_PADDED.test(major)) return null;
  if (!YEAR.test(major) && [minor, patch ?? ""].some((part) => ZERO_PADDED.test(part))) return null;
  const core: Version["core"] = [Number(major), Number(minor), Number(patch ?? 0)];
  const suffix = match[4];
  if (suffix === undefined) return { core, prerelease: [], variant: "" };
  const first = suffix.split(/[.-]/)[0] ?? "";
  if (!PRERELEASE_WORD.test(first)) return { core, prerelease: [], variant: suffix };
  const prerelease = suffix.split(".");
  // A numeric pre-release identifier with a leading zero is just as ambiguous (`rc.01` = `rc.1`).
  return prerelease.some((identifier) => NUMERIC.test(identifier) && ZERO_PADDED.test(identifier))
    ? null
    : { core, prerelease, variant: "" };
}

/** SemVer §11 order of two pre-release identifiers. */
function compareIdentifier(a: string, b: string): number {
  const aNumeric = NUMERIC.test(a);
  const bNumeric = NUMERIC.test(b);
  if (aNumeric && bNumeric) return Number(a) - Number(b);
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative if `a` is older than `b`, zero if they are the same version, positive if newer. */
export function compareVersions(a: Version, b: Version): number {
  for (let index = 0; index < 3; index++) {
    const difference = (a.core[index] ?? 0) - (b.core[index] ?? 0);
    if (difference !== 0) return difference;
  }
  // A release is newer than its pre-releases.
  if (a.prerelease.length === 0 || b.prerelease.length === 0)
    return b.prerelease.length - a.prerelease.length;
  for (let index = 0; index < Math.min(a.prerelease.length, b.prerelease.length); index++) {
    const difference = compareIdentifier(a.prerelease[index] ?? "", b.prerelease[index] ?? "");
    if (difference !== 0) return difference;
  }
  return a.prerelease.length - b.prerelease.length;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

const RANGE: Record<Exclude<Policy, "glob">, { parts: number; name: string }> = {
  "semver-major": { parts: 0, name: "" },
  "semver-minor": { parts: 1, name: "major version" },
  "semver-patch": { parts: 2, name: "minor version" },
};

/**
 * Whether `policy` lets a service that runs `running` (a tag, or undefined for an image without
 * one) move to `pushed`. `newest` is the newest tag the service is already due to run (an upgrade
 * queued before this push): the pushed one must be newer than that too, whatever order pushes
 * arrive in.
 */
export function admits(
  policy: Exclude<Policy, "glob">,
  running: string | undefined,
  pushed: string,
  queued: readonly string[] = [],
): Verdict {
  const next = parseVersion(pushed);
  if (!next) return { ok: false, reason: `${pushed} is not a semantic version (policy ${policy})` };
  const current = running === undefined ? null : parseVersion(running);
  if (!current) {
    // latest, main, stable…: any release is newer than a tag that is not a version.
    if (next.prerelease.length > 0)
      return { ok: false, reason: `${pushed} is a pre-release and the running ${running ?? "image"} is not` };
    if (next.variant && running !== next.variant && !running?.endsWith(`-${next.variant}`))
      return {
        ok: false,
        reason: `${pushed} is the ${next.variant} variant and the running ${running ?? "image"} is not`,
      };
  } else {
    if (current.variant !== next.variant)
      return {
        ok: false,
        reason: `${pushed} is ${next.variant ? `the ${next.variant} variant` : "no variant"} and the running ${running} is ${current.variant ? `the ${current.variant} variant` : "none"}`,
      };
    if (next.prerelease.length > 0 && current.prerelease.length === 0)
      return { ok: false, reason: `${pushed} is a pre-release and the running ${running} is not` };
    if (compareVersions(next, current) <= 0)
      return {
        ok: false,
        reason: `${pushed} is not newer than the running ${running}: a policy never downgrades`,
      };
    const range = RANGE[policy];
    if (
      range.parts > 0 &&
      current.core.slice(0, range.parts).join(".") !== next.core.slice(0, range.parts).join(".")
    )
      return {
        ok: false,
        reason: `${pushed} leaves the ${range.name} of the running ${running} (policy ${policy})`,
      };
  }
  for (const tag of queued) {
    const due = parseVersion(tag);
    if (due && due.variant === next.variant && compareVersions(next, due) <= 0)
      return {
        ok: false,
        reason: `${pushed} is not newer than ${tag}, already queued: a policy never downgrades`,
      };
  }
  return { ok: true };
}

/** The newest of `tags` that `policy` admits for a service that runs `running`, or why none is. */
export function newestAdmitted(
  policy: Exclude<Policy, "glob">,
  running: string | undefined,
  tags: readonly string[],
  queued: readonly string[] = [],
): { ok: true; tag: string } | { ok: false; reason: string } {
  let best: { tag: string; version: Version } | undefined;
  const reasons: string[] = [];
  for (const tag of tags) {
    const verdict = admits(policy, running, tag, queued);
    if (!verdict.ok) {
      reasons.push(verdict.reason);
      continue;
    }
    const version = parseVersion(tag) as Version;
    if (!best || compareVersions(version, best.version) > 0) best = { tag, version };
  }
  return best ? { ok: true, tag: best.tag } : { ok: false, reason: reasons.join("; ") };
}
