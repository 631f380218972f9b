import { defineConfig } from "vitest/config";

// With vitest itself running on Deno (`npm test` does both): the pure modules' tests beside their
// code, the target core over the SQLite the Deno adapter uses, with a fake Cattle and a fake
// clock, and the ports' conformance suite over the cores and over the Deno platform's objects.
// Forked workers are Deno processes too; the thread pool's teardown is not implemented on Deno.
export default defineConfig({
  test: {
    name: "deno",
    // The service's JSON event lines, as in the Node run (vitest.config.ts): tests that check them
    // read console directly.
    onConsoleLog: (log) => !log.startsWith('{"level":'),
    include: [
      "src/**/*.test.ts",
      "test/core/**/*.test.ts",
      "test/conformance/sqlite.test.ts",
      "test/conformance/deno.test.ts",
      "test/conformance/deno-kv.test.ts",
    ],
    environment: "node",
    pool: "forks",
    // Files that share nothing (fake clocks, in-memory databases), and the run has the machine to
    // itself: a file on each core (vitest's default leaves one core idle).
    maxWorkers: "100%",
  },
});
