import type { Context, MiddlewareHandler } from "hono";
import * as z from "zod";
import {
  type Access,
  authorize,
  type Caller,
  csrfPassed,
  type Presented,
  parseBasic,
  presentedCredentials,
  type Refusal,
} from "../access/authorize";
import type { AppEnv } from "../api/app-env";
import { ApiError, rancherUnavailable, unauthorized } from "../api/errors";
import { parseOrThrow } from "../api/validation";
import type { CattleCredentials } from "../cattle/client";
import { RESOURCE_ID } from "../domain/ids";
import { lazy } from "../util/lazy";

const projectQuery = lazy(() =>
  z.object({ projectId: z.string().regex(RESOURCE_ID, "must be a Rancher id such as 1a5") }),
);

/** A refusal of the access policy as the answer a client gets. */
function refused(refusal: Refusal, forbidden: () => ApiError): ApiError {
  switch (refusal) {
    case "unauthorized":
      return unauthorized();
    case "forbidden":
      return forbidden();
    case "unavailable":
      return rancherUnavailable("to check the API key");
  }
}

const orThrow = <T>(access: Access<T>, forbidden: () => ApiError): T => {
  if (!access.ok) throw refused(access.refusal, forbidden);
  return access.value;
};

/** The page's caller: a Rancher API key from the browser's Basic prompt, or 401 with the challenge for it. */
export function keyOf(c: Context): CattleCredentials {
  const credentials = parseBasic(c.req.header("authorization"));
  if (!credentials) throw unauthorized();
  return credentials;
}

const UNSAFE = /^(POST|PUT|PATCH|DELETE)$/;

/**
 * An API caller's credentials: a Rancher API key, or a Rancher session (bearer token, or the
 * `token` cookie behind Rancher's proxy). A write that the browser authenticated by the cookie must
 * carry Rancher's CSRF header too.
 */
export function presentedOf(c: Context): Presented {
  const cookie = c.req.header("cookie");
  const presented = presentedCredentials(c.req.header("authorization"), cookie);
  if (!presented) throw unauthorized("a Rancher API key (HTTP Basic) or a Rancher session is required");
  if (UNSAFE.test(c.req.method) && !csrfPassed(presented, c.req.header("x-api-csrf"), cookie)) {
    throw new ApiError(
      403,
      "Forbidden",
      "a write with Rancher's session cookie needs X-API-CSRF equal to the CSRF cookie",
    );
  }
  return presented;
}

/** The caller for an environment, or the answer that refuses it. */
export async function callerFor(c: Context<AppEnv>, credentials: CattleCredentials, projectId: string) {
  return orThrow(
    await authorize(c.env, credentials, projectId),
    () => new ApiError(403, "Forbidden", `these credentials cannot access environment ${projectId}`),
  );
}

/** Whether the caller may change receivers; a refusal to even ask is answered as such. */
export async function canWrite(caller: Caller): Promise<boolean> {
  return orThrow(
    await caller.canWrite(),
    () => new ApiError(403, "Forbidden", "these credentials were refused"),
  );
}

/** Receivers change only for keys that can update services in the environment. */
export async function assertCanWrite(caller: Caller): Promise<void> {
  if (!(await canWrite(caller))) {
    throw new ApiError(
      403,
      "Forbidden",
      `these credentials cannot change services in environment ${caller.projectId}`,
    );
  }
}

/**
 * Management requests authenticate with the caller's own Rancher API key. The environment comes
 * only from `?projectId=`, and every storage key below is scoped by it, so a key for one
 * environment cannot reach another's receivers.
 */
export const managementAuth = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  const { credentials } = presentedOf(c);
  const { projectId } = parseOrThrow(projectQuery(), { projectId: c.req.query("projectId") });
  c.set("caller", await callerFor(c, credentials, projectId));
  await next();
};

/** For routes that change receivers. */
export const requireWrite = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  await assertCanWrite(c.get("caller"));
  await next();
};
