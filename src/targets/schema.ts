import { DRIVER_NAMES, DRIVERS } from "../drivers";
import { NOTIFICATION_TABLES } from "../notifications/outbox";
import type { TableSet } from "../storage/migrations";
import { RECEIVERS_TABLES, REVOCATIONS_TABLES } from "./admission";
import { FLOOD_GUARD_TABLES } from "./flood-guard";
import { HISTORY_TABLES } from "./history";
import { METRICS_TABLES } from "./metrics";

/**
 * Every table a target object keeps, by component, in the order they are built: admission's live
 * receivers, the ones revoked and their flood allowances, the history, each driver's own, then the metrics' counters and the notifications' outbox (docs/storage.md is written
 * from this).
 */
export const TARGET_TABLES: readonly TableSet[] = [
  RECEIVERS_TABLES,
  REVOCATIONS_TABLES,
  FLOOD_GUARD_TABLES,
  HISTORY_TABLES,
  ...DRIVER_NAMES.flatMap((name) => DRIVERS[name].tables ?? []),
  METRICS_TABLES,
  NOTIFICATION_TABLES,
];
