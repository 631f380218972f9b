import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./api/app-env";
import { ApiError, ConfigurationError } from "./api/errors";
import { API_PREFIX, publicOrigin } from "./api/resources";
import { cattleTransport } from "./cattle/client";
import type { Platform } from "./domain/ports";
import type { Settings } from "./domain/settings";
import { isStorageTooNew } from "./storage/migrations";
import { SigningKeyError } from "./tokens/signing";

/** How an app of the service answers an error: the envelope, or a page for a browser. */
export type Answer = (c: Context<AppEnv>, error: ApiError) => Response | Promise<Response>;

/**
 * What every app of the service shares: the runtime's platform on each request, the headers
 * Rancher's clients read, and one handling of errors (an `ApiError` answered as it says, anything
 * else logged without the request's secrets and answered a bare 500).
 */
export function serviceApp<B extends Settings>(
  platformOf: (bindings: B) => Platform,
  answer: Answer,
): Hono<AppEnv> {
  // Trailing slashes are accepted on every path, as Rancher's clients sometimes send them.
  const app = new Hono<AppEnv>({ strict: false });

  app.use(async (c, next) => {
    c.set("platform", platformOf(c.env as B));
    // A half-configured way to Cattle fails every request that needs Cattle: say so at once, on
    // every path, rather than as an outage of Rancher (a ConfigurationError, answered below).
    cattleTransport(c.env);
    await next();
    // go-rancher's client loads its schemas from this header (docs/rancher-ui.md).
    if (c.res.headers.get("content-type")?.startsWith("application/json")) {
      c.res.headers.set("x-api-schemas", `${publicOrigin(c)}${API_PREFIX}/schemas`);
    }
    // Rancher's UI asks not to be challenged: a 401 then makes no browser prompt for a password.
    if (c.res.status === 401 && c.req.header("x-api-no-challenge")?.toLowerCase() === "true") {
      c.res.headers.delete("www-authenticate");
    }
  });

  app.notFound((c) =>
    answer(c, new ApiError(404, "NotFound", `no such path: ${new URL(c.req.url).pathname}`)),
  );

  app.onError((error, c) => {
    if (error instanceof ApiError) return answer(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      return answer(
        c,
        new ApiError(
          error.status === 413 ? 413 : 400,
          error.status === 413 ? "TooLarge" : "InvalidFormat",
          error.message || "bad request",
        ),
      );
    }
    if (isStorageTooNew(error)) {
      // A rollback past a storage change older code cannot run over: the object logged it once
      // (event storage_too_new) and refuses, rather than misread what a newer release wrote.
      return answer(
        c,
        new ApiError(
          503,
          "ServiceUnavailable",
          "this deployment is older than the storage it would use; deploy the newer release again",
          undefined,
          { "retry-after": "60" },
        ),
      );
    }
    if (error instanceof SigningKeyError || error instanceof ConfigurationError) {
      // The deployment's configuration, not the request, is wrong: say which setting, not its value.
      console.error("configuration error:", error.message);
    } else {
      // Unknown errors are bugs: log the message (never a request's secrets), answer a bare 500.
      console.error(
        "unhandled error",
        error instanceof Error ? `${error.name}: ${error.message}` : "non-error thrown",
      );
    }
    return answer(c, new ApiError(500, "InternalError", "internal error"));
  });

  return app;
}
