import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually, freePort } from "./local-stack";

/** `npm run dev` (scripts/dev.mjs) as a user runs it, on free ports, with storage of its own. */
export interface DevStack {
  process: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  hooks: string;
  emulator: string;
  /** The four ports it was told to use: service, emulator and their inspectors. */
  ports: number[];
  /** Ends the whole stack (SIGTERM to its process group), and anything of it left behind. */
  dispose(): Promise<void>;
}

type DevOptions = { flags?: string[]; env?: Record<string, string | undefined> };

/**
 * A free port is free when it is picked, not always when wrangler binds it: another process of
 * the suite (a Miniflare on port 0) may take it meanwhile. A stack that stopped for that starts
 * again on other free ports; any other failure is the test's.
 */
const PORT_TAKEN = /Address already in use/;

export async function startDev(options: DevOptions = {}): Promise<DevStack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevOnce(options);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof Error) || !PORT_TAKEN.test(error.message)) throw error;
    }
  }
}

async function startDevOnce(options: DevOptions): Promise<DevStack> {
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const [port, emulatorPort, inspectorPort, emulatorInspectorPort] = ports;
  const state = mkdtempSync(join(tmpdir(), "dev-stack-"));
  let output = "";
  const child = spawn(
    process.execPath,
    [
      "scripts/dev.mjs",
      ...(options.flags ?? []),
      `--port=${port}`,
      `--emulator-port=${emulatorPort}`,
      `--inspector-port=${inspectorPort}`,
      `--emulator-inspector-port=${emulatorInspectorPort}`,
      `--persist-to=${state}`,
    ],
    // A group of its own, so that whatever happens the test can end it all (dispose).
    { stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, ...options.env } },
  );
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      rmSync(state, { recursive: true, force: true });
      resolve();
    }),
  );
  const stack: DevStack = {
    process: child,
    output: () => output,
    hooks: `http://127.0.0.1:${port}`,
    emulator: `http://127.0.0.1:${emulatorPort}`,
    ports,
    dispose: async () => {
      const tree = child.pid ? descendants(child.pid) : [];
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // already gone
        }
        await exited;
      }
      // Whatever outlived it (a failed test of the stop itself) is not left behind. A process may
      // end between the check and the kill: dispose never fails for that, as callers need not await it.
      for (const entry of tree) {
        if (!running(entry)) continue;
        try {
          process.kill(entry.pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    },
  };
  await eventually(
    "npm run dev to be ready",
    async () => {
      if (child.exitCode !== null) throw new Error("npm run dev stopped");
      return output.includes("[dev] ready") ? true : undefined;
    },
    120_000,
  ).catch(async (error: Error) => {
    await stack.dispose();
    throw new Error(`${error.message}\n${output}`);
  });
  return stack;
}

/** A process as /proc knows it: its id and its start time (so a reused id is not mistaken for it). */
export interface ProcessEntry {
  pid: number;
  startTime: string;
  command: string;
}

/** `/proc/<pid>/stat`'s fields after the command (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Every process below `root` now (children, their children, …), found by walking /proc. */
export function descendants(root: number): ProcessEntry[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(Number(name));
    if (!fields) continue;
    const parent = Number(fields[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
  }
  const found: ProcessEntry[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    const fields = statFields(pid);
    if (fields) {
      let command = "";
      try {
        command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      } catch {
        // gone meanwhile
      }
      // Field 22 of stat is the start time; fields here start at field 3 (the state).
      found.push({ pid, startTime: fields[19] ?? "", command });
    }
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** Whether that very process still runs (a zombie runs nothing and holds no port). */
export function running(entry: ProcessEntry): boolean {
  const fields = statFields(entry.pid);
  return fields !== null && fields[19] === entry.startTime && fields[0] !== "Z";
}

/** Whether something accepts a TCP connection on 127.0.0.1:`port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
