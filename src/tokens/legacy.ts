import { importSPKI, jwtVerify } from "jose";

/**
 * The RS256 `?token=` URLs of Rancher's webhook-service before v0.9 (docs/migrating.md): a JWT signed
 * with the RSA key Cattle gave that service, with the claims `uuid` (the receiver's key),
 * `projectId`, `driver` and `config`, and no expiry. Only the signature and the two names are
 * used: what the URL triggers is what was imported, not the token's own config.
 */
export interface LegacyClaims {
  uuid: string;
  projectId: string;
}

/** Whatever key type jose's importSPKI gives on this runtime (Web Crypto's; Node's types name it apart). */
type PublicKey = Awaited<ReturnType<typeof importSPKI>>;

const keys = new Map<string, Promise<PublicKey | null>>();

/** The public key from `LEGACY_RSA_PUBLIC_KEY` (PEM); a key that does not import is said once and used as none. */
function publicKey(pem: string): Promise<PublicKey | null> {
  let key = keys.get(pem);
  if (!key) {
    key = importSPKI(pem.trim(), "RS256").catch(() => {
      console.error(
        "configuration error: LEGACY_RSA_PUBLIC_KEY is not a PEM RSA public key (BEGIN PUBLIC KEY)",
      );
      return null;
    });
    keys.set(pem, key);
  }
  return key;
}

/** The claims of an original token that verifies with the original's key, or null. RS256 only. */
export async function verifyLegacyToken(token: string, pem: string): Promise<LegacyClaims | null> {
  const key = await publicKey(pem);
  if (!key) return null;
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ["RS256"] });
    return typeof payload.uuid === "string" && typeof payload.projectId === "string"
      ? { uuid: payload.uuid, projectId: payload.projectId }
      : null;
  } catch {
    return null;
  }
}
