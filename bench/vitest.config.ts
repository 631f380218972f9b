import { defineConfig } from "vitest/config";
import testConfig from "../vitest.config";

/**
 * `vitest bench` for the trigger path inside workerd. It borrows the "workers" project of the test
 * configuration (the worker under test, its bindings and the emulator as auxiliary worker) so the
 * bench always runs what the tests run, and lists no test files: `npm test` never sees the bench,
 * and this configuration runs only the bench.
 */
const workers = testConfig.test?.projects?.find(
  (project) => typeof project === "object" && "test" in project && project.test?.name === "workers",
);
if (typeof workers !== "object" || !("plugins" in workers)) {
  throw new Error('vitest.config.ts has no "workers" project to borrow for the bench');
}

export default defineConfig({
  root: new URL("..", import.meta.url).pathname,
  plugins: workers.plugins,
  test: {
    name: "bench",
    include: [],
    benchmark: { include: ["bench/**/*.bench.ts"] },
  },
});
