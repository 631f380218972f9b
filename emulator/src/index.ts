import { Hono } from "hono";
import { deliver, landed } from "./connection";
import { ApiError, BASIC_CHALLENGE, errorEnvelope } from "./errors";
import type { AppEnv } from "./http";
import { gate } from "./middleware";
import { genericObjects } from "./routes/generic-objects";
import { hosts } from "./routes/hosts";
import { projects } from "./routes/projects";
import { readOnly } from "./routes/read-only";
import { schemas } from "./routes/schemas";
import { services } from "./routes/services";
import { testHooks } from "./routes/test-hooks";

export { CattleState } from "./cattle-state";

const app = new Hono<AppEnv>({ strict: false });

app.route("/_emulator", testHooks);

app.use("/v2-beta/*", gate);
app.route("/v2-beta", projects);
// Project-scoped routes, and the same routes un-scoped (the project then comes from X-API-Project-Id).
for (const prefix of ["/v2-beta/projects/:pid", "/v2-beta"]) {
  app.route(prefix, schemas);
  app.route(prefix, services);
  app.route(prefix, hosts);
  app.route(prefix, genericObjects);
  app.route(prefix, readOnly);
}

app.notFound(() => {
  throw new ApiError(404, "NotFound", "Not Found");
});

app.onError((error, c) => {
  const known =
    error instanceof ApiError ? error : new ApiError(500, "InternalError", "Internal Server Error");
  if (!(error instanceof ApiError)) console.error("emulator: unexpected error", error);
  if (known.status === 401 && c.req.header("x-api-no-challenge")?.toLowerCase() !== "true") {
    c.header("WWW-Authenticate", BASIC_CHALLENGE);
  }
  return c.json(
    errorEnvelope({
      status: known.status,
      code: known.code,
      message: known.message,
      fieldName: known.fieldName,
    }),
    known.status as 400,
  );
});

export default {
  // Outside Hono, so that a write taken by the dropCount fault can end without any answer, and so that
  // a write's flight ends however its exchange does.
  fetch: async (request, env, ctx) => {
    try {
      return await deliver(request, await app.fetch(request, env, ctx));
    } finally {
      await landed(request);
    }
  },
} satisfies ExportedHandler<AppEnv["Bindings"]>;
