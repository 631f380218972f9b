import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { loadSigningKeys, type TriggerClaims } from "./signing";

async function newSigningKeySet(kid: string) {
  const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { keys: [{ ...(await exportJWK(privateKey)), kid, alg: "EdDSA" }] };
}

const claims: TriggerClaims = {
  sub: "1r1",
  pid: "1a5",
  drv: "scaleService",
  tgt: "scaleService:1a5:1s1",
  ver: 1,
  cfg: { serviceId: "1s1", action: "up", amount: 1 },
};

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
