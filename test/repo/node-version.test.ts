import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Node 22.12 or newer is needed (package.json `engines`, `.nvmrc`), and a user on an older Node is
 * told so in plain words: by npm when installing (`.npmrc` makes `engines` binding), and by
 * `npm run dev` and `npm test` themselves (scripts/require-node.mjs). Checked with a real older
 * Node: the machine's own Node 20, which CI has; a machine without one skips, saying why.
 */
const ROOT = new URL("../../", import.meta.url).pathname;
const REQUIRED = "22.12.0";

/** The first `node` on the PATH (or in the usual places) whose major version is below 22. */
function findOldNode(): { node: string; npm: string; version: string } | undefined {
  const candidates = [
    ...(spawnSync("which", ["-a", "node"], { encoding: "utf8" }).stdout ?? "").split("\n"),
    "/usr/bin/node",
    "/usr/local/bin/node",
  ].filter(Boolean);
  for (const node of candidates) {
    const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout?.trim() ?? "";
    const major = Number(/^v(\d+)\./.exec(version)?.[1]);
    if (!(major < 22)) continue;
    // The npm that comes with that Node, as its user would run it.
    const npm = join(node, "..", "npm");
    if (spawnSync(node, [npm, "--version"]).status === 0) return { node, npm, version };
  }
  return undefined;
}

const old = findOldNode();
if (!old && process.env.CI)
  throw new Error("CI must have an older Node (the machine's Node 20) to check this");

describe("the Node version", () => {
  it("package.json, .nvmrc and .npmrc agree on Node 22.12 or newer, enforced", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(pkg.engines.node).toBe(`>=${REQUIRED}`);
    expect(Number(readFileSync(join(ROOT, ".nvmrc"), "utf8").trim())).toBeGreaterThanOrEqual(22);
    expect(readFileSync(join(ROOT, ".npmrc"), "utf8")).toMatch(/^engine-strict=true$/m);
  });

  describe.skipIf(!old)(
    `on an older Node (${old ? `${old.version} at ${old.node}` : "none on this machine"})`,
    () => {
      const { node, npm } = old ?? { node: "", npm: "" };

      it("npm refuses to install, naming the Node version needed", () => {
        const dir = mkdtempSync(join(tmpdir(), "node-version-"));
        try {
          for (const file of ["package.json", "package-lock.json", ".npmrc"]) {
            copyFileSync(join(ROOT, file), join(dir, file));
          }
          const result = spawnSync(
            node,
            [npm, "install", "--dry-run", "--ignore-scripts", "--offline", "--no-audit", "--no-fund"],
            {
              cwd: dir,
              encoding: "utf8",
              timeout: 60_000,
              // Its cache and logs in the temporary folder, not in the user's home.
              env: {
                ...process.env,
                npm_config_cache: join(dir, "cache"),
                npm_config_logs_dir: join(dir, "logs"),
              },
            },
          );
          expect(result.status).not.toBe(0);
          expect(`${result.stdout}${result.stderr}`).toContain("EBADENGINE");
          expect(`${result.stdout}${result.stderr}`).toContain(`>=${REQUIRED}`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }, 90_000);

      it.each(["scripts/dev.mjs", "scripts/test.mjs"])("%s stops at once and says why", (script) => {
        // A free port range is not needed: the script must stop before it starts anything.
        const result = spawnSync(node, [script], { cwd: ROOT, encoding: "utf8", timeout: 20_000 });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(
          `rancher-hooks needs Node ${REQUIRED} or newer; this is Node ${old?.version.slice(1)}`,
        );
        expect(result.stderr).toContain(".nvmrc");
        expect(result.stdout).toBe("");
      });
    },
  );

  it("the same scripts go on under the Node running this test", () => {
    // The check passes on a new enough Node: it prints nothing and lets the script run.
    const out = execFileSync(
      process.execPath,
      ["-e", 'import("./scripts/require-node.mjs").then(() => console.log("went on"))'],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    expect(out.trim()).toBe("went on");
  });
});
