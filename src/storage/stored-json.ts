import { StorageTooNew } from "./migrations";

/**
 * A JSON value kept in a TEXT column carries the version of its shape in a `v` field, so that a
 * later shape is a change this code can tell apart rather than misread (docs/storage.md, "JSON
 * columns"). A value written before versions were kept has no `v`: it is the first shape.
 */
export interface JsonColumn {
  /** `table.column`, for the refusal's message and log line. */
  readonly name: string;
  /** The shape this code writes, and the newest it reads. */
  readonly version: number;
}

/** Every JSON column of the objects' storage, with the version of the shape this code writes. */
export const JSON_COLUMNS = {
  executionBody: { name: "executions.body", version: 1 },
  deliveryExecution: { name: "deliveries.execution", version: 1 },
  receiverRecord: { name: "receivers.record", version: 1 },
  pendingStep: { name: "pending_steps.step", version: 1 },
  unresolvedWrite: { name: "unresolved_write.write", version: 1 },
  /** 2: the phases verifying, rollingBack and rolledBack, with the watch over new containers. */
  upgradeJob: { name: "upgrades.job", version: 2 },
  hostStep: { name: "host_steps.step", version: 1 },
  legacyRoute: { name: "legacy_receivers.route", version: 1 },
  notificationEvent: { name: "notification_events.execution", version: 1 },
  notificationMessage: { name: "notification_deliveries.message", version: 1 },
} as const satisfies Record<string, JsonColumn>;

/** The value as its column keeps it: its fields and the version of its shape. */
export function toStoredJson(column: JsonColumn, value: object): string {
  return JSON.stringify({ ...value, v: column.version });
}

/**
 * The value a column keeps, without its version field. A shape newer than this code's is refused
 * with StorageTooNew (the object answers 503 until the newer release runs again) rather than read
 * as if it were one this code knows.
 */
export function fromStoredJson<T>(column: JsonColumn, text: string): T {
  const { v, ...value } = JSON.parse(text) as { v?: unknown } & Record<string, unknown>;
  const version = v ?? 0;
  if (typeof version !== "number" || !Number.isInteger(version) || version > column.version) {
    const stored = typeof version === "number" ? version : Number.NaN;
    throw new StorageTooNew(column.name, stored, stored, column.version);
  }
  return value as T;
}
