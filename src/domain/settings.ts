/**
 * What `CATTLE` must offer: a `fetch` such as a Workers service binding's. Declared here rather than
 * as the Workers `Fetcher` type so that the Deno runtime, which has no bindings, shares these settings.
 */
export interface CattleFetcher {
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
}

/** Settings every runtime passes the same way: vars and secrets of the service (docs/configuration.md). */
export interface Settings {
  CATTLE_URL: string;
  CATTLE_ACCESS_KEY: string;
  CATTLE_SECRET_KEY: string;
  WEBHOOK_SIGNING_KEYS: string;
  /**
   * The public origin of the service (`https://hooks.example.com`): when set, every URL the service
   * returns is built from it, and `X-Forwarded-*` and `Host` are not trusted for that (docs/configuration.md).
   */
  PUBLIC_URL?: string;
  /**
   * The PEM public key of a Rancher webhook-service being replaced, so that its RS256 `?token=`
   * URLs of imported receivers keep working (docs/migrating.md).
   */
  LEGACY_RSA_PUBLIC_KEY?: string;
  /**
   * A binding every Cattle request goes through instead of the open Internet: in production a
   * Workers VPC Service that reaches Rancher through a Cloudflare Tunnel (docs/private-rancher.md).
   * Request URLs are still built from `CATTLE_URL`, which may then name a host only the tunnel resolves.
   */
  CATTLE?: CattleFetcher;
  /**
   * A Cloudflare Access service token for a Rancher published behind Access: when both are set,
   * every Cattle request carries them as `CF-Access-Client-Id` and `CF-Access-Client-Secret`.
   * One without the other is a configuration error.
   */
  CATTLE_ACCESS_CLIENT_ID?: string;
  CATTLE_ACCESS_CLIENT_SECRET?: string;
}

/** The deployment's settings are wrong (not the request): logged as such, answered as a bare 500. */
export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}
