import * as z from "zod";
import type { Caller } from "../access/authorize";
import { ApiError } from "../api/errors";
import { issueToApiError } from "../api/validation";
import { OUTCOMES } from "../domain/execution";
import { RESOURCE_ID } from "../domain/ids";
import {
  type DestinationView,
  MAX_DESTINATIONS,
  NOTIFICATION_KINDS,
  NOTIFY_WINDOW_SECONDS,
  type NotifySettings,
} from "../domain/notifications";
import type { LegacyImport } from "../domain/ports";
import type { LiveReceiver, ReceiverRecord } from "../domain/receiver";
import type { SenderCheck, SenderVerificationView } from "../domain/sender";
import { DRIVER_NAMES, DRIVERS, driverOf } from "../drivers";
import { destinationUrlProblem, viewOf } from "../notifications/destinations";
import { lazy } from "../util/lazy";
import { mapLimit } from "../util/map-limit";
import { receiverCreateSchema } from "./input";
import { RECEIVER_ID, type Receivers } from "./manage";

/** The export format's version: a restore refuses any other, so a later format is never misread. */
export const EXPORT_VERSION = 1;
/** Receivers read from the store per page while exporting. */
const EXPORT_PAGE = 1000;

/** An import from webhook-service as an export carries it (src/project/legacy-receivers.ts). */
export type ExportedLegacyKey = LegacyImport;

/**
 * One receiver in an export: everything that makes its URLs work again elsewhere under the same
 * signing keys (id, version, creation time, target config) and its sender check.
 */
export type ExportedReceiver = {
  id: string;
  name: string;
  driver: string;
  version: number;
  /** ISO 8601 with milliseconds: a token's issue time comes from it, so it must round-trip exactly. */
  created: string;
  senderVerification?: SenderVerificationView;
  /** The check the target keeps; HMAC keys only with `includeSecrets` (bearer/basic are digests). */
  senderCheck?: SenderCheck;
  /** Its destinations as answers show them (no URLs). */
  notifications?: DestinationView[];
  notifyWindowSeconds?: number;
  /** What the target keeps to send them, URLs and signing secrets included: only with `includeSecrets`. */
  notify?: NotifySettings;
  importedFrom?: string;
  legacyKeys?: ExportedLegacyKey[];
} & Record<`${string}Config`, unknown>;

export interface ReceiverExport {
  type: "receiverExport";
  version: typeof EXPORT_VERSION;
  projectId: string;
  exportedAt: string;
  receivers: ExportedReceiver[];
  /** Set on a part of an export (`limit`, `marker`) that more parts follow: the next part's marker. */
  next?: string;
}

/**
 * The most receivers one restore takes: each costs a handful of storage and Cattle calls, which a
 * request may make only so many of. A larger environment is exported and restored in parts.
 */
export const MAX_RESTORE_RECEIVERS = 500;

/** Targets asked at once while exporting: a request may keep only a few connections open. */
const EXPORT_CONCURRENCY = 6;

/**
 * The sender check as an export carries it: only when secrets are asked. An HMAC scheme's key is
 * the secret itself; a bearer or basic check is a salted digest of a credential a person chose,
 * which can be guessed offline from it, so it is a secret too.
 */
function exportedCheck(check: SenderCheck | undefined, includeSecrets: boolean): SenderCheck | undefined {
  return includeSecrets ? check : undefined;
}

/**
 * The environment's receivers as a document that `restore` takes back: all of them, or with
 * `part` one page of them (`limit` from `marker`) and the marker of the next in `next`.
 */
export async function exportReceivers(
  caller: Caller,
  receivers: Receivers,
  options: {
    includeSecrets: boolean;
    now?: number;
    pageSize?: number;
    part?: { limit: number; marker?: string };
  },
): Promise<ReceiverExport> {
  const { projectId } = caller;
  const project = receivers.project(projectId);
  const exported: ExportedReceiver[] = [];
  let marker = options.part?.marker;
  do {
    const page = await receivers.store.list(
      projectId,
      options.part?.limit ?? options.pageSize ?? EXPORT_PAGE,
      marker,
    );
    const imported = page.records.filter((record) => record.importedFrom).map((record) => record.id);
    const [live, imports] = await Promise.all([
      liveOf(receivers, page.records),
      imported.length > 0 ? project.importsOf(imported) : ({} as Record<string, ExportedLegacyKey[]>),
    ]);
    for (const record of page.records) {
      const current = live.get(record.id);
      const check = exportedCheck(current?.senderCheck, options.includeSecrets);
      const legacyKeys = (record.importedFrom && imports[record.id]) || [];
      exported.push({
        id: record.id,
        name: record.name,
        driver: record.driver,
        [driverOf(record).configField]: asCreateConfig(record),
        // The target decides which version's URL works, so its version wins over the record's.
        version: current?.version ?? record.version,
        created: new Date(record.created).toISOString(),
        ...(record.senderVerification ? { senderVerification: record.senderVerification } : {}),
        ...(check ? { senderCheck: check } : {}),
        ...(current?.notify
          ? {
              notifications: current.notify.destinations.map(viewOf),
              notifyWindowSeconds: current.notify.windowSeconds,
              // A destination URL is all it takes to post there, and a signing secret to sign: secrets.
              ...(options.includeSecrets ? { notify: current.notify } : {}),
            }
          : {}),
        ...(record.importedFrom ? { importedFrom: record.importedFrom } : {}),
        ...(legacyKeys.length > 0 ? { legacyKeys } : {}),
      });
    }
    marker = page.next;
  } while (marker && !options.part);
  return {
    type: "receiverExport",
    version: EXPORT_VERSION,
    projectId,
    exportedAt: new Date(options.now ?? Date.now()).toISOString(),
    receivers: exported,
    ...(options.part && marker ? { next: marker } : {}),
  };
}

/** The receiver's config as its create body would send it, which a restore validates back to the same. */
function asCreateConfig(record: ReceiverRecord): Record<string, unknown> {
  const definition = driverOf(record);
  return definition.asCreateConfig?.(record.config as never) ?? (record.config as Record<string, unknown>);
}

/** The live state of a page's receivers, asked of each target once. */
async function liveOf(
  receivers: Receivers,
  records: readonly ReceiverRecord[],
): Promise<Map<string, LiveReceiver>> {
  const byTarget = new Map<string, string[]>();
  for (const record of records) {
    const ids = byTarget.get(record.target);
    if (ids) ids.push(record.id);
    else byTarget.set(record.target, [record.id]);
  }
  const answers = await mapLimit([...byTarget], EXPORT_CONCURRENCY, ([target, ids]) =>
    receivers.liveReceivers(target, ids),
  );
  return new Map(answers.flat().map((receiver) => [receiver.id, receiver]));
}

const SCHEMES = ["bearer", "basic", "github", "grafana", "standardWebhooks"] as const;

/** The document's shapes, built on first use. */
/** Whether `text` is an absolute http: or https: URL. */
const isWebUrl = (text: string): boolean => {
  try {
    return /^https?:$/.test(new URL(text).protocol);
  } catch {
    return false;
  }
};

const schemas = lazy(() => {
  const base64 = z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64");
  const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a SHA-256 digest in lower-case hex");
  const headerName = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "must be an HTTP header name");
  const senderCheck = z.discriminatedUnion("scheme", [
    z.strictObject({ scheme: z.literal("bearer"), salt: base64, digest: base64 }),
    z.strictObject({ scheme: z.literal("basic"), salt: base64, digest: base64 }),
    z.strictObject({ scheme: z.literal("github"), key: base64 }),
    z.strictObject({ scheme: z.literal("standardWebhooks"), key: base64 }),
    z.strictObject({
      scheme: z.literal("grafana"),
      key: base64,
      header: headerName,
      timestampHeader: headerName.optional(),
    }),
  ]);
  const configFields = Object.fromEntries(
    DRIVER_NAMES.map((name) => [DRIVERS[name].configField, z.unknown().optional()]),
  );
  return {
    document: z.strictObject({
      type: z.literal("receiverExport"),
      version: z.literal(EXPORT_VERSION),
      projectId: z.string().regex(RESOURCE_ID, "must be a Rancher id such as 1a5"),
      exportedAt: z.iso.datetime().optional(),
      receivers: z.array(z.unknown()).max(MAX_RESTORE_RECEIVERS),
      // A part of an export names the next part; a restore has no use for it.
      next: z.string().max(1024).optional(),
    }),
    receiver: z.strictObject({
      type: z.literal("receiver").optional(),
      id: z.string().regex(RECEIVER_ID, "must be a receiver id as this service makes them"),
      // Checked with the create body's rules below; here only so that they are known fields.
      name: z.unknown(),
      driver: z.unknown(),
      ...configFields,
      version: z.int().min(1),
      created: z.iso.datetime(),
      senderVerification: z
        .strictObject({
          type: z.literal("senderVerification").optional(),
          scheme: z.enum(SCHEMES),
          header: headerName.optional(),
          timestampHeader: headerName.optional(),
        })
        .optional(),
      senderCheck: senderCheck.optional(),
      // Shown for reading; only `notify` (an export with secrets) brings destinations back.
      notifications: z.array(z.unknown()).max(MAX_DESTINATIONS).optional(),
      notifyWindowSeconds: z.unknown().optional(),
      notify: z
        .strictObject({
          windowSeconds: z.int().min(NOTIFY_WINDOW_SECONDS.min).max(NOTIFY_WINDOW_SECONDS.max),
          destinations: z
            .array(
              z.strictObject({
                id: z.string().regex(/^d[0-9a-z]{26}$/, "must be a destination id"),
                kind: z.enum(NOTIFICATION_KINDS),
                url: z.string().refine((url) => destinationUrlProblem(url) === undefined, {
                  message: "must be an https: URL (or http: to a loopback address) of at most 2048 bytes",
                }),
                on: z.array(z.enum(OUTCOMES)).min(1).max(OUTCOMES.length),
                secret: z
                  .string()
                  .regex(/^whsec_[A-Za-z0-9+/]{32}$/, "must be a signing secret as this service makes them")
                  .optional(),
              }),
            )
            .max(MAX_DESTINATIONS)
            // What a receiver's own edits can make, and nothing else: the outbox keeps one message per
            // destination id, and a webhook's messages are signed with its secret.
            .superRefine((destinations, ctx) => {
              const ids = new Set<string>();
              destinations.forEach((destination, i) => {
                if (ids.has(destination.id)) {
                  ctx.addIssue({ code: "custom", path: [i, "id"], message: "names a destination twice" });
                }
                ids.add(destination.id);
                if (destination.kind === "webhook" && destination.secret === undefined) {
                  ctx.addIssue({
                    code: "custom",
                    path: [i, "secret"],
                    message: "is required for a webhook destination",
                    params: { code: "MissingRequired" },
                  });
                }
              });
            }),
          environment: z.string().max(256),
          targetLabel: z.string().max(256).optional(),
          // A link in every message: Slack refuses a message whose button links anywhere but http(s).
          historyUrl: z.string().max(4096).refine(isWebUrl, "must be an http: or https: URL"),
        })
        .optional(),
      importedFrom: z.string().regex(RESOURCE_ID, "must be a Rancher id").optional(),
      legacyKeys: z
        .array(
          z.strictObject({
            genericObjectId: z.string().regex(RESOURCE_ID, "must be a Rancher id"),
            originalDigest: sha256,
            keyDigest: sha256.nullable(),
          }),
        )
        .max(16)
        .optional(),
    }),
  };
});

/** A receiver of a validated document, ready to be put back. */
export interface RestoreEntry {
  record: ReceiverRecord;
  senderCheck?: SenderCheck;
  notify?: NotifySettings;
  imports: LegacyImport[];
}

/** The first issue of a failed parse as the 422 envelope, its path from the document's root. */
function refusal(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): ApiError {
  const [first] = issues;
  return first
    ? issueToApiError(first, prefix)
    : new ApiError(422, "InvalidFormat", "invalid export document");
}

const invalid = (code: "InvalidOption" | "MissingRequired" | "NotUnique", message: string, path: string) =>
  new ApiError(422, code, message, path);

/**
 * Validates a whole export document for `projectId` before anything is written: its header, then
 * every receiver with the same rules as a create (name, driver, config), its sender check and its
 * imports. Targets are not asked of Cattle (docs/backup.md says why). The first problem is thrown as
 * the 422 envelope with its path (`receivers.3.scaleServiceConfig.max`).
 */
export function parseExport(body: unknown, projectId: string): RestoreEntry[] {
  const header = schemas().document.safeParse(body, { reportInput: true });
  if (!header.success) throw refusal(header.error.issues, []);
  const document = header.data;
  if (document.projectId !== projectId) {
    throw invalid(
      "InvalidOption",
      `this export is of environment ${document.projectId}, not ${projectId}: restore it into its own environment`,
      "projectId",
    );
  }
  const ids = new Set<string>();
  const names = new Set<string>();
  return document.receivers.map((value, index) => {
    const at = ["receivers", index] as const;
    const path = (field: string) => `receivers.${index}.${field}`;
    const parsed = schemas().receiver.safeParse(value, { reportInput: true });
    if (!parsed.success) throw refusal(parsed.error.issues, at);
    const entry = parsed.data as typeof parsed.data & Record<string, unknown>;
    // Name, driver and config by the create body's own rules, so a restore holds no receiver a
    // create would refuse (apart from the target's existence, which is Cattle's to say).
    const createBody: Record<string, unknown> = { name: entry.name, driver: entry.driver };
    for (const name of DRIVER_NAMES) {
      const field = DRIVERS[name].configField;
      if (entry[field] !== undefined) createBody[field] = entry[field];
    }
    const input = receiverCreateSchema().safeParse(createBody, { reportInput: true });
    if (!input.success) throw refusal(input.error.issues, at);
    const { senderVerification, senderCheck, legacyKeys = [] } = entry;
    if (senderCheck && !senderVerification) {
      throw invalid(
        "MissingRequired",
        `${path("senderVerification")} is required with a senderCheck`,
        path("senderVerification"),
      );
    }
    if (senderCheck && senderVerification && senderCheck.scheme !== senderVerification.scheme) {
      throw invalid(
        "InvalidOption",
        `${path("senderCheck.scheme")} must be the senderVerification's scheme (${senderVerification.scheme})`,
        path("senderCheck.scheme"),
      );
    }
    if (
      senderCheck?.scheme === "grafana" &&
      (senderCheck.header !== senderVerification?.header ||
        senderCheck.timestampHeader !== senderVerification?.timestampHeader)
    ) {
      throw invalid(
        "InvalidOption",
        `${path("senderCheck.header")} must name the senderVerification's headers`,
        path("senderCheck.header"),
      );
    }
    for (const [keyIndex, key] of legacyKeys.entries()) {
      // An export holds a key that still triggers, or none: any other key would put back a URL
      // that a regenerate retired.
      if (key.keyDigest !== null && key.keyDigest !== key.originalDigest) {
        const field = path(`legacyKeys.${keyIndex}.keyDigest`);
        throw invalid("InvalidOption", `${field} must be null or the originalDigest`, field);
      }
    }
    if (legacyKeys.length > 0 && !entry.importedFrom) {
      throw invalid(
        "MissingRequired",
        `${path("importedFrom")} is required with legacyKeys`,
        path("importedFrom"),
      );
    }
    if (ids.has(entry.id))
      throw invalid("NotUnique", `receiver ${entry.id} is in the export twice`, path("id"));
    ids.add(entry.id);
    if (names.has(input.data.name)) {
      throw invalid(
        "NotUnique",
        `a receiver named "${input.data.name}" is in the export twice`,
        path("name"),
      );
    }
    names.add(input.data.name);
    const record: ReceiverRecord = {
      id: entry.id,
      projectId,
      name: input.data.name,
      driver: input.data.driver,
      config: input.data.config,
      target: driverOf(input.data).targetName(projectId, input.data.config as never),
      version: entry.version,
      created: Date.parse(entry.created),
      ...(senderVerification ? { senderVerification: withoutType(senderVerification) } : {}),
      ...(entry.notify
        ? {
            notifications: entry.notify.destinations.map(viewOf),
            notifyWindowSeconds: entry.notify.windowSeconds,
          }
        : {}),
      ...(entry.importedFrom ? { importedFrom: entry.importedFrom } : {}),
    } as ReceiverRecord;
    return {
      record,
      ...(senderCheck ? { senderCheck } : {}),
      ...(entry.notify ? { notify: entry.notify as NotifySettings } : {}),
      imports: legacyKeys,
    };
  });
}

const withoutType = ({
  type: _type,
  ...view
}: SenderVerificationView & { type?: string }): SenderVerificationView => view;

export interface RestoreResult {
  imported: ReceiverRecord[];
  skipped: { name: string; receiverId: string; reason: string }[];
}

/**
 * Restores a validated document, receiver by receiver. One that is present, deleted here, whose
 * target the caller could not create a receiver for, named like another receiver, holding a legacy
 * key another receiver holds, or whose sender check's secret was left out of the export is skipped
 * with the reason; the others keep their ids and versions. Restoring the same document again
 * changes nothing, and completes a restore that stopped part way.
 */
export async function restoreReceivers(
  caller: Caller,
  receivers: Receivers,
  entries: readonly RestoreEntry[],
): Promise<RestoreResult> {
  const result: RestoreResult = { imported: [], skipped: [] };
  const checked = new Map<string, Promise<string | null>>();
  for (const { record, senderCheck, notify, imports } of entries) {
    const skip = (reason: string) =>
      result.skipped.push({ name: record.name, receiverId: record.id, reason });
    if (record.senderVerification && !senderCheck) {
      // Restoring it without its check would let any holder of the URL trigger it.
      skip(
        `its ${record.senderVerification.scheme} sender secret is not in the export (export with includeSecrets=true, or create it anew)`,
      );
      continue;
    }
    const reason = await receivers.restore(caller, record, senderCheck, imports, checked, notify);
    if (reason === null) result.imported.push(record);
    else skip(reason);
  }
  return result;
}
