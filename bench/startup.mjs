// The Worker's start-up: `wrangler check startup` (wrangler builds the Worker as `wrangler deploy`
// would, starts it in local workerd and profiles the start-up phase), run several times because
// its profile samples about once a millisecond; the median is reported with the bundle's size.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import os from "node:os";

const number = (text, pattern) => {
  const match = text.match(pattern);
  return match ? Number(match[1]) : undefined;
};

export function startup({ runs }) {
  const profile = `${os.tmpdir()}/rancher-hooks-startup.cpuprofile`;
  const activeMs = [];
  let bundleKiB;
  let gzipKiB;
  for (let i = 0; i < runs; i++) {
    const result = spawnSync(
      process.execPath,
      ["node_modules/wrangler/bin/wrangler.js", "check", "startup", "--outfile", profile],
      { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
    );
    const output = `${result.stdout}${result.stderr}`;
    const active = number(output, /Active: ([\d.]+) ms/);
    if (result.status !== 0 || active === undefined) {
      throw new Error(`wrangler check startup failed:\n${output.slice(-2000)}`);
    }
    activeMs.push(active);
    bundleKiB = number(output, /Bundle: ([\d.]+) KiB/);
    gzipKiB = number(output, /gzip: ([\d.]+) KiB/);
  }
  rmSync(profile, { force: true });
  const sorted = [...activeMs].sort((a, b) => a - b);
  return {
    runs,
    activeMs: sorted,
    medianMs: sorted[Math.floor((sorted.length - 1) / 2)],
    bundleKiB,
    gzipKiB,
  };
}
