// `npm test`: the whole suite with vitest on Node (the workerd project and the end-to-end project,
// which also runs the core over HTTP on Deno), then the core's unit tests with vitest on Deno.
// Arguments go to both runs; a JSON report (`--outputFile.json=…`) covers both.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const args = process.argv.slice(2);
const report = args.find((arg) => arg.startsWith("--outputFile.json="))?.slice("--outputFile.json=".length);
const denoReport = report && `${report}.deno`;

const run = (command, commandArgs) => spawnSync(command, commandArgs, { stdio: "inherit" }).status ?? 1;

const node = run(process.execPath, ["node_modules/vitest/vitest.mjs", "run", ...args]);
const deno = run(process.execPath, [
  "node_modules/deno/bin.cjs",
  "run",
  "--allow-all",
  "node_modules/vitest/vitest.mjs",
  "run",
  "--config",
  "vitest.deno.config.ts",
  "--passWithNoTests",
  ...args.map((arg) =>
    report && arg.startsWith("--outputFile.json=") ? `--outputFile.json=${denoReport}` : arg,
  ),
]);

if (report && denoReport && existsSync(report) && existsSync(denoReport)) {
  const [first, second] = [report, denoReport].map((file) => JSON.parse(readFileSync(file, "utf8")));
  for (const field of Object.keys(first)) {
    if (typeof first[field] === "number" && typeof second[field] === "number" && field.startsWith("num")) {
      first[field] += second[field];
    }
  }
  first.success = first.success && second.success;
  first.testResults = [...first.testResults, ...second.testResults];
  writeFileSync(report, JSON.stringify(first));
  rmSync(denoReport);
} else if (report && existsSync(report) && !existsSync(denoReport)) {
  // The Deno run left no report: count it as a failure rather than report a partial green.
  const first = JSON.parse(readFileSync(report, "utf8"));
  first.numFailedTests += 1;
  first.success = false;
  writeFileSync(report, JSON.stringify(first));
}

process.exit(node !== 0 ? node : deno);
