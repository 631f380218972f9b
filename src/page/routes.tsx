import { type Context, Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import * as z from "zod";
import type { Caller } from "../access/authorize";
import type { AppEnv } from "../api/app-env";
import { ApiError, rancherUnavailable, unauthorized } from "../api/errors";
import { publicOrigin } from "../api/resources";
import { parseOrThrow, validationErrors } from "../api/validation";
import { type CattleClient, cattleClient } from "../cattle/client";
import { accessRefusal } from "../cattle/failures";
import { OUTCOMES } from "../domain/execution";
import type { ReceiverRecord } from "../domain/receiver";
import { driverNamed } from "../drivers";
import { formBody, limitBody } from "../middleware/body";
import { callerFor, canWrite, keyOf } from "../middleware/management-auth";
import { setNotificationsSchema } from "../notifications/destinations";
import { importFromWebhookService } from "../receivers/import";
import { receiverCreateSchema } from "../receivers/input";
import { type Receivers, receiversOf } from "../receivers/manage";
import { lazy } from "../util/lazy";
import { own } from "../util/own";
import { FAVICON_SVG, PAGE_CSS, PAGE_JS } from "./assets";
import {
  bodyFrom,
  emptyForm,
  type FormValues,
  fieldErrors,
  formInputNames,
  SHOWN_KIND_INPUT,
  shownBack,
  valuesFrom,
} from "./form";
import { awaitsOutcome, Confirm, confirmations, HISTORY_REFRESH_SECONDS, History } from "./history";
import { ImportResult } from "./import-result";
import { type Environment, FAVICON_PATH, type Identity, identityOf, Layout } from "./layout";
import { Notifications, type NotificationsProps } from "./notifications";
import {
  destinationIds,
  notificationErrors,
  notificationsBody,
  notificationValues,
  OPENED_ON_INPUT,
  postedValues,
} from "./notifications-form";
import { ReceiverForm } from "./receiver-form";
import { ReceiverList, type ReceiverRow } from "./receiver-list";

interface Session {
  caller: Caller;
  environments: Environment[];
  cattle: CattleClient;
  /** Who the header says is signed in. */
  identity: Identity;
}

const STATUS_TEXT: Record<string, string> = {
  created: "created",
  regenerated: "has a new Trigger URL; the old one no longer works",
  deleted: "deleted; its Trigger URL no longer works",
};

/** What the Notifications view says after a change that went back to it. */
const NOTIFICATIONS_STATUS: Record<string, string> = {
  saved: "Notifications saved.",
};

/** An answer that shows a signing secret or a typed destination URL: no cache may keep it. */
const SHOWN_ONCE = { "cache-control": "no-store" } as const;

const listUrl = (projectId: string, done?: string, name?: string) =>
  `/?projectId=${encodeURIComponent(projectId)}${done ? `&done=${done}` : ""}${name ? `&name=${encodeURIComponent(name)}` : ""}`;

/**
 * Signs the browser in with its Rancher API key (the Basic prompt) and picks the environment:
 * the one asked for if the key can see it, else the first one it can see. To write, the key must
 * be able to change the environment's services.
 */
async function session(c: Context<AppEnv>, access: "read" | "write" = "read"): Promise<Session> {
  const credentials = keyOf(c);
  const cattle = cattleClient(c.env, credentials);
  const projects = await cattle.listProjects();
  if (!projects.ok) {
    if (accessRefusal(projects.failure) === "unauthorized") {
      throw unauthorized("this Rancher API key was not accepted");
    }
    throw rancherUnavailable("to list your environments");
  }
  const environments = projects.value.data.map((project) => ({
    id: project.id,
    name: project.name || project.id,
  }));
  const asked = c.req.query("projectId");
  const chosen = environments.find((environment) => environment.id === asked) ?? environments[0];
  if (!chosen) throw new ApiError(403, "Forbidden", "this API key cannot see any environment");
  const caller = await callerFor(c, credentials, chosen.id);
  if (access === "write" && !(await canWrite(caller))) {
    throw new ApiError(
      403,
      "Forbidden",
      `this API key can see the receivers of environment ${chosen.name} but not change them: adding, changing or deleting a receiver needs a key that can change the environment's services`,
    );
  }
  return { caller, environments, cattle, identity: identityOf(credentials) };
}

/** History's filter: one outcome, or all when absent or empty. */
const historyQuery = lazy(() => z.object({ outcome: z.enum(OUTCOMES).optional() }));

/** The environment's services (none if Cattle cannot list them now), and their names by id. */
async function environmentServices(cattle: CattleClient, projectId: string) {
  const listed = await cattle.listServices(projectId);
  const services = listed.ok ? listed.value.data : [];
  const names = new Map(services.map((service) => [service.id, service.name || service.id]));
  return { names, services };
}

async function recordOf(
  c: Context<AppEnv>,
  receivers: Receivers,
  projectId: string,
): Promise<ReceiverRecord> {
  const record = await receivers.find(projectId, c.req.param("id") ?? "");
  if (!record) {
    throw new ApiError(404, "NotFound", "this environment has no such receiver: it may have been deleted");
  }
  return record;
}

/**
 * A receiver's Notifications (docs/page.md), as a view or as the answer to its form or its test:
 * with the form as the receiver is now unless `shown` gives what was typed, and the delivery log as
 * it is now. Never cached: it may show a signing secret, or a destination URL just typed.
 */
async function notificationsPage(
  c: Context<AppEnv>,
  { caller, environments, identity }: Session,
  record: ReceiverRecord,
  shown: Partial<Omit<NotificationsProps, "projectId" | "record" | "deliveries">>,
  status: 200 | 409 | 422 = 200,
) {
  const deliveries = await receiversOf(c).notificationLog(record);
  return c.html(
    <Layout
      title={`Notifications of ${record.name}`}
      environments={environments}
      projectId={caller.projectId}
      identity={identity}
    >
      <Notifications
        projectId={caller.projectId}
        record={record}
        deliveries={deliveries}
        canWrite
        values={notificationValues(record)}
        errors={{}}
        {...shown}
      />
    </Layout>,
    status,
    SHOWN_ONCE,
  );
}

/**
 * The page's security headers: a strict CSP (the page's own stylesheet and script only), no
 * framing, no referrer. The app sets them on every answer outside the API, errors included.
 */
export const pageHeaders = () =>
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
  });

/** A form post is capped as the API's bodies are, before a byte of it is read (docs/security.md). */
const formLimit = limitBody();

/** The Receiver Hooks page: server-rendered, usable without JavaScript, enhanced with a little. */
export const pageRoutes = new Hono<AppEnv>()
  .use((c, next) => (c.req.method === "POST" ? formLimit(c, next) : next()))
  .get("/assets/page.css", (c) =>
    c.body(PAGE_CSS, 200, {
      "content-type": "text/css; charset=utf-8",
      "cache-control": "public, max-age=3600",
    }),
  )
  .get("/assets/page.js", (c) =>
    c.body(PAGE_JS, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=3600",
    }),
  )
  // Browsers ask for /favicon.ico unless a page names its icon: the page does, and both answer.
  .on("GET", [FAVICON_PATH, "/favicon.ico"], (c) =>
    c.body(FAVICON_SVG, 200, {
      "content-type": "image/svg+xml",
      "cache-control": "public, max-age=3600",
    }),
  )
  .get("/", async (c) => {
    const { caller, environments, cattle, identity } = await session(c);
    const { projectId } = caller;
    const receivers = receiversOf(c);
    const writable = await canWrite(caller);
    const marker = c.req.query("marker");
    const [page, services] = await Promise.all([
      receivers.store.list(projectId, 100, marker).catch(() => receivers.store.list(projectId, 100)),
      environmentServices(cattle, projectId),
    ]);
    const origin = publicOrigin(c);
    const rows: ReceiverRow[] = await Promise.all(
      page.records.map(async (record) => ({
        record,
        url: writable ? await receivers.triggerUrl(record, origin) : undefined,
        last: (await receivers.executions(record, 1))[0],
      })),
    );
    const done = c.req.query("done");
    const name = c.req.query("name")?.slice(0, 128);
    const text = done ? own(STATUS_TEXT, done) : undefined;
    const status = text && name ? `Receiver “${name}” ${text}.` : undefined;
    const nextPage = page.next
      ? `/?projectId=${encodeURIComponent(projectId)}&marker=${encodeURIComponent(page.next)}`
      : undefined;
    return c.html(
      <Layout environments={environments} projectId={projectId} identity={identity}>
        <ReceiverList
          projectId={projectId}
          rows={rows}
          services={services.names}
          canWrite={writable}
          status={status}
          nextPage={nextPage}
        />
      </Layout>,
    );
  })
  .get("/receivers/new", async (c) => {
    const { caller, environments, cattle, identity } = await session(c, "write");
    const receivers = receiversOf(c);
    const cloneId = c.req.query("clone");
    const source = cloneId ? await receivers.find(caller.projectId, cloneId) : null;
    const { services } = await environmentServices(cattle, caller.projectId);
    // `?driver=` opens the form on that kind (a link can choose it; an unknown one is ignored).
    const asked = c.req.query("driver");
    const values = source
      ? valuesFrom(source)
      : { ...emptyForm(), ...(asked && driverNamed(asked) ? { driver: asked } : {}) };
    return c.html(
      <Layout
        title="Add Receiver"
        environments={environments}
        projectId={caller.projectId}
        identity={identity}
      >
        <ReceiverForm projectId={caller.projectId} values={values} errors={{}} services={services} />
      </Layout>,
    );
  })
  .post("/receivers", async (c) => {
    const { caller, environments, cattle, identity } = await session(c, "write");
    const form = await formBody(c);
    const values: FormValues = Object.fromEntries(
      formInputNames().map((key) => [key, typeof form[key] === "string" ? (form[key] as string) : ""]),
    );
    // Without JavaScript the form shows one kind's fields: asked to show another's ("Show this
    // kind's fields"), or posted with another kind than it showed, it is shown again with that
    // kind's fields and what was typed, and nothing is created.
    const shown = form[SHOWN_KIND_INPUT];
    const switched = typeof shown === "string" && driverNamed(shown) !== undefined && shown !== values.driver;
    if ((form.show === "fields" || switched) && driverNamed(values.driver)) {
      const { services } = await environmentServices(cattle, caller.projectId);
      const label = driverNamed(values.driver)?.label ?? values.driver;
      const again = shownBack(values);
      return c.html(
        <Layout
          title="Add Receiver"
          environments={environments}
          projectId={caller.projectId}
          identity={identity}
        >
          <ReceiverForm
            projectId={caller.projectId}
            values={again.values}
            errors={again.errors}
            services={services}
            notice={`Fill in the fields of ${label}, then Create.`}
          />
        </Layout>,
      );
    }
    const body = bodyFrom(values);
    const parsed = validationErrors(receiverCreateSchema(), body);
    // The body's schema stops at the first broken level; check the config on its own as well, so
    // every field's problem is shown at once.
    const definition = driverNamed(values.driver);
    const config = definition
      ? validationErrors(definition.configSchema(), body[definition.configField], [definition.configField])
      : ({ ok: true } as const);
    let errors: ApiError[] = parsed.ok ? [] : [...parsed.errors, ...(config.ok ? [] : config.errors)];
    if (parsed.ok) {
      try {
        const record = await receiversOf(c).create(caller, parsed.data);
        return c.redirect(listUrl(caller.projectId, "created", record.name), 303);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 422) throw error;
        errors = [error];
      }
    }
    const { services } = await environmentServices(cattle, caller.projectId);
    const { fields, problem } = fieldErrors(errors);
    const again = shownBack(values, fields);
    return c.html(
      <Layout
        title="Add Receiver"
        environments={environments}
        projectId={caller.projectId}
        identity={identity}
      >
        <ReceiverForm
          projectId={caller.projectId}
          values={again.values}
          errors={again.errors}
          services={services}
          problem={problem}
        />
      </Layout>,
      422,
    );
  })
  .post("/receivers/import", async (c) => {
    const { caller, environments, identity } = await session(c, "write");
    const { imported, skipped } = await importFromWebhookService(caller, receiversOf(c), c.env);
    return c.html(
      <Layout
        title="Import from webhook-service"
        environments={environments}
        projectId={caller.projectId}
        identity={identity}
      >
        <ImportResult projectId={caller.projectId} imported={imported} skipped={skipped} />
      </Layout>,
    );
  })
  .get("/receivers/:id/regenerate", async (c) => {
    const { caller, environments, identity } = await session(c, "write");
    const record = await recordOf(c, receiversOf(c), caller.projectId);
    return c.html(
      <Layout
        title={`Regenerate the Trigger URL of ${record.name}`}
        environments={environments}
        projectId={caller.projectId}
        identity={identity}
      >
        <Confirm confirmation={confirmations(caller.projectId, record).regenerate} />
      </Layout>,
    );
  })
  .post("/receivers/:id/regenerate", async (c) => {
    const { caller } = await session(c, "write");
    const receivers = receiversOf(c);
    const record = await receivers.regenerate(await recordOf(c, receivers, caller.projectId));
    return c.redirect(listUrl(caller.projectId, "regenerated", record.name), 303);
  })
  .get("/receivers/:id/delete", async (c) => {
    const { caller, environments, identity } = await session(c, "write");
    const record = await recordOf(c, receiversOf(c), caller.projectId);
    return c.html(
      <Layout
        title={`Delete ${record.name}`}
        environments={environments}
        projectId={caller.projectId}
        identity={identity}
      >
        <Confirm confirmation={confirmations(caller.projectId, record).delete} />
      </Layout>,
    );
  })
  .post("/receivers/:id/delete", async (c) => {
    const { caller } = await session(c, "write");
    const receivers = receiversOf(c);
    const record = await recordOf(c, receivers, caller.projectId);
    if (!(await receivers.remove(record))) {
      // Another delete got there first: this one deleted nothing.
      throw new ApiError(404, "NotFound", "this environment has no such receiver: it may have been deleted");
    }
    return c.redirect(listUrl(caller.projectId, "deleted", record.name), 303);
  })
  .get("/receivers/:id/notifications", async (c) => {
    const shown = await session(c);
    const receivers = receiversOf(c);
    const record = await recordOf(c, receivers, shown.caller.projectId);
    const done = c.req.query("done");
    return notificationsPage(c, shown, record, {
      canWrite: await canWrite(shown.caller),
      status: done ? own(NOTIFICATIONS_STATUS, done) : undefined,
    });
  })
  .post("/receivers/:id/notifications", async (c) => {
    const shown = await session(c, "write");
    const { caller } = shown;
    const receivers = receiversOf(c);
    const record = await recordOf(c, receivers, caller.projectId);
    const values = postedValues(await formBody(c));
    if (values[OPENED_ON_INPUT] !== destinationIds(record)) {
      return notificationsPage(
        c,
        shown,
        record,
        {
          problem:
            "Nothing was saved: these notifications were changed after this form was opened (in another tab, or by this form sent again). Here they are as they are now.",
        },
        409,
      );
    }
    const { body, rows } = notificationsBody(values);
    const parsed = validationErrors(setNotificationsSchema(), body);
    let errors: ApiError[] = parsed.ok ? [] : parsed.errors;
    if (parsed.ok) {
      try {
        const saved = await receivers.setNotifications(caller, record, parsed.data, publicOrigin(c));
        // Nothing to show once: back to the view, so that a reload posts nothing again.
        if (Object.keys(saved.secrets).length === 0) {
          return c.redirect(
            `/receivers/${record.id}/notifications?projectId=${encodeURIComponent(caller.projectId)}&done=saved`,
            303,
          );
        }
        // A webhook's new signing secret is shown on this answer, and never again.
        return notificationsPage(c, shown, saved.record, {
          status: NOTIFICATIONS_STATUS.saved,
          secrets: saved.secrets,
        });
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 422) throw error;
        errors = [error];
      }
    }
    const { fields, problem } = notificationErrors(errors, rows);
    const again = shownBack(values, fields);
    return notificationsPage(
      c,
      shown,
      record,
      {
        values: again.values,
        errors: again.errors,
        problem: problem ?? "Nothing was saved: correct what is marked below.",
      },
      422,
    );
  })
  .post("/receivers/:id/notifications/test", async (c) => {
    const shown = await session(c, "write");
    const receivers = receiversOf(c);
    const record = await recordOf(c, receivers, shown.caller.projectId);
    return notificationsPage(c, shown, record, { results: await receivers.testNotification(record) });
  })
  .get("/receivers/:id/history", async (c) => {
    const { caller, environments, identity } = await session(c);
    // An empty choice ("All outcomes", as the filter's form sends it) is no filter.
    const { outcome } = parseOrThrow(historyQuery(), { outcome: c.req.query("outcome") || undefined });
    const receivers = receiversOf(c);
    const record = await recordOf(c, receivers, caller.projectId);
    const executions = (await receivers.executions(record)).filter(
      (execution) => outcome === undefined || execution.outcome === outcome,
    );
    return c.html(
      <Layout
        title={`History of ${record.name}`}
        environments={environments}
        projectId={caller.projectId}
        identity={identity}
        refreshSeconds={awaitsOutcome(executions) ? HISTORY_REFRESH_SECONDS : undefined}
      >
        <History projectId={caller.projectId} record={record} executions={executions} outcome={outcome} />
      </Layout>,
    );
  });
