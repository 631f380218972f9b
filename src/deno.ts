import { createApp } from "./app";
import type { Settings } from "./domain/settings";
import { denoPlatform } from "./platform/deno";

/**
 * The service on Deno (`deno serve`): the same app as the Worker, with Deno KV for receiver
 * records and in-process objects over SQLite for targets. Settings come from the environment.
 */
function settingsFromEnvironment(): Settings {
  const required = (name: string) => {
    const value = Deno.env.get(name);
    if (!value) throw new Error(`${name} must be set (see README: Running on Deno)`);
    return value;
  };
  return {
    CATTLE_URL: Deno.env.get("CATTLE_URL") ?? "http://127.0.0.1:8788",
    CATTLE_ACCESS_KEY: required("CATTLE_ACCESS_KEY"),
    CATTLE_SECRET_KEY: required("CATTLE_SECRET_KEY"),
    WEBHOOK_SIGNING_KEYS: required("WEBHOOK_SIGNING_KEYS"),
    ...(Deno.env.get("PUBLIC_URL") ? { PUBLIC_URL: Deno.env.get("PUBLIC_URL") } : {}),
    ...(Deno.env.get("LEGACY_RSA_PUBLIC_KEY")
      ? { LEGACY_RSA_PUBLIC_KEY: Deno.env.get("LEGACY_RSA_PUBLIC_KEY") }
      : {}),
  };
}

const settings = settingsFromEnvironment();
const dataDir = Deno.env.get("DATA_DIR");
const platform = await denoPlatform({
  settings,
  ...(dataDir ? { dataDir, kvPath: `${dataDir}/receivers.kv` } : {}),
});
const app = createApp(() => platform);

export default {
  fetch: (request: Request) => app.fetch(request, settings),
} satisfies Deno.ServeDefaultExport;
