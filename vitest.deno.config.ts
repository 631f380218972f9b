import { defineConfig } from "vitest/config";

// With vitest itself running on Deno (`npm test` does both): the pure modules' tests beside their
// code, and the target core over the SQLite the Deno adapter uses, with a fake Cattle and a fake
// clock. Forked workers are Deno processes too; the thread pool's teardown is not implemented on Deno.
export default defineConfig({
  test: {
    name: "deno",
    include: ["src/**/*.test.ts", "test/core/**/*.test.ts"],
    environment: "node",
    pool: "forks",
  },
});
