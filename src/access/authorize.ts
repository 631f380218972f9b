import { CattleClient, type CattleCredentials } from "../cattle/client";
import { accessRefusal } from "../cattle/failures";
import type { Settings } from "../domain/settings";
import { sha256Hex } from "../util/sha256";

/**
 * Who may do what, decided by Cattle itself (CONTRACT §3): a Rancher API key may see the receivers of
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

/** Decisions are cached at most this long (CONTRACT §3), refusals shorter so a new key works soon. */
const ALLOWED_TTL_MS = 60_000;
const REFUSED_TTL_MS = 5_000;
const CACHE_ENTRIES = 10_000;

/** Keyed by a hash of the key and the project: the cache never holds a secret. */
const decisions = new Map<string, CacheEntry>();

/** `Authorization: Basic base64(accessKey:secretKey)`, as Rancher API keys are sent; null for anything else. */
export function parseBasic(header: string | undefined): CattleCredentials | null {
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

async function cacheKey(credentials: CattleCredentials, projectId: string): Promise<string> {
  return `${await sha256Hex(`${credentials.accessKey}:${credentials.secretKey}`)}:${projectId}`;
}

function remember(key: string, entry: CacheEntry): void {
  if (decisions.size >= CACHE_ENTRIES) {
    const oldest = decisions.keys().next().value;
    if (oldest !== undefined) decisions.delete(oldest);
  }
  decisions.set(key, entry);
}

const ttl = (decision: Decision) => (decision === "allowed" ? ALLOWED_TTL_MS : REFUSED_TTL_MS);

/**
 * Checks a Rancher API key against Cattle for one environment: whatever Cattle lets the key see and
 * change is what it may see and change here. Decisions are cached.
 */
export async function authorize(
  settings: Pick<Settings, "CATTLE_URL">,
  credentials: CattleCredentials,
  projectId: string,
): Promise<Access<Caller>> {
  const key = await cacheKey(credentials, projectId);
  const cattle = new CattleClient({ baseUrl: settings.CATTLE_URL, credentials });

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
    remember(key, entry);
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
