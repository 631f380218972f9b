// The service and the Cattle emulator as Miniflare workers, configured from their wrangler.toml
// files: what the end-to-end tests and the benchmark run on loopback.
import { mkdirSync } from "node:fs";
import { buildSync } from "esbuild";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { newSigningKeySet } from "./signing-key.mjs";

/** Bundles a worker's entry into `outDir`; Miniflare loads plain JavaScript. */
export function bundle(entry, outDir, name) {
  mkdirSync(outDir, { recursive: true });
  const outfile = `${outDir}/${name}.js`;
  buildSync({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["cloudflare:*"],
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    outfile,
    logLevel: "warning",
  });
  return outfile;
}

/**
 * What a wrangler.toml says of a worker, as Miniflare options: its compatibility date, variables,
 * KV namespaces and Durable Objects. The script is bundled here, so wrangler's module rules (which
 * Miniflare 5 no longer takes) are left out, with everything else this project does not use.
 */
function fromWranglerToml(path) {
  const { compatibilityDate, compatibilityFlags, bindings, kvNamespaces, durableObjects } =
    unstable_getMiniflareWorkerOptions(path).workerOptions;
  return { compatibilityDate, compatibilityFlags, bindings, kvNamespaces, durableObjects };
}

/** The Cattle emulator worker, named `cattle-emulator`. */
export function emulatorWorker(outDir) {
  const emulator = fromWranglerToml("emulator/wrangler.toml");
  return {
    ...emulator,
    name: "cattle-emulator",
    modules: true,
    scriptPath: bundle("emulator/src/index.ts", outDir, "emulator"),
  };
}

/**
 * The webhook service (named `rancher-hooks`, with a fresh signing key) and the emulator. The
 * service calls CATTLE_URL with plain fetch; every such call lands on the emulator.
 */
export async function serviceWorkers(outDir, keyId) {
  const hooks = fromWranglerToml("wrangler.toml");
  return [
    {
      ...hooks,
      name: "rancher-hooks",
      modules: true,
      scriptPath: bundle("src/index.ts", outDir, "hooks"),
      outboundService: "cattle-emulator",
      bindings: {
        ...hooks.bindings,
        CATTLE_URL: "http://127.0.0.1:8788",
        CATTLE_ACCESS_KEY: "service-access",
        CATTLE_SECRET_KEY: "service-secret",
        WEBHOOK_SIGNING_KEYS: JSON.stringify(await newSigningKeySet(keyId)),
      },
    },
    emulatorWorker(outDir),
  ];
}
