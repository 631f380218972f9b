import type { Context } from "hono";
import { defaultProject, type Principal, roleIn } from "./auth";
import type { CattleState } from "./cattle-state";
import { ApiError, notFound } from "./errors";
import type { Scope } from "./render";
import { isPlainObject } from "./validation";

export type AppEnv = { Bindings: Env; Variables: { principal: Principal } };
export type AppContext = Context<AppEnv>;

type StateMethods =
  | "reset"
  | "admit"
  | "stats"
  | "faults"
  | "setFaults"
  | "config"
  | "setConfig"
  | "list"
  | "projects"
  | "get"
  | "createService"
  | "updateService"
  | "removeService"
  | "serviceAction";

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
 * The project a request works in and the key's role there: the `{pid}` of `/v2-beta/projects/{pid}/…`,
 * else the `X-API-Project-Id` header, else the key's default project. A project the key has no part in
 * answers 404, as if it did not exist; writes by a read-only member answer 403.
 */
export function projectScope(c: AppContext, access: "read" | "write"): ProjectScope {
  const principal = c.get("principal");
  const fromPath = c.req.param("pid");
  const projectId = fromPath ?? c.req.header("x-api-project-id") ?? defaultProject(principal);
  const role = projectId === undefined ? undefined : roleIn(principal, projectId);
  if (projectId === undefined || role === undefined)
    throw notFound(`No environment with id ${projectId ?? ""}`);
  if (access === "write" && role !== "owner") {
    throw new ApiError(403, "Forbidden", "The API key has read-only access to this environment");
  }
  const origin = requestOrigin(c);
  const base = fromPath === undefined ? `${origin}/v2-beta` : `${origin}/v2-beta/projects/${projectId}`;
  return { projectId, scope: { origin, base, role } };
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
