import { mkdirSync } from "node:fs";
import { buildSync } from "esbuild";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
// @ts-expect-error: a plain ESM script shared with `npm run dev`
import { newSigningKeySet } from "../../scripts/signing-key.mjs";

const OUT_DIR = ".wrangler/e2e";

/** The service and the Cattle emulator as real HTTP servers on loopback, configured from wrangler.toml. */
export interface LocalStack {
  /** Where the webhook service listens, e.g. http://127.0.0.1:41234 */
  url: URL;
  /** A request to the emulator (which the service reaches as http://127.0.0.1:8788). */
  emulator(path: string, init?: RequestInit): Promise<Response>;
  dispose(): Promise<void>;
}

function bundle(entry: string, name: string): string {
  mkdirSync(OUT_DIR, { recursive: true });
  const outfile = `${OUT_DIR}/${name}.js`;
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

export async function startLocalStack(): Promise<LocalStack> {
  const hooks = unstable_getMiniflareWorkerOptions("wrangler.toml").workerOptions;
  const emulator = unstable_getMiniflareWorkerOptions("emulator/wrangler.toml").workerOptions;
  const signingKeys = JSON.stringify(await newSigningKeySet("e2e"));
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    workers: [
      {
        ...hooks,
        name: "rancher-hooks",
        modules: true,
        scriptPath: bundle("src/index.ts", "hooks"),
        // The service calls CATTLE_URL with plain fetch; here every such call lands on the emulator.
        outboundService: "cattle-emulator",
        bindings: {
          ...hooks.bindings,
          CATTLE_URL: "http://127.0.0.1:8788",
          CATTLE_ACCESS_KEY: "dev-access",
          CATTLE_SECRET_KEY: "dev-secret",
          WEBHOOK_SIGNING_KEYS: signingKeys,
        },
      },
      {
        ...emulator,
        name: "cattle-emulator",
        modules: true,
        scriptPath: bundle("emulator/src/index.ts", "emulator"),
      },
    ],
  });
  const url = await mf.ready;
  const emulatorWorker = await mf.getWorker("cattle-emulator");
  return {
    url,
    emulator: (path, init) =>
      emulatorWorker.fetch(`http://127.0.0.1:8788${path}`, init as never) as unknown as Promise<Response>,
    dispose: () => mf.dispose(),
  };
}
