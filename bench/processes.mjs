// CPU time of processes, read from /proc: what a process spent, whatever the clocks inside it say.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * Nanoseconds of CPU a process has used, over all its threads: the first field of each thread's
 * /proc/<pid>/task/<tid>/schedstat, which counts in nanoseconds where /proc/<pid>/stat counts in
 * 10 ms ticks. Threads that ended are lost, so measure processes whose threads live on (workerd,
 * Go, Node all keep theirs).
 */
export function cpuNanoseconds(pid) {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return total;
}

/** The command name and parent of a process. */
function statOf(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const close = text.lastIndexOf(")");
  const name = text.slice(text.indexOf("(") + 1, close);
  const ppid = Number(text.slice(close + 2).split(" ")[1]);
  return { name, ppid };
}

/** Every process below `root` (not root itself), with its name and command line. */
export function descendants(root) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { name, ppid } = statOf(entry);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      const list = children.get(ppid) ?? [];
      list.push({ pid: Number(entry), name, cmdline });
      children.set(ppid, list);
    } catch {
      // Gone meanwhile.
    }
  }
  const found = [];
  const walk = (pid) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      walk(child.pid);
    }
  };
  walk(root);
  return found;
}

/**
 * Starts a command in its own process group, so that it and everything it starts can be stopped
 * together; `ready` resolves with the first stdout line that `matches` (or rejects on exit).
 */
export function startGroup(command, args, { env, matches = () => true, timeoutMs = 60_000 } = {}) {
  const child = spawn(command, args, {
    detached: true,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} not ready:\n${output}`)), timeoutMs);
    let buffered = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (matches(line)) {
          clearTimeout(timer);
          resolve(line);
        }
      }
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}):\n${output}`));
    });
  });
  // Unhandled once ready: the process's later exit is the caller's business.
  ready.catch(() => {});
  return {
    child,
    ready,
    output: () => output,
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise((resolve) => child.once("exit", resolve));
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        return Promise.resolve();
      }
      const kill = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }, 5_000);
      return exited.finally(() => clearTimeout(kill));
    },
  };
}

/** The process that listens on a loopback TCP port: the owner of the socket /proc/net/tcp lists for it. */
export function listenerOf(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN.
      if (fields[1]?.endsWith(`:${hex}`) && fields[3] === "0A") inodes.add(fields[9]);
    }
  }
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds = [];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${entry}/fd/${fd}`);
        const inode = link.match(/^socket:\[(\d+)\]$/)?.[1];
        if (inode && inodes.has(inode)) return Number(entry);
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return undefined;
}
