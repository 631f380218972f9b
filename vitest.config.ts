import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { buildSync } from "esbuild";
import { defineConfig } from "vitest/config";
// @ts-expect-error: a plain ESM script shared with `npm run dev`
import { newSigningKeySet } from "./scripts/signing-key.mjs";

// The Cattle emulator runs beside the worker under test as an auxiliary worker, which miniflare
// loads as plain JavaScript: bundle it first.
buildSync({
  entryPoints: ["emulator/src/index.ts"],
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  external: ["cloudflare:*"],
  outfile: "emulator/dist/index.js",
  logLevel: "warning",
});

const signingKeys = JSON.stringify(await newSigningKeySet("test-key"));

export default defineConfig({
  test: {
    // The service's JSON event lines (src/util/log.ts), one per execution and Cattle failure, would
    // bury every test's own output; tests that check them read console directly.
    onConsoleLog: (log) => !log.startsWith('{"level":'),
    projects: [
      {
        // Unit, integration and Durable Object tests, and the ports' conformance suite over the
        // Durable Objects' stubs, inside workerd.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // Every outbound fetch of the worker under test (and of the tests) lands on the
              // emulator: no test can reach a real network.
              outboundService: "cattle-emulator",
              bindings: {
                CATTLE_URL: "http://127.0.0.1:8788",
                CATTLE_ACCESS_KEY: "service-access",
                CATTLE_SECRET_KEY: "service-secret",
                WEBHOOK_SIGNING_KEYS: signingKeys,
                // The property tests' seed, when a failure is to be repeated (printed by every run).
                FUZZ_SEED: process.env.FUZZ_SEED ?? "",
              },
              workers: [
                {
                  name: "cattle-emulator",
                  modules: true,
                  scriptPath: "emulator/dist/index.js",
                  compatibilityDate: "2026-04-20",
                  // As emulator/wrangler.toml: a caller's cancelled request ends its write's flight.
                  compatibilityFlags: ["enable_request_signal"],
                  bindings: { EMULATOR_TRANSITION_MS: "300" },
                  durableObjects: { CATTLE: { className: "CattleState", useSQLite: true } },
                },
              ],
            },
          }),
        ],
        test: {
          name: "workers",
          // The timing-sensitive emulator and Durable Object tests never share the machine's cores:
          // files that run one at a time with groupOrder 0 are a group of their own for vitest, run
          // after every other group (the node project's, then the browser and Alertmanager tests).
          sequence: { groupOrder: 0 },
          include: [
            "src/**/*.test.ts",
            "test/integration/**/*.test.ts",
            "test/emulator/**/*.test.ts",
            "test/conformance/workerd.test.ts",
          ],
          // One emulator serves every test file: run files one at a time so resets do not collide.
          fileParallelism: false,
          testTimeout: 30_000,
        },
      },
      {
        // Plain Node: the target core with a fake Cattle and a fake clock, the deterministic
        // simulation (docs/simulation.md), and checks of the source tree.
        test: {
          name: "node",
          sequence: { groupOrder: 0 },
          environment: "node",
          // Files that share nothing (fake clocks, in-memory databases, directories of their own): a
          // file on each core (vitest's default leaves one core to itself, idle while these run alone).
          maxWorkers: "100%",
          // The target core over node:sqlite, the ports' conformance suite over the cores (Deno runs
          // the same tests: `npm test` does both), and the simulator's fixed seeds.
          include: [
            "test/repo/**/*.test.ts",
            "test/core/**/*.test.ts",
            "test/conformance/sqlite.test.ts",
            "test/sim/**/*.test.ts",
          ],
        },
      },
      {
        // End-to-end tests in Node: the service and the emulator over real HTTP, with real senders.
        test: {
          name: "e2e",
          sequence: { groupOrder: 1 },
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
