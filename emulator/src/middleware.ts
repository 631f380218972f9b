import type { MiddlewareHandler } from "hono";
import { authenticate, type Principal } from "./auth";
import { inFlight, resetAfterAnswer } from "./connection";
import { ApiError, codeForStatus } from "./errors";
import { serviceWriteTarget } from "./flights";
import { type AppEnv, bufferBody, projectAccessRefusal, requestOrigin, sleep, stateOf } from "./http";

/** Cattle names the schemas of the request's scope in every response; go-rancher's client requires it. */
function schemasUrl(origin: string, pathname: string): string {
  const project = /^\/v2-beta\/projects\/([^/]+)(?:\/|$)/.exec(pathname);
  return project ? `${origin}/v2-beta/projects/${project[1]}/schemas` : `${origin}/v2-beta/schemas`;
}

const WRITE_METHODS = new Set(["PUT", "POST", "DELETE"]);

/**
 * In front of every `/v2-beta` request, in Cattle's order plus the test hooks: count it, refuse it
 * when it lacks a required header (as Cloudflare Access in front of Rancher would), apply the
 * injected delay and failure, then authenticate, then refuse (403) a project the key cannot see.
 * Injected failures come before authentication so they hit every request alike, the management
 * checks included. A write that gets past authentication may be taken by the `lateCount` or
 * `dropCount` fault: it is handled as usual, then answered late or not at all. A write addressed to a
 * service is in flight from its admission until its exchange ends (connection.ts).
 */
export const gate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const url = new URL(c.req.url);
  c.header("X-API-Schemas", schemasUrl(requestOrigin(c), url.pathname));
  const principal = authenticate(c.req.header("authorization"), c.req.header("cookie"));
  const refusal = principal
    ? projectAccessRefusal(principal, url.pathname, c.req.header("x-api-project-id"))
    : new ApiError(401, "Unauthorized", "Unauthorized");
  const admittedWrite = refusal === null && WRITE_METHODS.has(c.req.method);
  const host = c.req.header("host") || url.host;
  const headers = Object.fromEntries(c.req.raw.headers);
  const state = stateOf(c.env);
  // A write to a service names its flight here and watches for its end before the state object has
  // answered: a client that leaves meanwhile still ends it, since calls on one stub reach the object
  // in the order they were made (admit first).
  const flight = admittedWrite && serviceWriteTarget(url.pathname) !== null ? crypto.randomUUID() : null;
  const admitting = state.admit(c.req.method, url.pathname, admittedWrite, host, headers, flight);
  const watch =
    flight === null
      ? null
      : inFlight(
          c.req.raw,
          () => state.endFlight(flight),
          (work) => c.executionCtx.waitUntil(work),
        );
  const admission = await admitting;
  if (!admission.flight) watch?.grounded();
  // Take the body in now (Hono keeps it for the handler): a request answered early, by a fault or a
  // refusal, must not leave its body unread behind the response.
  if (c.req.raw.body !== null) await bufferBody(c);
  if (admission.denied) {
    throw new ApiError(403, "Forbidden", "A required header (requireHeaders) is missing or wrong");
  }
  if (admission.delayMs > 0) await sleep(admission.delayMs);
  if (admission.failStatus !== null) {
    throw new ApiError(admission.failStatus, codeForStatus(admission.failStatus), "Injected fault");
  }
  if (refusal) throw refusal;
  c.set("principal", principal as Principal);
  await next();
  // Hono has turned any error of the handler into the answer by now; the fault applies to it alike.
  if (admission.drop) resetAfterAnswer(c.req.raw);
  else if (admission.lateMs > 0) await sleep(admission.lateMs);
};
