// `npm test`: the whole suite with vitest on Node (the workerd project and the end-to-end project,
// which also runs the core over HTTP on Deno), then the core's unit tests and the ports'
// conformance suite over the Deno platform's objects with vitest on Deno.
// Arguments go to both runs, and a JSON report (`--outputFile.json=…`) covers both. `--project`
// picks runs: `deno` is the Deno run, any other name a project of the Node run.
// First: on too old a Node, say so before any other import can fail.
import "./require-node.mjs";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const REPORT_FLAG = "--outputFile.json=";

const projects = [];
const args = [];
const given = process.argv.slice(2);
for (let i = 0; i < given.length; i++) {
  if (given[i] === "--project") projects.push(given[++i] ?? "");
  else if (given[i].startsWith("--project=")) projects.push(given[i].slice("--project=".length));
  else args.push(given[i]);
}
const nodeProjects = projects.filter((project) => project !== "deno");
const runNode = projects.length === 0 || nodeProjects.length > 0;
const runDeno = projects.length === 0 || projects.includes("deno");

const report = args.find((arg) => arg.startsWith(REPORT_FLAG))?.slice(REPORT_FLAG.length);
// With both runs, the Deno run reports beside the Node run's report and is merged into it.
const denoReport = report && runNode ? `${report}.deno` : report;

const run = (command, commandArgs) => spawnSync(command, commandArgs, { stdio: "inherit" }).status ?? 1;

const node = runNode
  ? run(process.execPath, [
      "node_modules/vitest/vitest.mjs",
      "run",
      ...nodeProjects.flatMap((project) => ["--project", project]),
      ...args,
    ])
  : 0;
const deno = runDeno
  ? run(process.execPath, [
      "node_modules/deno/bin.cjs",
      "run",
      "--allow-all",
      "node_modules/vitest/vitest.mjs",
      "run",
      "--config",
      "vitest.deno.config.ts",
      "--passWithNoTests",
      ...args.map((arg) => (arg.startsWith(REPORT_FLAG) ? `${REPORT_FLAG}${denoReport}` : arg)),
    ])
  : 0;

if (report && runNode && runDeno) {
  if (existsSync(report) && existsSync(denoReport)) {
    const [first, second] = [report, denoReport].map((file) => JSON.parse(readFileSync(file, "utf8")));
    for (const field of Object.keys(first)) {
      if (field.startsWith("num") && typeof first[field] === "number" && typeof second[field] === "number") {
        first[field] += second[field];
      }
    }
    first.success = first.success && second.success;
    first.testResults = [...first.testResults, ...second.testResults];
    writeFileSync(report, JSON.stringify(first));
    rmSync(denoReport);
  } else if (existsSync(report)) {
    // The Deno run left no report: count it as a failure rather than report a partial green.
    const first = JSON.parse(readFileSync(report, "utf8"));
    first.numFailedTests += 1;
    first.success = false;
    writeFileSync(report, JSON.stringify(first));
  }
}

process.exit(node !== 0 ? node : deno);
