// Bindings that only the test runs have (vitest.config.ts), beside the Worker's generated ones
// (types/worker-configuration.d.ts).
declare namespace Cloudflare {
  interface Env {
    /** The seed of the property tests, to repeat a run; empty for a fresh one. */
    FUZZ_SEED?: string;
  }
}

/** Text files the tests read as they are (vite's `?raw`). */
declare module "*?raw" {
  const text: string;
  export default text;
}
