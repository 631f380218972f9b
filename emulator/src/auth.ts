/**
 * The API keys and Rancher session tokens the emulator knows and what each may see. Cattle decides
 * this from project memberships; here it is a fixed table matching the seed.
 */
export type Role = "owner" | "readonly";

export interface Principal {
  /** The access key, or the session token, the request authenticated with. */
  credential: string;
  /** Project id → the credential's role in it. A project not listed here does not exist for it. */
  projects: Readonly<Record<string, Role>>;
}

const KEYS: Readonly<Record<string, { secretKey: string; projects: Record<string, Role> }>> = {
  "dev-access": { secretKey: "dev-secret", projects: { "1a5": "owner" } },
  "readonly-access": { secretKey: "readonly-secret", projects: { "1a5": "readonly" } },
  "other-access": { secretKey: "other-secret", projects: { "1a7": "owner" } },
  /** The service's own credential in development and tests, as an account key of a Rancher admin: every environment. */
  "service-access": { secretKey: "service-secret", projects: { "1a5": "owner", "1a7": "owner" } },
};

/** A session token stands for the user of the key with the same rights (docs/rancher-ui.md). */
const SESSIONS: Readonly<Record<string, keyof typeof KEYS>> = {
  "dev-session": "dev-access",
  "readonly-session": "readonly-access",
  "other-session": "other-access",
};

/**
 * The principal of a request, or null when its credential is absent, malformed or wrong. An
 * `Authorization: Basic` header is an API key. Otherwise the Rancher session token decides, found as
 * Cattle's `AbstractTokenUtil.findAndSetJWT` finds it: the `token` cookie first (when not blank), then
 * the `Authorization` header (`Bearer <token>`, or the bare token).
 */
export function authenticate(
  authorization: string | undefined | null,
  cookie: string | undefined | null,
): Principal | null {
  if (authorization && /^\s*basic(\s|$)/i.test(authorization)) return keyPrincipal(authorization);
  const token = cookieValue(cookie, "token") ?? bearerToken(authorization);
  if (token === undefined) return null;
  const key = Object.hasOwn(SESSIONS, token) ? SESSIONS[token] : undefined;
  const entry = key === undefined ? undefined : KEYS[key];
  return entry ? { credential: token, projects: entry.projects } : null;
}

function bearerToken(header: string | undefined | null): string | undefined {
  const parts = header?.trim().split(/\s+/) ?? [];
  if (parts.length === 2 && parts[0]?.toLowerCase() === "bearer") return parts[1];
  if (parts.length === 1 && parts[0] !== "") return parts[0];
  return undefined;
}

/** A cookie's value, or undefined when it is absent or blank (Cattle skips blank ones). */
function cookieValue(header: string | undefined | null, name: string): string | undefined {
  for (const pair of header?.split(";") ?? []) {
    const at = pair.indexOf("=");
    if (at < 0 || pair.slice(0, at).trim().toLowerCase() !== name) continue;
    const value = pair.slice(at + 1).trim();
    if (value !== "") return value;
  }
  return undefined;
}

/** The principal for a Basic `Authorization` header, or null when it is malformed or wrong. */
function keyPrincipal(header: string): Principal | null {
  const match = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match) return null;
  let decoded: string;
  try {
    decoded = atob(match[1] as string);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  const accessKey = decoded.slice(0, colon);
  const secretKey = decoded.slice(colon + 1);
  const entry = Object.hasOwn(KEYS, accessKey) ? KEYS[accessKey] : undefined;
  if (!entry || !constantTimeEqual(entry.secretKey, secretKey)) return null;
  return { credential: accessKey, projects: entry.projects };
}

/** The project a key works in when the request names none: its first one, as Cattle's default project. */
export function defaultProject(principal: Principal): string | undefined {
  return Object.keys(principal.projects)[0];
}

export function roleIn(principal: Principal, projectId: string): Role | undefined {
  return Object.hasOwn(principal.projects, projectId) ? principal.projects[projectId] : undefined;
}

function constantTimeEqual(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    difference |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  }
  return difference === 0;
}
