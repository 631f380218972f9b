// Makes a WEBHOOK_SIGNING_KEYS value: a JWK set with one new Ed25519 private key.
//   node scripts/signing-key.mjs [kid]                 a new set
//   node scripts/signing-key.mjs --rotate current.json [kid]
//                                                      a new private key first, then every key of
//                                                      current.json as its public half only
// docs/keys.md says how to keep the set and when to rotate it.
import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { exportJWK, generateKeyPair } from "jose";

/** Members of a JWK that belong to its private half, for every key type (RFC 7518 section 6). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** A problem with the input that the user must fix: said on stderr, exit code 2. */
export class KeySetError extends Error {}

const today = () => `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}`;

export async function newSigningKey(kid = today()) {
  const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid, alg: "EdDSA", use: "sig" };
}

export async function newSigningKeySet(kid = today()) {
  return { keys: [await newSigningKey(kid)] };
}

/** A key as a retired key is kept: it verifies what it signed and can sign nothing. */
export function publicHalf(key) {
  const half = { ...key };
  for (const member of PRIVATE_MEMBERS) delete half[member];
  // A private key's operations (`sign`) do not describe its public half.
  delete half.key_ops;
  return half;
}

/** Parses a key set's text, naming what is wrong with it and never quoting key material. */
export function parseKeySet(text, source = "the key set") {
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeySetError(`${source} is not JSON: it must be a JWK set, {"keys":[…]}`);
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    !Array.isArray(parsed.keys) ||
    parsed.keys.length === 0
  ) {
    throw new KeySetError(
      `${source} is not a key set: it must be a JWK set with at least one key, {"keys":[…]}`,
    );
  }
  const kids = new Set();
  for (const [index, key] of parsed.keys.entries()) {
    const where = `key ${index + 1} of ${source}`;
    if (typeof key !== "object" || key === null || Array.isArray(key) || typeof key.kty !== "string") {
      throw new KeySetError(`${where} is not a JWK (an object with kty)`);
    }
    if (typeof key.kid !== "string" || key.kid === "") throw new KeySetError(`${where} has no kid`);
    if (kids.has(key.kid)) throw new KeySetError(`${source} names kid "${key.kid}" twice (${where})`);
    kids.add(key.kid);
  }
  return parsed;
}

/** The kid for a new key: the one asked for (refused if taken), else today's, made distinct. */
function freshKid(taken, requested) {
  if (requested !== undefined) {
    if (taken.has(requested)) throw new KeySetError(`kid "${requested}" is already in the key set`);
    return requested;
  }
  const base = today();
  let kid = base;
  for (let n = 2; taken.has(kid); n++) kid = `${base}-${n}`;
  return kid;
}

/**
 * A rotation: a new private key in front, the earlier keys behind it as public halves, so the URLs
 * they signed keep working and none of them can sign again.
 */
export async function rotateKeySet(current, kid) {
  const taken = new Set(current.keys.map((key) => key.kid));
  return { keys: [await newSigningKey(freshKid(taken, kid)), ...current.keys.map(publicHalf)] };
}

/** The command line: what to print on stdout, or a KeySetError for stderr. */
export async function run(args) {
  if (args[0] === "--rotate") {
    const [, file, kid, ...rest] = args;
    if (!file)
      throw new KeySetError("--rotate needs the current key set's file: --rotate current.json [kid]");
    if (rest.length > 0) throw new KeySetError(`unexpected arguments: ${rest.join(" ")}`);
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new KeySetError(
        `cannot read ${file}: ${error.code === "ENOENT" ? "no such file" : error.message}`,
      );
    }
    return rotateKeySet(parseKeySet(text, file), kid);
  }
  if (args.length > 1 || args[0]?.startsWith("-")) {
    throw new KeySetError("usage: signing-key.mjs [kid] | signing-key.mjs --rotate current.json [kid]");
  }
  return newSigningKeySet(args[0]);
}

// Run as a command (not imported): compared through the real path, so a symlinked or relative
// path to the script still runs it. An importer's argv[1] may name no file at all.
function invokedAs() {
  try {
    return process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : undefined;
  } catch {
    return undefined;
  }
}
const invoked = invokedAs();
if (import.meta.url === invoked) {
  try {
    process.stdout.write(`${JSON.stringify(await run(process.argv.slice(2)))}\n`);
  } catch (error) {
    if (!(error instanceof KeySetError)) throw error;
    process.stderr.write(`signing-key: ${error.message}\n`);
    process.exitCode = 2;
  }
}
