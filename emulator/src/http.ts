import type { Context } from "hono";
import { defaultProject, type Principal, roleIn } from "./auth";
import type { CattleState } from "./cattle-state";
import { ApiError, type LockedResult, type Result } from "./errors";
import type { Scope } from "./render";
import { isPlainObject } from "./validation";

export type AppEnv = { Bindings: Env; Variables: { principal: Principal } };
export type AppContext = Context<AppEnv>;

type StateMethods =
  | "reset"
  | "admit"
  | "endFlight"
  | "stats"
  | "faults"
  | "setFaults"
  | "config"
  | "setConfig"
  | "list"
  | "projects"
  | "get"
  | "serviceInstances"
  | "createService"
  | "updateService"
  | "removeService"
  | "serviceAction"
  | "createHost"
  | "updateHost"
  | "createHostTemplate"
  | "createExternalHostEvent"
  | "createGenericObject"
  | "updateGenericObject"
  | "removeGenericObject"
  | "setHostState"
  | "duplicateHostnames"
  | "inboxReceive"
  | "inboxMessages"
  | "setInboxAnswers";

/**
 * The state object's RPC surface. Records are plain JSON data, but their open-ended `data` fields are
 * typed `unknown`, which RPC's structural typing cannot prove serializable; this view states it.
 */
export type StateApi = {
  [K in StateMethods]: CattleState[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<R>
    : never;
};

/** The one state object; every request of every project goes to it. */
export const stateOf = (env: Env): StateApi =>
  env.CATTLE.get(env.CATTLE.idFromName("cattle")) as unknown as StateApi;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs a write that may have to wait for Cattle's process lock on its service. The waiting happens
 * here, in the request's own worker, between calls into the state object: the object never holds a
 * request open, so every other request is served meanwhile, and real time passes for the waiter. The
 * state object decides each time whether the lock is free, and refuses (409) once the wait is over.
 */
export async function withProcessLock<T>(
  attempt: (waitingSince: number | null) => Promise<LockedResult<T>>,
): Promise<Result<T>> {
  let since: number | null = null;
  for (;;) {
    const result = await attempt(since);
    if (!("waiting" in result)) return result;
    since = result.waiting.since;
    await sleep(Math.max(1, result.waiting.retryAt - Date.now()));
  }
}

/** The origin links are built from, honouring a proxy's X-Forwarded-Proto/-Host as Cattle does. */
export function requestOrigin(c: AppContext): string {
  const url = new URL(c.req.url);
  const proto = c.req.header("x-forwarded-proto")?.split(",")[0]?.trim();
  const host = c.req.header("x-forwarded-host")?.split(",")[0]?.trim();
  return `${proto ? `${proto}:` : url.protocol}//${host || url.host}`;
}

/** The request URL as the client sees it, for self and paging links. */
export function publicUrl(c: AppContext): URL {
  const url = new URL(c.req.url);
  return new URL(`${url.pathname}${url.search}`, requestOrigin(c));
}

export const methodNotAllowed = (): never => {
  throw new ApiError(405, "MethodNotAllowed", "Method not allowed");
};

export interface ProjectScope {
  projectId: string;
  scope: Scope;
}

/**
 * The project a request asks to work in, as Cattle's `ApiRequestParser` and `ApiAuthenticator` find
 * it: the `{pid}` of `/v2-beta/projects/{pid}/<anything>` (which then stands in for the header), else a
 * non-empty `X-API-Project-Id`. `/v2-beta/projects/{pid}` itself names no project this way: it is a
 * plain lookup in the projects collection.
 */
export function requestedProject(pathname: string, header: string | undefined): string | undefined {
  const scoped = /^\/v2-beta\/projects\/([^/]+)\/.*[^/]/i.exec(pathname);
  if (scoped) {
    try {
      return decodeURIComponent(scoped[1] as string);
    } catch {
      return scoped[1];
    }
  }
  return header === undefined || header === "" ? undefined : header;
}

/**
 * Cattle's `ApiAuthenticator` refuses a request for a project the key is no member of (or one that
 * does not exist) with 403, before any routing: so does the emulator, right after authentication.
 */
export function projectAccessRefusal(
  principal: Principal,
  pathname: string,
  header: string | undefined,
): ApiError | null {
  const projectId = requestedProject(pathname, header);
  if (projectId !== undefined && roleIn(principal, projectId) === undefined) {
    return new ApiError(403, "Forbidden", `The API key has no access to environment ${projectId}`);
  }
  return null;
}

/**
 * The project a request works in and the key's role there: the `{pid}` of `/v2-beta/projects/{pid}/…`,
 * else the `X-API-Project-Id` header, else the key's default project. The gate has already refused
 * (403) a project the key has no part in.
 */
export function projectScope(c: AppContext): ProjectScope {
  const principal = c.get("principal");
  const fromPath = c.req.param("pid");
  const projectId = fromPath ?? (c.req.header("x-api-project-id") || defaultProject(principal));
  const role = projectId === undefined ? undefined : roleIn(principal, projectId);
  if (projectId === undefined || role === undefined) {
    throw new ApiError(403, "Forbidden", `The API key has no access to environment ${projectId ?? ""}`);
  }
  const origin = requestOrigin(c);
  const base = fromPath === undefined ? `${origin}/v2-beta` : `${origin}/v2-beta/projects/${projectId}`;
  return { projectId, scope: { origin, base, role } };
}

/**
 * A read-only member's schemas list only GET (Cattle's `NotWritablePostProcessor`), so gdapi's
 * `ValidationHandler.validateMethod` answers its POST, PUT and DELETE with 405 as for any method a
 * schema does not list.
 */
export function requireWritable(scope: Scope): void {
  if (scope.role !== "owner") methodNotAllowed();
}

const MAX_BODY_BYTES = 1024 * 1024;

/** Discards a body without keeping it; the runtime expects a request body consumed before replying. */
async function drain(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  while (!(await reader.read()).done) {
    // Nothing to keep.
  }
}

/** Reads the body once, within the size limit; Hono caches it for later reads. */
export async function bufferBody(c: AppContext): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) {
    await drain(c.req.raw.body);
    throw new ApiError(413, "TooLarge", "Request body is too large");
  }
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES) throw new ApiError(413, "TooLarge", "Request body is too large");
  return text;
}

/**
 * The request body as gdapi reads it: empty means no fields, unparsable JSON is 400
 * InvalidBodyContent, and JSON that is not an object carries no fields.
 */
export async function readBody(c: AppContext): Promise<Record<string, unknown>> {
  const text = await bufferBody(c);
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError(400, "InvalidBodyContent", "Request body is not valid JSON");
  }
  return isPlainObject(parsed) ? parsed : {};
}
