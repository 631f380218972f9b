import { type ChildProcess, execFile, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { eventually, freePort } from "./local-stack";
import { type Block, ReadmeExamples, readmeBlocks } from "./readme-blocks";

/**
 * The README's examples, run as a user copies them: `npm run dev` (scripts/dev.mjs) serves the
 * service and the emulator, every shell block is run with bash against them, and each `# → …`
 * line of a block must appear in what it printed (`…` stands for anything). Configuration a real
 * sender loads is loaded by that sender where one is installed (Alertmanager, promtool). The only
 * change made to a block is the port: the stack runs beside any `npm run dev` on 8787/8788.
 * Blocks that need an outside account are listed with the reason, and the last test fails for any
 * block that no test took, so an example cannot be added without being run.
 */
const run = promisify(execFile);
const examples = new ReadmeExamples();

const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";
const AMTOOL = "/usr/bin/amtool";
const PROMTOOL = "/usr/bin/promtool";
for (const tool of [ALERTMANAGER, AMTOOL, PROMTOOL]) {
  if (!existsSync(tool) && process.env.CI) throw new Error(`${tool} is not installed (CI installs it)`);
}

const README_URL = "https://hooks.example.com/v1-webhooks/endpoint?token=eyJ…";

interface Stack {
  process: ChildProcess;
  output: string;
  hooks: string;
  emulator: string;
}

/** `npm run dev` (or `npm run dev:deno`) on free ports, with its own receiver storage. */
async function startDev(deno = false): Promise<Stack> {
  const [port, emulatorPort, inspectorPort, emulatorInspectorPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const state = mkdtempSync(join(tmpdir(), "readme-dev-"));
  const child = spawn(
    process.execPath,
    [
      "scripts/dev.mjs",
      ...(deno ? ["--deno"] : []),
      `--port=${port}`,
      `--emulator-port=${emulatorPort}`,
      `--inspector-port=${inspectorPort}`,
      `--emulator-inspector-port=${emulatorInspectorPort}`,
      `--persist-to=${state}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const stack: Stack = {
    process: child,
    output: "",
    hooks: `http://127.0.0.1:${port}`,
    emulator: `http://127.0.0.1:${emulatorPort}`,
  };
  let exited = false;
  child.stdout?.on("data", (chunk) => (stack.output += chunk));
  child.stderr?.on("data", (chunk) => (stack.output += chunk));
  child.on("exit", () => {
    exited = true;
    rmSync(state, { recursive: true, force: true });
  });
  await eventually(
    "npm run dev to be ready",
    async () => {
      if (exited) throw new Error("npm run dev stopped");
      return stack.output.includes("[dev] ready") ? true : undefined;
    },
    90_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${stack.output}`);
  });
  return stack;
}

function stopDev(stack: Stack | undefined) {
  if (!stack?.process.pid) return;
  try {
    process.kill(-stack.process.pid, "SIGINT");
  } catch {
    // already gone
  }
}

let stack: Stack;

/** The block's text with the stack's ports in place of 8787 and 8788. */
const onStack = (text: string) =>
  text
    .replaceAll("127.0.0.1:8787", stack.hooks.replace("http://", ""))
    .replaceAll("127.0.0.1:8788", stack.emulator.replace("http://", ""));

/** Runs a shell block with bash (`set -euo pipefail`), with extra environment variables. */
async function sh(code: string, env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await run("bash", ["-c", `set -euo pipefail\n${onStack(code)}`], {
      env: { ...process.env, ...env },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${failure.message}\nstdout: ${failure.stdout}\nstderr: ${failure.stderr}`);
  }
}

/** Each `# → …` line of the block must match a line the block printed (`…` matches anything). */
function expectArrows(block: Block, stdout: string) {
  const expected = block.code
    .split("\n")
    .map((line) => /^\s*# → (.*)$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined);
  const lines = stdout.split("\n");
  for (const arrow of expected) {
    const pattern = new RegExp(
      `^${onStack(arrow)
        .split("…")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    );
    expect(
      lines.some((line) => pattern.test(line.trim())),
      `block at README.md:${block.line} printed no line like "${arrow}":\n${stdout}`,
    ).toBe(true);
  }
  return expected.length;
}

const api = async (path: string, init: RequestInit = {}) => {
  const response = await fetch(`${stack.hooks}${path}`, {
    ...init,
    headers: {
      authorization: `Basic ${btoa("dev-access:dev-secret")}`,
      "content-type": "application/json",
      ...(init.headers ?? {}),
    },
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as Record<string, any> };
};

const receiverNamed = async (name: string) => {
  const list = await api("/v1-webhooks/receivers?projectId=1a5&limit=1000");
  return (list.body.data as { id: string; name: string; url: string }[]).find((item) => item.name === name);
};

const settledOutcome = (receiverId: string) =>
  eventually(
    "the execution to settle",
    async () => {
      const list = await api(`/v1-webhooks/receivers/${receiverId}/executions?projectId=1a5`);
      const outcome = list.body.data[0]?.outcome;
      return outcome && outcome !== "queued" && outcome !== "pending" ? outcome : undefined;
    },
    60_000,
  );

const emulatorService = async (id: string) =>
  (await fetch(`${stack.emulator}/v2-beta/projects/1a5/services/${id}`, {
    headers: { authorization: `Basic ${btoa("dev-access:dev-secret")}` },
  }).then((response) => response.json())) as { scale: number; launchConfig: { imageUuid: string } };

async function createService(name: string, image: string, labels: Record<string, string>) {
  const response = await fetch(`${stack.emulator}/v2-beta/projects/1a5/services`, {
    method: "POST",
    headers: { authorization: `Basic ${btoa("dev-access:dev-secret")}`, "content-type": "application/json" },
    body: JSON.stringify({ name, scale: 1, launchConfig: { imageUuid: `docker:${image}`, labels } }),
  });
  expect(response.status).toBe(201);
  const { id } = (await response.json()) as { id: string };
  await eventually("the new service to be active", async () => {
    const service = (await emulatorService(id)) as unknown as { state: string };
    return service.state === "active" ? true : undefined;
  });
  return id;
}

describe("the README's examples, as a user runs them", () => {
  beforeAll(async () => {
    stack = await startDev();
  }, 120_000);

  afterAll(() => stopDev(stack));

  it("npm run dev starts quietly offline and says how to start over", () => {
    examples.take("sh", "npm install && npm run dev");
    expect(stack.output).toContain("[dev] ready");
    expect(stack.output).toContain("_emulator/reset");
    expect(stack.output).not.toMatch(/ENOTFOUND|EAI_AGAIN|Error:|\n\s+at .*\(.*:\d+:\d+\)/);
  });

  it("Quick start: create, trigger, look, start over; twice, since it starts over", async () => {
    const block = examples.take(
      "sh",
      'RECEIVER=$(curl -s -u $K -X POST "$H/v1-webhooks/receivers?projectId=1a5"',
    );
    for (let round = 0; round < 2; round++) {
      const stdout = await sh(block.code);
      expect(expectArrows(block, stdout)).toBe(3);
    }
  });

  it("API: the tour of the resources", async () => {
    const block = examples.take("sh", '"name":"api-tour"');
    const stdout = await sh(block.code);
    expect(stdout).toContain("serviceUpgrade");
    expect(expectArrows(block, stdout)).toBe(4);
  });

  it("Creating a receiver: the body as shown, and an execution shaped as shown", async () => {
    const body = examples.take("json", '"scaleServiceConfig": { "serviceId": "1s1"');
    const created = await api("/v1-webhooks/receivers?projectId=1a5", { method: "POST", body: body.code });
    expect(created.status).toBe(201);
    const execution = JSON.parse(examples.take("json", '"type": "execution"').code);
    const triggered = (await fetch(created.body.url, { method: "POST" }).then((response) =>
      response.json(),
    )) as Record<string, unknown>;
    for (const [key, value] of Object.entries(execution)) {
      expect(typeof triggered[key], key).toBe(typeof value);
    }
    expect(triggered).toMatchObject({ type: "execution", driver: "scaleService", outcome: "applied" });
    await api(`/v1-webhooks/receivers/${created.body.id}?projectId=1a5`, { method: "DELETE" });
  });

  it("Sender verification: the token is shown once, a delivery without it is refused, with it applied", async () => {
    const block = examples.take("sh", '"senderVerification":{"scheme":"bearer","token":"\'"$TOKEN"\'"}');
    const stdout = await sh(block.code);
    expect(stdout).toMatch(/the sender's token, shown this once: [0-9a-f]{64}/);
    expect(expectArrows(block, stdout)).toBe(2);
  });

  it("Scaling a group of hosts: the create example", async () => {
    const block = examples.take("sh", '"name":"grow-workers"');
    expect(JSON.parse(await sh(block.code))).toMatchObject({ name: "grow-workers", driver: "scaleHost" });
  });

  it("Upgrading services: a Docker Hub push upgrades both services, and a semver receiver is made", async () => {
    const block = examples.take("sh", "What Docker Hub posts after");
    expect(expectArrows(block, await sh(block.code))).toBe(1);
    const receiver = await receiverNamed("deploy-api");
    expect(await settledOutcome(receiver?.id ?? "")).toBe("applied");
    for (const id of ["1s5", "1s6"])
      expect((await emulatorService(id)).launchConfig.imageUuid).toBe("docker:myorg/api:1.1.0");

    const semver = examples.take("sh", '"name":"web-patches"');
    expect(JSON.parse(await sh(semver.code))).toMatchObject({
      serviceUpgradeConfig: { policy: "semver-patch", payloadFormat: "harbor" },
    });
  });

  it("the GitLab CI job and the GitHub Actions step upgrade through a generic receiver", async () => {
    const token = "ci-bearer-token-0123456789abcdef";
    const receiver = await api("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: JSON.stringify({
        name: "from-ci",
        driver: "serviceUpgrade",
        serviceUpgradeConfig: {
          serviceSelector: { app: "ci" },
          payloadFormat: "generic",
          policy: "semver-minor",
        },
        senderVerification: { scheme: "bearer", token },
      }),
    });
    expect(receiver.status).toBe(201);
    const gitlabService = await createService("ci-gitlab", "registry.example.com/team/web:1.4.1", {
      app: "ci",
    });
    const githubService = await createService("ci-github", "ghcr.io/team/web:1.4.1", { app: "ci" });

    const gitlab = parseYaml(examples.take("yaml", "upgrade-rancher:").code)["upgrade-rancher"];
    const gitlabOut = await sh(gitlab.script.join("\n"), {
      CI_REGISTRY_IMAGE: "registry.example.com/team/web",
      CI_COMMIT_TAG: "1.4.2",
      CI_PROJECT_ID: "42",
      CI_PIPELINE_ID: "1001",
      RANCHER_HOOK_SECRET: token,
      RANCHER_HOOK_URL: receiver.body.url,
    });
    expect(JSON.parse(gitlabOut)).toMatchObject({ outcome: "queued" });

    const [step] = parseYaml(examples.take("yaml", "- name: Upgrade Rancher services").code);
    // What GitHub puts in place of the ${{ … }} expressions for a push of the tag v1.5.0 to Team/Web.
    const github: Record<string, string> = {
      "secrets.RANCHER_HOOK_URL": receiver.body.url,
      "secrets.RANCHER_HOOK_SECRET": token,
      "github.repository": "Team/Web",
      "github.ref_name": "v1.5.0",
      "github.run_id": "7",
      "github.run_attempt": "1",
    };
    const expand = (text: string) =>
      text.replace(/\$\{\{\s*([\w.]+)\s*\}\}/g, (_, name: string) => {
        if (!(name in github)) throw new Error(`no value for \${{ ${name} }}`);
        return github[name] as string;
      });
    const env = Object.fromEntries(
      Object.entries(step.env as Record<string, string>).map(([key, value]) => [key, expand(value)]),
    );
    expect(JSON.parse(await sh(expand(step.run), env))).toMatchObject({ outcome: "queued" });

    await eventually("both upgrades", async () => {
      const images = [
        (await emulatorService(gitlabService)).launchConfig.imageUuid,
        (await emulatorService(githubService)).launchConfig.imageUuid,
      ];
      return images[0] === "docker:registry.example.com/team/web:1.4.2" &&
        images[1] === "docker:ghcr.io/team/web:v1.5.0"
        ? true
        : undefined;
    });
  });

  it("Moving from webhook-service: the import example", async () => {
    const block = examples.take("sh", "action=import");
    expect(expectArrows(block, await sh(block.code))).toBe(1);
  });

  describe.skipIf(!existsSync(ALERTMANAGER) || !existsSync(AMTOOL))("Alertmanager", () => {
    // Taken when the tests are collected, so that a machine without Alertmanager still accounts for them.
    const plain = examples.take("yaml", "repeat_interval: 30m").code;
    const withToken = examples.take("yaml", "credentials_file: /etc/alertmanager/rancher-hooks-token").code;
    it("loads both configurations of the README, and the one with a token scales on a firing alert", async () => {
      const dir = mkdtempSync(join(tmpdir(), "readme-am-"));
      let alertmanager: ChildProcess | undefined;
      try {
        writeFileSync(join(dir, "plain.yml"), plain);
        await run(AMTOOL, ["check-config", join(dir, "plain.yml")]);

        const token = "alertmanager-readme-token-0123456789";
        const receiver = await api("/v1-webhooks/receivers?projectId=1a5", {
          method: "POST",
          body: JSON.stringify({
            name: "scale-web-am",
            driver: "scaleService",
            scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 10 },
            senderVerification: { scheme: "bearer", token },
          }),
        });
        expect(receiver.status).toBe(201);
        const before = (await emulatorService("1s1")).scale;
        writeFileSync(join(dir, "token"), token, { mode: 0o600 });
        // The route of the first, the receivers of the second: "in place of the receivers above".
        const config = `${plain.slice(0, plain.indexOf("receivers:"))}${withToken}`
          .replace(README_URL, receiver.body.url)
          .replace("/etc/alertmanager/rancher-hooks-token", join(dir, "token"));
        writeFileSync(join(dir, "alertmanager.yml"), config);
        await run(AMTOOL, ["check-config", join(dir, "alertmanager.yml")]);

        const port = await freePort();
        alertmanager = spawn(
          ALERTMANAGER,
          [
            `--config.file=${join(dir, "alertmanager.yml")}`,
            `--storage.path=${join(dir, "data")}`,
            `--web.listen-address=127.0.0.1:${port}`,
            "--cluster.listen-address=",
          ],
          { stdio: "ignore" },
        );
        await eventually("Alertmanager to be ready", async () => {
          const ready = await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined);
          return ready?.ok ? true : undefined;
        });
        const posted = await fetch(`http://127.0.0.1:${port}/api/v2/alerts`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify([
            { labels: { alertname: "WebHighLatency", autoscale: "web" }, startsAt: new Date().toISOString() },
          ]),
        });
        expect(posted.status).toBe(200);
        // The README's group_wait is 30 s.
        await eventually(
          "the alert to scale web",
          async () => ((await emulatorService("1s1")).scale === before + 1 ? true : undefined),
          60_000,
        );
      } finally {
        alertmanager?.kill("SIGTERM");
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);
  });

  const rules = examples.take("yaml", "alert: WebHighLatency");
  it.skipIf(!existsSync(PROMTOOL))("the Prometheus rule passes promtool", async () => {
    const dir = mkdtempSync(join(tmpdir(), "readme-rule-"));
    writeFileSync(join(dir, "rules.yml"), rules.code);
    const { stdout } = await run(PROMTOOL, ["check", "rules", join(dir, "rules.yml")]);
    expect(stdout).toContain("SUCCESS: 1 rules found");
    rmSync(dir, { recursive: true, force: true });
  });

  it("Deploy to Cloudflare: the signing key command, and the build wrangler deploys", async () => {
    const block = examples.take("sh", "npx wrangler login");
    expect(block.code).toContain("node scripts/signing-key.mjs prod-1 | npx wrangler secret put");
    const keys = JSON.parse(await sh("node scripts/signing-key.mjs prod-1"));
    expect(keys.keys[0]).toMatchObject({ kid: "prod-1" });
    const out = mkdtempSync(join(tmpdir(), "readme-deploy-"));
    await sh(`npx wrangler deploy --dry-run --outdir ${out}`);
    expect(existsSync(join(out, "index.js"))).toBe(true);
    rmSync(out, { recursive: true, force: true });
  });

  it("The Cattle emulator: every test hook", async () => {
    const block = examples.take("sh", "/_emulator/reset            # back to the seed data");
    await sh(block.code);
    await sh("curl -s -X POST http://127.0.0.1:8788/_emulator/reset");
  });

  it("npm run dev:deno serves the same service", async () => {
    examples.take("sh", "npm run dev:deno");
    const deno = await startDev(true);
    try {
      const response = await fetch(`${deno.hooks}/v1-webhooks/schemas`);
      expect(response.status).toBe(200);
      expect(deno.output).not.toMatch(/ENOTFOUND|EAI_AGAIN|Error:/);
    } finally {
      stopDev(deno);
    }
  }, 120_000);

  it("every other block is one that needs an outside account or system, and says so", () => {
    // Run elsewhere: test/e2e/registry.test.ts loads the registry's notifications block into a real registry.
    examples.take("yaml", "notifications:\n  endpoints:");
    const outside: [lang: string, marker: string, why: string][] = [
      ["ruby", "registry['notifications']", "a GitLab instance"],
      ["sh", "api/v2.0/projects/team/webhook/policies", "a Harbor instance"],
      ["sh", "aws events create-connection", "an AWS account"],
      ["sh", "gcloud pubsub topics create gcr", "a Google Cloud project"],
      ["toml", 'pattern = "rancher.example.com/v1-webhooks/*"', "a Cloudflare zone in front of Rancher"],
      [
        "toml",
        'pattern = "rancher.example.com/v1-webhooks/endpoint*"',
        "a Cloudflare zone in front of Rancher",
      ],
      ["nginx", "location /v1-webhooks/ {", "an nginx in front of Rancher"],
      ["nginx", "location /v1-webhooks/endpoint {", "an nginx in front of Rancher"],
      ["sh", "deno serve --allow-net", "a Rancher server to point it at"],
    ];
    for (const [lang, marker, why] of outside) expect(examples.take(lang, marker), why).toBeDefined();
    expect(examples.unclaimed(["sh", "yaml", "json", "toml", "nginx", "ruby"])).toEqual([]);
  });
});

describe("docs/monitoring.md", () => {
  // Until ReadmeExamples reads docs/*.md, the blocks are found here by marker, one each.
  const blocks = readmeBlocks("docs/monitoring.md");
  const block = (lang: string, marker: string) => {
    const found = blocks.filter((candidate) => candidate.lang === lang && candidate.code.includes(marker));
    expect(found, `one ${lang} block of docs/monitoring.md with ${marker}`).toHaveLength(1);
    return found[0] as Block;
  };

  it.skipIf(!existsSync(PROMTOOL))("the scrape config passes promtool check config", async () => {
    const scrape = block("yaml", "scrape_configs:");
    expect(scrape.code).toContain("metrics_path: /v1-webhooks/metrics");
    expect(parseYaml(scrape.code).scrape_configs[0]).toMatchObject({
      params: { projectId: ["1a5"] },
      basic_auth: { username: expect.any(String), password_file: expect.any(String) },
    });
    const dir = mkdtempSync(join(tmpdir(), "monitoring-config-"));
    try {
      writeFileSync(join(dir, "prometheus.yml"), scrape.code);
      const { stdout } = await run(PROMTOOL, ["check", "config", join(dir, "prometheus.yml")]);
      expect(stdout).toContain("is valid prometheus config file syntax");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync(PROMTOOL))(
    "the alerting rules pass promtool check rules and their unit tests (promtool test rules)",
    async () => {
      const rules = block("yaml", "alert: ReceiverExecutionFailed");
      expect(rules.code).toContain('increase(rancher_hooks_executions_total{outcome=~"failed|rolledBack"}');
      const dir = mkdtempSync(join(tmpdir(), "monitoring-rules-"));
      try {
        writeFileSync(join(dir, "rules.yml"), rules.code);
        const checked = await run(PROMTOOL, ["check", "rules", join(dir, "rules.yml")]);
        expect(checked.stdout).toContain("SUCCESS: 3 rules found");
        copyFileSync("test/fixtures/monitoring-rules.test.yml", join(dir, "tests.yml"));
        const tested = await run(PROMTOOL, ["test", "rules", "tests.yml"], { cwd: dir });
        expect(tested.stdout).toContain("SUCCESS");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it("the example log lines are run by test/e2e/observe.test.ts against the service's own lines", () => {
    expect(block("text", '"event":"execution"').code).toContain('"event":"cattle_failure"');
  });
});

describe("docs/storage.md", () => {
  it("its receiver record is checked against a stored one by test/integration/storage.test.ts", () => {
    // Until ReadmeExamples reads docs/*.md: the one json block, found by marker.
    const records = readmeBlocks("docs/storage.md").filter(
      (block) => block.lang === "json" && block.code.includes('"target": "scaleService:1a5:1s1"'),
    );
    expect(records).toHaveLength(1);
    expect(JSON.parse(records[0]?.code ?? "")).toMatchObject({ projectId: "1a5", driver: "scaleService" });
  });
});
