import { spawn } from "node:child_process";
import { describe, expect, it, type TestContext } from "vitest";
import { type DevStack, startDev } from "./dev-stack";
import { eventually } from "./local-stack";

/**
 * The private path end to end (docs/private-rancher.md): `npm run dev -- --cattle-binding` runs the
 * service with CATTLE_URL=http://rancher.internal:8080, a name that resolves nowhere, and a CATTLE
 * service binding to the emulator, as a Workers VPC Service would be.
 */

const DEV_KEY = `Basic ${btoa("dev-access:dev-secret")}`;
const ACCESS = {
  CATTLE_ACCESS_CLIENT_ID: "e2e.access",
  CATTLE_ACCESS_CLIENT_SECRET: "e2e-access-secret-0123",
};
const REQUIRE_ACCESS = {
  requireHeaders: {
    "CF-Access-Client-Id": ACCESS.CATTLE_ACCESS_CLIENT_ID,
    "CF-Access-Client-Secret": ACCESS.CATTLE_ACCESS_CLIENT_SECRET,
  },
};
/** How long one health answer stands (src/routes/health.ts), and a little more. */
const HEALTH_TTL_MS = 5_500;

/** `npm run dev` with these options for one test, ended with that test whatever its outcome. */
async function startFor(context: TestContext, options: Parameters<typeof startDev>[0]): Promise<DevStack> {
  const stack = await startDev(options);
  context.onTestFinished(() => stack.dispose());
  return stack;
}

const emulatorHook = async (stack: DevStack, path: string, body?: unknown) => {
  const response = await fetch(`${stack.emulator}/_emulator${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok).toBe(true);
  return response.status === 204 ? null : response.json();
};

async function createReceiver(stack: DevStack) {
  return fetch(`${stack.hooks}/v1-webhooks/receivers?projectId=1a5`, {
    method: "POST",
    headers: { authorization: DEV_KEY, "content-type": "application/json" },
    body: JSON.stringify({
      name: `private-${Date.now().toString(36)}`,
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 10 },
    }),
  });
}

const trigger = (url: string) => fetch(url, { method: "POST" });
const scaleOf = async (stack: DevStack) => {
  const response = await fetch(`${stack.emulator}/v2-beta/projects/1a5/services/1s1`, {
    headers: { authorization: DEV_KEY, ...REQUIRE_ACCESS.requireHeaders },
  });
  return ((await response.json()) as { scale: number }).scale;
};
/** A new receiver of service 1s1 (at scale 1), and its first trigger applied: 1s1 is at 2. */
async function appliedReceiver(stack: DevStack): Promise<{ url: string }> {
  const created = await createReceiver(stack);
  expect(created.status).toBe(201);
  const receiver = (await created.json()) as { url: string };
  const answer = await trigger(receiver.url);
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({ outcome: "applied", from: 1, to: 2 });
  expect(await scaleOf(stack)).toBe(2);
  return receiver;
}

const health = async (stack: DevStack) => {
  const response = await fetch(`${stack.hooks}/v1-webhooks/health`);
  return [response.status, await response.json()];
};

// Each test has a stack of its own and spends most of its time waiting for it to start and for the
// health answer to expire: they run at the same time.
describe.concurrent("npm run dev -- --cattle-binding", () => {
  it("applies a trigger through the binding: the emulator was asked for rancher.internal:8080 only", async (context) => {
    const stack = await startFor(context, { flags: ["--cattle-binding"] });
    await emulatorHook(stack, "/reset", {});
    const receiver = await appliedReceiver(stack);
    const stats = (await emulatorHook(stack, "/stats")) as { total: number; hosts: Record<string, number> };
    // Every request of the service named the private host; only the test's own read came direct.
    expect(Object.keys(stats.hosts).sort()).toEqual(
      [new URL(stack.emulator).host, "rancher.internal:8080"].sort(),
    );
    expect(stats.hosts[new URL(stack.emulator).host]).toBe(1);
    expect(stats.hosts["rancher.internal:8080"]).toBe(stats.total - 1);
    expect(await health(stack)).toEqual([200, { status: "ok" }]);

    // Rancher put behind Access: this stack has no service token, so nothing gets through.
    await emulatorHook(stack, "/config", REQUIRE_ACCESS);
    const refused = await trigger(receiver.url);
    expect([refused.status, await refused.json()]).toMatchObject([200, { outcome: "failed" }]);
    expect(await scaleOf(stack)).toBe(2);
    expect(
      await eventually(
        "health to report Cattle unavailable",
        async () => {
          const [status] = await health(stack);
          return status === 503 ? status : undefined;
        },
        HEALTH_TTL_MS * 3,
      ),
    ).toBe(503);
    expect(await health(stack)).toEqual([503, { status: "unavailable" }]);
    expect((await createReceiver(stack)).status).not.toBe(201);
  });

  it("with CATTLE_ACCESS_CLIENT_ID/SECRET in its environment, gets through Access", async (context) => {
    const stack = await startFor(context, { flags: ["--cattle-binding"], env: ACCESS });
    expect(stack.output()).toContain("every Cattle request carries the Access service token");
    // Neither value is printed.
    expect(stack.output()).not.toContain(ACCESS.CATTLE_ACCESS_CLIENT_SECRET);
    await emulatorHook(stack, "/reset", {});
    await emulatorHook(stack, "/config", REQUIRE_ACCESS);
    expect(await health(stack)).toEqual([200, { status: "ok" }]);
    await appliedReceiver(stack);
    const stats = (await emulatorHook(stack, "/stats")) as { hosts: Record<string, number> };
    expect(stats.hosts["rancher.internal:8080"]).toBeGreaterThanOrEqual(4);
  });
});

describe("npm run dev refuses what cannot work, before starting anything", () => {
  const refusal = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      let output = "";
      const child = spawn(process.execPath, ["scripts/dev.mjs", ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...env },
      });
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
      child.on("exit", (code) => resolve({ code, output }));
    });

  it("half an Access service token", async () => {
    const { code, output } = await refusal([], { CATTLE_ACCESS_CLIENT_ID: ACCESS.CATTLE_ACCESS_CLIENT_ID });
    expect(code).toBe(2);
    expect(output).toContain("set both CATTLE_ACCESS_CLIENT_ID and CATTLE_ACCESS_CLIENT_SECRET, or neither");
    expect(output).not.toContain(ACCESS.CATTLE_ACCESS_CLIENT_ID);
  });

  it("a service binding for the Deno server, which has none", async () => {
    const { code, output } = await refusal(["--deno", "--cattle-binding"]);
    expect(code).toBe(2);
    expect(output).toContain("--cattle-binding needs the Worker");
  });
});
