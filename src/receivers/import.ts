import type { Caller } from "../access/authorize";
import { ApiError } from "../api/errors";
import { issueToApiError } from "../api/validation";
import { type CattleClient, type CattleSettings, cattleClient } from "../cattle/client";
import { isTransient } from "../cattle/failures";
import type { GenericObject } from "../cattle/types";
import type { ReceiverRecord } from "../domain/receiver";
import { driverNamed } from "../drivers";
import { sha256Hex } from "../util/sha256";
import { receiverCreateSchema } from "./input";
import type { Receivers } from "./manage";

/**
 * Rancher's webhook-service kept each receiver as a Cattle generic object of this kind: `name`,
 * `key` (the secret of its `?key=` URL, or for the oldest receivers the `uuid` of their RS256
 * `?token=`), and `resourceData` `{url, driver, config}` (docs/migrating.md).
 */
export const WEBHOOK_RECEIVER_KIND = "webhookReceiver";

export interface Skipped {
  name: string;
  genericObjectId: string;
  reason: string;
}

export interface ImportResult {
  imported: ReceiverRecord[];
  skipped: Skipped[];
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A stored config in this service's terms, as its driver reads webhook-service's; its other quirks
 * (`azure`, a config `type`) the drivers take as they are.
 */
const translated = (driver: string, config: Json): Json =>
  driverNamed(driver)?.fromWebhookService?.(config) ?? config;

/** Every generic object of webhook-service's kind in the environment, page by page, as the caller may see them. */
async function genericObjects(cattle: CattleClient, projectId: string): Promise<GenericObject[]> {
  const all: GenericObject[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 100; page++) {
    const listed = await cattle.listGenericObjects(projectId, WEBHOOK_RECEIVER_KIND, marker);
    if (!listed.ok) {
      if (isTransient(listed.failure)) {
        throw new ApiError(
          503,
          "ServiceUnavailable",
          "Rancher could not be reached to read webhook-service's receivers; try again",
          undefined,
          { "retry-after": "5" },
        );
      }
      throw new ApiError(403, "Forbidden", "these credentials cannot read the environment's generic objects");
    }
    all.push(...listed.value.data);
    const next = listed.value.pagination?.next;
    marker = next ? (new URL(next).searchParams.get("marker") ?? undefined) : undefined;
    if (!marker) break;
  }
  return all.filter(
    (object) => !object.removed && !["removed", "removing", "purged", "purging"].includes(object.state ?? ""),
  );
}

/**
 * Imports the environment's webhook-service receivers as receivers of this service, with the same
 * names and configs, so their original URLs keep working. Idempotent: a generic object whose
 * receiver exists is not imported again. What cannot be imported is skipped with the reason; the
 * generic objects are left as they are.
 */
export async function importFromWebhookService(
  caller: Caller,
  receivers: Receivers,
  settings: CattleSettings,
): Promise<ImportResult> {
  const { projectId } = caller;
  const cattle = cattleClient(settings, caller.credentials);
  const project = receivers.project(projectId);
  const result: ImportResult = { imported: [], skipped: [] };
  for (const object of await genericObjects(cattle, projectId)) {
    const name = object.name ?? "";
    const skip = (reason: string) => result.skipped.push({ name, genericObjectId: object.id, reason });
    const data = isObject(object.resourceData) ? object.resourceData : {};
    const driver = typeof data.driver === "string" ? data.driver : undefined;
    if (!object.key || !name || !driver || !isObject(data.config)) {
      skip("not a webhook-service receiver: it has no name, key, driver or config");
      continue;
    }
    const keyDigest = await sha256Hex(object.key);
    const existing = await project.importedAs(object.id, keyDigest);
    const imported = existing ? await receivers.find(projectId, existing) : null;
    if (imported) {
      skip(`already imported as receiver ${imported.id}`);
      continue;
    }
    const parsed = receiverCreateSchema().safeParse(
      { name, driver, [`${driver}Config`]: translated(driver, data.config) },
      { reportInput: true },
    );
    if (!parsed.success) {
      const [first] = parsed.error.issues;
      skip(first ? issueToApiError(first).message : "its config is not valid");
      continue;
    }
    try {
      const record = await receivers.create(caller, parsed.data, {
        importedFrom: object.id,
        legacyKeyDigest: keyDigest,
      });
      result.imported.push(record);
    } catch (error) {
      // Refusals are this object's (its service is gone, its name taken); Rancher going away is everyone's.
      if (error instanceof ApiError && error.status < 500) skip(error.message);
      else throw error;
    }
  }
  return result;
}
