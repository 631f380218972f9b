// Makes a WEBHOOK_SIGNING_KEYS value: a JWK set with one new Ed25519 private key.
import { exportJWK, generateKeyPair } from "jose";

export async function newSigningKeySet(
  kid = `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}`,
) {
  const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { keys: [{ ...jwk, kid, alg: "EdDSA", use: "sig" }] };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await newSigningKeySet(process.argv[2]))}\n`);
}
