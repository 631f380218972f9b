import { env } from "cloudflare:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  call,
  createReceiver,
  emulatorStats,
  json,
  KEYS,
  ORIGIN,
  resetEmulator,
  trigger,
  withBindings,
} from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

const base64url = (text: string) => btoa(text).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const claimsOf = (url: string) => {
  const token = new URL(url).searchParams.get("token") ?? "";
  const [header, payload] = token.split(".");
  return {
    token,
    header: JSON.parse(atob((header ?? "").replace(/-/g, "+").replace(/_/g, "/"))),
    payload: JSON.parse(atob((payload ?? "").replace(/-/g, "+").replace(/_/g, "/"))),
  };
};
const endpoint = (token: string) => `${ORIGIN}/v1-webhooks/endpoint?token=${token}`;

async function newKeySet(kid: string) {
  const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: "EdDSA" };
}

describe("forged and altered trigger tokens", () => {
  it("are refused with 403 and never reach Cattle", async () => {
    const receiver = await createReceiver();
    const { token, header, payload } = claimsOf(receiver.url);
    const attacker = await generateKeyPair("EdDSA", { extractable: true });
    const publicJwk = JSON.parse(env.WEBHOOK_SIGNING_KEYS).keys[0];

    const forged = [
      // The right claims and kid, signed with the attacker's own key.
      await new SignJWT(payload)
        .setProtectedHeader({ alg: "EdDSA", kid: header.kid })
        .sign(attacker.privateKey),
      // alg none, with and without a signature.
      `${base64url(JSON.stringify({ alg: "none", kid: header.kid }))}.${token.split(".")[1]}.`,
      `${base64url(JSON.stringify({ alg: "none" }))}.${token.split(".")[1]}.${token.split(".")[2]}`,
      // HS256 keyed with the public key's bytes (the classic algorithm confusion).
      await new SignJWT(payload)
        .setProtectedHeader({ alg: "HS256", kid: header.kid })
        .sign(new TextEncoder().encode(publicJwk.x)),
      // A kid the service does not have.
      await new SignJWT(payload)
        .setProtectedHeader({ alg: "EdDSA", kid: "unknown" })
        .sign(attacker.privateKey),
      // A higher version, a different receiver, another environment: claims changed under the old signature.
      `${token.split(".")[0]}.${base64url(JSON.stringify({ ...payload, ver: payload.ver + 1 }))}.${token.split(".")[2]}`,
      `${token.split(".")[0]}.${base64url(JSON.stringify({ ...payload, pid: "1a7", tgt: "scaleService:1a7:1s9" }))}.${token.split(".")[2]}`,
      // Truncations and garbage.
      token.slice(0, -2),
      `${token}.`,
      "x".repeat(5000),
    ];
    const before = (await emulatorStats()).total;
    for (const candidate of forged) {
      const response = await trigger(endpoint(candidate));
      expect(response.status, candidate.slice(0, 40)).toBe(403);
      expect(await json(response)).toMatchObject({ type: "error", code: "Forbidden" });
    }
    expect((await emulatorStats()).total).toBe(before);
  });

  it("refuse another environment's token used with this environment's projectId", async () => {
    const other = await call("/v1-webhooks/receivers?projectId=1a7", {
      key: KEYS.other,
      method: "POST",
      body: {
        name: "other-env",
        driver: "scaleService",
        scaleServiceConfig: { serviceId: "1s9", action: "up", amount: 1 },
      },
    });
    const { url } = await json(other);
    expect((await trigger(`${url}&projectId=1a5`)).status).toBe(403);
  });
});

describe("signing key rotation", () => {
  it("signs new URLs with the first key and honours older keys until they are removed", async () => {
    const current = JSON.parse(env.WEBHOOK_SIGNING_KEYS).keys[0];
    const next = await newKeySet("next-key");
    const request = (path: string, keys: unknown[], init: RequestInit = {}) =>
      withBindings(`${ORIGIN}${path}`, init, { ...env, WEBHOOK_SIGNING_KEYS: JSON.stringify({ keys }) });
    const auth = { authorization: `Basic ${btoa(KEYS.dev)}` };

    const receiver = await createReceiver();
    const oldUrl = new URL(receiver.url);
    expect(claimsOf(receiver.url).header.kid).toBe(current.kid);

    // After rotation (new key first, old key kept): old URLs still work...
    const rotated = [next, current];
    expect((await request(oldUrl.pathname + oldUrl.search, rotated, { method: "POST" })).status).toBe(200);
    // ...and a regenerated URL is signed with the new key.
    const regenerated = await request(
      `/v1-webhooks/receivers/${receiver.id}?projectId=1a5&action=regenerate`,
      rotated,
      { method: "POST", headers: auth },
    );
    const newUrl = new URL(((await regenerated.json()) as { url: string }).url);
    expect(claimsOf(newUrl.href).header.kid).toBe("next-key");
    expect((await request(newUrl.pathname + newUrl.search, rotated, { method: "POST" })).status).toBe(200);

    // Once the old key is removed, a URL signed with it is refused even at the live version.
    const other = await createReceiver();
    const otherUrl = new URL(other.url);
    expect((await request(otherUrl.pathname + otherUrl.search, [next], { method: "POST" })).status).toBe(403);
    expect((await request(newUrl.pathname + newUrl.search, [next], { method: "POST" })).status).toBe(200);
  });
});

describe("a retired key kept as its public half", () => {
  it("still verifies the URLs it signed, while listing and regenerate sign with the new key", async () => {
    const { d: _private, ...retiredHalf } = JSON.parse(env.WEBHOOK_SIGNING_KEYS).keys[0];
    const next = await newKeySet("after-rotation");
    const rotated = JSON.stringify({ keys: [next, retiredHalf] });
    const request = (path: string, init: RequestInit = {}) =>
      withBindings(`${ORIGIN}${path}`, init, { ...env, WEBHOOK_SIGNING_KEYS: rotated });
    const post = (url: string) => request(new URL(url).pathname + new URL(url).search, { method: "POST" });
    const auth = { authorization: `Basic ${btoa(KEYS.dev)}` };

    const receiver = await createReceiver({ max: 50 });
    const signedByOld = receiver.url as string;
    expect(claimsOf(signedByOld).header.kid).toBe(retiredHalf.kid);

    // The old URL triggers and applies from the public half alone.
    const first = await post(signedByOld);
    expect(first.status).toBe(200);
    expect(await json(first)).toMatchObject({ receiverId: receiver.id, outcome: "applied" });

    // Shown now, the same receiver version is signed by the new key: both URLs work until a regenerate.
    const shown = await json(
      await request(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, { headers: auth }),
    );
    const listed = await json(
      await request("/v1-webhooks/receivers?projectId=1a5&limit=1000", { headers: auth }),
    );
    const signedByNew = shown.url as string;
    expect(listed.data.find((item: { id: string }) => item.id === receiver.id)?.url).toBe(signedByNew);
    expect(claimsOf(signedByNew).header.kid).toBe("after-rotation");
    expect(claimsOf(signedByNew).payload.ver).toBe(claimsOf(signedByOld).payload.ver);
    expect(signedByNew).not.toBe(signedByOld);
    expect(await json(await post(signedByNew))).toMatchObject({
      receiverId: receiver.id,
      outcome: "applied",
    });

    // Regenerate stops both, as it stops any URL of the receiver, and answers a new-key URL.
    const regenerated = await request(
      `/v1-webhooks/receivers/${receiver.id}?projectId=1a5&action=regenerate`,
      {
        method: "POST",
        headers: auth,
      },
    );
    const fresh = (await json(regenerated)).url as string;
    expect(claimsOf(fresh).header.kid).toBe("after-rotation");
    expect((await post(signedByOld)).status).toBe(403);
    expect((await post(signedByNew)).status).toBe(403);
    expect((await post(fresh)).status).toBe(200);
  });

  it("cannot sign: a key set whose signing key is public-only is refused as a configuration error", async () => {
    const { d: _private, ...publicHalf } = JSON.parse(env.WEBHOOK_SIGNING_KEYS).keys[0];
    const receiver = await createReceiver();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const url = new URL(receiver.url);
      const response = await withBindings(
        `${ORIGIN}${url.pathname}${url.search}`,
        { method: "POST" },
        { ...env, WEBHOOK_SIGNING_KEYS: JSON.stringify({ keys: [publicHalf] }) },
      );
      expect(response.status).toBe(500);
      const said = logged.mock.calls.map((args) => args.join(" ")).join("\n");
      expect(said).toMatch(/configuration error: WEBHOOK_SIGNING_KEYS holds no private key/);
      expect(said).not.toContain(publicHalf.x);
    } finally {
      logged.mockRestore();
    }
  });
});
