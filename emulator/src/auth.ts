/**
 * The API keys the emulator knows and what each may see. Cattle decides this from project
 * memberships; here it is a fixed table matching the seed.
 */
export type Role = "owner" | "readonly";

export interface Principal {
  accessKey: string;
  /** Project id → the key's role in it. A project not listed here does not exist for the key. */
  projects: Readonly<Record<string, Role>>;
}

const KEYS: Readonly<Record<string, { secretKey: string; projects: Record<string, Role> }>> = {
  "dev-access": { secretKey: "dev-secret", projects: { "1a5": "owner" } },
  "readonly-access": { secretKey: "readonly-secret", projects: { "1a5": "readonly" } },
  "other-access": { secretKey: "other-secret", projects: { "1a7": "owner" } },
};

/** The principal for a Basic `Authorization` header, or null when it is absent, malformed or wrong. */
export function authenticate(header: string | undefined | null): Principal | null {
  if (!header) return null;
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
  return { accessKey, projects: entry.projects };
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
