/** Settings every runtime passes the same way: vars and secrets of the service (CONTRACT §2). */
export interface Settings {
  CATTLE_URL: string;
  CATTLE_ACCESS_KEY: string;
  CATTLE_SECRET_KEY: string;
  WEBHOOK_SIGNING_KEYS: string;
  /**
   * The public origin of the service (`https://hooks.example.com`): when set, every URL the service
   * returns is built from it, and `X-Forwarded-*` and `Host` are not trusted for that (CONTRACT §2).
   */
  PUBLIC_URL?: string;
  /**
   * The PEM public key of a Rancher webhook-service being replaced, so that its RS256 `?token=`
   * URLs of imported receivers keep working (CONTRACT §12).
   */
  LEGACY_RSA_PUBLIC_KEY?: string;
}
