import { type CattleCredentials, type CattleSettings, cattleClient } from "../cattle/client";
import { accessRefusal } from "../cattle/failures";
import { BoundedMap } from "../util/bounded-map";
import { sha256Hex } from "../util/sha256";

/**
 * Who may do what, decided by Cattle itself (docs/api.md): a Rancher API key may see the receivers of
 * an environment it can read and change them where it can update services. This module decides;
 * the HTTP layer (middleware/management-auth.ts, the page) turns refusals into answers.
 */

export type Refusal = "unauthorized" | "forbidden" | "unavailable";

export type Access<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

/** The caller of a management request, once its key is known to reach the environment. */
export interface Caller {
  credentials: CattleCredentials;
  projectId: string;
  /** Whether the key may change services there (and so receivers); asked once, then cached. */
  canWrite(): Promise<Access<boolean>>;
}

type Decision = "allowed" | "unauthorized" | "forbidden";

interface CacheEntry {
  read: Decision;
  write?: Decision;
  expires: number;
}

/** Decisions are cached at most this long (docs/api.md), refusals shorter so a new key works soon. */
const ALLOWED_TTL_MS = 60_000;
const REFUSED_TTL_MS = 5_000;
const CACHE_ENTRIES = 10_000;

/** Keyed by a hash of the key and the project: the cache never holds a secret. */
const decisions = new BoundedMap<string, CacheEntry>(CACHE_ENTRIES);

/** `Authorization: Basic base64(accessKey:secretKey)`, as Rancher API keys are sent; null for anything else. */
export function parseBasic(header: string | undefined): { accessKey: string; secretKey: string } | null {
  const match = header?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  if (!match?.[1]) return null;
  let decoded: string;
  try {
    decoded = atob(match[1]);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon <= 0 || colon === decoded.length - 1) return null;
  return { accessKey: decoded.slice(0, colon), secretKey: decoded.slice(colon + 1) };
}

/** How a request presented its credentials: a cookie is sent by the browser on its own, so writes need more. */
export type Presented = { credentials: CattleCredentials; by: "key" | "bearer" | "cookie" };

/** A cookie's value from a `Cookie` header; undefined when absent or empty. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const equals = part.indexOf("=");
    if (equals > 0 && part.slice(0, equals).trim() === name)
      return part.slice(equals + 1).trim() || undefined;
  }
  return undefined;
}

const SESSION_TOKEN = /^[\x21-\x7e]{1,4096}$/;

/**
 * The credentials a management request presents (docs/api.md, docs/rancher-ui.md): a Rancher API key (HTTP Basic),
 * else a Rancher session as Rancher's own API takes it, a bearer token or the `token` cookie that
 * Rancher's UI sends through Rancher's proxy. Headers such as `X-API-Project-Id` or `X-API-Roles`
 * present nothing.
 */
export function presentedCredentials(
  authorization: string | undefined,
  cookie: string | undefined,
): Presented | null {
  if (authorization !== undefined && /^\s*basic\b/i.test(authorization)) {
    const key = parseBasic(authorization);
    return key ? { credentials: key, by: "key" } : null;
  }
  const bearer = authorization?.match(/^\s*Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer !== undefined)
    return SESSION_TOKEN.test(bearer) ? { credentials: { session: bearer }, by: "bearer" } : null;
  const token = cookieValue(cookie, "token");
  return token && SESSION_TOKEN.test(token) ? { credentials: { session: token }, by: "cookie" } : null;
}

/**
 * Rancher's rule for a write authenticated by its session cookie: the request must also carry
 * `X-API-CSRF` equal to the `CSRF` cookie, which another site's page cannot read.
 */
export const csrfPassed = (
  presented: Presented,
  csrfHeader: string | undefined,
  cookie: string | undefined,
): boolean => {
  if (presented.by !== "cookie") return true;
  const expected = cookieValue(cookie, "CSRF");
  return expected !== undefined && csrfHeader !== undefined && csrfHeader === expected;
};

async function cacheKey(credentials: CattleCredentials, projectId: string): Promise<string> {
  const secret =
    "session" in credentials
      ? `session:${credentials.session}`
      : `${credentials.accessKey}:${credentials.secretKey}`;
  return `${await sha256Hex(secret)}:${projectId}`;
}

const ttl = (decision: Decision) => (decision === "allowed" ? ALLOWED_TTL_MS : REFUSED_TTL_MS);

/**
 * Checks a Rancher API key against Cattle for one environment: whatever Cattle lets the key see and
 * change is what it may see and change here. Decisions are cached.
 */
export async function authorize(
  settings: CattleSettings,
  credentials: CattleCredentials,
  projectId: string,
): Promise<Access<Caller>> {
  const key = await cacheKey(credentials, projectId);
  const cattle = cattleClient(settings, credentials);

  let entry = decisions.get(key);
  if (!entry || entry.expires <= Date.now()) {
    const project = await cattle.getProject(projectId);
    let read: Decision = "allowed";
    if (!project.ok) {
      const refusal = accessRefusal(project.failure);
      if (refusal === "unavailable") return { ok: false, refusal };
      read = refusal;
    }
    entry = { read, expires: Date.now() + ttl(read) };
    decisions.set(key, entry);
  }
  if (entry.read !== "allowed") return { ok: false, refusal: entry.read };

  const cached = entry;
  const caller: Caller = {
    credentials,
    projectId,
    async canWrite() {
      if (cached.write === undefined) {
        const schema = await cattle.getSchema(projectId, "service");
        if (schema.ok) {
          cached.write = schema.value.resourceMethods?.includes("PUT") ? "allowed" : "forbidden";
        } else {
          const refusal = accessRefusal(schema.failure);
          if (refusal === "unavailable") return { ok: false, refusal };
          cached.write = refusal;
        }
      }
      if (cached.write === "unauthorized") return { ok: false, refusal: "unauthorized" };
      return { ok: true, value: cached.write === "allowed" };
    },
  };
  return { ok: true, value: caller };
}
