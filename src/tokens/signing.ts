import { createLocalJWKSet, importJWK, type JSONWebKeySet, type JWK, jwtVerify, SignJWT } from "jose";
import * as z from "zod";
import { BoundedMap } from "../util/bounded-map";
import { lazy } from "../util/lazy";

/** Asymmetric only: a verifier never holds anything that could mint a token. */
const ALGORITHMS = ["EdDSA", "ES256"] as const;
const ISSUER = "rancher-hooks";
/** Signed URLs kept per key set (oldest forgotten first): enough for the largest listing pages. */
const SIGNED_REMEMBERED = 10_000;
/**
 * Verified tokens kept per key set (oldest forgotten first). A token's claims never change and
 * whether its receiver is still live is decided by the target object, not here, so a URL called
 * again need not be verified again: a signature check is the largest part of a trigger's CPU.
 */
const VERIFIED_REMEMBERED = 5_000;

/** The key set and the claims, validated by zod, built on first use (not at module load). */
const schemas = lazy(() => {
  const signingJwk = z.looseObject({
    kid: z.string().min(1),
    alg: z.enum(ALGORITHMS),
    kty: z.string(),
    d: z.string().min(1),
  });
  return {
    keySet: z.object({ keys: z.array(signingJwk).min(1) }),
    /** What a trigger token says. The target Durable Object, not the token, decides whether it is still live. */
    triggerClaims: z.object({
      sub: z.string().min(1),
      pid: z.string().min(1),
      drv: z.string().min(1),
      tgt: z.string().min(1),
      ver: z.int().min(1),
      cfg: z.record(z.string(), z.unknown()),
      /** Set when the receiver checks its sender: the delivery's headers and body go to the target. */
      snd: z.literal(true).optional(),
    }),
  };
});

export type TriggerClaims = z.output<ReturnType<typeof schemas>["triggerClaims"]>;

export interface SigningKeys {
  sign(claims: TriggerClaims, issuedAtMs: number): Promise<string>;
  verify(token: string): Promise<TriggerClaims | null>;
}

export class SigningKeyError extends Error {}

/**
 * Builds the signer from `WEBHOOK_SIGNING_KEYS`, a JWK set of private keys: the first signs new
 * tokens, all of them verify, so a rotation adds a key in front and removes the old one once its
 * tokens have been regenerated.
 */
export async function loadSigningKeys(serialized: string): Promise<SigningKeys> {
  let parsed: z.output<ReturnType<typeof schemas>["keySet"]>;
  try {
    parsed = schemas().keySet.parse(JSON.parse(serialized));
  } catch {
    throw new SigningKeyError(
      "WEBHOOK_SIGNING_KEYS must be a JWK set of private EdDSA or ES256 keys with kid and alg",
    );
  }
  const [current] = parsed.keys;
  if (!current) throw new SigningKeyError("WEBHOOK_SIGNING_KEYS holds no key");
  const signingKey = await importJWK(current as JWK, current.alg);
  const publicKeys: JSONWebKeySet = {
    keys: parsed.keys.map(({ d: _private, ...publicPart }) => ({ ...publicPart, use: "sig" }) as JWK),
  };
  const verificationKeys = createLocalJWKSet(publicKeys);
  const signed = new BoundedMap<string, Promise<string>>(SIGNED_REMEMBERED);
  const verified = new BoundedMap<string, TriggerClaims>(VERIFIED_REMEMBERED);

  return {
    // Ed25519 signatures are deterministic and iat is the receiver's own time, so the same
    // receiver version always yields the same URL: listing receivers does not reshuffle them, and
    // a URL signed once can be remembered instead of signed again for every page.
    sign(claims, issuedAtMs) {
      const key = `${issuedAtMs}\n${JSON.stringify(claims)}`;
      let token = signed.get(key);
      if (!token) {
        token = new SignJWT({ ...claims })
          .setProtectedHeader({ alg: current.alg, kid: current.kid, typ: "JWT" })
          .setIssuer(ISSUER)
          .setIssuedAt(Math.floor(issuedAtMs / 1000))
          .sign(signingKey);
        token.catch(() => signed.delete(key));
        signed.set(key, token);
      }
      return token;
    },
    async verify(token) {
      const known = verified.get(token);
      if (known) return known;
      try {
        const { payload } = await jwtVerify(token, verificationKeys, {
          issuer: ISSUER,
          algorithms: [...ALGORITHMS],
        });
        const claims = schemas().triggerClaims.safeParse(payload);
        if (!claims.success) return null;
        // Only tokens that verified are kept, so forged ones cannot fill the memory; the claims
        // are shared by every later call of the URL, so nobody may change them.
        Object.freeze(claims.data.cfg);
        verified.set(token, Object.freeze(claims.data));
        return claims.data;
      } catch {
        return null;
      }
    },
  };
}

const cache = new Map<string, Promise<SigningKeys>>();

/** Key import costs more than a verification: do it once per isolate and key set. */
export function signingKeys(serialized: string): Promise<SigningKeys> {
  let keys = cache.get(serialized);
  if (!keys) {
    keys = loadSigningKeys(serialized);
    keys.catch(() => cache.delete(serialized));
    cache.set(serialized, keys);
  }
  return keys;
}
