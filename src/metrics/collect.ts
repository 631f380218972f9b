import type { CattleApi } from "../cattle/client";
import { OUTCOMES } from "../domain/execution";
import type { ReceiverMetrics, TargetMetrics } from "../domain/metrics";
import type { Platform } from "../domain/ports";
import type { ReceiverRecord } from "../domain/receiver";
import { logEvent } from "../util/log";
import { mapLimit } from "../util/map-limit";
import type { Family } from "./exposition";

/** Receivers read from the store a page at a time (its largest page). */
const PAGE = 1000;
/** Target objects asked at once: each is a subrequest of the scrape. */
const TARGETS_AT_ONCE = 8;

/** What one scrape found: every receiver of the environment, and what each target answered (undefined: it did not). */
export interface Observed {
  receivers: readonly ReceiverRecord[];
  targets: ReadonlyMap<string, TargetMetrics | undefined>;
  cattleUp: boolean;
  durationSeconds: number;
}

/**
 * Reads an environment's metrics: its receivers from the store (every page), each of their targets
 * asked once, a few at a time, and whether Cattle answers the service's key for the environment.
 * Only targets that hold a listed receiver are asked, so no object is reached that never had one.
 */
export async function observe(
  platform: Platform,
  serviceCattle: CattleApi,
  projectId: string,
  now: () => number,
): Promise<Observed> {
  const started = now();
  const cattle = serviceCattle.getProject(projectId).then((result) => result.ok);
  const byId = new Map<string, ReceiverRecord>();
  let marker: string | undefined;
  do {
    const page = await platform.receivers.list(projectId, PAGE, marker);
    // An eventually consistent list may repeat a record across pages: each receiver is one series.
    for (const record of page.records) byId.set(record.id, record);
    marker = page.next;
  } while (marker !== undefined);
  const receivers = [...byId.values()];
  const names = [...new Set(receivers.map((record) => record.target))];
  const answers = await mapLimit(names, TARGETS_AT_ONCE, (name) =>
    platform
      .target(name)
      .metrics()
      .catch((error: unknown) => {
        logEvent("warn", "metrics_target_unavailable", {
          projectId,
          target: name,
          message: error instanceof Error ? error.message : "unknown error",
        });
        return undefined;
      }),
  );
  const targets = new Map(names.map((name, i) => [name, answers[i]]));
  const cattleUp = await cattle;
  return { receivers, targets, cattleUp, durationSeconds: (now() - started) / 1000 };
}

/** What an attempt to deliver a notification came to. */
const DELIVERY_RESULTS = ["delivered", "failed", "retried"] as const;

const seconds = (epochMs: number) => epochMs / 1000;

/** The metric families of one scrape (docs/monitoring.md is their reference). */
export function families(observed: Observed): Family[] {
  const executions: Family["samples"][number][] = [];
  const lastExecution: Family["samples"][number][] = [];
  const pending: Family["samples"][number][] = [];
  const oldestPending: Family["samples"][number][] = [];
  const deliveries: Family["samples"][number][] = [];
  const perDriver = new Map<string, number>();
  let unanswered = 0;
  for (const name of observed.targets.keys()) if (observed.targets.get(name) === undefined) unanswered++;

  for (const record of observed.receivers) {
    perDriver.set(record.driver, (perDriver.get(record.driver) ?? 0) + 1);
    const answer = observed.targets.get(record.target);
    // A target that did not answer leaves its receivers out: no series beats a wrong zero.
    if (!answer) continue;
    const kept: ReceiverMetrics = answer.receivers.find((entry) => entry.receiverId === record.id) ?? {
      receiverId: record.id,
      outcomes: [],
      pending: 0,
    };
    const labels = { receiver_id: record.id, receiver_name: record.name, driver: record.driver };
    const counted = new Map(kept.outcomes.map((entry) => [entry.outcome as string, entry]));
    // Every outcome from zero, so that the first failure is an increase Prometheus can see.
    const outcomes = [...new Set<string>([...OUTCOMES, ...counted.keys()])];
    for (const outcome of outcomes) {
      const entry = counted.get(outcome);
      executions.push({ labels: { ...labels, outcome }, value: entry?.count ?? 0 });
      if (entry) lastExecution.push({ labels: { ...labels, outcome }, value: seconds(entry.lastAt) });
    }
    pending.push({ labels, value: kept.pending });
    // Each kind the receiver sends to, every result from zero: the first failure is an increase.
    const delivered = new Map(
      (kept.notifications ?? []).map((entry) => [`${entry.kind} ${entry.result}`, entry.count]),
    );
    const kinds = new Set<string>([
      ...(record.notifications ?? []).map((destination) => destination.kind),
      ...(kept.notifications ?? []).map((entry) => entry.kind),
    ]);
    for (const kind of [...kinds].sort()) {
      for (const result of DELIVERY_RESULTS) {
        deliveries.push({
          labels: { ...labels, kind, result },
          value: delivered.get(`${kind} ${result}`) ?? 0,
        });
      }
    }
    oldestPending.push({
      labels,
      value: kept.oldestPendingAt === undefined ? 0 : seconds(kept.oldestPendingAt),
    });
  }

  return [
    {
      name: "rancher_hooks_executions_total",
      help: "Executions that took each outcome: counted when recorded, and again when a pending or queued one settles.",
      type: "counter",
      samples: executions,
    },
    {
      name: "rancher_hooks_last_execution_timestamp_seconds",
      help: "When the latest execution with each outcome took it (Unix time).",
      type: "gauge",
      samples: lastExecution,
    },
    {
      name: "rancher_hooks_pending_executions",
      help: "Executions now pending or queued.",
      type: "gauge",
      samples: pending,
    },
    {
      name: "rancher_hooks_oldest_pending_execution_timestamp_seconds",
      help: "When the oldest execution now pending or queued was recorded (Unix time); 0 when none is.",
      type: "gauge",
      samples: oldestPending,
    },
    {
      name: "rancher_hooks_notifications_total",
      help: "Attempts to deliver a receiver's notifications, by destination kind and result (delivered, failed, retried).",
      type: "counter",
      samples: deliveries,
    },
    {
      name: "rancher_hooks_receivers",
      help: "Receivers of the environment, by driver.",
      type: "gauge",
      samples: [...perDriver].sort().map(([driver, count]) => ({ labels: { driver }, value: count })),
    },
    {
      name: "rancher_hooks_cattle_up",
      help: "1 if Cattle answered the service's key for this environment during this scrape, else 0.",
      type: "gauge",
      samples: [{ value: observed.cattleUp ? 1 : 0 }],
    },
    {
      name: "rancher_hooks_unanswered_targets",
      help: "Target objects that did not answer during this scrape; their receivers' series are left out.",
      type: "gauge",
      samples: [{ value: unanswered }],
    },
    {
      name: "rancher_hooks_scrape_duration_seconds",
      help: "How long this scrape took to gather.",
      type: "gauge",
      samples: [{ value: observed.durationSeconds }],
    },
  ];
}
