import { Hono } from "hono";
import type { AppEnv } from "../api/app-env";
import { ApiError } from "../api/errors";
import { executionResource } from "../api/resources";
import { readDelivery } from "../delivery/facts";
import type { Delivery } from "../domain/delivery";
import { continuesAfterAnswer } from "../domain/execution";
import type { TriggerResult } from "../domain/ports";
import { driverNamed } from "../drivers";
import { limitBody } from "../middleware/body";
import { signingKeys } from "../tokens/signing";
import { sha256Hex } from "../util/sha256";

/** One answer for every token that must not work, so a caller learns nothing about why. */
const REFUSED = () =>
  new ApiError(403, "Forbidden", "this trigger URL is not valid (deleted, regenerated or forged)");

/**
 * `POST /v1-webhooks/endpoint?token=…`. The hot path: verify the token's signature locally, then
 * one call to the target Durable Object, which alone decides whether the receiver is still live.
 * No KV read, so KV's eventual consistency never decides a trigger.
 */
export const triggerRoutes = new Hono<AppEnv>().post("/", limitBody(), async (c) => {
  const token = c.req.query("token");
  if (!token) throw new ApiError(400, "MissingRequired", "the trigger URL has no token", "token");
  const keys = await signingKeys(c.env.WEBHOOK_SIGNING_KEYS);
  const claims = await keys.verify(token);
  if (!claims) throw REFUSED();
  const projectId = c.req.query("projectId");
  if (projectId !== undefined && projectId !== claims.pid) throw REFUSED();

  // Signatures cover the bytes as sent, so the body is read once as bytes and decoded from them.
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  const body = new TextDecoder().decode(bytes);
  const headers = Object.fromEntries(c.req.raw.headers);
  const facts = readDelivery(c.req.raw.headers, body);
  // The driver and its config come from the signed token, so a body cannot choose how it is read.
  const reading = driverNamed(claims.drv)?.readDelivery?.(claims.cfg as never, body, headers);
  if (reading && !reading.ok) throw new ApiError(400, "InvalidFormat", reading.message);
  // A registry's own name for the push comes first: a replayed push with a fresh header is the same push.
  const identity =
    reading?.ok && reading.identity ? { source: "push", value: reading.identity } : facts.identity;
  const delivery: Delivery = {
    ...(reading?.delivery ?? {}),
    signal: facts.signal,
    ...(identity ? { identityKey: await sha256Hex(`${identity.source}\n${identity.value}`) } : {}),
    ...(facts.alertName ? { alertName: facts.alertName } : {}),
    ...(facts.alertStatus ? { alertStatus: facts.alertStatus } : {}),
    ...(c.req.header("user-agent") ? { userAgent: c.req.header("user-agent")?.slice(0, 200) } : {}),
  };

  let result: TriggerResult;
  try {
    // Only a receiver that checks its sender needs the raw request; the target refuses a
    // delivery without proof all the same, so a token cannot skip the check.
    const proof = claims.snd ? { headers, body: bytes } : undefined;
    result = await c.get("platform").target(claims.tgt).trigger(claims.sub, claims.ver, delivery, proof);
  } catch (error) {
    console.error("target object unavailable", error instanceof Error ? error.message : "unknown error");
    result = { kind: "unavailable", message: "the receiver is busy; try again", retryAfterSeconds: 2 };
  }
  switch (result.kind) {
    case "decided":
      // `queued` and `pending` work goes on after the answer: 202 Accepted says so.
      return c.json(
        executionResource(result.execution),
        continuesAfterAnswer(result.execution.outcome) ? 202 : 200,
      );
    case "revoked":
      throw REFUSED();
    case "unverified":
      throw new ApiError(
        401,
        "Unauthorized",
        `sender verification failed: ${result.reason}`,
        undefined,
        result.challenge ? { "www-authenticate": result.challenge } : undefined,
      );
    case "unavailable":
      throw new ApiError(503, "ServiceUnavailable", result.message, undefined, {
        "retry-after": String(result.retryAfterSeconds),
      });
  }
});
