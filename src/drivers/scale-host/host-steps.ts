import type { Host } from "../../cattle/types";
import type { Delivery } from "../../domain/delivery";
import type { TableSet } from "../../storage/migrations";
import type { SqlLike } from "../../storage/object-storage";
import { fromStoredJson, JSON_COLUMNS, toStoredJson } from "../../storage/stored-json";

/**
 * The host step being carried out, kept from before its first change to Cattle until it is
 * recorded: a step is several calls (one per host), and an object that stops in the middle of them
 * must know after its restart that a step was under way, which delivery it was and how far it meant
 * to go (docs/how-it-works.md, "Crashes and restarts").
 */
export interface StoredHostStep {
  receiverId: string;
  projectId: string;
  version: number;
  delivery: Omit<Delivery, "pushes" | "ignoredBecause">;
  /** The group's size when the step was planned, and the step's own reason (`scaled up by 2`). */
  from: number;
  reason: string;
  /** Hosts to add (their hostnames) or to remove (their ids and names), in the order they are changed. */
  change: { kind: "add"; hostnames: string[] } | { kind: "remove"; hosts: { id: string; name: string }[] };
  started: number;
  /** The `pending` execution recorded for it after a restart; absent while its sender waits. */
  executionId?: string;
}

/** The host step under way, at most one; `step` is the StoredHostStep as JSON. */
export type HostStepRow = { id: number; step: string };

/** A component of its own, which releases before it ignore: rolling back past it is safe. */
export const HOST_STEPS_TABLES: TableSet = {
  component: "scaleHostSteps",
  migrations: [
    {
      version: 1,
      description: "host_steps: the host step under way, so a restart knows of it",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(
          "CREATE TABLE IF NOT EXISTS host_steps (id INTEGER PRIMARY KEY CHECK (id = 1), step TEXT NOT NULL)",
        ),
    },
  ],
};

/** States of a host that an evacuation has reached. */
export const LEAVING_STATES = new Set([
  "deactivating",
  "inactive",
  "removing",
  "removed",
  "purging",
  "purged",
]);

export class HostSteps {
  constructor(private readonly sql: SqlLike) {}

  /** Kept before the step's first change is sent. */
  begin(step: StoredHostStep): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO host_steps (id, step) VALUES (1, ?)",
      toStoredJson(JSON_COLUMNS.hostStep, step),
    );
  }

  /** The step is recorded (in the same transaction), or ended having changed nothing. */
  end(): void {
    this.sql.exec("DELETE FROM host_steps");
  }

  underWay(): StoredHostStep | undefined {
    const [row] = this.sql.exec<Pick<HostStepRow, "step">>("SELECT step FROM host_steps").toArray();
    return row ? fromStoredJson<StoredHostStep>(JSON_COLUMNS.hostStep, row.step) : undefined;
  }
}

/** How far a step interrupted by a restart went, as Cattle's hosts show it: the hosts it changed, by name. */
export function changedBy(step: StoredHostStep, hosts: readonly Host[]): string[] {
  if (step.change.kind === "add") {
    const names = new Set(hosts.filter((host) => !host.removed).map((host) => host.hostname));
    return step.change.hostnames.filter((hostname) => names.has(hostname));
  }
  const listed = new Map(hosts.map((host) => [host.id, host]));
  return step.change.hosts
    .filter(({ id }) => {
      const host = listed.get(id);
      return !host || host.removed || LEAVING_STATES.has(host.state ?? "");
    })
    .map(({ name }) => name);
}
