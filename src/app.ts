import type { ExecutionContext } from "hono";
import { getPath } from "hono/utils/url";
import { errorResponse } from "./api/errors";
import { API_PREFIX } from "./api/resources";
import { serviceApp } from "./app-base";
import type { Platform } from "./domain/ports";
import type { Settings } from "./domain/settings";
import { managementApp } from "./management-app";
import { triggerRoutes } from "./routes/trigger";
import { lazy } from "./util/lazy";

const TRIGGER_PATH = `${API_PREFIX}/endpoint`;

/**
 * The service, whatever runs it: `platformOf` gives each request its runtime's storage and
 * targets (src/index.ts for Cloudflare, src/deno.ts for Deno).
 *
 * Triggers are the hot path, called from anywhere with no ambient credentials: they go to an app
 * of their own that routes that one path and has none of the management's middleware (the page's
 * headers, method listings, cross-site checks). Everything else goes to the management app,
 * built on its first request, so that a Worker started by a trigger does not build the page's and
 * the API's routes first.
 */
export function createApp<B extends Settings>(platformOf: (bindings: B) => Platform) {
  const triggers = serviceApp(platformOf, errorResponse).route(TRIGGER_PATH, triggerRoutes);
  const management = lazy(() => managementApp(platformOf));

  return {
    fetch(request: Request, env: B, executionCtx?: ExecutionContext): Promise<Response> {
      const path = getPath(request);
      if (request.method === "POST" && (path === TRIGGER_PATH || path === `${TRIGGER_PATH}/`)) {
        return Promise.resolve(triggers.fetch(request, env, executionCtx));
      }
      return Promise.resolve(management().fetch(request, env, executionCtx));
    },
  };
}
