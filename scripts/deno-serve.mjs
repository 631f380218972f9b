// How the service is served on Deno, for `npm run dev:deno`, the end-to-end tests and the systemd
// unit of docs/deno-server.md: the npm package's launcher (it finds the platform's deno binary)
// running `deno run src/deno.ts`, which listens where `--host` and `--port` say.
export const DENO_LAUNCHER = "node_modules/deno/bin.cjs";

/** Deno's arguments that run the server, on 127.0.0.1 unless `host` says otherwise. */
export const denoRunArgs = (port, host) => [
  "run",
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "src/deno.ts",
  "--port",
  String(port),
  ...(host === undefined ? [] : ["--host", host]),
];

/** Node's arguments that serve the service on Deno at `port` (127.0.0.1 unless `host` is given). */
export const denoServeArgs = (port, host) => [DENO_LAUNCHER, ...denoRunArgs(port, host)];
