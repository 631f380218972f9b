import type { Host } from "../../cattle/types";
import { selectorMatches } from "../shared/selectors";

/** Hosts in these states are leaving or gone and no longer count as members of a group. */
const GONE_STATES = new Set(["removed", "removing", "purging", "purged", "erroring", "error"]);

/** A canonical spelling of a selector, so one group always has one Durable Object. */
export function canonicalSelector(selector: Record<string, string>): string {
  return Object.keys(selector)
    .sort()
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(selector[key] ?? "")}`)
    .join(",");
}

/** The group: live hosts whose labels match every pair of the selector, oldest first. */
export function groupOf(
  hosts: Host[],
  selector: Record<string, string>,
  leaving: ReadonlySet<string> = new Set(),
): Host[] {
  return hosts
    .filter(
      (host) =>
        !host.removed &&
        !(host.state && GONE_STATES.has(host.state)) &&
        !leaving.has(host.id) &&
        selectorMatches(selector, host.labels),
    )
    .sort((a, b) => createdOf(a) - createdOf(b) || a.id.localeCompare(b.id, "en", { numeric: true }));
}

const createdOf = (host: Host): number => host.createdTS ?? (host.created ? Date.parse(host.created) : 0);

/** The machine-driver config a host was created with (`amazonec2Config`, …), or null for a custom host. */
export function machineDriverConfigOf(host: Host): { field: string; config: Record<string, unknown> } | null {
  if (!host.driver) return null;
  const field = `${host.driver}Config`;
  const config = (host as unknown as Record<string, unknown>)[field];
  return typeof config === "object" && config !== null && !Array.isArray(config)
    ? { field, config: config as Record<string, unknown> }
    : null;
}

/** The host new ones are cloned from: the oldest of the group that a machine driver created. */
export const cloneSourceOf = (group: Host[]): Host | undefined =>
  group.find((host) => machineDriverConfigOf(host) !== null);

const NUMBERED = /^(.*?)(\d+)$/;

/** States of a host that no longer holds its name: Cattle has removed it (and may be purging it). */
const NAME_FREED_STATES = new Set(["removed", "purging", "purged"]);

/**
 * The names held by the environment's hosts (Cattle's list of them): every host not removed or
 * purged, so one still draining, deactivating or removing keeps its name until Cattle is done.
 */
export function hostnamesInUse(hosts: readonly Host[]): Set<string> {
  const names = new Set<string>();
  for (const host of hosts) {
    if (host.state ? NAME_FREED_STATES.has(host.state) : Boolean(host.removed)) continue;
    const name = host.hostname ?? host.name;
    if (name) names.add(name);
  }
  return names;
}

/**
 * Names for `count` new hosts: the group's prefix and the numbers after the highest one in use.
 * Numbers are compared as numbers, so after worker9 comes worker10, and a name is never one that
 * a host of the group, or any host in `inUse` (see `hostnamesInUse`), still has: a host evacuated
 * a moment ago is out of the group but keeps its name while it drains (docs/hosts.md).
 */
export function nextHostnames(
  group: Host[],
  count: number,
  inUse: ReadonlySet<string> = new Set(),
): string[] {
  const names = group.map((host) => host.hostname ?? host.name ?? "").filter(Boolean);
  const prefixes = new Map<string, number>();
  let highest = 0;
  for (const name of names) {
    const match = NUMBERED.exec(name);
    const prefix = match ? (match[1] ?? "") : name;
    prefixes.set(prefix, (prefixes.get(prefix) ?? 0) + 1);
    if (match) highest = Math.max(highest, Number(match[2]));
  }
  // The most common prefix of the group (the oldest host's on a tie) names the new hosts.
  const oldest = names[0] ? (NUMBERED.exec(names[0])?.[1] ?? names[0]) : "host";
  let prefix = oldest;
  for (const [candidate, uses] of prefixes) if (uses > (prefixes.get(prefix) ?? 0)) prefix = candidate;
  const taken = new Set([...names, ...inUse]);
  const result: string[] = [];
  for (let number = highest + 1; result.length < count; number++) {
    const name = `${prefix}${number}`;
    if (!taken.has(name)) result.push(name);
  }
  return result;
}

/** What to POST to `hosts` to add one host named `hostname` to the group. */
export function hostCreateBody(
  source: Host | undefined,
  hostTemplateId: string | undefined,
  selector: Record<string, string>,
  hostname: string,
) {
  // New hosts carry the selector's labels (an empty value stays empty) on top of the source's own.
  const labels = {
    ...(source?.labels ?? {}),
    ...Object.fromEntries(Object.entries(selector).filter(([, value]) => value !== "")),
  };
  if (hostTemplateId) return { hostname, labels, hostTemplateId };
  const driver = source ? machineDriverConfigOf(source) : null;
  if (!driver) return null;
  return { hostname, labels, [driver.field]: driver.config };
}

export type DeleteOption = "mostRecent" | "leastRecent";

/** Which hosts to remove: unhealthy ones (any state but active) first, then by age as asked. */
export function hostsToRemove(group: Host[], count: number, deleteOption: DeleteOption): Host[] {
  const byAge = [...group].sort((a, b) => createdOf(a) - createdOf(b));
  if (deleteOption === "mostRecent") byAge.reverse();
  const unhealthy = byAge.filter((host) => host.state !== "active");
  const healthy = byAge.filter((host) => host.state === "active");
  return [...unhealthy, ...healthy].slice(0, Math.max(0, count));
}
