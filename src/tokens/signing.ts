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

/**
 * Members of a JWK that belong to its private half, for every key type: a key stripped of them
 * can verify and never sign.
 */
export const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/** The key set and the claims, validated by zod, built on first use (not at module load). */
const schemas = lazy(() => {
  const jwk = z.looseObject({
    kid: z.string().min(1),
    alg: z.enum(ALGORITHMS),
    kty: z.string(),
    d: z.string().min(1).optional(),
  });
  return {
    keySet: z.object({ keys: z.array(jwk).min(1) }),
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

type ParsedJwk = z.output<ReturnType<typeof schemas>["keySet"]>["keys"][number];

/** A key's public half: what verifies, and nothing that signs. */
function publicHalf(key: ParsedJwk): JWK {
  const half: Record<string, unknown> = { ...key, use: "sig" };
  for (const member of PRIVATE_JWK_MEMBERS) delete half[member];
  delete half.key_ops;
  return half as JWK;
}

/**
 * Checks the set's layout: the first key signs and must be private; every other key only verifies
 * and may be private or public-only (a retired key). Messages name positions and kids, never key
 * material, since they end up in logs.
 */
function checkLayout(keys: readonly ParsedJwk[]): void {
  const kids = new Set<string>();
  for (const [index, key] of keys.entries()) {
    if (kids.has(key.kid)) {
      throw new SigningKeyError(
        `WEBHOOK_SIGNING_KEYS names kid "${key.kid}" twice: each key needs its own kid (key ${index + 1})`,
      );
    }
    kids.add(key.kid);
  }
  if (keys[0]?.d !== undefined) return;
  const privateAt = keys.findIndex((key) => key.d !== undefined);
  if (privateAt < 0) {
    throw new SigningKeyError(
      "WEBHOOK_SIGNING_KEYS holds no private key: its first key must be the private key that signs new Trigger URLs",
    );
  }
  throw new SigningKeyError(
    `the first key of WEBHOOK_SIGNING_KEYS must be the private key that signs, but key 1 (kid "${keys[0]?.kid}") is public-only and key ${privateAt + 1} (kid "${keys[privateAt]?.kid}") is private: put the signing key first`,
  );
}

/**
 * Builds the signer from `WEBHOOK_SIGNING_KEYS`, a JWK set: the first key (private) signs new
 * tokens, every key verifies. A rotation puts a new private key in front and keeps the earlier keys
 * as public halves only (docs/keys.md), so old URLs keep working while no retired key can mint one.
 */
export async function loadSigningKeys(serialized: string): Promise<SigningKeys> {
  let parsed: z.output<ReturnType<typeof schemas>["keySet"]>;
  try {
    parsed = schemas().keySet.parse(JSON.parse(serialized));
  } catch {
    throw new SigningKeyError(
      "WEBHOOK_SIGNING_KEYS must be a JWK set of EdDSA or ES256 keys with kid and alg, the first one private",
    );
  }
  checkLayout(parsed.keys);
  const [current] = parsed.keys as [ParsedJwk, ...ParsedJwk[]];
  let signingKey: Awaited<ReturnType<typeof importJWK>>;
  try {
    signingKey = await importJWK(current as JWK, current.alg);
  } catch {
    throw new SigningKeyError(
      `key 1 (kid "${current.kid}") of WEBHOOK_SIGNING_KEYS is not a valid ${current.alg} private key`,
    );
  }
  const publicKeys: JSONWebKeySet = { keys: parsed.keys.map(publicHalf) };
  // Imported now, so that a broken retired key is a configuration error at once rather than
  // old URLs that quietly stop verifying.
  for (const [index, key] of publicKeys.keys.entries()) {
    try {
      await importJWK(key, key.alg);
    } catch {
      throw new SigningKeyError(
        `key ${index + 1} (kid "${key.kid}") of WEBHOOK_SIGNING_KEYS is not a valid ${key.alg} key`,
      );
    }
  }
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
