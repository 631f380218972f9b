import type { Context } from "hono";
import { Hono } from "hono";
import * as z from "zod";
import type { AppEnv } from "../api/app-env";
import { ApiError, notFound } from "../api/errors";
import {
  API_PREFIX,
  collection,
  deliveryResource,
  executionResource,
  publicOrigin,
  RECEIVER_ACTIONS,
  receiverResource,
} from "../api/resources";
import { clip, parseOrThrow, validate } from "../api/validation";
import { InvalidMarker } from "../domain/ports";
import type { ReceiverRecord } from "../domain/receiver";
import { jsonBody, limitBody, MAX_RESTORE_BYTES, parseJson } from "../middleware/body";
import { assertCanWrite, canWrite, managementAuth, requireWrite } from "../middleware/management-auth";
import { setNotificationsSchema } from "../notifications/destinations";
import { exportReceivers, parseExport, restoreReceivers } from "../receivers/backup";
import { importFromWebhookService } from "../receivers/import";
import { receiverCreateSchema, regenerateSchema } from "../receivers/input";
import { type Receivers, receiversOf } from "../receivers/manage";
import { lazy } from "../util/lazy";

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

const listQuery = lazy(() =>
  z.object({
    // `limit` ≤ 0 is Cattle's "no limit" (Rancher's UI lists with limit=-1): the largest page.
    limit: z.coerce
      .number()
      .pipe(z.int().max(MAX_PAGE))
      .transform((limit) => (limit <= 0 ? MAX_PAGE : limit))
      .default(DEFAULT_PAGE),
    marker: z.string().min(1).max(1024).optional(),
  }),
);

const exportQuery = lazy(() =>
  z.object({
    includeSecrets: z.enum(["true", "false"]).optional(),
  }),
);

/** A restore carries a whole environment: about 500 bytes a receiver, so 64 KiB would hold only ~120. */
const restoreLimit = limitBody(MAX_RESTORE_BYTES);
const plainLimit = limitBody();

/** A marker the store does not know, as the client is told. */
function invalidMarker(error: unknown): never {
  if (error instanceof InvalidMarker) {
    throw new ApiError(422, "InvalidFormat", "marker is not a marker this listing returned", "marker");
  }
  throw error;
}

async function loadRecord(c: Context<AppEnv>, receivers: Receivers): Promise<ReceiverRecord> {
  const record = await receivers.find(c.get("caller").projectId, c.req.param("id") ?? "");
  if (!record) throw notFound("receiver");
  return record;
}

async function render(
  c: Context<AppEnv>,
  receivers: Receivers,
  record: ReceiverRecord,
  secrets?: Record<string, string>,
) {
  const writable = await canWrite(c.get("caller"));
  const origin = publicOrigin(c);
  const url = writable ? await receivers.triggerUrl(record, origin) : undefined;
  return receiverResource(record, { origin, url, canWrite: writable, ...(secrets ? { secrets } : {}) });
}

/** An answer that shows a secret once: no cache may keep it. */
const SHOWN_ONCE = { "cache-control": "no-store" } as const;

/** `/v1-webhooks/receivers`: thin handlers over the receiver lifecycle. */
export const receiverRoutes = new Hono<AppEnv>()
  .use(managementAuth())
  .get("/", validate("query", listQuery), async (c) => {
    const action = c.req.query("action");
    if (action === "export") {
      // A backup of the environment (docs/backup.md); it may carry sender secrets, so only a key
      // that may change the receivers gets it.
      await assertCanWrite(c.get("caller"));
      const { includeSecrets } = parseOrThrow(exportQuery(), c.req.query());
      const query = c.req.valid("query");
      // With `limit` or `marker`, one part of the export: a restore takes at most 500 receivers.
      const part =
        c.req.query("limit") !== undefined || query.marker !== undefined
          ? { limit: query.limit, ...(query.marker ? { marker: query.marker } : {}) }
          : undefined;
      const exported = await exportReceivers(c.get("caller"), receiversOf(c), {
        includeSecrets: includeSecrets === "true",
        ...(part ? { part } : {}),
      }).catch(invalidMarker);
      return c.json(exported, 200, { "cache-control": "no-store" });
    }
    if (action !== undefined) {
      throw new ApiError(
        422,
        "InvalidOption",
        `unknown action "${clip(action)}" (receivers have: export)`,
        "action",
      );
    }
    const { projectId } = c.get("caller");
    const query = c.req.valid("query");
    const receivers = receiversOf(c);
    const page = await receivers.store.list(projectId, query.limit, query.marker).catch(invalidMarker);
    const data = await Promise.all(page.records.map((record) => render(c, receivers, record)));
    const base = `${publicOrigin(c)}${API_PREFIX}/receivers?projectId=${projectId}`;
    const next = page.next
      ? `${base}&limit=${query.limit}&marker=${encodeURIComponent(page.next)}`
      : undefined;
    return c.json(collection("receiver", base, data, { limit: query.limit, next }));
  })
  .post(
    "/",
    requireWrite(),
    (c, next) => (c.req.query("action") === "import" ? restoreLimit : plainLimit)(c, next),
    async (c) => {
      const receivers = receiversOf(c);
      const action = c.req.query("action");
      if (action === "import") {
        const text = await c.req.text();
        if (text.trim() !== "") {
          // An export document: validated whole before anything is written (docs/backup.md).
          const entries = parseExport(parseJson(text), c.get("caller").projectId);
          const result = await restoreReceivers(c.get("caller"), receivers, entries);
          return c.json({
            type: "importResult",
            imported: await Promise.all(result.imported.map((record) => render(c, receivers, record))),
            skipped: result.skipped,
          });
        }
        // Receivers of Rancher's webhook-service, with their original URLs (docs/migrating.md).
        const result = await importFromWebhookService(c.get("caller"), receivers, c.env);
        return c.json({
          type: "importResult",
          imported: await Promise.all(result.imported.map((record) => render(c, receivers, record))),
          skipped: result.skipped,
        });
      }
      if (action !== undefined) {
        throw new ApiError(
          422,
          "InvalidOption",
          `unknown action "${clip(action)}" (receivers have: import)`,
          "action",
        );
      }
      const input = parseOrThrow(receiverCreateSchema(), await jsonBody(c));
      const { record, secrets } = await receivers.createShowingSecrets(c.get("caller"), input, {
        publicOrigin: publicOrigin(c),
      });
      return c.json(await render(c, receivers, record, secrets), 201, SHOWN_ONCE);
    },
  )
  .get("/:id", async (c) => {
    const receivers = receiversOf(c);
    return c.json(await render(c, receivers, await loadRecord(c, receivers)));
  })
  .delete("/:id", requireWrite(), async (c) => {
    const receivers = receiversOf(c);
    // Of two deletes that race, the one the target took first answers 204, the other 404.
    if (!(await receivers.remove(await loadRecord(c, receivers)))) throw notFound("receiver");
    return c.body(null, 204);
  })
  .post("/:id", requireWrite(), limitBody(), async (c) => {
    const action = c.req.query("action");
    const receivers = receiversOf(c);
    const record = await loadRecord(c, receivers);
    if (action === undefined) {
      throw new ApiError(
        405,
        "MethodNotAllowed",
        `POST on a receiver needs ?action= (${RECEIVER_ACTIONS.join(", ")})`,
      );
    }
    switch (action) {
      case "regenerate": {
        const text = await c.req.text();
        const change = text.trim() === "" ? {} : parseOrThrow(regenerateSchema(), parseJson(text));
        return c.json(await render(c, receivers, await receivers.regenerate(record, change)));
      }
      case "setNotifications": {
        const input = parseOrThrow(setNotificationsSchema(), await jsonBody(c));
        const changed = await receivers.setNotifications(c.get("caller"), record, input, publicOrigin(c));
        return c.json(await render(c, receivers, changed.record, changed.secrets), 200, SHOWN_ONCE);
      }
      case "testNotification": {
        const results = await receivers.testNotification(record);
        return c.json({
          type: "notificationTestResult",
          results: results.map((result) => ({ type: "notificationTestOutcome", ...result })),
        });
      }
      default:
        throw new ApiError(
          422,
          "InvalidOption",
          `unknown action "${clip(action)}" (receivers have: ${RECEIVER_ACTIONS.join(", ")})`,
          "action",
        );
    }
  })
  .get("/:id/executions", async (c) => {
    const receivers = receiversOf(c);
    const record = await loadRecord(c, receivers);
    const executions = await receivers.executions(record);
    const self = `${publicOrigin(c)}${API_PREFIX}/receivers/${record.id}/executions?projectId=${record.projectId}`;
    return c.json(collection("execution", self, executions.map(executionResource)));
  })
  .get("/:id/notifications", async (c) => {
    const receivers = receiversOf(c);
    const record = await loadRecord(c, receivers);
    const deliveries = await receivers.notificationLog(record);
    const self = `${publicOrigin(c)}${API_PREFIX}/receivers/${record.id}/notifications?projectId=${record.projectId}`;
    return c.json(collection("notificationDelivery", self, deliveries.map(deliveryResource)));
  });
