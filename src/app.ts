import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import type { AppEnv } from "./api/app-env";
import { ApiError, ConfigurationError, errorResponse } from "./api/errors";
import { API_PREFIX, publicOrigin } from "./api/resources";
import type { Platform } from "./domain/ports";
import type { Settings } from "./domain/settings";
import { rejectCrossSite } from "./middleware/cross-site";
import { isPagePath, pageErrorResponse, wantsPage } from "./page/error-page";
import { pageHeaders, pageRoutes } from "./page/routes";
import { apiRoot } from "./routes/api-root";
import { receiverRoutes } from "./routes/receivers";
import { triggerRoutes } from "./routes/trigger";
import { SigningKeyError } from "./tokens/signing";

/**
 * The service, whatever runs it: `platformOf` gives each request its runtime's storage and
 * targets (src/index.ts for Cloudflare, src/deno.ts for Deno).
 */
export function createApp<B extends Settings>(platformOf: (bindings: B) => Platform) {
  // Trailing slashes are accepted on every path, as Rancher's clients sometimes send them.
  const app = new Hono<AppEnv>({ strict: false });

  // One error, two forms: a page for a browser on the page's routes, the envelope everywhere else.
  const answer = (c: Context<AppEnv>, error: ApiError) =>
    wantsPage(c) ? pageErrorResponse(c, error) : errorResponse(c, error);

  app.use(async (c, next) => {
    c.set("platform", platformOf(c.env as B));
    await next();
    // go-rancher's client loads its schemas from this header (CONTRACT §11).
    if (c.res.headers.get("content-type")?.startsWith("application/json")) {
      c.res.headers.set("x-api-schemas", `${publicOrigin(c)}${API_PREFIX}/schemas`);
    }
    // Rancher's UI asks not to be challenged: a 401 then makes no browser prompt for a password.
    if (c.res.status === 401 && c.req.header("x-api-no-challenge")?.toLowerCase() === "true") {
      c.res.headers.delete("www-authenticate");
    }
  });

  // Trigger URLs first: the hot path, called from anywhere with no ambient credentials, needs none
  // of the middleware below (the page's headers, method listings, cross-site checks), and a route
  // that answers ends the chain before it.
  app.route(`${API_PREFIX}/endpoint`, triggerRoutes);

  const securePage = pageHeaders();
  app.use((c, next) => (isPagePath(c.req.path) ? securePage(c, next) : next()));

  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, allowed) =>
        answer(
          c,
          new ApiError(405, "MethodNotAllowed", `${c.req.method} is not allowed here`, undefined, {
            allow: allowed.join(", "),
          }),
        ),
    }),
  );

  // Everything but trigger URLs (routed above) can be reached by a signed-in browser and must not be
  // changed from another site.
  app.use(rejectCrossSite());

  app.route(`${API_PREFIX}/receivers`, receiverRoutes);
  app.route(API_PREFIX, apiRoot);
  app.route("/", pageRoutes);

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
