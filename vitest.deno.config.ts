import { defineConfig } from "vitest/config";

// The core's unit tests again, with vitest itself running on Deno (`npm test` does both): the
// drivers, validation, tokens and sender checks behave the same on either runtime. Forked workers
// are Deno processes too; the thread pool's teardown is not implemented on Deno.
export default defineConfig({
  test: {
    name: "deno",
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
    pool: "forks",
  },
});
