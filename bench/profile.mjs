// Where a trigger's time goes inside workerd: the service's isolate is profiled through the
// DevTools protocol (a sample every 50 µs) while the driver worker sends it triggers, and each
// sample is put down to the module it ran in, by the `// path` lines esbuild writes between
// modules in the (unminified) bundle the benchmark runs.
import { readFileSync } from "node:fs";

/** Talks the DevTools protocol to one isolate. */
async function devtools(url) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error(`cannot reach the inspector at ${url}`));
  });
  let id = 0;
  const waiting = new Map();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  };
  return {
    send: (method, params) =>
      new Promise((resolve, reject) => {
        waiting.set(++id, (message) =>
          message.error ? reject(new Error(message.error.message)) : resolve(message.result),
        );
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** Runs `work` under the profiler: the isolate's samples, with their time. */
export async function profileOf(inspectorUrl, work, intervalUs = 50) {
  const session = await devtools(inspectorUrl);
  try {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: intervalUs });
    await session.send("Profiler.start");
    await work();
    return (await session.send("Profiler.stop")).profile;
  } finally {
    session.close();
  }
}

/** The module each line of a bundle belongs to: `src/<folder>` or the package's name. */
function modulesOf(bundleFile) {
  const modules = [];
  let current = "(bundle)";
  readFileSync(bundleFile, "utf8")
    .split("\n")
    .forEach((line, i) => {
      const marker = line.match(/^\/\/ (\S+)$/)?.[1];
      if (marker?.startsWith("src/"))
        current = marker
          .split("/")
          .slice(0, marker.split("/").length > 2 ? 2 : 1)
          .join("/");
      else if (marker?.startsWith("node_modules/")) {
        const parts = marker.slice("node_modules/".length).split("/");
        current = parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? current);
      }
      modules[i] = current;
    });
  return modules;
}

/**
 * A profile summed per trigger: the time in each area (the runtime's own native work, each package,
 * each folder of src/) and the functions with the most time of their own.
 */
export function summarize(profile, bundleFile, calls) {
  const modules = modulesOf(bundleFile);
  const bundleName = bundleFile.split("/").pop();
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const areas = new Map();
  const functions = new Map();
  let activeUs = 0;
  profile.samples.forEach((id, i) => {
    const { callFrame } = nodes.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    if (callFrame.functionName === "(idle)") return;
    activeUs += us;
    const inBundle = callFrame.url.endsWith(bundleName);
    const area = inBundle
      ? (modules[callFrame.lineNumber] ?? "(bundle)")
      : callFrame.url
        ? `runtime (${callFrame.url.replace(/^.*\//, "")})`
        : "runtime (native: requests, RPC, SQLite, GC)";
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = `${callFrame.functionName || "(anonymous)"}${inBundle ? ` (${area})` : ""}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  });
  const perCall = (us) => Math.round((us / calls) * 10) / 10;
  const ranked = (map, count) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, us]) => ({ name, usPerTrigger: perCall(us) }));
  return {
    calls,
    activeUsPerTrigger: perCall(activeUs),
    areas: ranked(areas, 12),
    functions: ranked(functions, 12),
  };
}
