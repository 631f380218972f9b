import type { Host } from "../../cattle/types";
import type { TableSet } from "../../storage/migrations";
import type { SqlLike } from "../../storage/object-storage";

/** A host this target evacuated, and when. */
export type LeavingHostRow = {
  host_id: string;
  since: number;
};

export const LEAVING_HOSTS_TABLES: TableSet = {
  component: "scaleHost",
  migrations: [
    {
      version: 1,
      description: "leaving_hosts: hosts evacuated and not yet shown gone",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(
          "CREATE TABLE IF NOT EXISTS leaving_hosts (host_id TEXT PRIMARY KEY, since INTEGER NOT NULL)",
        ),
    },
  ],
};

/** How long at most an evacuated host is left out of its group while Cattle removes it. */
const LEAVING_REMEMBERED_MS = 10 * 60_000;
const GONE_STATES = ["removing", "removed", "purging", "purged"];

/**
 * Hosts this target evacuated that Cattle may still list as live: left out of their group, so the
 * next trigger does not remove them again. Forgotten once Cattle shows them gone, or after a while.
 */
export class LeavingHosts {
  constructor(private readonly sql: SqlLike) {}

  add(hostId: string, since: number): void {
    this.sql.exec("INSERT OR REPLACE INTO leaving_hosts (host_id, since) VALUES (?, ?)", hostId, since);
  }

  /** Those still leaving among `hosts` (Cattle's current list); the rest are forgotten. */
  among(hosts: Host[], now: number): Set<string> {
    const listed = new Map(hosts.map((host) => [host.id, host]));
    const leaving = new Set<string>();
    for (const { host_id: id, since } of this.sql.exec<LeavingHostRow>("SELECT * FROM leaving_hosts")) {
      const host = listed.get(id);
      const gone = !host || host.removed || GONE_STATES.includes(host.state ?? "");
      if (gone || since < now - LEAVING_REMEMBERED_MS) {
        this.sql.exec("DELETE FROM leaving_hosts WHERE host_id = ?", id);
      } else {
        leaving.add(id);
      }
    }
    return leaving;
  }
}
