// How the service is served on Deno, for `npm run dev:deno` and the end-to-end tests: the npm
// package's launcher (it finds the platform's deno binary) running `deno serve src/deno.ts`.
export const DENO_LAUNCHER = "node_modules/deno/bin.cjs";

/** Node's arguments that serve the service on Deno at 127.0.0.1:`port`. */
export const denoServeArgs = (port) => [
  DENO_LAUNCHER,
  "serve",
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--host",
  "127.0.0.1",
  "--port",
  String(port),
  "src/deno.ts",
];
