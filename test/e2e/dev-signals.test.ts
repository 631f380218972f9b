import { describe, expect, it, type TestContext } from "vitest";
import { accepts, type DevStack, descendants, running, startDev } from "./dev-stack";
import { eventually } from "./local-stack";

/**
 * `npm run dev` stopped as systemd or a script stops it: a signal to its PID alone, not its process
 * group. Every process it started (wrangler, and wrangler's workerd and esbuild) must be gone, and
 * no port it was given still taken.
 */

/** `npm run dev` for one test, ended with that test whatever its outcome. */
async function startFor(context: TestContext): Promise<DevStack> {
  const stack = await startDev();
  context.onTestFinished(() => stack.dispose());
  return stack;
}

const exitOf = (stack: DevStack) =>
  new Promise<number | null>((resolve) => {
    if (stack.process.exitCode !== null) resolve(stack.process.exitCode);
    else stack.process.once("exit", (code) => resolve(code));
  });

async function expectAllGone(started: DevStack, tree: ReturnType<typeof descendants>) {
  const left = await eventually(
    "every process npm run dev started to end",
    async () => {
      const alive = tree.filter(running);
      return alive.length === 0 ? alive : undefined;
    },
    15_000,
  ).catch(() => tree.filter(running));
  expect(left.map((entry) => entry.command)).toEqual([]);
  for (const port of started.ports) expect([port, await accepts(port)]).toEqual([port, false]);
}

// Each test has a stack of its own (its own ports, storage and process group) and spends most of
// its time waiting for it to start or end: they run at the same time.
describe.concurrent("npm run dev, stopped by a signal to its PID alone", () => {
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    it(`ends every process it started on ${signal}, and frees its ports`, async (context) => {
      const stack = await startFor(context);
      const tree = descendants(stack.process.pid as number);
      // Two wrangler processes, each with its own node, esbuild and workerd children.
      expect(tree.filter((entry) => /wrangler/.test(entry.command)).length).toBeGreaterThanOrEqual(2);
      expect(tree.filter((entry) => /workerd/.test(entry.command)).length).toBeGreaterThanOrEqual(2);
      for (const port of stack.ports.slice(0, 2)) expect(await accepts(port)).toBe(true);
      const exited = exitOf(stack);
      process.kill(stack.process.pid as number, signal);
      expect(await exited).toBe(0);
      await expectAllGone(stack, tree);
    });
  }

  it("stops everything when whoever reads its output goes away (a closed pipe)", async (context) => {
    const stack = await startFor(context);
    const tree = descendants(stack.process.pid as number);
    const exited = exitOf(stack);
    stack.process.stdout?.destroy();
    stack.process.stderr?.destroy();
    // Something for it to print (wrangler logs each request), so that it finds the pipe closed.
    await fetch(`${stack.emulator}/_emulator/stats`).catch(() => undefined);
    expect(await exited).toBe(1);
    await expectAllGone(stack, tree);
  });

  it("stops the others, and exits with a failure, when one of its processes dies", async (context) => {
    const stack = await startFor(context);
    const tree = descendants(stack.process.pid as number);
    const emulator = tree.find(
      (entry) =>
        entry.command.includes("wrangler.js dev") && entry.command.includes("emulator/wrangler.toml"),
    );
    expect(emulator).toBeDefined();
    const exited = exitOf(stack);
    process.kill(emulator?.pid as number, "SIGKILL");
    expect(await exited).not.toBe(0);
    expect(stack.output()).toContain("[dev] emulator exited");
    await expectAllGone(stack, tree);
  });
});
