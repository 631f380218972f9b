import type { CattleApi } from "../../cattle/client";
import { describeFailure, meaningOf } from "../../cattle/failures";
import type { Service } from "../../cattle/types";
import type { TableSet } from "../../storage/migrations";
import type { SqlLike } from "../../storage/object-storage";
import { fromStoredJson, JSON_COLUMNS, toStoredJson } from "../../storage/stored-json";
import { planServiceUpgrade, runningTag, runsTag, sameRepositoryName, type UpgradeSettings } from "./images";
import { admits, isSemanticPolicy } from "./policy";

/** One service's upgrade for one push: the job as JSON, with the columns it is looked up by. */
export type UpgradeRow = {
  seq: number;
  execution_id: string;
  receiver_id: string;
  service_id: string;
  /** The UpgradeJob, as JSON. */
  job: string;
  phase: Phase;
  /** When the job last made progress (epoch ms), for pruning finished jobs. */
  progressed: number;
};

/**
 * The follow-up of service upgrades, kept in the target object's SQLite so that neither a
 * restart nor an eviction loses it: one row per service per push, advanced by alarms.
 */
export const UPGRADES_TABLES: TableSet = {
  component: "serviceUpgrade",
  migrations: [
    {
      version: 1,
      description: "upgrades: one row per service per push, advanced by alarms",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(`
          CREATE TABLE IF NOT EXISTS upgrades (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            execution_id TEXT NOT NULL,
            receiver_id TEXT NOT NULL,
            service_id TEXT NOT NULL,
            job TEXT NOT NULL,
            phase TEXT NOT NULL
          );
          CREATE INDEX IF NOT EXISTS upgrades_open ON upgrades (phase, service_id, seq);`),
    },
    {
      version: 2,
      description: "upgrades.progressed as a column, so pruning finished jobs reads no JSON",
      olderCodeCanRun: false,
      up: (sql) =>
        sql.exec(`
          ALTER TABLE upgrades ADD COLUMN progressed INTEGER NOT NULL DEFAULT 0;
          UPDATE upgrades SET progressed = json_extract(job, '$.progressed');
          CREATE INDEX upgrades_by_execution ON upgrades (execution_id, seq);`),
    },
  ],
};

/**
 * waiting → upgrading → finishing → done, or failed from any of them; skipped when, by the time
 * its turn came, the service ran a version its policy does not leave for the pushed one.
 */
export type Phase = "waiting" | "upgrading" | "finishing" | "done" | "failed" | "skipped";

export interface UpgradeJob {
  seq?: number;
  executionId: string;
  receiverId: string;
  projectId: string;
  serviceId: string;
  serviceName: string;
  repository: string;
  tag: string;
  settings: UpgradeSettings;
  phase: Phase;
  message?: string;
  /** When the job last made progress (epoch ms): a job stuck longer than STALL_MS fails. */
  progressed: number;
}

/** A follow-up that sees no progress for this long is given up, with a reason in its execution. */
export const STALL_MS = 30 * 60_000;

const OPEN: Phase[] = ["waiting", "upgrading", "finishing"];
export const isOpen = (job: UpgradeJob): boolean => OPEN.includes(job.phase);

export class UpgradeQueue {
  constructor(private readonly sql: SqlLike) {}

  add(job: UpgradeJob): void {
    this.sql.exec(
      "INSERT INTO upgrades (execution_id, receiver_id, service_id, job, phase, progressed) VALUES (?, ?, ?, ?, ?, ?)",
      job.executionId,
      job.receiverId,
      job.serviceId,
      toStoredJson(JSON_COLUMNS.upgradeJob, job),
      job.phase,
      job.progressed,
    );
  }

  save(job: UpgradeJob): void {
    this.sql.exec(
      "UPDATE upgrades SET job = ?, phase = ?, progressed = ? WHERE seq = ?",
      toStoredJson(JSON_COLUMNS.upgradeJob, job),
      job.phase,
      job.progressed,
      job.seq ?? -1,
    );
  }

  /** The oldest open job of each service: pushes for one service run one after another. */
  heads(): UpgradeJob[] {
    return this.sql
      .exec<Pick<UpgradeRow, "seq" | "job">>(
        `SELECT seq, job FROM upgrades WHERE seq IN (
           SELECT MIN(seq) FROM upgrades WHERE phase IN ('waiting', 'upgrading', 'finishing') GROUP BY service_id)
         ORDER BY seq`,
      )
      .toArray()
      .map((row) => ({ ...fromStoredJson<UpgradeJob>(JSON_COLUMNS.upgradeJob, row.job), seq: row.seq }));
  }

  ofExecution(executionId: string): UpgradeJob[] {
    return this.sql
      .exec<Pick<UpgradeRow, "seq" | "job">>(
        "SELECT seq, job FROM upgrades WHERE execution_id = ? ORDER BY seq",
        executionId,
      )
      .toArray()
      .map((row) => ({ ...fromStoredJson<UpgradeJob>(JSON_COLUMNS.upgradeJob, row.job), seq: row.seq }));
  }

  /** The tags that open upgrades of a service will move `repository` to, oldest first. */
  queuedTags(serviceId: string, repository: string): string[] {
    return this.sql
      .exec<Pick<UpgradeRow, "job">>(
        "SELECT job FROM upgrades WHERE service_id = ? AND phase IN ('waiting', 'upgrading', 'finishing') ORDER BY seq",
        serviceId,
      )
      .toArray()
      .map((row) => fromStoredJson<UpgradeJob>(JSON_COLUMNS.upgradeJob, row.job))
      .filter((job) => sameRepositoryName(job.repository, repository))
      .map((job) => job.tag);
  }

  hasOpen(): boolean {
    return (
      this.sql
        .exec("SELECT 1 FROM upgrades WHERE phase IN ('waiting', 'upgrading', 'finishing') LIMIT 1")
        .toArray().length > 0
    );
  }

  /** Finished jobs are kept a day for the record, then dropped. */
  prune(now: number): void {
    this.sql.exec(
      "DELETE FROM upgrades WHERE phase IN ('done', 'failed', 'skipped') AND progressed < ?",
      now - 24 * 3_600_000,
    );
  }
}

const UPGRADE_STATES = new Set(["upgrading", "upgraded"]);

const failed = (job: UpgradeJob, message: string, now: number): UpgradeJob => ({
  ...job,
  phase: "failed",
  message,
  progressed: now,
});

/**
 * One step of one upgrade, from what Cattle shows now. Cattle being unreachable is not a failure
 * of the upgrade: the step is tried again at the next alarm.
 */
export async function advance(job: UpgradeJob, cattle: CattleApi, now: number): Promise<UpgradeJob> {
  const read = await cattle.getService(job.projectId, job.serviceId);
  if (!read.ok) {
    const meaning = meaningOf(read.failure);
    if (meaning === "gone") return failed(job, `service ${job.serviceId} was removed`, now);
    if (meaning !== "transient") return failed(job, describeFailure(read.failure), now);
    return now - job.progressed > STALL_MS ? failed(job, "Cattle did not answer for 30 minutes", now) : job;
  }
  const service = read.value;
  if (service.transitioning === "error") {
    return failed(job, service.transitioningMessage || `service ${job.serviceId} reported an error`, now);
  }
  switch (job.phase) {
    case "waiting":
      return start(job, service, cattle, now);
    case "upgrading":
      // A finishupgrade whose answer was lost: Cattle is finishing it.
      if (service.state === "finishing-upgrade") return { ...job, phase: "finishing", progressed: now };
      if (service.state === "upgraded") {
        const finish = await cattle.serviceAction(job.projectId, job.serviceId, "finishupgrade");
        if (finish.ok) return { ...job, phase: "finishing", progressed: now };
        if (meaningOf(finish.failure) === "refused")
          return failed(job, `Cattle refused to finish the upgrade: ${finish.failure.message}`, now);
      }
      // Someone finished or rolled back the upgrade by hand: it is over, and not ours to judge.
      if (service.state === "active")
        return { ...job, phase: "done", message: "finished outside rancher-hooks", progressed: now };
      break;
    case "finishing":
      if (service.state === "active") return { ...job, phase: "done", progressed: now };
      break;
  }
  return now - job.progressed > STALL_MS
    ? failed(job, `no progress for 30 minutes (service is ${service.state})`, now)
    : job;
}

/** Plans the upgrade from the service as it is now (an earlier push may have changed it) and starts it. */
async function start(job: UpgradeJob, service: Service, cattle: CattleApi, now: number): Promise<UpgradeJob> {
  // An upgrade action whose answer was lost: Cattle shows the service upgrading to this very image.
  if (UPGRADE_STATES.has(service.state ?? "") && runsTag(service, job.repository, job.tag)) {
    return { ...job, phase: "upgrading", progressed: now };
  }
  if (service.state !== "active") {
    // Another upgrade or an update is running; a queued push waits for the service to settle.
    return now - job.progressed > STALL_MS
      ? failed(job, `service stayed ${service.state} for 30 minutes`, now)
      : job;
  }
  // The service may have moved since the push was queued (by hand, or by another receiver): a
  // policy looks again, so that nothing older than what runs now replaces it.
  const policy = job.settings.policy;
  if (isSemanticPolicy(policy)) {
    const running = runningTag(service, job.repository);
    if (running === job.tag && runsTag(service, job.repository, job.tag))
      return {
        ...job,
        phase: "done",
        message: `service ${job.serviceId} already runs ${job.tag}`,
        progressed: now,
      };
    const verdict = admits(policy, running, job.tag);
    if (!verdict.ok) return { ...job, phase: "skipped", message: verdict.reason, progressed: now };
  }
  const request = planServiceUpgrade(service, job.repository, job.tag, job.settings);
  if (!request)
    return failed(job, `service ${job.serviceId} no longer runs an image of ${job.repository}`, now);
  const started = await cattle.serviceAction(job.projectId, job.serviceId, "upgrade", request);
  if (started.ok) return { ...job, phase: "upgrading", progressed: now };
  if (meaningOf(started.failure) === "refused") {
    return failed(job, `Cattle refused the upgrade: ${started.failure.message}`, now);
  }
  return job;
}
