import { Hono } from "hono";
import type { AppEnv } from "../api/app-env";
import { type CattleSettings, type RetryPolicy, serviceClient } from "../cattle/client";
import type { Settings } from "../domain/settings";

type HealthSettings = CattleSettings & Pick<Settings, "CATTLE_ACCESS_KEY" | "CATTLE_SECRET_KEY">;

/**
 * How long one answer of Cattle stands for every health request of this isolate (docs/private-rancher.md).
 * The endpoint needs no key, so without this anyone could make the service call Cattle at will.
 */
export const HEALTH_TTL_MS = 5_000;

/** One quick attempt: a probe that waits for retries reports a slow Rancher as a slow service. */
const HEALTH_RETRY: RetryPolicy = { attempts: 1, baseDelayMs: 0, timeoutMs: 3_000 };

interface Check {
  healthy: Promise<boolean>;
  /** Epoch ms after which a new check is made; infinite while this one is in flight. */
  expires: number;
}

/** Per settings object, i.e. per deployment in this isolate: tests and runtimes may hold several. */
const checks = new WeakMap<object, Check>();

/** Whether Cattle answers the service's own key with a success; shared while in flight, then remembered. */
export function cattleHealthy(settings: HealthSettings, now = Date.now()): Promise<boolean> {
  const known = checks.get(settings);
  if (known && known.expires > now) return known.healthy;
  const check: Check = { healthy: Promise.resolve(false), expires: Number.POSITIVE_INFINITY };
  check.healthy = serviceClient(settings, { retry: HEALTH_RETRY })
    .checkCredentials()
    .then(
      (result) => result.ok,
      () => false,
    )
    .then((healthy) => {
      check.expires = Date.now() + HEALTH_TTL_MS;
      return healthy;
    });
  checks.set(settings, check);
  return check.healthy;
}

/**
 * `GET /v1-webhooks/health`, for load balancers and uptime checks: no key, and nothing but the
 * verdict in the body, so it tells a stranger neither where Rancher is nor why it failed.
 */
export const healthRoutes = new Hono<AppEnv>().get("/", async (c) => {
  c.header("cache-control", "no-store");
  return (await cattleHealthy(c.env))
    ? c.json({ status: "ok" }, 200)
    : c.json({ status: "unavailable" }, 503);
});
