import * as z from "zod";
import type { SenderCheck, SenderProof, SenderVerificationView } from "../domain/sender";
import { fromBase64, toBase64 } from "../util/base64";
import { lazy } from "../util/lazy";
import { own } from "../util/own";
import { sha256Hex } from "../util/sha256";

/**
 * Optional proof, beyond the secret URL, that a delivery comes from the sender a receiver was
 * made for. Shared secrets (bearer, Basic) are kept only as a salted HMAC-SHA-256 digest. The
 * HMAC schemes (GitHub, Grafana, Standard Webhooks) need the key itself to recompute the
 * signature, so their key is kept in the target Durable Object's storage only: never in KV, never
 * in the token, never in an API answer. Every comparison is made by WebCrypto's HMAC verify, which
 * compares in constant time.
 */

/** How far a signed timestamp may be from now: older (or future) deliveries are replays. */
export const REPLAY_WINDOW_SECONDS = 5 * 60;
/** Shared secrets shorter than this are refused: a trigger URL deserves a random secret. */
export const SECRET_MIN_LENGTH = 16;
const SECRET_MAX_LENGTH = 512;
/** Standard Webhooks signs with several keys during a rotation; more than this is not a sender. */
const MAX_SIGNATURES = 8;

/** What a receiver may set as its sender check, built on first use. */
export const senderVerificationSchema = lazy(() => {
  const secret = z.string().min(SECRET_MIN_LENGTH).max(SECRET_MAX_LENGTH);
  const headerName = z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, "must be an HTTP header name (letters, digits and dashes)");
  const typeField = { type: z.literal("senderVerification").optional() };

  /** `whsec_` and the base64 of a 24 to 64 byte key, as Standard Webhooks senders print it. */
  const standardWebhooksSecret = z.string().refine((value) => standardWebhooksKey(value) !== undefined, {
    message: "must be a Standard Webhooks secret: whsec_ followed by the base64 of a 24 to 64 byte key",
    params: { code: "InvalidFormat" },
  });

  return z.discriminatedUnion("scheme", [
    z.strictObject({ ...typeField, scheme: z.literal("bearer"), token: secret }),
    z.strictObject({
      ...typeField,
      scheme: z.literal("basic"),
      username: z
        .string()
        .min(1)
        .max(128)
        .regex(/^[^:]*$/, "must not contain a colon"),
      password: secret,
    }),
    z.strictObject({ ...typeField, scheme: z.literal("github"), secret }),
    z.strictObject({
      ...typeField,
      scheme: z.literal("grafana"),
      secret,
      header: headerName.default("X-Grafana-Alerting-Signature"),
      timestampHeader: headerName.optional(),
    }),
    z.strictObject({ ...typeField, scheme: z.literal("standardWebhooks"), secret: standardWebhooksSecret }),
  ]);
});

export type SenderVerificationInput = z.output<ReturnType<typeof senderVerificationSchema>>;

/**
 * A passed check may name the delivery from what its signature covers (`identity`): only that
 * de-duplicates a signed delivery, so an unsigned header cannot make a captured one new (docs/how-it-works.md).
 * Bearer and Basic sign nothing, so they name nothing.
 */
export type SenderVerdict =
  | { ok: true; identity?: string }
  | { ok: false; reason: string; challenge?: string };

const encoder = new TextEncoder();

function standardWebhooksKey(value: string): Uint8Array | undefined {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (!match?.[1]) return undefined;
  try {
    const key = fromBase64(match[1]);
    return key.length >= 24 && key.length <= 64 ? key : undefined;
  } catch {
    return undefined;
  }
}

const hmacKey = (raw: Uint8Array<ArrayBuffer>) =>
  crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);

/** Splits what the caller chose into what may be shown and what the target keeps. */
export async function prepareSenderCheck(
  input: SenderVerificationInput,
): Promise<{ view: SenderVerificationView; check: SenderCheck }> {
  switch (input.scheme) {
    case "bearer":
    case "basic": {
      const salt = crypto.getRandomValues(new Uint8Array(32));
      const credential = input.scheme === "bearer" ? input.token : `${input.username}:${input.password}`;
      const digest = await crypto.subtle.sign("HMAC", await hmacKey(salt), encoder.encode(credential));
      return {
        view: { scheme: input.scheme },
        check: { scheme: input.scheme, salt: toBase64(salt), digest: toBase64(new Uint8Array(digest)) },
      };
    }
    case "github":
      return {
        view: { scheme: input.scheme },
        check: { scheme: input.scheme, key: toBase64(encoder.encode(input.secret)) },
      };
    case "grafana": {
      const where = {
        header: input.header,
        ...(input.timestampHeader ? { timestampHeader: input.timestampHeader } : {}),
      };
      return {
        view: { scheme: input.scheme, ...where },
        check: { scheme: input.scheme, key: toBase64(encoder.encode(input.secret)), ...where },
      };
    }
    case "standardWebhooks":
      return {
        view: { scheme: input.scheme },
        check: { scheme: input.scheme, key: toBase64(standardWebhooksKey(input.secret) as Uint8Array) },
      };
  }
}

/**
 * What may be shown of a sender check: the view `prepareSenderCheck` made with it. The target keeps
 * only the check, so a receiver's record is put right from what the target holds.
 */
export function senderViewOf(check: SenderCheck): SenderVerificationView {
  if (check.scheme !== "grafana") return { scheme: check.scheme };
  return {
    scheme: check.scheme,
    header: check.header,
    ...(check.timestampHeader ? { timestampHeader: check.timestampHeader } : {}),
  };
}

const REALM = 'realm="rancher-hooks trigger"';

const refuse = (reason: string, challenge?: string): SenderVerdict => ({
  ok: false,
  reason,
  ...(challenge ? { challenge } : {}),
});

const concat = (prefix: string, body: Uint8Array) => {
  const head = encoder.encode(prefix);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
};

function hexBytes(text: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(text)) return undefined;
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

function base64Bytes(text: string): Uint8Array | undefined {
  try {
    return fromBase64(text);
  } catch {
    return undefined;
  }
}

/** A signed Unix-seconds timestamp within the replay window, or why not. */
function timestampProblem(value: string | undefined, name: string, nowMs: number): string | undefined {
  if (value === undefined) return `the ${name} header is missing`;
  if (!/^\d{1,12}$/.test(value.trim())) return `the ${name} header must be Unix seconds`;
  const skew = Math.abs(nowMs / 1000 - Number(value.trim()));
  return skew > REPLAY_WINDOW_SECONDS
    ? `the ${name} header is more than ${REPLAY_WINDOW_SECONDS / 60} minutes away from now (a replay or a wrong clock)`
    : undefined;
}

/** The HMAC key a check verifies with: the salt for shared secrets, the sender's key otherwise. */
export const importSenderKey = (check: SenderCheck): Promise<CryptoKey> =>
  hmacKey(fromBase64("salt" in check ? check.salt : check.key));

/** Checks one delivery against a receiver's sender check; `keyOf` lets the caller cache imported keys. */
export async function verifySender(
  check: SenderCheck,
  proof: SenderProof,
  nowMs: number,
  keyOf: (check: SenderCheck) => Promise<CryptoKey> = importSenderKey,
): Promise<SenderVerdict> {
  const header = (name: string) => own(proof.headers, name.toLowerCase());
  // Copies into plain ArrayBuffer-backed views, the only kind every runtime's WebCrypto types accept.
  const verify = async (signature: Uint8Array, data: Uint8Array) =>
    crypto.subtle.verify("HMAC", await keyOf(check), new Uint8Array(signature), new Uint8Array(data));

  switch (check.scheme) {
    case "bearer":
    case "basic": {
      const challenge = `${check.scheme === "bearer" ? "Bearer" : "Basic"} ${REALM}`;
      const [scheme, value, extra] = (header("authorization") ?? "").trim().split(/\s+/);
      if (!scheme || scheme.toLowerCase() !== check.scheme || !value || extra !== undefined) {
        return refuse(
          `this receiver needs ${challenge.split(" ")[0]} credentials in Authorization`,
          challenge,
        );
      }
      let credential = value;
      if (check.scheme === "basic") {
        const decoded = base64Bytes(value);
        if (!decoded) return refuse("the Basic credentials are not base64", challenge);
        credential = new TextDecoder().decode(decoded);
      }
      const ok = await verify(fromBase64(check.digest), encoder.encode(credential));
      return ok ? { ok: true } : refuse("the credentials do not match this receiver's", challenge);
    }
    case "github": {
      const value = header("x-hub-signature-256");
      if (value === undefined) return refuse("the X-Hub-Signature-256 header is missing");
      const signature = value.startsWith("sha256=") ? hexBytes(value.slice(7)) : undefined;
      if (!signature) return refuse("X-Hub-Signature-256 must be sha256= and a hex digest");
      return (await verify(signature, proof.body))
        ? { ok: true, identity: `body:${await sha256Hex(proof.body)}` }
        : refuse("X-Hub-Signature-256 does not match the body");
    }
    case "grafana": {
      const value = header(check.header);
      if (value === undefined) return refuse(`the ${check.header} header is missing`);
      const signature = hexBytes(value.trim());
      if (!signature) return refuse(`${check.header} must be a hex digest`);
      let data = proof.body;
      if (check.timestampHeader) {
        const timestamp = header(check.timestampHeader);
        const problem = timestampProblem(timestamp, check.timestampHeader, nowMs);
        if (problem) return refuse(problem);
        data = concat(`${timestamp?.trim()}:`, proof.body);
      }
      // What the signature covers names the delivery: the timestamp and the body, or the body.
      return (await verify(signature, data))
        ? { ok: true, identity: `signed:${await sha256Hex(data)}` }
        : refuse(`${check.header} does not match the body`);
    }
    case "standardWebhooks": {
      const id = header("webhook-id");
      const timestamp = header("webhook-timestamp");
      const signatures = header("webhook-signature");
      if (!id || signatures === undefined) {
        return refuse("Standard Webhooks headers webhook-id and webhook-signature are required");
      }
      const problem = timestampProblem(timestamp, "webhook-timestamp", nowMs);
      if (problem) return refuse(problem);
      const data = concat(`${id}.${timestamp?.trim()}.`, proof.body);
      const candidates = signatures.trim().split(/\s+/).slice(0, MAX_SIGNATURES);
      for (const candidate of candidates) {
        const [version, encoded] = candidate.split(",", 2);
        const signature = version === "v1" && encoded ? base64Bytes(encoded) : undefined;
        if (signature && (await verify(signature, data))) return { ok: true, identity: `webhook-id:${id}` };
      }
      return refuse("no webhook-signature matches the body");
    }
  }
}
