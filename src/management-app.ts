import { methodNotAllowed } from "hono/method-not-allowed";
import type { AppEnv } from "./api/app-env";
import { ApiError, errorResponse } from "./api/errors";
import { API_PREFIX } from "./api/resources";
import { type Answer, serviceApp } from "./app-base";
import type { Platform } from "./domain/ports";
import type { Settings } from "./domain/settings";
import { rejectCrossSite } from "./middleware/cross-site";
import { isPagePath, pageErrorResponse, wantsPage } from "./page/error-page";
import { pageHeaders, pageRoutes } from "./page/routes";
import { apiRoot } from "./routes/api-root";
import { healthRoutes } from "./routes/health";
import { metricsRoutes } from "./routes/metrics";
import { receiverRoutes } from "./routes/receivers";
import { triggerRoutes } from "./routes/trigger";

/**
 * Everything but a trigger: the management API, the page, and the answers for other methods on
 * the trigger path. Built on the first request that needs it, not at start-up.
 */
export function managementApp<B extends Settings>(platformOf: (bindings: B) => Platform) {
  // One error, two forms: a page for a browser on the page's routes, the envelope everywhere else.
  const answer: Answer = (c, error) => (wantsPage(c) ? pageErrorResponse(c, error) : errorResponse(c, error));
  const app = serviceApp(platformOf, answer);

  // Listed here too, so that another method on a trigger URL is told which one it takes.
  app.route(`${API_PREFIX}/endpoint`, triggerRoutes);

  const securePage = pageHeaders();
  app.use((c, next) => (isPagePath(c.req.path) ? securePage(c, next) : next()));

  app.use(
    methodNotAllowed<AppEnv>({
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

  // Everything but trigger URLs (answered before this app) can be reached by a signed-in browser
  // and must not be changed from another site.
  app.use(rejectCrossSite());

  app.route(`${API_PREFIX}/health`, healthRoutes);
  app.route(`${API_PREFIX}/receivers`, receiverRoutes);
  app.route(`${API_PREFIX}/metrics`, metricsRoutes);
  app.route(API_PREFIX, apiRoot);
  app.route("/", pageRoutes);
  return app;
}
