import { Hono } from "hono";
import { ApiError } from "../errors";
import { configPatch, faultsPatch, inboxAnswers, parseOrThrow } from "../faults";
import { type AppEnv, methodNotAllowed, stateOf } from "../http";
import { INBOX_BODY_BYTES } from "../inbox";
import { isPlainObject } from "../validation";

/**
 * Hooks for tests and local development. They need no key and are never delayed, failed or counted,
 * so a test can always reset the world or read the counters whatever faults it injected.
 */
export const testHooks = new Hono<AppEnv>({ strict: false });

async function jsonObject(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError(422, "InvalidFormat", "Body is not valid JSON");
  }
  if (!isPlainObject(parsed)) throw new ApiError(422, "InvalidFormat", "Body must be a JSON object");
  return parsed;
}

testHooks.post("/reset", async (c) => {
  await stateOf(c.env).reset();
  return c.body(null, 204);
});
testHooks.all("/reset", methodNotAllowed);

testHooks.get("/stats", async (c) => c.json(await stateOf(c.env).stats()));
testHooks.all("/stats", methodNotAllowed);

testHooks.get("/faults", async (c) => c.json(await stateOf(c.env).faults()));
testHooks.post("/faults", async (c) => {
  const patch = parseOrThrow(faultsPatch, await jsonObject(c.req.raw));
  return c.json(await stateOf(c.env).setFaults(patch));
});
testHooks.all("/faults", methodNotAllowed);

testHooks.get("/config", async (c) => c.json(await stateOf(c.env).config()));
testHooks.post("/config", async (c) => {
  const patch = parseOrThrow(configPatch, await jsonObject(c.req.raw));
  return c.json(await stateOf(c.env).setConfig(patch));
});
testHooks.all("/config", methodNotAllowed);

/** Emulator-only: put a host straight into a state (`reconnecting`, `disconnected`, `active`, …). */
testHooks.post("/hosts/:id/state", async (c) => {
  const body = await jsonObject(c.req.raw);
  const result = await stateOf(c.env).setHostState(c.req.param("id"), body.state);
  if (!result.ok) throw ApiError.from(result.error);
  const record = result.value;
  return c.json({ id: record.id, state: record.state, agentState: record.data.agentState ?? null });
});
testHooks.all("/hosts/:id/state", methodNotAllowed);

/** Hosts created with a hostname a live host already had (Cattle accepts them), since the last reset. */
testHooks.get("/hosts/duplicates", async (c) => c.json({ data: await stateOf(c.env).duplicateHostnames() }));
testHooks.all("/hosts/duplicates", methodNotAllowed);

const INBOX_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function inboxName(name: string | undefined): string {
  if (!name || !INBOX_NAME.test(name)) {
    throw new ApiError(422, "InvalidFormat", "an inbox name is 1 to 64 letters, digits, - or _");
  }
  return name;
}

testHooks.post("/inbox/:name", async (c) => {
  const inbox = inboxName(c.req.param("name"));
  const body = await c.req.text();
  if (new TextEncoder().encode(body).length > INBOX_BODY_BYTES) {
    throw new ApiError(
      413,
      "RequestEntityTooLarge",
      `an inbox keeps bodies of at most ${INBOX_BODY_BYTES} bytes`,
    );
  }
  const answer = await stateOf(c.env).inboxReceive({
    inbox,
    at: Date.now(),
    headers: Object.fromEntries(c.req.raw.headers),
    body,
  });
  return c.body(answer.body ?? "", answer.status as never, {
    ...(answer.retryAfter === undefined ? {} : { "retry-after": String(answer.retryAfter) }),
  });
});
testHooks.get("/inbox/:name", async (c) =>
  c.json({ data: await stateOf(c.env).inboxMessages(inboxName(c.req.param("name"))) }),
);
testHooks.get("/inbox", async (c) => c.json({ data: await stateOf(c.env).inboxMessages() }));
testHooks.post("/inbox/:name/answers", async (c) => {
  const inbox = inboxName(c.req.param("name"));
  const patch = parseOrThrow(inboxAnswers, await jsonObject(c.req.raw));
  await stateOf(c.env).setInboxAnswers(inbox, patch.answers);
  return c.body(null, 204);
});
