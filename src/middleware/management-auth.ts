import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import { type Access, authorize, type Caller, parseBasic, type Refusal } from "../access/authorize";
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

/** The caller's Basic credentials, or 401 with the challenge that makes a browser ask for them. */
export function credentialsOf(c: Context): CattleCredentials {
  const credentials = parseBasic(c.req.header("authorization"));
  if (!credentials) throw unauthorized();
  return credentials;
}

/** The caller for an environment, or the answer that refuses it. */
export async function callerFor(c: Context<AppEnv>, credentials: CattleCredentials, projectId: string) {
  return orThrow(
    await authorize(c.env, credentials, projectId),
    () => new ApiError(403, "Forbidden", `this API key cannot access environment ${projectId}`),
  );
}

/** Whether the caller may change receivers; a refusal to even ask is answered as such. */
export async function canWrite(caller: Caller): Promise<boolean> {
  return orThrow(await caller.canWrite(), () => new ApiError(403, "Forbidden", "this API key was refused"));
}

/** Receivers change only for keys that can update services in the environment. */
export async function assertCanWrite(caller: Caller): Promise<void> {
  if (!(await canWrite(caller))) {
    throw new ApiError(
      403,
      "Forbidden",
      `this API key cannot change services in environment ${caller.projectId}`,
    );
  }
}

/**
 * Management requests authenticate with the caller's own Rancher API key. The environment comes
 * only from `?projectId=`, and every storage key below is scoped by it, so a key for one
 * environment cannot reach another's receivers.
 */
export const managementAuth = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  const credentials = credentialsOf(c);
  const { projectId } = parseOrThrow(projectQuery(), { projectId: c.req.query("projectId") });
  c.set("caller", await callerFor(c, credentials, projectId));
  await next();
};

/** For routes that change receivers. */
export const requireWrite = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  await assertCanWrite(c.get("caller"));
  await next();
};
