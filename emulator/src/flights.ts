/**
 * Writes in flight, per service (emulator/README.md, "Overlapping writes"): a write addressed to one
 * service is in flight from the moment the gate admits it until its answer leaves the emulator, the
 * connection is reset (`dropCount`) or its client goes away. A write that arrives while another write
 * to the same service is still in flight is an overlapping write. Tests of several service processes
 * over one state expect none: one writer per service at a time.
 */
import { SERVICE_TYPES } from "./model";
import { collectionSegment, typeDef } from "./schemas";

/** The URL segments of a service resource, every kind under both spellings the routes answer. */
const SERVICE_SEGMENTS = [
  ...new Set(SERVICE_TYPES.flatMap((type) => [collectionSegment(typeDef(type)), typeDef(type).pluralName])),
];
const SERVICE_PATH = new RegExp(`^/v2-beta(?:/projects/[^/]+)?/(?:${SERVICE_SEGMENTS.join("|")})/([^/]+)/?$`);

/**
 * The service a write is addressed to: `…/services/{id}` (or a kind's own collection, `?action=`
 * included; the query is not part of the path), scoped to a project or not. Creates, other resources
 * and sub-resources (`…/{id}/instances`) address none. Ids are unique across projects, so the id alone
 * names the service whichever route reached it.
 */
export function serviceWriteTarget(pathname: string): string | null {
  const match = SERVICE_PATH.exec(pathname);
  if (!match) return null;
  const id = match[1] as string;
  try {
    return decodeURIComponent(id);
  } catch {
    return id;
  }
}

/** What `GET /_emulator/stats` adds about writes to services, since the last reset. */
export interface FlightStats {
  /** Writes addressed to one service that were admitted (those that count for the fault hooks). */
  writes: number;
  /** Those that arrived while another write to the same service was still in flight. */
  overlappingWrites: number;
  /** Per service written to: the most writes it had in flight at once. */
  maxInFlight: Record<string, number>;
  /** Per service: the writes in flight now (services with none are left out). */
  inFlight: Record<string, number>;
}

/** The state object keeps this as plain data, so that it survives the object's eviction. */
export interface FlightLog {
  writes: number;
  overlappingWrites: number;
  maxInFlight: Record<string, number>;
  /** Flights not ended yet: flight id → service id. */
  open: Record<string, string>;
}

export const emptyFlightLog = (): FlightLog => ({
  writes: 0,
  overlappingWrites: 0,
  maxInFlight: {},
  open: {},
});

function inFlight(log: FlightLog): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const service of Object.values(log.open)) counts[service] = (counts[service] ?? 0) + 1;
  return counts;
}

/** Starts a flight for a write to `service`, counting it as overlapping if the service had one. */
export function takeOff(log: FlightLog, flight: string, service: string): void {
  const before = inFlight(log)[service] ?? 0;
  log.open[flight] = service;
  log.writes += 1;
  if (before > 0) log.overlappingWrites += 1;
  log.maxInFlight[service] = Math.max(log.maxInFlight[service] ?? 0, before + 1);
}

/**
 * Ends a flight. Ending one twice, or one a reset has forgotten, changes nothing: a write's answer and
 * its client's going away may both report the end.
 */
export function land(log: FlightLog, flight: string): boolean {
  if (!Object.hasOwn(log.open, flight)) return false;
  delete log.open[flight];
  return true;
}

export function flightStats(log: FlightLog): FlightStats {
  return {
    writes: log.writes,
    overlappingWrites: log.overlappingWrites,
    maxInFlight: { ...log.maxInFlight },
    inFlight: inFlight(log),
  };
}
