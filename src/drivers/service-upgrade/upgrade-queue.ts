import type { UpgradeStep } from "../../domain/execution";
import type { TableSet } from "../../storage/migrations";
import type { SqlLike } from "../../storage/object-storage";
import { fromStoredJson, JSON_COLUMNS, toStoredJson } from "../../storage/stored-json";
import { sameRepositoryName, type UpgradeSettings } from "./images";
import type { EarlyLook, VerifySettings, Watch } from "./verify";

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
 * waiting → upgrading → verifying → finishing → done, or verifying → rollingBack → rolledBack when
 * the new containers fail their checks; failed from any of them; skipped when, by the time its turn
 * came, the service ran a version its policy does not leave for the pushed one.
 */
export type Phase =
  | "waiting"
  | "upgrading"
  | "verifying"
  | "finishing"
  | "rollingBack"
  | "done"
  | "rolledBack"
  | "failed"
  | "skipped";

/** Phases whose job still has work to do: a service's next push waits while one of its jobs is in one. */
export const OPEN_PHASES: readonly Phase[] = [
  "waiting",
  "upgrading",
  "verifying",
  "finishing",
  "rollingBack",
];
const OPEN_SQL = OPEN_PHASES.map((phase) => `'${phase}'`).join(", ");

export interface UpgradeJob {
  seq?: number;
  executionId: string;
  receiverId: string;
  projectId: string;
  serviceId: string;
  serviceName: string;
  repository: string;
  tag: string;
  /** The manifest digest pushed under the tag, where the registry's payload carries one. */
  digest?: string;
  settings: UpgradeSettings & Partial<VerifySettings>;
  phase: Phase;
  message?: string;
  /** When the job last made progress (epoch ms): a job stuck longer than STALL_MS fails. */
  progressed: number;
  /** What the service ran before, `repository:tag`, once the upgrade has started. */
  previousImage?: string;
  /** What the looks at the new containers learned while Cattle was still replacing them. */
  early?: EarlyLook;
  /** The watch over the new containers, from the moment Cattle shows the service upgraded. */
  watch?: Watch;
  /** Why the new containers failed, when the upgrade is finished all the same (rollbackOnFailure off). */
  verdict?: string;
  /** Each step the execution shows, with when it started. */
  steps?: { step: UpgradeStep; at: number }[];
  /** When an action (upgrade, finish, rollback) was last sent, written before it goes out and dropped once answered. */
  sending?: number;
  /** When an action was last sent whose answer never came: Cattle may still take it, up to ACTION_FATE_WINDOW_MS later. */
  unanswered?: number;
}

/**
 * How long after it was sent an action whose answer never came may still be taken by Cattle: the
 * 10 s fate window of docs/how-it-works.md (Cattle holds a request up to about 3 s for a lock).
 */
export const ACTION_FATE_WINDOW_MS = 10_000;

/**
 * Whether an action the job sent may still land: one sent without an answer (or whose sender died
 * before the answer came) less than ACTION_FATE_WINDOW_MS ago.
 */
export const inDoubt = (job: UpgradeJob, now: number): boolean =>
  Math.max(job.sending ?? Number.NEGATIVE_INFINITY, job.unanswered ?? Number.NEGATIVE_INFINITY) >
  now - ACTION_FATE_WINDOW_MS;

/** A follow-up that sees no progress for this long is given up, with a reason in its execution. */
export const STALL_MS = 30 * 60_000;
/** How long a rolled-back image keeps a push of the same image from upgrading the service again. */
export const ROLLED_BACK_MEMORY_MS = 24 * 3_600_000;
/** How long finished jobs are kept: as long as a rollback is remembered. */
const KEPT_MS = ROLLED_BACK_MEMORY_MS;

export const isOpen = (job: UpgradeJob): boolean => OPEN_PHASES.includes(job.phase);

const readJob = (row: Pick<UpgradeRow, "seq" | "job">): UpgradeJob => ({
  ...fromStoredJson<UpgradeJob>(JSON_COLUMNS.upgradeJob, row.job),
  seq: row.seq,
});

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
           SELECT MIN(seq) FROM upgrades WHERE phase IN (${OPEN_SQL}) GROUP BY service_id)
         ORDER BY seq`,
      )
      .toArray()
      .map(readJob);
  }

  /** The job of the same service queued just before `job`, if any is kept. */
  before(job: UpgradeJob): UpgradeJob | undefined {
    return this.sql
      .exec<Pick<UpgradeRow, "seq" | "job">>(
        "SELECT seq, job FROM upgrades WHERE service_id = ? AND seq < ? ORDER BY seq DESC LIMIT 1",
        job.serviceId,
        job.seq ?? -1,
      )
      .toArray()
      .map(readJob)[0];
  }

  ofExecution(executionId: string): UpgradeJob[] {
    return this.sql
      .exec<Pick<UpgradeRow, "seq" | "job">>(
        "SELECT seq, job FROM upgrades WHERE execution_id = ? ORDER BY seq",
        executionId,
      )
      .toArray()
      .map(readJob);
  }

  /** The tags that open upgrades of a service will move `repository` to, oldest first. */
  queuedTags(serviceId: string, repository: string): string[] {
    return this.sql
      .exec<Pick<UpgradeRow, "job">>(
        `SELECT job FROM upgrades WHERE service_id = ? AND phase IN (${OPEN_SQL}) ORDER BY seq`,
        serviceId,
      )
      .toArray()
      .map((row) => fromStoredJson<UpgradeJob>(JSON_COLUMNS.upgradeJob, row.job))
      .filter((job) => sameRepositoryName(job.repository, repository))
      .map((job) => job.tag);
  }

  /**
   * The latest upgrade of `serviceId` to this very image that was rolled back within the last
   * ROLLED_BACK_MEMORY_MS: the same repository and tag, and the same digest where both pushes
   * carry one (docs/upgrades.md, "Health checks and rollback").
   */
  rolledBack(serviceId: string, repository: string, tag: string, digest: string | undefined, now: number) {
    return this.sql
      .exec<Pick<UpgradeRow, "seq" | "job">>(
        "SELECT seq, job FROM upgrades WHERE service_id = ? AND phase = 'rolledBack' AND progressed > ? ORDER BY seq DESC",
        serviceId,
        now - ROLLED_BACK_MEMORY_MS,
      )
      .toArray()
      .map(readJob)
      .find(
        (job) =>
          sameRepositoryName(job.repository, repository) &&
          job.tag === tag &&
          (job.digest === undefined || digest === undefined || job.digest === digest),
      );
  }

  hasOpen(): boolean {
    return this.sql.exec(`SELECT 1 FROM upgrades WHERE phase IN (${OPEN_SQL}) LIMIT 1`).toArray().length > 0;
  }

  /** Finished jobs are kept a day, for the record and to remember rollbacks, then dropped. */
  prune(now: number): void {
    this.sql.exec(`DELETE FROM upgrades WHERE phase NOT IN (${OPEN_SQL}) AND progressed < ?`, now - KEPT_MS);
  }
}
