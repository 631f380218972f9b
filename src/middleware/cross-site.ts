import type { MiddlewareHandler } from "hono";
import { ApiError } from "../api/errors";
import { publicOrigin } from "../api/resources";

const UNSAFE = /^(POST|PUT|PATCH|DELETE)$/;

/**
 * Refuses state-changing requests that a browser says come from another site. A browser that has
 * signed in to the page keeps sending its Basic credentials, so without this a foreign page could
 * post a form here in the user's name. Scripts and curl send neither header and pass; hono's csrf()
 * refuses those too (no Origin on a form-encoded body), which would break `curl -d` and DELETE.
 */
export const rejectCrossSite = (): MiddlewareHandler => async (c, next) => {
  if (UNSAFE.test(c.req.method)) {
    const site = c.req.header("sec-fetch-site");
    const origin = c.req.header("origin");
    // Fetch metadata is the browser's own verdict and wins (the page's no-referrer policy makes its
    // own form posts say Origin: null); Origin is the fallback for browsers without it.
    const crossSite =
      site !== undefined
        ? site !== "same-origin" && site !== "none"
        : origin !== undefined && origin !== publicOrigin(c) && origin !== new URL(c.req.url).origin;
    if (crossSite) throw new ApiError(403, "Forbidden", "cross-site requests cannot change receivers");
  }
  await next();
};
