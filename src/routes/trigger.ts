import { type Context, Hono } from "hono";
import type { AppEnv } from "../api/app-env";
import { ApiError } from "../api/errors";
import { executionResource } from "../api/resources";
import { readDelivery } from "../delivery/facts";
import type { Delivery } from "../domain/delivery";
import { continuesAfterAnswer } from "../domain/execution";
import { RESOURCE_ID } from "../domain/ids";
import type { Project, TriggerResult } from "../domain/ports";
import { driverNamed } from "../drivers";
import { limitBody } from "../middleware/body";
import { verifyLegacyToken } from "../tokens/legacy";
import { signingKeys } from "../tokens/signing";
import { sha256Hex } from "../util/sha256";

/** How long a sender told the receiver is busy waits before it tries again. */
const RETRY_AFTER_SECONDS = 2;

/** One answer for every token that must not work, so a caller learns nothing about why. */
const REFUSED = () =>
  new ApiError(403, "Forbidden", "this trigger URL is not valid (deleted, regenerated or forged)");

/** What a trigger URL names: a receiver at a version, in its target, with the config it reads bodies by. */
interface Route {
  receiverId: string;
  target: string;
  version: number;
  driver: string;
  config: Record<string, unknown>;
  /** Whether the receiver checks its sender: the raw request then goes to the target. */
  sender: boolean;
}

/**
 * The receiver an original webhook-service URL of an imported one triggers (`?key=`, or the `uuid`
 * of an RS256 `?token=`). The environment's object holds the mapping, so KV's eventual
 * consistency never decides it, and it stops at once on delete and regenerate.
 */
async function legacyRoute(c: Context<AppEnv>, projectId: string, secret: string): Promise<Route | null> {
  if (!RESOURCE_ID.test(projectId)) return null;
  const digest = await sha256Hex(secret);
  let route: Awaited<ReturnType<Project["legacyRoute"]>>;
  try {
    route = await c.get("platform").project(projectId).legacyRoute(digest);
  } catch (error) {
    // The environment's object could not answer (over Deno KV, its holder stopped or did not take
    // the call in time): nothing was decided or recorded, so the sender is told to try again.
    console.error("environment object unavailable", error instanceof Error ? error.message : "unknown error");
    throw new ApiError(503, "ServiceUnavailable", "the receiver is busy; try again", undefined, {
      "retry-after": String(RETRY_AFTER_SECONDS),
    });
  }
  return route ? { ...route, sender: false } : null;
}

/**
 * `POST /v1-webhooks/endpoint?token=…`. The hot path: verify the token's signature locally, then
 * one call to the target Durable Object, which alone decides whether the receiver is still live.
 * No KV read, so KV's eventual consistency never decides a trigger. The original's URLs of imported
 * receivers (`?key=…&projectId=…`, RS256 `?token=…`) take one more object call to find their receiver.
 */
export const triggerRoutes = new Hono<AppEnv>().post("/", limitBody(), async (c) => {
  // One pass over the query string, not one per parameter: a token makes it long.
  const { token, key, projectId } = c.req.query() as Partial<Record<string, string>>;
  let route: Route | null = null;
  if (token) {
    const claims = await (await signingKeys(c.env.WEBHOOK_SIGNING_KEYS)).verify(token);
    if (claims) {
      if (projectId !== undefined && projectId !== claims.pid) throw REFUSED();
      route = {
        receiverId: claims.sub,
        target: claims.tgt,
        version: claims.ver,
        driver: claims.drv,
        config: claims.cfg,
        sender: claims.snd === true,
      };
    } else if (c.env.LEGACY_RSA_PUBLIC_KEY) {
      const legacy = await verifyLegacyToken(token, c.env.LEGACY_RSA_PUBLIC_KEY);
      if (legacy && (projectId === undefined || projectId === legacy.projectId)) {
        route = await legacyRoute(c, legacy.projectId, legacy.uuid);
      }
    }
  } else if (key) {
    if (!projectId) {
      throw new ApiError(400, "MissingRequired", "a trigger URL with a key needs its projectId", "projectId");
    }
    route = await legacyRoute(c, projectId, key);
  } else {
    throw new ApiError(400, "MissingRequired", "the trigger URL has no token", "token");
  }
  if (!route) throw REFUSED();

  // Signatures cover the bytes as sent, so the body is read once as bytes and decoded from them.
  // A request without a body (curl -X POST, most scripts) is not read: reading takes a turn of I/O.
  const bytes = c.req.raw.body ? new Uint8Array(await c.req.arrayBuffer()) : new Uint8Array();
  const body = bytes.byteLength === 0 ? "" : new TextDecoder().decode(bytes);
  const readBody = driverNamed(route.driver)?.readDelivery;
  // Headers as a plain object only for those that read them: a sender check, a registry's format.
  const headers = route.sender || readBody ? Object.fromEntries(c.req.raw.headers) : {};
  const facts = readDelivery(c.req.raw.headers, body);
  // The driver and its config come from the signed token, so a body cannot choose how it is read.
  const reading = readBody?.(route.config as never, body, headers);
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
    const proof = route.sender ? { headers, body: bytes } : undefined;
    result = await c
      .get("platform")
      .target(route.target)
      .trigger(route.receiverId, route.version, delivery, proof);
  } catch (error) {
    console.error("target object unavailable", error instanceof Error ? error.message : "unknown error");
    result = {
      kind: "unavailable",
      message: "the receiver is busy; try again",
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    };
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
