import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AppEnv, Caller } from "../api/app-env";
import { ApiError, rancherUnavailable, unauthorized } from "../api/errors";
import { resourceId } from "../api/receiver-schema";
import { parseOrThrow } from "../api/validation";
import { CattleClient, type CattleCredentials } from "../cattle/client";
import type { Settings } from "../platform/types";
import { sha256Hex } from "../util/sha256";

type Decision = "allowed" | "unauthorized" | "forbidden";

interface CacheEntry {
  read: Decision;
  write?: Decision;
  expires: number;
}

/** Decisions are cached at most this long (CONTRACT §3), refusals shorter so a new key works soon. */
const ALLOWED_TTL_MS = 60_000;
const REFUSED_TTL_MS = 5_000;
const CACHE_ENTRIES = 10_000;

/** Keyed by a hash of the key and the project: the cache never holds a secret. */
const decisions = new Map<string, CacheEntry>();

const UNAUTHORIZED = () => unauthorized();
const FORBIDDEN_READ = (projectId: string) =>
  new ApiError(403, "Forbidden", `this API key cannot access environment ${projectId}`);
const FORBIDDEN_WRITE = (projectId: string) =>
  new ApiError(403, "Forbidden", `this API key cannot change services in environment ${projectId}`);

const projectQuery = z.object({ projectId: resourceId });

function parseBasic(header: string | undefined): { accessKey: string; secretKey: string } | null {
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

async function cacheKey(accessKey: string, secretKey: string, projectId: string): Promise<string> {
  return `${await sha256Hex(`${accessKey}:${secretKey}`)}:${projectId}`;
}

function remember(key: string, entry: CacheEntry): void {
  if (decisions.size >= CACHE_ENTRIES) {
    const oldest = decisions.keys().next().value;
    if (oldest !== undefined) decisions.delete(oldest);
  }
  decisions.set(key, entry);
}

const ttl = (decision: Decision) => (decision === "allowed" ? ALLOWED_TTL_MS : REFUSED_TTL_MS);

const UNAVAILABLE = () => rancherUnavailable("to check the API key");

/**
 * Checks a Rancher API key against Cattle for one environment and returns the caller: whatever
 * Cattle lets the key see and change is what it may see and change here. Decisions are cached.
 */
export async function authorize(
  env: Pick<Settings, "CATTLE_URL">,
  credentials: CattleCredentials,
  projectId: string,
): Promise<Caller> {
  const key = await cacheKey(credentials.accessKey, credentials.secretKey, projectId);
  const cattle = new CattleClient({ baseUrl: env.CATTLE_URL, credentials });

  let entry = decisions.get(key);
  if (!entry || entry.expires <= Date.now()) {
    const project = await cattle.getProject(projectId);
    let read: Decision = "allowed";
    if (!project.ok) {
      if (project.failure.kind === "unauthorized") read = "unauthorized";
      else if (project.failure.kind === "forbidden" || project.failure.kind === "notFound")
        read = "forbidden";
      else throw UNAVAILABLE();
    }
    entry = { read, expires: Date.now() + ttl(read) };
    remember(key, entry);
  }
  if (entry.read === "unauthorized") throw UNAUTHORIZED();
  if (entry.read === "forbidden") throw FORBIDDEN_READ(projectId);

  const cached = entry;
  return {
    credentials,
    projectId,
    canWrite: async () => {
      if (cached.write === undefined) {
        const schema = await cattle.getSchema(projectId, "service");
        if (schema.ok) cached.write = schema.value.resourceMethods?.includes("PUT") ? "allowed" : "forbidden";
        else if (schema.failure.kind === "unavailable") throw UNAVAILABLE();
        else cached.write = schema.failure.kind === "unauthorized" ? "unauthorized" : "forbidden";
      }
      if (cached.write === "unauthorized") throw UNAUTHORIZED();
      return cached.write === "allowed";
    },
  };
}

/** The caller's Basic credentials, or 401 with the challenge that makes a browser ask for them. */
export function credentialsOf(c: Context): CattleCredentials {
  const credentials = parseBasic(c.req.header("authorization"));
  if (!credentials) throw UNAUTHORIZED();
  return credentials;
}

/**
 * Management requests authenticate with the caller's own Rancher API key. The environment comes
 * only from `?projectId=`, and every storage key below is scoped by it, so a key for one
 * environment cannot reach another's receivers.
 */
export const managementAuth = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  const credentials = credentialsOf(c);
  const { projectId } = parseOrThrow(projectQuery, { projectId: c.req.query("projectId") });
  c.set("caller", await authorize(c.env, credentials, projectId));
  await next();
};

/** Receivers change only for keys that can update services in the environment. */
export async function assertCanWrite(caller: Caller): Promise<void> {
  if (!(await caller.canWrite())) throw FORBIDDEN_WRITE(caller.projectId);
}

/** For routes that change receivers. */
export const requireWrite = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  await assertCanWrite(c.get("caller"));
  await next();
};
