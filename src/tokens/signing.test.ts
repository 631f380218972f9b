import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { triggerClaims as claims } from "../../test/fixtures/trigger-claims";
import { loadSigningKeys, SigningKeyError, signingKeys } from "./signing";

async function newSigningKeySet(kid: string) {
  const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { keys: [{ ...(await exportJWK(privateKey)), kid, alg: "EdDSA" }] };
}

type PrivateJwk = { kid: string; alg: string; kty: string; d: string; x: string };

/** One new private Ed25519 key. */
async function newKey(kid: string): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: "EdDSA" } as PrivateJwk;
}

async function newEs256Key(kid: string) {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: "ES256" };
}

/** A key as a rotation keeps it: its public half only. */
function retired<K extends { d?: string }>(key: K): Omit<K, "d"> {
  const { d: _private, ...publicHalf } = key;
  return publicHalf;
}

/** Loads a set and answers the configuration error's message. */
async function refusal(keySet: unknown): Promise<string> {
  const error = await loadSigningKeys(JSON.stringify(keySet)).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SigningKeyError);
  return (error as Error).message;
}

describe("trigger tokens", () => {
  it("verify once per isolate: a URL called again gets the same claims, which nobody can change", async () => {
    const keys = await loadSigningKeys(JSON.stringify(await newSigningKeySet("k1")));
    const token = await keys.sign(claims, 1_700_000_000_000);
    const first = await keys.verify(token);
    expect(first).toMatchObject(claims);
    const again = await keys.verify(token);
    expect(again).toBe(first);
    expect(Object.isFrozen(again)).toBe(true);
    expect(Object.isFrozen(again?.cfg)).toBe(true);
  });

  it("refuse an altered token even after the original verified, and a forged one every time", async () => {
    const keys = await loadSigningKeys(JSON.stringify(await newSigningKeySet("k1")));
    const token = await keys.sign(claims, 1_700_000_000_000);
    expect(await keys.verify(token)).not.toBeNull();
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const altered = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
    expect(await keys.verify(altered)).toBeNull();
    expect(await keys.verify(altered)).toBeNull();
  });

  it("stop verifying when their key leaves the key set, whatever an earlier set remembered", async () => {
    const old = await newSigningKeySet("old");
    const keys = await loadSigningKeys(JSON.stringify(old));
    const token = await keys.sign(claims, 1_700_000_000_000);
    expect(await keys.verify(token)).not.toBeNull();
    const rotated = await loadSigningKeys(JSON.stringify(await newSigningKeySet("new")));
    expect(await rotated.verify(token)).toBeNull();
  });
});

describe("retired keys", () => {
  it("verify the URLs they signed from their public half alone, and the current key signs", async () => {
    const a = await newKey("a");
    const b = await newKey("b");
    const before = await loadSigningKeys(JSON.stringify({ keys: [a] }));
    const signedByA = await before.sign(claims, 1_700_000_000_000);

    const rotated = await loadSigningKeys(JSON.stringify({ keys: [b, retired(a)] }));
    expect(await rotated.verify(signedByA)).toMatchObject(claims);
    const signedByB = await rotated.sign(claims, 1_700_000_000_000);
    expect(JSON.parse(atob(signedByB.split(".")[0] as string)).kid).toBe("b");
    expect(signedByB).not.toBe(signedByA);
    expect(await rotated.verify(signedByB)).toMatchObject(claims);
    // The old set never knew B: a URL B signed is the new set's alone.
    expect(await before.verify(signedByB)).toBeNull();
  });

  it("of either algorithm may sit behind the signing key, private or public-only", async () => {
    const es = await newEs256Key("es");
    const oldSet = await loadSigningKeys(JSON.stringify({ keys: [es] }));
    const signedByEs = await oldSet.sign(claims, 1_700_000_000_000);
    const current = await newKey("now");
    const stillPrivate = await newKey("kept");
    const keys = await loadSigningKeys(JSON.stringify({ keys: [current, stillPrivate, retired(es)] }));
    expect(await keys.verify(signedByEs)).toMatchObject(claims);
  });

  it("never sign: a set whose keys are all public-only is refused, naming the problem and not the keys", async () => {
    const a = await newKey("a");
    const message = await refusal({ keys: [retired(a)] });
    expect(message).toMatch(/no private key/);
    expect(message).not.toContain(a.x);
  });

  it("are refused in front of the signing key: the first key must be the private one", async () => {
    const a = await newKey("a");
    const b = await newKey("b");
    const message = await refusal({ keys: [retired(a), b] });
    expect(message).toMatch(/first key .* must be the private key/);
    expect(message).toContain('kid "b"');
    for (const secret of [a.x, b.x, b.d]) expect(message).not.toContain(secret);
  });

  it("each need their own kid, and a broken one is refused when the set loads", async () => {
    const a = await newKey("same");
    const b = await newKey("same");
    expect(await refusal({ keys: [a, b] })).toMatch(/kid "same" twice/);
    const c = await newKey("c");
    const broken = { ...retired(a), kid: "broken", x: "not-a-key" };
    const message = await refusal({ keys: [c, broken] });
    expect(message).toMatch(/key 2 \(kid "broken"\).*not a valid EdDSA key/);
    expect(message).not.toContain("not-a-key");
  });

  it("are kept apart per key set: a set without the retired key refuses what it signed", async () => {
    const a = await newKey("a");
    const b = await newKey("b");
    const signedByA = await (await loadSigningKeys(JSON.stringify({ keys: [a] }))).sign(claims, 1);
    const withA = await signingKeys(JSON.stringify({ keys: [b, retired(a)] }));
    const withoutA = await signingKeys(JSON.stringify({ keys: [b] }));
    expect(await withA.verify(signedByA)).not.toBeNull();
    expect(await withoutA.verify(signedByA)).toBeNull();
  });
});
