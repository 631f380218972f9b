import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { loadSigningKeys } from "../../src/tokens/signing";
import { triggerClaims as claims } from "../fixtures/trigger-claims";

/** `node scripts/signing-key.mjs`, as a user runs it. */
const SCRIPT = new URL("../../scripts/signing-key.mjs", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "signing-key-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Jwk = Record<string, unknown> & { kid: string; kty: string };
type Run = { code: number; stdout: string; stderr: string };

async function script(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SCRIPT, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const keysOf = (run: Run): Jwk[] => (JSON.parse(run.stdout) as { keys: Jwk[] }).keys;

describe("scripts/signing-key.mjs", () => {
  it("makes a set of one private Ed25519 key, with the kid asked for or today's", async () => {
    const named = await script("prod-1");
    expect(named.code).toBe(0);
    const [key, ...rest] = keysOf(named);
    expect(rest).toEqual([]);
    expect(key).toMatchObject({ kid: "prod-1", kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    expect(typeof key?.d).toBe("string");
    const [dated] = keysOf(await script());
    expect(dated?.kid).toMatch(/^k\d{8}$/);
  });

  it("--rotate puts a new private key first and keeps every earlier key as its public half", async () => {
    const first = await script("a");
    const once = await script("--rotate", file("one.json", first.stdout), "b");
    expect(once.code).toBe(0);
    expect(keysOf(once).map((key) => key.kid)).toEqual(["b", "a"]);
    const twice = await script("--rotate", file("two.json", once.stdout));
    const [newest, b, a] = keysOf(twice) as [Jwk, Jwk, Jwk];
    expect([b.kid, a.kid]).toEqual(["b", "a"]);
    expect(newest.kid).toMatch(/^k\d{8}$/);
    expect(typeof newest.d).toBe("string");
    expect(newest.x).not.toBe(b.x);
    const [aBefore] = keysOf(first) as [Jwk];
    const { d: _private, ...aPublic } = aBefore;
    expect(a).toEqual(aPublic);
    for (const retired of [a, b]) expect(retired).not.toHaveProperty("d");

    // The service takes the rotated set, and a URL the first set signed still verifies with it.
    const before = await loadSigningKeys(first.stdout);
    const token = await before.sign(claims, 1_700_000_000_000);
    expect(await (await loadSigningKeys(twice.stdout)).verify(token)).toMatchObject(claims);
  });

  it("--rotate strips the private members of every key type and picks a kid no key has", async () => {
    const today = `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}`;
    const rsa = {
      kty: "RSA",
      kid: today,
      n: "n",
      e: "AQAB",
      d: "d",
      p: "p",
      q: "q",
      dp: "dp",
      dq: "dq",
      qi: "qi",
    };
    const ec = { kty: "EC", kid: `${today}-2`, crv: "P-256", x: "x", y: "y", d: "d", key_ops: ["sign"] };
    const oct = { kty: "oct", kid: "hmac", k: "secret" };
    const rotated = await script("--rotate", file("mixed.json", JSON.stringify({ keys: [rsa, ec, oct] })));
    expect(rotated.code).toBe(0);
    const [fresh, ...retired] = keysOf(rotated);
    expect(fresh?.kid).toBe(`${today}-3`);
    expect(retired).toEqual([
      { kty: "RSA", kid: today, n: "n", e: "AQAB" },
      { kty: "EC", kid: `${today}-2`, crv: "P-256", x: "x", y: "y" },
      { kty: "oct", kid: "hmac" },
    ]);
  });

  it.each([
    [
      "a missing file",
      () => ["--rotate", join(dir, "absent.json")],
      /cannot read .*absent\.json: no such file/,
    ],
    ["no file", () => ["--rotate"], /needs the current key set's file/],
    ["text that is not JSON", () => ["--rotate", file("text.json", "keys")], /is not JSON/],
    [
      "JSON that is not a key set",
      () => ["--rotate", file("object.json", '{"kid":"a"}')],
      /is not a key set/,
    ],
    ["an empty key set", () => ["--rotate", file("empty.json", '{"keys":[]}')], /is not a key set/],
    [
      "a key without kid",
      () => ["--rotate", file("nokid.json", '{"keys":[{"kty":"OKP"}]}')],
      /key 1 .* has no kid/,
    ],
    [
      "a duplicate kid",
      () => [
        "--rotate",
        file("dup.json", '{"keys":[{"kty":"OKP","kid":"a","d":"s3cr3t"},{"kty":"OKP","kid":"a"}]}'),
      ],
      /names kid "a" twice/,
    ],
    [
      "a new kid the set already has",
      () => ["--rotate", file("taken.json", '{"keys":[{"kty":"OKP","kid":"a","d":"s3cr3t"}]}'), "a"],
      /kid "a" is already in the key set/,
    ],
    ["an unknown option", () => ["--rotate-all"], /usage/],
  ])("refuses %s on stderr with exit code 2 and prints nothing on stdout", async (_case, args, message) => {
    const run = await script(...args());
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain("s3cr3t");
  });
});
