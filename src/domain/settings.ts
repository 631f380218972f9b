/** Settings every runtime passes the same way: vars and secrets of the service (CONTRACT §2). */
export interface Settings {
  CATTLE_URL: string;
  CATTLE_ACCESS_KEY: string;
  CATTLE_SECRET_KEY: string;
  WEBHOOK_SIGNING_KEYS: string;
}
