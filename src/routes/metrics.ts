import { Hono } from "hono";
import type { AppEnv } from "../api/app-env";
import { serviceCattle } from "../cattle/client";
import { families, observe } from "../metrics/collect";
import { EXPOSITION_CONTENT_TYPE, exposition } from "../metrics/exposition";
import { managementAuth } from "../middleware/management-auth";

/** How long the check that Cattle answers the service's key may take, within a scrape's timeout. */
const CATTLE_CHECK_MS = 5_000;

/**
 * `/v1-webhooks/metrics?projectId=`: the environment's metrics in Prometheus' text format, for any
 * key that may list its receivers (docs/monitoring.md).
 */
export const metricsRoutes = new Hono<AppEnv>().use(managementAuth()).get("/", async (c) => {
  const { projectId } = c.get("caller");
  const cattle = serviceCattle(c.env)(Date.now() + CATTLE_CHECK_MS);
  const observed = await observe(c.get("platform"), cattle, projectId, Date.now);
  return c.body(exposition(families(observed)), 200, { "content-type": EXPOSITION_CONTENT_TYPE });
});
