import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { base64, hex, hmac, PUBLISHED } from "../../test/fixtures/signatures";
import { sha256Hex } from "../util/sha256";
import {
  prepareSenderCheck,
  REPLAY_WINDOW_SECONDS,
  type SenderVerificationInput,
  senderVerificationSchema,
  verifySender,
} from "./verification";

const encoder = new TextEncoder();
const NOW = Date.UTC(2026, 10, 23, 10, 0, 0);
const nowSeconds = String(NOW / 1000);

async function checkOf(input: Record<string, unknown>) {
  return (await prepareSenderCheck(senderVerificationSchema().parse(input) as SenderVerificationInput)).check;
}

async function verdict(
  input: Record<string, unknown>,
  headers: Record<string, string>,
  body = "",
  now = NOW,
) {
  return verifySender(await checkOf(input), { headers, body: encoder.encode(body) }, now);
}

const TOKEN = "a-long-random-bearer-token-0123";
const SECRET = "github-webhook-secret-0123456789";
const BODY = '{"action":"published"}';

describe("bearer and Basic", () => {
  it("accept the configured credentials and refuse others with a challenge", async () => {
    const bearer = { scheme: "bearer", token: TOKEN };
    expect(await verdict(bearer, { authorization: `Bearer ${TOKEN}` })).toEqual({ ok: true });
    expect(await verdict(bearer, { authorization: `bearer  ${TOKEN}` })).toEqual({ ok: true });
    for (const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      `Basic ${TOKEN}`,
      "Bearer",
      "",
    ]) {
      const result = await verdict(bearer, { authorization });
      expect(result).toMatchObject({ ok: false, challenge: expect.stringMatching(/^Bearer realm=/) });
    }
    expect(await verdict(bearer, {})).toMatchObject({ ok: false });

    const basic = { scheme: "basic", username: "alertmanager", password: "p4ssword-long-enough" };
    const good = `Basic ${btoa("alertmanager:p4ssword-long-enough")}`;
    expect(await verdict(basic, { authorization: good })).toEqual({ ok: true });
    for (const authorization of [
      `Basic ${btoa("alertmanager:p4ssword-long-enougH")}`,
      `Basic ${btoa("other:p4ssword-long-enough")}`,
      "Basic !!!not-base64",
      `Bearer ${btoa("alertmanager:p4ssword-long-enough")}`,
    ]) {
      expect(await verdict(basic, { authorization })).toMatchObject({
        ok: false,
        challenge: expect.stringMatching(/^Basic realm=/),
      });
    }
  });

  it("keep only a salted digest: two receivers with one token store different values, neither the token", async () => {
    const first = await checkOf({ scheme: "bearer", token: TOKEN });
    const second = await checkOf({ scheme: "bearer", token: TOKEN });
    expect(JSON.stringify(first)).not.toContain(TOKEN);
    expect(JSON.stringify(first)).not.toContain(btoa(TOKEN));
    expect(first).not.toEqual(second);
  });
});

describe("GitHub X-Hub-Signature-256", () => {
  it("accepts the HMAC of the exact body and refuses any change", async () => {
    const github = { scheme: "github", secret: SECRET };
    const signature = `sha256=${hex(await hmac(SECRET, BODY))}`;
    // What the signature covers, the body, names the delivery.
    expect(await verdict(github, { "x-hub-signature-256": signature }, BODY)).toEqual({
      ok: true,
      identity: `body:${await sha256Hex(BODY)}`,
    });
    expect(await verdict(github, { "x-hub-signature-256": signature }, `${BODY} `)).toMatchObject({
      ok: false,
    });
    expect(await verdict(github, { "x-hub-signature-256": signature.toUpperCase() }, BODY)).toMatchObject({
      ok: false,
    });
    expect(await verdict(github, { "x-hub-signature-256": signature.slice(7) }, BODY)).toMatchObject({
      ok: false,
    });
    expect(await verdict(github, {}, BODY)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("missing"),
    });
    const other = `sha256=${hex(await hmac(`${SECRET}x`, BODY))}`;
    expect(await verdict(github, { "x-hub-signature-256": other }, BODY)).toMatchObject({ ok: false });
  });
});

describe("Grafana's HMAC signature", () => {
  it("signs the body alone without a timestamp header, in the configured header", async () => {
    const grafana = { scheme: "grafana", secret: SECRET, header: "X-Custom-Signature" };
    const signature = hex(await hmac(SECRET, BODY));
    expect(await verdict(grafana, { "x-custom-signature": signature }, BODY)).toEqual({
      ok: true,
      identity: `signed:${await sha256Hex(BODY)}`,
    });
    expect(await verdict(grafana, { "x-grafana-alerting-signature": signature }, BODY)).toMatchObject({
      ok: false,
    });
  });

  it("signs timestamp:body with a timestamp header, and refuses a timestamp outside 5 minutes", async () => {
    const grafana = { scheme: "grafana", secret: SECRET, timestampHeader: "X-Grafana-Alerting-Timestamp" };
    const signed = async (timestamp: string) => ({
      "x-grafana-alerting-signature": hex(await hmac(SECRET, `${timestamp}:${BODY}`)),
      "x-grafana-alerting-timestamp": timestamp,
    });
    expect(await verdict(grafana, await signed(nowSeconds), BODY)).toEqual({
      ok: true,
      identity: `signed:${await sha256Hex(`${nowSeconds}:${BODY}`)}`,
    });
    const edge = String(NOW / 1000 - REPLAY_WINDOW_SECONDS);
    expect(await verdict(grafana, await signed(edge), BODY)).toMatchObject({ ok: true });
    const stale = String(NOW / 1000 - REPLAY_WINDOW_SECONDS - 1);
    expect(await verdict(grafana, await signed(stale), BODY)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("5 minutes"),
    });
    const future = String(NOW / 1000 + REPLAY_WINDOW_SECONDS + 60);
    expect(await verdict(grafana, await signed(future), BODY)).toMatchObject({ ok: false });
    // The body alone, without the timestamp, is not what this receiver accepts.
    const bodyOnly = { ...(await signed(nowSeconds)) };
    bodyOnly["x-grafana-alerting-signature"] = hex(await hmac(SECRET, BODY));
    expect(await verdict(grafana, bodyOnly, BODY)).toMatchObject({ ok: false });
    // A valid signature with its timestamp moved is refused.
    expect(
      await verdict(
        grafana,
        { ...(await signed(nowSeconds)), "x-grafana-alerting-timestamp": String(NOW / 1000 - 1) },
        BODY,
      ),
    ).toMatchObject({ ok: false });
  });
});

describe("Standard Webhooks", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
  const whsec = `whsec_${base64(key)}`;
  const headers = async (id: string, timestamp: string, body: string, extra = "") => ({
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `${extra}v1,${base64(await hmac(key, `${id}.${timestamp}.${body}`))}`,
  });

  it("accepts id.timestamp.body signed with the decoded key, among several signatures", async () => {
    const scheme = { scheme: "standardWebhooks", secret: whsec };
    expect(await verdict(scheme, await headers("msg_1", nowSeconds, BODY), BODY)).toEqual({
      ok: true,
      identity: "webhook-id:msg_1",
    });
    expect(await verdict(scheme, await headers("msg_1", nowSeconds, BODY, "v1,AAAA v2,zzz "), BODY)).toEqual({
      ok: true,
      identity: "webhook-id:msg_1",
    });
  });

  it("refuses other ids, bodies, timestamps, versions and replays older than 5 minutes", async () => {
    const scheme = { scheme: "standardWebhooks", secret: whsec };
    const good = await headers("msg_1", nowSeconds, BODY);
    expect(await verdict(scheme, { ...good, "webhook-id": "msg_2" }, BODY)).toMatchObject({ ok: false });
    expect(await verdict(scheme, good, `${BODY}\n`)).toMatchObject({ ok: false });
    expect(
      await verdict(
        scheme,
        { ...good, "webhook-signature": good["webhook-signature"].replace("v1,", "v2,") },
        BODY,
      ),
    ).toMatchObject({ ok: false });
    const old = String(NOW / 1000 - 301);
    expect(await verdict(scheme, await headers("msg_1", old, BODY), BODY)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("5 minutes"),
    });
    expect(await verdict(scheme, { ...good, "webhook-timestamp": "soon" }, BODY)).toMatchObject({
      ok: false,
    });
    const { "webhook-id": _id, ...withoutId } = good;
    expect(await verdict(scheme, withoutId, BODY)).toMatchObject({ ok: false });
  });
});

describe("the senders' published examples", () => {
  it("a delivery signed by the Standard Webhooks reference library verifies, and its tampered copies do not", async () => {
    // The specification's own library signs as a sender would; the check must agree with it.
    const secret = `whsec_${base64(Uint8Array.from({ length: 24 }, (_, i) => 200 - i))}`;
    const sender = new Webhook(secret);
    const scheme = { scheme: "standardWebhooks", secret };
    const id = "msg_2Lz8b3FhK1v3";
    const headers = {
      "webhook-id": id,
      "webhook-timestamp": nowSeconds,
      "webhook-signature": sender.sign(id, new Date(NOW), BODY),
    };
    expect(await verdict(scheme, headers, BODY)).toEqual({ ok: true, identity: `webhook-id:${id}` });
    expect(await verdict(scheme, headers, `${BODY} `)).toMatchObject({ ok: false });
    expect(await verdict(scheme, { ...headers, "webhook-id": `${id}0` }, BODY)).toMatchObject({ ok: false });
    const other = new Webhook(`whsec_${base64(Uint8Array.from({ length: 24 }, (_, i) => i))}`);
    expect(
      await verdict(scheme, { ...headers, "webhook-signature": other.sign(id, new Date(NOW), BODY) }, BODY),
    ).toMatchObject({ ok: false });
  });

  it("GitHub's documented X-Hub-Signature-256 example verifies, and nothing else does", async () => {
    const { secret, body, signature } = PUBLISHED.github;
    const github = { scheme: "github", secret };
    // The fixture's own HMAC agrees with GitHub's figure: the two readings of the scheme are one.
    expect(`sha256=${hex(await hmac(secret, body))}`).toBe(signature);
    expect(await verdict(github, { "x-hub-signature-256": signature }, body)).toEqual({
      ok: true,
      identity: `body:${await sha256Hex(body)}`,
    });
    expect(await verdict(github, { "x-hub-signature-256": signature }, "Hello, World?")).toMatchObject({
      ok: false,
    });
    expect(
      await verdict({ scheme: "github", secret: `${secret}.` }, { "x-hub-signature-256": signature }, body),
    ).toMatchObject({ ok: false });
  });

  it("the Standard Webhooks specification's example verifies at its timestamp, and nothing else does", async () => {
    const { secret, id, timestamp, body, signature } = PUBLISHED.standardWebhooks;
    const scheme = { scheme: "standardWebhooks", secret };
    const headers = {
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature,
    };
    const at = timestamp * 1000;
    expect(await verdict(scheme, headers, body, at)).toEqual({ ok: true, identity: `webhook-id:${id}` });
    // Among other signatures, as a sender rotating its secret sends them.
    const rotating = { ...headers, "webhook-signature": `v1,AAAA ${signature}` };
    expect(await verdict(scheme, rotating, body, at)).toEqual({ ok: true, identity: `webhook-id:${id}` });
    expect(await verdict(scheme, headers, '{"test":2432232314}', at)).toMatchObject({ ok: false });
    expect(await verdict(scheme, { ...headers, "webhook-id": `${id}x` }, body, at)).toMatchObject({
      ok: false,
    });
    expect(
      await verdict(scheme, { ...headers, "webhook-timestamp": String(timestamp + 1) }, body, at),
    ).toMatchObject({ ok: false });
    // Its timestamp is of 2021: at any later time than 5 minutes after it, a replay.
    expect(await verdict(scheme, headers, body, at + (REPLAY_WINDOW_SECONDS + 1) * 1000)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("5 minutes"),
    });
  });
});

describe("the input schema", () => {
  it("refuses short secrets, unknown schemes, malformed whsec keys and stray fields", () => {
    const bad = [
      { scheme: "bearer", token: "short" },
      { scheme: "basic", username: "a:b", password: "long-enough-password" },
      { scheme: "github" },
      { scheme: "hmac", secret: SECRET },
      { scheme: "standardWebhooks", secret: SECRET },
      { scheme: "standardWebhooks", secret: `whsec_${btoa("too short")}` },
      { scheme: "grafana", secret: SECRET, header: "Bad Header" },
      { scheme: "github", secret: SECRET, token: TOKEN },
    ];
    for (const input of bad)
      expect(senderVerificationSchema().safeParse(input).success, JSON.stringify(input)).toBe(false);
  });
});
