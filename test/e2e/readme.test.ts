import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
// @ts-expect-error: a plain ESM script shared with `npm run dev:deno`
import { denoServeArgs as denoDocArgs } from "../../scripts/deno-serve.mjs";
import { loadSigningKeys } from "../../src/tokens/signing";
import { type DevStack, startDev as startDevStack } from "./dev-stack";
import { eventually, freePort, stopChild } from "./local-stack";
import {
  type Captured,
  checkDiscord,
  checkSlack,
  startCapture,
  teamsCard,
  verifyWebhook,
} from "./notification-capture";
import { type Block, ReadmeExamples } from "./readme-blocks";

/**
 * The examples of README.md and docs/*.md, run as a user copies them: `npm run dev`
 * (scripts/dev.mjs) serves the service and the emulator, every shell block is run with bash against
 * them, and each `# → …` line of a block must appear in what it printed (`…` stands for anything).
 * Configuration a real sender loads is loaded by that sender where one is installed (Alertmanager,
 * promtool). The only changes made to a block are the port (the stack runs beside any `npm run dev`
 * on 8787/8788) and, for notifications, the origin of a Slack, Teams, Discord or webhook URL, put on
 * a local capture server that checks what arrives. Blocks that need an outside account are listed
 * with the reason, and the file fails for any block that no test took, so an example cannot be
 * added without being run.
 */
const run = promisify(execFile);
const examples = new ReadmeExamples();

// After every test of this file, those of the describes appended below included: a block of
// README.md or docs/*.md that none of them took is an example nobody runs. Checked when the test
// that accounts for the outside blocks ran: a run filtered to a few tests (`-t`) leaves takes out.
let accountedForOutside = false;
afterAll(() => {
  if (!accountedForOutside) return;
  // Every language, a bare fence included, so that a block in a new language is claimed too.
  const languages = [...new Set(examples.blocks.map((block) => block.lang))];
  expect(examples.unclaimed(languages)).toEqual([]);
});

const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";
const AMTOOL = "/usr/bin/amtool";
const PROMTOOL = "/usr/bin/promtool";
const SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";
for (const tool of [ALERTMANAGER, AMTOOL, PROMTOOL, SYSTEMD_ANALYZE]) {
  if (!existsSync(tool) && process.env.CI) throw new Error(`${tool} is not installed (CI installs it)`);
}

const README_URL = "https://hooks.example.com/v1-webhooks/endpoint?token=eyJ…";

/** A stack of test/e2e/dev-stack.ts as this file reads it: its output so far, as a string. */
type Stack = Omit<DevStack, "output"> & { readonly output: string };

function asStack(dev: DevStack): Stack {
  return {
    ...dev,
    get output() {
      return dev.output();
    },
  };
}

/** `npm run dev` (or `npm run dev:deno`) on free ports, with its own receiver storage. */
async function startDev(deno = false): Promise<Stack> {
  return asStack(await startDevStack({ flags: deno ? ["--deno"] : [] }));
}

/** Ends the stack and everything it started; nothing to do for one that never started. */
function stopDev(stack: Stack | undefined): Promise<void> | undefined {
  return stack?.dispose();
}

let stack: Stack;

/** The block's text with the stack's ports in place of 8787 and 8788. */
const onStack = (text: string) =>
  text
    .replaceAll("127.0.0.1:8787", stack.hooks.replace("http://", ""))
    .replaceAll("127.0.0.1:8788", stack.emulator.replace("http://", ""));

/**
 * Runs a shell block with bash (`set -euo pipefail`), with extra environment variables. Its input
 * is closed, as if nothing were typed at a prompt: no block may wait for a terminal.
 */
async function sh(code: string, env: Record<string, string> = {}): Promise<string> {
  try {
    const running = run("bash", ["-c", `set -euo pipefail\n${onStack(code)}`], {
      env: { ...process.env, ...env },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    running.child.stdin?.end();
    const { stdout } = await running;
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
      `block at ${block.file}:${block.line} printed no line like "${arrow}":\n${stdout}`,
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

// One `npm run dev` for the whole file, the describes appended at its end included: every
// `sh(…)`, `api(…)` and `emulatorService(…)` talks to it.
beforeAll(async () => {
  stack = await startDev();
}, 120_000);

afterAll(() => stopDev(stack));

describe("the examples of README.md and docs/*.md, as a user runs them", () => {
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

  it("Quick start: `npm test`, in a block of its own, is the script that runs the suite", () => {
    const block = examples.take("sh", "npm test");
    // Its own block: a user pastes it in the second terminal, never after the one that keeps running.
    expect(block.code.trim()).toBe("npm test");
    expect(block.file).toBe("README.md");
    const pkg = JSON.parse(readFileSync("package.json", "utf8"));
    expect(pkg.scripts.test).toBe("node scripts/test.mjs");
    const dev = examples.take("sh", "npm install && npm run dev");
    expect(dev.code).not.toContain("npm test");
  });

  it("Examples: the upgrade and host receivers of the README are created as shown", async () => {
    for (const marker of ['"name": "api-on-push"', '"name": "add-worker"']) {
      const body = JSON.parse(examples.take("json", marker).code);
      const created = await api("/v1-webhooks/receivers?projectId=1a5", {
        method: "POST",
        body: JSON.stringify(body),
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const config = `${body.driver}Config`;
      expect(created.body).toMatchObject({ name: body.name, driver: body.driver, [config]: body[config] });
      expect(created.body.url).toContain("/v1-webhooks/endpoint?token=");
      await api(`/v1-webhooks/receivers/${created.body.id}?projectId=1a5`, { method: "DELETE" });
    }
  });

  it("docs/storage.md: the receiver record's config is what a create stores, defaults included", async () => {
    const record = JSON.parse(examples.take("json", '"target": "scaleService:1a5:1s1"').code);
    const created = await api("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: JSON.stringify({
        name: "storage-record",
        driver: record.driver,
        scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 10 },
      }),
    });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^r[0-9a-z]{26}$/);
    expect(record.id).toMatch(/^r[0-9a-z]{26}$/);
    const { type, ...config } = created.body.scaleServiceConfig;
    expect(type).toBe("scaleService");
    expect(config).toEqual(record.config);
    await api(`/v1-webhooks/receivers/${created.body.id}?projectId=1a5`, { method: "DELETE" });
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
    // docs/notifications.md's webhook body holds executions too: the one block of an execution alone.
    const execution = JSON.parse(examples.take("json", '"type": "execution",\n  "id": "x…"').code);
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

  // This test, the next and the Alertmanager describe spend their time waiting, on Cattle's upgrades
  // and on the README's group_wait (30 s), each with services and receivers of its own (1s5 and
  // 1s6; two services it creates; 1s1): they wait at the same time.
  it.concurrent("Upgrading services: a Docker Hub push upgrades both services, and a semver receiver is made", async () => {
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

  it.concurrent("the GitLab CI job and the GitHub Actions step upgrade through a generic receiver", async () => {
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

  describe.skipIf(!existsSync(ALERTMANAGER) || !existsSync(AMTOOL)).concurrent("Alertmanager", () => {
    // Taken when the tests are collected, so that a machine without Alertmanager still accounts for them.
    const plain = examples.take("yaml", "repeat_interval: 30m").code;
    const withToken = examples.take("yaml", "credentials_file: /etc/alertmanager/rancher-hooks-token").code;
    const short = examples.take("yaml", "# alertmanager.yml, the receiver that scales web").code;
    it("the README's short receiver loads under a route to it", async () => {
      const dir = mkdtempSync(join(tmpdir(), "readme-am-"));
      try {
        writeFileSync(join(dir, "alertmanager.yml"), `route:\n  receiver: scale-web\n${short}`);
        const { stdout } = await run(AMTOOL, ["check-config", join(dir, "alertmanager.yml")]);
        expect(stdout).toContain("SUCCESS");
        expect(stdout).toMatch(/ - 1 receivers/);
        expect(parseYaml(short).receivers[0].webhook_configs[0]).toMatchObject({
          url: README_URL,
          send_resolved: true,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
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
        await stopChild(alertmanager);
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);
  });

  it("Moving from webhook-service: the import example", async () => {
    const block = examples.take("sh", "importedFrom}], skipped}");
    expect(expectArrows(block, await sh(block.code))).toBe(1);
  });

  const rules = examples.take("yaml", "alert: WebHighLatency");
  it.skipIf(!existsSync(PROMTOOL))("the Prometheus rule passes promtool", async () => {
    const dir = mkdtempSync(join(tmpdir(), "readme-rule-"));
    writeFileSync(join(dir, "rules.yml"), rules.code);
    const { stdout } = await run(PROMTOOL, ["check", "rules", join(dir, "rules.yml")]);
    expect(stdout).toContain("SUCCESS: 1 rules found");
    rmSync(dir, { recursive: true, force: true });
  });

  describe.skipIf(!existsSync(PROMTOOL))("Production checklist: metrics and alerts", () => {
    // Taken when the tests are collected, so that a machine without promtool still accounts for them.
    const scrape = examples.take("yaml", "- job_name: rancher-hooks\n");
    const alerts = examples.take("yaml", "alert: RancherHooksExecutionFailed");

    it("the scrape config passes promtool: basic auth with a Rancher key, one environment", async () => {
      const dir = mkdtempSync(join(tmpdir(), "readme-scrape-"));
      try {
        const config = parseYaml(scrape.code).scrape_configs[0];
        expect(config).toMatchObject({
          metrics_path: "/v1-webhooks/metrics",
          params: { projectId: ["1a5"] },
          basic_auth: { password_file: "/etc/prometheus/rancher-hooks-secret-key" },
        });
        // promtool reads the password file the config names: the same file, where the test can write it.
        writeFileSync(join(dir, "secret-key"), "dev-secret", { mode: 0o600 });
        writeFileSync(
          join(dir, "prometheus.yml"),
          scrape.code.replace("/etc/prometheus/rancher-hooks-secret-key", join(dir, "secret-key")),
        );
        const { stdout } = await run(PROMTOOL, ["check", "config", join(dir, "prometheus.yml")]);
        expect(stdout).toContain("SUCCESS");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("the alerting rules pass promtool, and fire on failures, long pending work and a lost Cattle", async () => {
      const dir = mkdtempSync(join(tmpdir(), "readme-alerts-"));
      try {
        writeFileSync(join(dir, "rules.yml"), alerts.code);
        const { stdout } = await run(PROMTOOL, ["check", "rules", join(dir, "rules.yml")]);
        expect(stdout).toContain("SUCCESS: 3 rules found");

        // The series the service exports, as a scrape would see them minute by minute.
        const web = 'receiver_id="r1",receiver_name="scale-web",driver="scaleService"';
        const api = 'receiver_id="r2",receiver_name="deploy-api",driver="serviceUpgrade"';
        const labels = (series: string) =>
          Object.fromEntries([...series.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1], match[2]]));
        const firing = (series: string, summary: string) => [
          { exp_labels: { severity: "page", ...labels(series) }, exp_annotations: { summary } },
        ];
        writeFileSync(
          join(dir, "test.yml"),
          JSON.stringify({
            rule_files: ["rules.yml"],
            evaluation_interval: "1m",
            tests: [
              {
                interval: "1m",
                input_series: [
                  // Applied executions alone never alert; a failed one and a rolled-back one do.
                  { series: `rancher_hooks_executions_total{${web},outcome="applied"}`, values: "0+5x40" },
                  { series: `rancher_hooks_executions_total{${web},outcome="failed"}`, values: "0 0 1x38" },
                  {
                    series: `rancher_hooks_executions_total{${api},outcome="rolledBack"}`,
                    values: "0x20 1x20",
                  },
                  { series: `rancher_hooks_pending_executions{${api}}`, values: "1x40" },
                  { series: "rancher_hooks_cattle_up", values: "1 1 0x38" },
                  { series: 'up{job="rancher-hooks"}', values: "1x40" },
                ],
                alert_rule_test: [
                  { eval_time: "1m", alertname: "RancherHooksExecutionFailed", exp_alerts: [] },
                  {
                    eval_time: "3m",
                    alertname: "RancherHooksExecutionFailed",
                    exp_alerts: firing(`${web},outcome="failed"`, "scale-web: an execution ended failed"),
                  },
                  {
                    eval_time: "22m",
                    alertname: "RancherHooksExecutionFailed",
                    exp_alerts: firing(
                      `${api},outcome="rolledBack"`,
                      "deploy-api: an execution ended rolledBack",
                    ),
                  },
                  { eval_time: "14m", alertname: "RancherHooksPendingTooLong", exp_alerts: [] },
                  {
                    eval_time: "16m",
                    alertname: "RancherHooksPendingTooLong",
                    exp_alerts: firing(api, "deploy-api: executions pending for 15 minutes"),
                  },
                  { eval_time: "6m", alertname: "RancherHooksCattleDown", exp_alerts: [] },
                  {
                    eval_time: "8m",
                    alertname: "RancherHooksCattleDown",
                    exp_alerts: firing("", "rancher-hooks cannot reach Rancher, or cannot be scraped"),
                  },
                ],
              },
              {
                // Rancher down for good: the scrapes fail too once the scraper's key can no longer be
                // checked, so `rancher_hooks_cattle_up` goes missing and `up` says it.
                interval: "1m",
                input_series: [
                  { series: "rancher_hooks_cattle_up", values: "1 1 0 0 _x36" },
                  { series: 'up{job="rancher-hooks"}', values: "1x4 0x36" },
                ],
                alert_rule_test: [
                  { eval_time: "3m", alertname: "RancherHooksCattleDown", exp_alerts: [] },
                  {
                    eval_time: "12m",
                    alertname: "RancherHooksCattleDown",
                    exp_alerts: firing(
                      'job="rancher-hooks"',
                      "rancher-hooks cannot reach Rancher, or cannot be scraped",
                    ),
                  },
                ],
              },
            ],
          }),
        );
        const tested = await run(PROMTOOL, ["test", "rules", join(dir, "test.yml")]).catch(
          (error: { stdout?: string; stderr?: string }) => {
            throw new Error(`promtool test rules failed:\n${error.stdout}\n${error.stderr}`);
          },
        );
        expect(tested.stdout).toContain("SUCCESS");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it("Production checklist: the deploy steps keep the signing keys in a 0600 file, then put that file", async () => {
    const block = examples.take("sh", "npx wrangler login");
    // The block as a user runs it, with `npx` and `npm` standing in for Cloudflare: each records
    // what it was asked, and `wrangler secret put` what it was given on its input.
    const dir = mkdtempSync(join(tmpdir(), "readme-deploy-"));
    try {
      const bin = join(dir, "bin");
      const home = join(dir, "home");
      mkdirSync(bin);
      mkdirSync(home);
      for (const tool of ["npx", "npm"]) {
        writeFileSync(
          join(bin, tool),
          `#!/usr/bin/env bash
echo "${tool} $*" >> "${dir}/calls"
if [ "$1 $2 $3" = "wrangler secret put" ]; then cat > "${dir}/secret-$4"; fi
`,
          { mode: 0o755 },
        );
      }
      await sh(block.code, { PATH: `${bin}:${process.env.PATH}`, HOME: home });

      const calls = readFileSync(join(dir, "calls"), "utf8").trim().split("\n");
      expect(calls).toEqual([
        "npx wrangler login",
        "npx wrangler kv namespace create RECEIVERS",
        "npx wrangler secret put CATTLE_ACCESS_KEY",
        "npx wrangler secret put CATTLE_SECRET_KEY",
        "npx wrangler secret put WEBHOOK_SIGNING_KEYS",
        "npm run deploy",
      ]);
      const file = join(home, ".config/rancher-hooks/signing-keys.json");
      // Only its owner can read the key file, or list the folder it is in.
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(join(home, ".config/rancher-hooks")).mode & 0o777).toBe(0o700);
      const keys = JSON.parse(readFileSync(file, "utf8"));
      expect(keys.keys).toHaveLength(1);
      expect(keys.keys[0]).toMatchObject({ kid: "prod-1", alg: "EdDSA", kty: "OKP" });
      expect(keys.keys[0].d).toBeTypeOf("string");
      // The secret is the file, byte for byte: what is kept is what signs.
      expect(readFileSync(join(dir, "secret-WEBHOOK_SIGNING_KEYS"), "utf8")).toBe(readFileSync(file, "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("npm run deploy builds the Worker (wrangler's dry run)", async () => {
    const out = mkdtempSync(join(tmpdir(), "readme-deploy-"));
    try {
      await sh(`npx wrangler deploy --dry-run --outdir ${out}`);
      expect(existsSync(join(out, "index.js"))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("The Cattle emulator: every test hook", async () => {
    const block = examples.take("sh", "/_emulator/reset            # back to the seed data");
    // `curl -f` with `set -e`: a hook that answers an error fails the block.
    expect(
      block.code
        .trim()
        .split("\n")
        .every((line) => line.startsWith("curl -fsS ")),
    ).toBe(true);
    const printed = jsonValues(await sh(block.code));
    // reset prints nothing; stats, then each faults and config change, print what they hold now.
    expect(printed).toHaveLength(10);
    const [stats, ...changes] = printed as Record<string, unknown>[];
    expect(stats).toMatchObject({ total: expect.any(Number), byMethod: expect.any(Object) });
    expect(changes[0]).toMatchObject({ status: 503, count: 3 });
    // Each change keeps the faults set before it. The dev stack is the one the examples before this
    // one used, and a follow-up of theirs (an alarm's look at a service) may take one of the three
    // failures between the two requests: what is left of them is still there.
    expect(changes[1]).toMatchObject({ status: 503, delayMs: 100 });
    expect(changes[1]?.count).toBeGreaterThanOrEqual(1);
    expect(changes[1]?.count).toBeLessThanOrEqual(3);
    expect(changes[2]).toMatchObject({ upgradeFailure: "pull access denied" });
    expect(changes[3]).toMatchObject({ lateMs: 5000, lateCount: 1 });
    expect(changes[4]).toMatchObject({ dropCount: 1 });
    expect(changes[5]).toMatchObject({ unhealthyImage: "myorg/api:1.1.0" });
    expect(changes[6]).toMatchObject({ transitionMs: 4000, lockWaitMs: 1000 });
    expect(changes[7]).toMatchObject({ healthyMs: 2000 });
    expect(changes[8]).toMatchObject({
      count: 0,
      delayMs: 0,
      lateCount: 0,
      dropCount: 0,
      unhealthyImage: null,
    });
    await sh("curl -fsS -X POST http://127.0.0.1:8788/_emulator/reset");
    const config = JSON.parse(await sh("curl -fsS http://127.0.0.1:8788/_emulator/config"));
    expect(config).not.toMatchObject({ transitionMs: 4000 });
  });

  it("npm run dev:deno serves the same service", async () => {
    examples.take("sh", "npm run dev:deno");
    const deno = await startDev(true);
    try {
      const response = await fetch(`${deno.hooks}/v1-webhooks/schemas`);
      expect(response.status).toBe(200);
      expect(deno.output).not.toMatch(/ENOTFOUND|EAI_AGAIN|Error:/);
    } finally {
      await stopDev(deno);
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
      ["sh", "npm run bench -- --quick", "about 10 minutes of the machine: docs/performance.md's benchmark"],
      ["sh", "git clone https://github.com/rancher/webhook-service", "a Go toolchain and GitHub"],
    ];
    for (const [lang, marker, why] of outside) expect(examples.take(lang, marker), why).toBeDefined();
    // Checked elsewhere: test/integration/storage.test.ts writes docs/storage.md's schema from the
    // objects' migrations and fails when the committed page differs.
    for (const marker of ["CREATE TABLE cooldowns", "CREATE TABLE legacy_receivers"]) {
      expect(examples.take("sql", marker).file).toBe("docs/storage.md");
    }
    // A diagram: the names it shows are those of the service, and the target is named as one is.
    const diagram = examples.take("text", "TargetObject").code;
    expect(diagram).toContain("POST /v1-webhooks/endpoint?token=");
    expect(readFileSync("wrangler.toml", "utf8")).toContain('class_name = "TargetObject"');
    expect(diagram).toContain('"scaleService:1a5:1s1"');
    expect(readFileSync("src/drivers/scale-service/target.ts", "utf8")).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the text of the template that names a target
      "`scaleService:${projectId}:${config.serviceId}`",
    );
    accountedForOutside = true;
  });
});

/** The JSON values of text that prints several one after another, with or without newlines between. */
function jsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "{" || char === "[") {
      if (depth++ === 0) start = i;
    } else if (char === "}" || char === "]") {
      if (--depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  expect(depth, "every value printed is whole").toBe(0);
  return values;
}

/** Runs a docs block with bash in `cwd`, its 127.0.0.1:8787 pointing at `hooks`. */
async function bashIn(cwd: string, code: string, hooks?: string): Promise<string> {
  const text = hooks ? code.replaceAll("http://127.0.0.1:8787", hooks) : code;
  try {
    const { stdout } = await run("bash", ["-c", `set -euo pipefail\n${text}`], {
      cwd,
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${failure.message}\nstdout: ${failure.stdout}\nstderr: ${failure.stderr}`);
  }
}

/** Each `# → …` line of a docs block must match a line it printed; answers how many there were. */
function arrowsOf(block: Block, stdout: string): number {
  const arrows = block.code
    .split("\n")
    .map((line) => /^\s*# → (.*)$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined);
  for (const arrow of arrows) {
    const pattern = new RegExp(
      `^${arrow
        .split("…")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    );
    expect(
      stdout.split("\n").some((line) => pattern.test(line.trim())),
      `${block.heading} printed no line like "${arrow}":\n${stdout}`,
    ).toBe(true);
  }
  return arrows.length;
}

describe("docs/keys.md", () => {
  const first = examples.take("sh", "node scripts/signing-key.mjs prod-1 > signing-keys.json");
  const rotate = examples.take("sh", "--rotate signing-keys.json prod-2");

  /**
   * `npx wrangler secret put NAME` needs a Cloudflare account: in its place, a function that keeps
   * what would have been sent, so the test checks the secret is exactly the file.
   */
  const offline = (code: string) => {
    expect(code).toContain("npx wrangler secret put WEBHOOK_SIGNING_KEYS < signing-keys.json");
    return `npx() {
  if [ "$1 $2 $3 $4" != "wrangler secret put WEBHOOK_SIGNING_KEYS" ]; then echo "unexpected: npx $*" >&2; return 1; fi
  cat > sent-secret.json
}
${code}`;
  };

  it("writes the key set to a file of mode 0600 before it is put, rotates it, and old URLs still verify", async () => {
    const dir = mkdtempSync(join(tmpdir(), "docs-keys-"));
    try {
      symlinkSync(join(process.cwd(), "scripts"), join(dir, "scripts"));
      await bashIn(dir, offline(first.code));
      const mode = (name: string) => statSync(join(dir, name)).mode & 0o777;
      expect(mode("signing-keys.json")).toBe(0o600);
      const original = readFileSync(join(dir, "signing-keys.json"), "utf8");
      expect(readFileSync(join(dir, "sent-secret.json"), "utf8")).toBe(original);
      const before = await loadSigningKeys(original);
      const claims = {
        sub: "r1",
        pid: "1a5",
        drv: "scaleService",
        tgt: "scaleService:1a5:1s1",
        ver: 1,
        cfg: { serviceId: "1s1" },
      };
      const token = await before.sign(claims, Date.now());

      await bashIn(dir, offline(rotate.code));
      for (const name of ["signing-keys.json", "signing-keys.before-prod-2.json"])
        expect(mode(name)).toBe(0o600);
      expect(readFileSync(join(dir, "signing-keys.before-prod-2.json"), "utf8")).toBe(original);
      const rotated = readFileSync(join(dir, "signing-keys.json"), "utf8");
      expect(readFileSync(join(dir, "sent-secret.json"), "utf8")).toBe(rotated);
      const keys = JSON.parse(rotated).keys as Record<string, unknown>[];
      expect(keys.map((key) => [key.kid, typeof key.d])).toEqual([
        ["prod-2", "string"],
        ["prod-1", "undefined"],
      ]);
      expect(await (await loadSigningKeys(rotated)).verify(token)).toMatchObject(claims);
      expect(existsSync(join(dir, "signing-keys.next.json"))).toBe(false);

      // A rotation that fails (the kid is taken) leaves the key set as it was and puts nothing.
      rmSync(join(dir, "sent-secret.json"));
      await expect(bashIn(dir, offline(rotate.code.replace("prod-2", "prod-1")))).rejects.toThrow(
        /kid "prod-1"/,
      );
      expect(readFileSync(join(dir, "signing-keys.json"), "utf8")).toBe(rotated);
      expect(existsSync(join(dir, "sent-secret.json"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * `npm run dev` for a test that needs two stacks at once. Two workerd processes starting on one
 * machine under load sometimes stop on "database is locked" before they serve; that is the start,
 * not the service under test, so a stack that stopped while starting is started once more.
 */
async function startDevAgainIfStopped(): Promise<Stack> {
  try {
    return await startDev();
  } catch (error) {
    if (!(error as Error).message.startsWith("npm run dev stopped")) throw error;
    return startDev();
  }
}

describe("docs/backup.md", () => {
  const backup = examples.take("sh", "action=export&includeSecrets=true");
  const restoreBlock = examples.take("sh", "--data-binary @receivers-1a5.json");
  const example = examples.take("json", '"type": "receiverExport"');
  let old: Stack | undefined;
  let fresh: Stack | undefined;

  afterAll(() => {
    stopDev(old);
    stopDev(fresh);
  });

  it("moves an environment to a fresh deployment with the same keys: same ids, old URLs trigger, checks hold", async () => {
    old = await startDevAgainIfStopped();
    const call = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${old?.hooks}${path}`, {
        ...init,
        headers: {
          authorization: `Basic ${btoa("dev-access:dev-secret")}`,
          "content-type": "application/json",
        },
      });
      expect(response.status, await response.clone().text()).toBeLessThan(300);
      return (await response.json()) as Record<string, any>;
    };
    const create = (body: Record<string, unknown>) =>
      call("/v1-webhooks/receivers?projectId=1a5", { method: "POST", body: JSON.stringify(body) });
    const config = { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 50 };
    const plain = await create({ name: "moved-plain", driver: "scaleService", scaleServiceConfig: config });
    const bearer = await create({
      name: "moved-bearer",
      driver: "scaleService",
      scaleServiceConfig: config,
      senderVerification: { scheme: "bearer", token: "moved-bearer-token-0123" },
    });
    const github = await create({
      name: "moved-github",
      driver: "scaleService",
      scaleServiceConfig: config,
      senderVerification: { scheme: "github", secret: "moved-github-secret-0123" },
    });
    const once = await create({
      name: "moved-regenerated",
      driver: "scaleService",
      scaleServiceConfig: config,
    });
    const regenerated = await call(`/v1-webhooks/receivers/${once.id}?projectId=1a5&action=regenerate`, {
      method: "POST",
    });

    const dir = mkdtempSync(join(tmpdir(), "docs-backup-"));
    try {
      expect(arrowsOf(backup, await bashIn(dir, backup.code, old.hooks))).toBe(1);
      expect(statSync(join(dir, "receivers-1a5.json")).mode & 0o777).toBe(0o600);
      const exported = JSON.parse(readFileSync(join(dir, "receivers-1a5.json"), "utf8"));
      // The page's example is shaped like a real export.
      const shown = JSON.parse(example.code);
      expect(Object.keys(exported).sort()).toEqual(Object.keys(shown).sort());
      const plainEntry = exported.receivers.find((entry: { id: string }) => entry.id === plain.id);
      expect(Object.keys(plainEntry).sort()).toEqual(Object.keys(shown.receivers[0]).sort());

      fresh = await startDevAgainIfStopped();
      const restoreOut = await bashIn(dir, restoreBlock.code, fresh.hooks);
      expect(arrowsOf(restoreBlock, restoreOut)).toBe(1);
      const result = JSON.parse(restoreOut);
      expect(result.imported.map((receiver: { id: string }) => receiver.id).sort()).toEqual(
        [plain.id, bearer.id, github.id, once.id].sort(),
      );
      expect(result.skipped).toEqual([]);

      const moved = (url: string) => url.replace(old?.hooks ?? "", fresh?.hooks ?? "");
      const post = (url: string, init: RequestInit = {}) => fetch(moved(url), { method: "POST", ...init });
      const outcome = async (response: Response) => {
        expect(response.status, await response.clone().text()).toBe(200);
        return ((await response.json()) as { outcome: string }).outcome;
      };
      expect(await outcome(await post(plain.url))).toBe("applied");
      expect(await outcome(await post(regenerated.url))).toBe("applied");
      expect((await post(once.url)).status).toBe(403);
      expect((await post(bearer.url)).status).toBe(401);
      expect(
        await outcome(
          await post(bearer.url, { headers: { authorization: "Bearer moved-bearer-token-0123" } }),
        ),
      ).toBe("applied");
      const body = '{"zen":"moved"}';
      expect((await post(github.url, { body })).status).toBe(401);
      const signature = createHmac("sha256", "moved-github-secret-0123").update(body).digest("hex");
      expect(
        await outcome(
          await post(github.url, { body, headers: { "x-hub-signature-256": `sha256=${signature}` } }),
        ),
      ).toBe("applied");
      const emulatorScale = await fetch(`${fresh.emulator}/v2-beta/projects/1a5/services/1s1`, {
        headers: { authorization: `Basic ${btoa("dev-access:dev-secret")}` },
      }).then((response) => response.json() as Promise<{ scale: number }>);
      expect(emulatorScale.scale).toBeGreaterThan(1);

      // Restoring again changes nothing.
      const again = JSON.parse(await bashIn(dir, restoreBlock.code, fresh.hooks));
      expect(again.imported).toEqual([]);
      expect(again.skipped).toHaveLength(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe("docs/monitoring.md", () => {
  // Taken when the tests are collected, so that a machine without promtool still accounts for them.
  const scrape = examples.take("yaml", "job_name: rancher-hooks-1a5");
  const rules = examples.take("yaml", "alert: ReceiverExecutionFailed");
  const logLines = examples.take("text", '"event":"execution"');

  it.skipIf(!existsSync(PROMTOOL))("the scrape config passes promtool check config", async () => {
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
      expect(rules.code).toContain('increase(rancher_hooks_executions_total{outcome=~"failed|rolledBack"}');
      const dir = mkdtempSync(join(tmpdir(), "monitoring-rules-"));
      try {
        writeFileSync(join(dir, "rules.yml"), rules.code);
        const checked = await run(PROMTOOL, ["check", "rules", join(dir, "rules.yml")]);
        expect(checked.stdout).toContain("SUCCESS: 4 rules found");
        copyFileSync("test/fixtures/monitoring-rules.test.yml", join(dir, "tests.yml"));
        const tested = await run(PROMTOOL, ["test", "rules", "tests.yml"], { cwd: dir });
        expect(tested.stdout).toContain("SUCCESS");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it("the example log lines are run by test/e2e/observe.test.ts against the service's own lines", () => {
    expect(logLines.code).toContain('"event":"cattle_failure"');
  });
});

// ---- docs/private-rancher.md and docs/deno-server.md ---------------------------------------------

/**
 * The blocks of one docs page, claimed through `examples` (so the file's check for unclaimed blocks
 * sees them), each found only in that page.
 */
function docExamples(path: string) {
  const inPage = (block: Block) => {
    if (block.file !== path) throw new Error(`${block.file}:${block.line} was taken for ${path}`);
    return block;
  };
  return {
    take: (lang: string, marker: string) => inPage(examples.take(lang, marker)),
    takeExactly: (lang: string, code: string) => inPage(examples.takeExactly(lang, code)),
    unclaimed: () =>
      examples
        .unclaimed([...new Set(examples.blocks.map((block) => block.lang))])
        .filter((line) => line.startsWith(`${path}:`)),
  };
}

/** A dev stack of test/e2e/dev-stack.ts, as this file's `stack` (so `sh` runs blocks against it). */
async function startDocStack(options: Parameters<typeof startDevStack>[0]) {
  const dev = await startDevStack(options);
  stack = asStack(dev);
  return dev;
}

const WRANGLER = ["node_modules/wrangler/bin/wrangler.js"];
const QUIET_WRANGLER = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

describe("docs/private-rancher.md", () => {
  const doc = docExamples("docs/private-rancher.md");
  let dev: Awaited<ReturnType<typeof startDevStack>> | undefined;
  // This describe's stacks stand in for the file's own while it runs; the file's is stopped by its
  // own afterAll, so it is put back here.
  let fileStack: Stack;
  beforeAll(() => {
    fileStack = stack;
  });
  afterAll(async () => {
    await dev?.dispose();
    stack = fileStack;
  });

  it("npm run dev -- --cattle-binding: health, the binding's host, and Access refusing a stack without the token", async () => {
    const start = doc.takeExactly("sh", "npm run dev -- --cattle-binding");
    const flags = start.code.trim().split(" -- ")[1]?.split(" ") ?? [];
    await dev?.dispose();
    dev = await startDocStack({ flags });
    expect(stack.output).toContain("through the CATTLE binding");
    const local = doc.take("sh", "_emulator/stats | jq -c .hosts");
    expect(expectArrows(local, await sh(local.code))).toBe(2);
    const health = doc.take("sh", "-w '%{http_code}\\n' http://127.0.0.1:8787/v1-webhooks/health");
    expect(expectArrows(health, await sh(health.code))).toBe(1);
    const access = doc.take("sh", '"requireHeaders":{"CF-Access-Client-Id"');
    expect(expectArrows(access, await sh(access.code))).toBe(2);
    // Refused by "Access": the service's reads of Cattle came through the binding and were turned away.
    const stats = (await (await fetch(`${stack.emulator}/_emulator/stats`)).json()) as {
      hosts: Record<string, number>;
    };
    expect(Object.keys(stats.hosts)).toEqual(["rancher.internal:8080"]);
  }, 180_000);

  it("the token from the environment gets through the emulator's requireHeaders", async () => {
    const block = doc.take("sh", "CATTLE_ACCESS_CLIENT_ID=dev.access CATTLE_ACCESS_CLIENT_SECRET=");
    const [assignments, args] = block.code.trim().split(" npm run dev -- ");
    const env = Object.fromEntries(
      (assignments ?? "").split(" ").map((pair) => pair.split("=") as [string, string]),
    );
    expect(Object.keys(env)).toEqual(["CATTLE_ACCESS_CLIENT_ID", "CATTLE_ACCESS_CLIENT_SECRET"]);
    // The previous test's stack, whether it passed or not, is gone before this one starts.
    await dev?.dispose();
    dev = await startDocStack({ flags: (args ?? "").split(" "), env });
    expect(stack.output).not.toContain(env.CATTLE_ACCESS_CLIENT_SECRET);
    // The same requireHeaders as the block above: this stack carries the token, so all is well.
    const access = doc.take("sh", '"requireHeaders":{"CF-Access-Client-Id"').code.split("sleep")[0] ?? "";
    await sh(access);
    expect(await (await fetch(`${stack.hooks}/v1-webhooks/health`)).json()).toEqual({ status: "ok" });
    const created = await api("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: JSON.stringify({
        name: "behind-access",
        driver: "scaleService",
        scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 10 },
      }),
    });
    expect(created.status).toBe(201);
    const answer = await fetch(created.body.url, { method: "POST" });
    expect(await answer.json()).toMatchObject({ outcome: "applied", from: 1, to: 2 });
  }, 180_000);

  it("the wrangler.toml binding deploys (dry run) as a VPC Service named CATTLE", async () => {
    const block = doc.take("toml", "[[vpc_services]]");
    const dir = mkdtempSync(join(tmpdir(), "vpc-config-"));
    try {
      // wrangler.toml as it is, its [vars] replaced by the block's, and its entry point made absolute.
      const config = readFileSync("wrangler.toml", "utf8")
        .replace(/^\[vars\]\n(?:[A-Z_]+ = .*\n)+/m, "")
        .replace(
          /^main = "([^"]+)"$/m,
          (_: string, path: string) => `main = ${JSON.stringify(join(process.cwd(), path))}`,
        );
      writeFileSync(join(dir, "wrangler.toml"), `${config}\n${block.code}`);
      const { stdout } = await run(
        process.execPath,
        [...WRANGLER, "deploy", "--dry-run", "-c", join(dir, "wrangler.toml"), "--outdir", join(dir, "out")],
        { env: { ...process.env, ...QUIET_WRANGLER }, timeout: 120_000 },
      );
      expect(stdout).toMatch(/env\.CATTLE \(0c8c0c5c-5d0e-4b5e-9c4e-1b2f3a4b5c6d\)\s+VPC Service/);
      expect(stdout).toContain('env.CATTLE_URL ("http://rancher.internal:8080")');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // wrangler.toml carries the same binding, commented out.
    expect(readFileSync("wrangler.toml", "utf8")).toMatch(/^# \[\[vpc_services\]\]\n# binding = "CATTLE"\n/m);
  }, 180_000);

  it("the wrangler commands that need an account are ones this wrangler knows, with these options", async () => {
    const create = doc.take("sh", "wrangler vpc service create");
    const command = (create.code.split("\n")[0] ?? "").replace(/^npx wrangler /, "").split(" ");
    const { stdout: help } = await run(
      process.execPath,
      [...WRANGLER, "vpc", "service", "create", "--help"],
      {
        env: { ...process.env, ...QUIET_WRANGLER },
      },
    );
    for (const option of command.filter((word) => word.startsWith("--")))
      expect(help).toContain(`${option} `);
    expect(command.slice(0, 4)).toEqual(["vpc", "service", "create", "rancher"]);
    expect(help).toMatch(/--type .*"http"/);
    const secrets = doc.take("sh", "wrangler secret put CATTLE_ACCESS_CLIENT_ID");
    const lines = secrets.code.trim().split("\n");
    expect(lines).toEqual([
      "npx wrangler secret put CATTLE_ACCESS_CLIENT_ID",
      "npx wrangler secret put CATTLE_ACCESS_CLIENT_SECRET",
    ]);
    const { stdout: putHelp } = await run(process.execPath, [...WRANGLER, "secret", "put", "--help"], {
      env: { ...process.env, ...QUIET_WRANGLER },
    });
    expect(putHelp).toContain("wrangler secret put <key>");
  }, 60_000);

  it("every other block needs a Cloudflare account and says so, and none is left unclaimed", () => {
    expect(doc.take("sh", "cloudflared tunnel create"), "a Cloudflare account and cloudflared").toBeDefined();
    expect(doc.unclaimed()).toEqual([]);
  });
});

describe("docs/deno-server.md", () => {
  const doc = docExamples("docs/deno-server.md");
  const testCommand = ["node", ...denoDocArgs(8787)];

  it("starts the server with the command the tests run it with", () => {
    const block = doc.take("sh", "--allow-write src/deno.ts --port");
    expect(block.code.trim().split(" ")).toEqual(testCommand);
  });

  it("has a systemd unit whose ExecStart is that command", () => {
    const unit = doc.take("ini", "ExecStart=");
    const entries = unit.code
      .split("\n")
      .filter((line) => /^[A-Za-z]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const);
    const value = (key: string) => entries.filter(([name]) => name === key).map(([, v]) => v);
    const exec = (value("ExecStart")[0] ?? "").split(" ");
    expect(exec[0]).toMatch(/^\/.*\/node$/);
    expect(["node", ...exec.slice(1)]).toEqual(testCommand);
    expect(value("UMask")).toEqual(["0077"]);
    expect(value("StateDirectoryMode")).toEqual(["0700"]);
    expect(value("Environment").join(" ")).toContain("DATA_DIR=/var/lib/rancher-hooks");
    expect(value("User")).toEqual(["rancher-hooks"]);
  });

  it.skipIf(!existsSync(SYSTEMD_ANALYZE))("has a systemd unit that systemd-analyze verifies", async () => {
    const unit = doc.take("ini", "ExecStart=");
    const exec = (/^ExecStart=(\S+)/m.exec(unit.code)?.[1] ?? "").trim();
    expect(exec).toMatch(/^\/.*\/node$/);
    // systemd itself reads it; the node binary named there must exist, so this machine's is put in.
    const dir = mkdtempSync(join(tmpdir(), "unit-"));
    try {
      const file = join(dir, "rancher-hooks.service");
      writeFileSync(file, unit.code.replace(`ExecStart=${exec}`, `ExecStart=${process.execPath}`));
      const { stderr } = await run(SYSTEMD_ANALYZE, ["verify", file]);
      expect(stderr).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("backs DATA_DIR up with its modes as they are", async () => {
    const block = doc.take("sh", "tar --create");
    const tarLine = block.code.split("\n").find((line) => line.includes("tar --create")) ?? "";
    const dir = mkdtempSync(join(tmpdir(), "backup-"));
    try {
      const data = join(dir, "data");
      mkdirSync(join(data, "targets"), { recursive: true, mode: 0o700 });
      writeFileSync(join(data, "receivers.kv"), "kv", { mode: 0o600 });
      writeFileSync(join(data, "targets", "a.sqlite"), "db", { mode: 0o600 });
      chmodSync(data, 0o700);
      // The block's tar, without sudo, on a data directory and an archive of the test's own.
      const command = tarLine
        .replace(/^sudo /, "")
        .replace("/root/rancher-hooks-$(date +%F).tar.gz", join(dir, "backup.tar.gz"))
        .replace("/var/lib/rancher-hooks", data);
      await sh(command);
      const { stdout } = await run("tar", [
        "--list",
        "--verbose",
        "--gzip",
        "--file",
        join(dir, "backup.tar.gz"),
      ]);
      expect(stdout).toMatch(/^drwx------ .* \.\/$/m);
      expect(stdout).toMatch(/^-rw------- .* \.\/receivers\.kv$/m);
      expect(stdout).toMatch(/^-rw------- .* \.\/targets\/a\.sqlite$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(block.code).toContain("systemctl stop rancher-hooks");
  });

  it("leaves no block unclaimed", () => {
    expect(doc.unclaimed()).toEqual([]);
  });
});

// The soak runs the simulator alone, without the stack; the rolled-back upgrade below waits on the
// stack's upgrade and health checks: the two run at the same time.
describe.concurrent("README.md: a long soak of the simulator", () => {
  /** `npm run simulate -- …` as a user runs it: its output, and its exit code (1 when a seed failed). */
  const simulate = async (args: string[]): Promise<{ code: number; stdout: string }> => {
    try {
      const { stdout } = await run("npm", ["run", "--silent", "simulate", "--", ...args], {
        timeout: 170_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout };
    } catch (error) {
      const failed = error as { code?: unknown; stdout?: string };
      if (typeof failed.code !== "number") throw error;
      return { code: failed.code, stdout: failed.stdout ?? "" };
    }
  };

  it("runs seeds, says how to replay each failing one, and replays a seed the same way twice", async () => {
    const block = examples.take("sh", "npm run simulate -- --seeds 100000");
    expect(block.code.trim().split("\n")).toEqual([
      "npm run simulate -- --seeds 100000",
      "npm run simulate -- --seed 42",
    ]);

    // The soak, cut to 20 seeds.
    const soak = await simulate(["--seeds", "20"]);
    const summary = /^20 seeds from 1: (\d+) failed, in [\d.]+ s$/m.exec(soak.stdout);
    expect(summary, soak.stdout).not.toBeNull();
    const failed = Number(summary?.[1]);
    expect(soak.code).toBe(failed > 0 ? 1 : 0);
    const failing = [...soak.stdout.matchAll(/^seed (\d+) FAILED: /gm)].map((match) => match[1]);
    expect(failing).toHaveLength(failed);
    for (const seed of failing) {
      expect(soak.stdout).toContain(`  replay: npm run simulate -- --seed ${seed}\n`);
    }
    // The first seed of each kind of failure is shrunk; the others say how to shrink theirs.
    const kinds = new Set([...soak.stdout.matchAll(/^seed \d+ FAILED: ([^:]+):/gm)].map((match) => match[1]));
    expect(soak.stdout.match(/^ {2}shrunk to \d+ of \d+ events/gm) ?? []).toHaveLength(kinds.size);
    expect(soak.stdout.match(/^ {2}not shrunk: /gm) ?? []).toHaveLength(failed - kinds.size);

    // The replay: the plan, the trace and the verdict, the same in a second process.
    const replay = await simulate(["--seed", "42"]);
    expect(replay.stdout).toMatch(/^seed 42: plan\n/);
    expect(replay.stdout).toContain("\ntrace\n");
    expect(replay.stdout).toMatch(/answered 201/);
    const verdict = /^seed 42 (passed|FAILED)/m.exec(replay.stdout)?.[1];
    expect(replay.code).toBe(verdict === "passed" ? 0 : 1);
    expect((await simulate(["--seed", "42"])).stdout).toBe(replay.stdout);
  }, 180_000);
});

describe.concurrent("README.md: an upgrade that rolls itself back", () => {
  it("a push of an image whose new containers fail their health check ends rolledBack, on the previous image", async () => {
    await sh("curl -fsS -X POST http://127.0.0.1:8788/_emulator/reset");
    const block = examples.take("sh", '"name":"api-checked"');
    try {
      expect(expectArrows(block, await sh(block.code))).toBe(4);
      expect((await emulatorService("1s5")).launchConfig.imageUuid).toBe("docker:myorg/api:1.0.0");
      const receiver = await receiverNamed("api-checked");
      const [execution] = (await api(`/v1-webhooks/receivers/${receiver?.id}/executions?projectId=1a5`)).body
        .data;
      // docs/upgrades.md quotes such a reason: this one has its shape.
      const quoted = examples.take("text", "rolled back 1s5 (api) from myorg/api:1.1.0 to myorg/api:1.0.0:");
      const shape = (reason: string) =>
        reason.replace(/1i\d+ \(Default-api-\d+\)/g, "C").replace(/(, C unhealthy)+/, "");
      expect(shape(execution.reason)).toBe(shape(quoted.code.trim()));
    } finally {
      await sh("curl -fsS -X POST http://127.0.0.1:8788/_emulator/reset");
      const receiver = await receiverNamed("api-checked");
      if (receiver) await api(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, { method: "DELETE" });
    }
  }, 90_000);
});

// ---- Notifications: README.md "Say what happened" and docs/notifications.md ----------------------

/**
 * A block with each destination URL's origin (`https://hooks.slack.com`) put on a capture server,
 * the path kept, so that the URL hints it prints end as the block shows: the only changes made,
 * besides the stack's ports. Answers the block as run, and the captured path of each kind.
 */
function onCapture(block: Block, origin: string) {
  const destinations = [...block.code.matchAll(/"kind":"(\w+)","url":"(https:\/\/[^"/]+)([^"]*)"/g)].map(
    ([, kind, from, path]) => ({ kind: kind as string, from: from as string, path: path as string }),
  );
  let code = block.code;
  for (const { from } of destinations) {
    code = code
      .replaceAll(`"url":"${from}`, `"url":"${origin}`)
      .replaceAll(`${new URL(from).host} ...`, `${new URL(origin).host} ...`);
  }
  return {
    block: { ...block, code },
    paths: Object.fromEntries(destinations.map(({ kind, path }) => [kind, path])),
  };
}

/** What Slack, Teams and Discord answer a message they took; a receiving app answers 204. */
const CHAT_ANSWERS: Record<string, { status: number; body?: string }> = {
  "/services/": { status: 200, body: "ok" },
  "/workflows/": { status: 202 },
  "/api/webhooks/": { status: 204 },
};
const answerLikeChats = (request: Captured) =>
  Object.entries(CHAT_ANSWERS).find(([prefix]) => request.path.startsWith(prefix))?.[1] ?? { status: 204 };

describe("README.md: say what happened", () => {
  it("a receiver with one destination of each kind: each test message arrives as that destination takes it", async () => {
    const readme = examples.take("sh", '"name":"scale-web-told"');
    expect(readme.file).toBe("README.md");
    const capture = await startCapture(answerLikeChats);
    try {
      const { block, paths } = onCapture(readme, capture.origin);
      expect(Object.keys(paths)).toEqual(["slack", "teams", "discord", "webhook"]);
      const stdout = await sh(block.code);
      expect(expectArrows(block, stdout)).toBe(5);
      const secret = /signing secret, shown this once: (whsec_\S+)/.exec(stdout)?.[1] as string;
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);

      const only = (kind: string) => {
        const got = capture.to(paths[kind] as string);
        expect(got, kind).toHaveLength(1);
        return got[0] as Captured;
      };
      const summary = "scale-web-told: test message from rancher-hooks";
      expect(checkSlack(only("slack").body).text).toBe(summary);
      const { card, events } = teamsCard(only("teams").body);
      expect(events).toEqual([]);
      expect(JSON.stringify(card)).toContain(summary);
      expect(checkDiscord(only("discord").body).content).toContain("test message from rancher");
      const webhook = only("webhook");
      expect(verifyWebhook(webhook, secret)).toMatchObject({
        type: "receiver.test",
        id: webhook.headers["webhook-id"],
        receiver: { name: "scale-web-told", driver: "scaleService", projectId: "1a5" },
        summary,
        executions: [],
      });
      // Signed with that secret and no other, over that very body.
      const other = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`;
      expect(() => verifyWebhook(webhook, other)).toThrow();
      expect(() =>
        verifyWebhook({ ...webhook, body: webhook.body.replace("receiver.test", "receiver.tested") }, secret),
      ).toThrow();
      // The block deletes its receiver: run again, it starts over the same way.
      expect(await receiverNamed("scale-web-told")).toBeUndefined();
    } finally {
      await capture.close();
      const left = await receiverNamed("scale-web-told");
      if (left) await api(`/v1-webhooks/receivers/${left.id}?projectId=1a5`, { method: "DELETE" });
    }
  });
});

describe("docs/notifications.md", () => {
  const doc = docExamples("docs/notifications.md");
  const delete_ = (id: string) => api(`/v1-webhooks/receivers/${id}?projectId=1a5`, { method: "DELETE" });

  it("a burst is one message in the delivery log, and an edit by id keeps the URL", async () => {
    await sh("curl -fsS -X POST http://127.0.0.1:8788/_emulator/reset");
    const capture = await startCapture(answerLikeChats);
    try {
      const { block, paths } = onCapture(doc.take("sh", '"name":"web-told"'), capture.origin);
      expect(expectArrows(block, await sh(block.code))).toBe(2);
      const [message, ...more] = capture.to(paths.slack as string);
      expect(more).toEqual([]);
      expect(checkSlack(message?.body ?? "").text).toBe("web-told: 3 applied, web 1 → 4");
    } finally {
      await capture.close();
      const left = await receiverNamed("web-told");
      if (left) await delete_(left.id);
    }
  });

  it("the webhook body is shaped as shown, and signed so that standardwebhooks verifies it", async () => {
    const shown = JSON.parse(doc.take("json", '"type": "receiver.executions"').code);
    const capture = await startCapture(() => ({ status: 204 }));
    let id = "";
    try {
      const created = await api("/v1-webhooks/receivers?projectId=1a5", {
        method: "POST",
        body: JSON.stringify({
          name: "webhook-shape",
          driver: "scaleService",
          scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 100 },
          notifyWindowSeconds: 1,
          notifications: [{ kind: "webhook", url: `${capture.origin}/shape` }],
        }),
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      id = created.body.id;
      const secret = created.body.notifications[0].secret as string;
      const answers = [];
      for (let i = 0; i < 2; i++)
        answers.push(await (await fetch(created.body.url, { method: "POST" })).json());
      const request = await eventually("the webhook message", async () => capture.to("/shape")[0]);
      const body = verifyWebhook(request, secret) as Record<string, any>;
      const keys = (value: Record<string, unknown>) => Object.keys(value).sort();
      expect(keys(body)).toEqual(keys(shown));
      for (const part of ["environment", "receiver"]) expect(keys(body[part])).toEqual(keys(shown[part]));
      expect(body.executions.map(keys)).toEqual(shown.executions.map(keys));
      expect(body.executions).toEqual(answers);
      expect(body).toMatchObject({ type: "receiver.executions", id: request.headers["webhook-id"] });
      expect(body.summary).toMatch(/^webhook-shape: 2 applied, web \d+ → \d+$/);
    } finally {
      await capture.close();
      if (id) await delete_(id);
    }
  });

  it("the receiving app takes a message signed with its secret, once, and refuses any other", async () => {
    const app = doc.take("js", 'import { Webhook } from "standardwebhooks";');
    const dir = mkdtempSync(join(tmpdir(), "docs-receiving-app-"));
    let child: ChildProcess | undefined;
    let id = "";
    try {
      // The app in a folder of its own, where `standardwebhooks` is installed (this checkout's).
      symlinkSync(join(process.cwd(), "node_modules"), join(dir, "node_modules"));
      writeFileSync(join(dir, "receive-rancher-hooks.mjs"), app.code);
      const port = await freePort();
      const created = await api("/v1-webhooks/receivers?projectId=1a5", {
        method: "POST",
        body: JSON.stringify({
          name: "to-an-app",
          driver: "scaleService",
          scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 100 },
          notifyWindowSeconds: 0,
          notifications: [{ kind: "webhook", url: `http://127.0.0.1:${port}/rancher-hooks` }],
        }),
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      id = created.body.id;
      let printed = "";
      child = spawn(process.execPath, ["receive-rancher-hooks.mjs"], {
        cwd: dir,
        env: {
          ...process.env,
          RANCHER_HOOKS_SECRET: created.body.notifications[0].secret,
          PORT: String(port),
        },
        stdio: ["ignore", "pipe", "inherit"],
      });
      child.stdout?.on("data", (chunk) => (printed += chunk));
      await eventually("the app to listen", async () =>
        (await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "{}" }).catch(() => undefined))
          ?.status === 401
          ? true
          : undefined,
      );

      const tested = await api(`/v1-webhooks/receivers/${id}?projectId=1a5&action=testNotification`, {
        method: "POST",
      });
      expect(tested.body.results).toMatchObject([{ kind: "webhook", status: "delivered", httpStatus: 204 }]);
      await fetch(created.body.url, { method: "POST" });
      await eventually("the execution's message", async () =>
        printed.includes("receiver.executions") ? true : undefined,
      );
      expect(printed.trim().split("\n")).toEqual([
        "receiver.test to-an-app: test message from rancher-hooks",
        expect.stringMatching(/^receiver\.executions to-an-app: 1 applied, web \d+ → \d+$/),
      ]);

      // A message sent twice (delivery is at least once) is handled once.
      const secret = created.body.notifications[0].secret as string;
      const again = JSON.stringify({ type: "receiver.executions", id: "msg_twice", summary: "sent twice" });
      for (let i = 0; i < 2; i++) {
        const at = new Date();
        const sent = await fetch(`http://127.0.0.1:${port}/rancher-hooks`, {
          method: "POST",
          headers: {
            "webhook-id": "msg_twice",
            "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
            "webhook-signature": new Webhook(secret).sign("msg_twice", at, again),
          },
          body: again,
        });
        expect(sent.status).toBe(204);
      }
      expect(printed.match(/sent twice/g)).toHaveLength(1);

      // A message not signed with the secret is refused, and not handled.
      const forged = await fetch(`http://127.0.0.1:${port}/rancher-hooks`, {
        method: "POST",
        headers: {
          "webhook-id": "msg_forged",
          "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
          "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        },
        body: JSON.stringify({ type: "receiver.executions", id: "msg_forged", summary: "forged" }),
      });
      expect(forged.status).toBe(401);
      expect(printed).not.toContain("forged");
    } finally {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
      if (id) await delete_(id);
    }
  });

  it("leaves no block unclaimed", () => {
    expect(doc.unclaimed()).toEqual([]);
  });
});

// ---- README.md: Deno Deploy ------------------------------------------------------------------

describe("README.md: Deno Deploy", () => {
  const deno = (args: string[]) =>
    run(process.execPath, ["node_modules/deno/bin.cjs", ...args], {
      env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      timeout: 60_000,
    });

  it("the steps create the app from src/deno.ts, give it a KV database and every setting the server requires, then deploy", async () => {
    const block = examples.take("sh", "npx deno deploy create");
    // The block as a user runs it, with `npx` standing in for Deno Deploy (which needs an account):
    // it records each command, its arguments as given.
    const dir = mkdtempSync(join(tmpdir(), "readme-deno-deploy-"));
    try {
      const bin = join(dir, "bin");
      const home = join(dir, "home");
      mkdirSync(bin);
      mkdirSync(join(home, ".config/rancher-hooks"), { recursive: true, mode: 0o700 });
      // The signing keys as the README's step 3 leaves them.
      const keys = join(home, ".config/rancher-hooks/signing-keys.json");
      const { stdout: made } = await run(process.execPath, ["scripts/signing-key.mjs", "prod-1"]);
      writeFileSync(keys, made, { mode: 0o600 });
      writeFileSync(
        join(bin, "npx"),
        `#!/usr/bin/env bash\n"${process.execPath}" -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@" >> "${dir}/calls"\n`,
        { mode: 0o755 },
      );
      await sh(block.code, {
        PATH: `${bin}:${process.env.PATH}`,
        HOME: home,
        CATTLE_ACCESS_KEY: "deploy-access-key",
        CATTLE_SECRET_KEY: "deploy-secret-key",
      });

      const calls = readFileSync(join(dir, "calls"), "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as string[]);
      for (const call of calls) expect(call.slice(0, 2)).toEqual(["deno", "deploy"]);
      const commands = calls.map((call) => call.slice(2));
      const option = (args: string[] | undefined, name: string) => args?.[args.indexOf(name) + 1];
      const find = (...words: string[]) =>
        commands.find((args) => words.every((word, i) => args[i] === word)) ?? [];

      // The app: this checkout, run as a server from the Deno entrypoint.
      const [create] = commands;
      expect(create?.[0]).toBe("create");
      expect(option(create, "--source")).toBe("local");
      expect(option(create, "--runtime-mode")).toBe("dynamic");
      expect(option(create, "--entrypoint")).toBe("src/deno.ts");
      expect(existsSync("src/deno.ts")).toBe(true);
      const app = option(create, "--app");
      const org = option(create, "--org");
      expect(option(find("switch"), "--app")).toBe(app);
      expect(option(find("switch"), "--org")).toBe(org);
      // A Deno KV database, given to that app.
      const provision = find("database", "provision");
      expect(option(provision, "--kind")).toBe("denokv");
      const assign = find("database", "assign");
      expect(assign[2]).toBe(provision[2]);
      expect(option(assign, "--app")).toBe(app);

      // The settings: every one src/deno.ts requires, as a secret; the keys are the kept file.
      const source = readFileSync("src/deno.ts", "utf8");
      const required = [...source.matchAll(/required\("(\w+)"\)/g)].map((match) => match[1] as string);
      expect(required).toEqual(["CATTLE_ACCESS_KEY", "CATTLE_SECRET_KEY", "WEBHOOK_SIGNING_KEYS"]);
      const env = new Map(
        commands
          .filter((args) => args[0] === "env" && args[1] === "add")
          .map((args) => [args[2] as string, { value: args[3], secret: args.includes("--secret") }]),
      );
      expect([...env.keys()].sort()).toEqual([...required, "CATTLE_URL", "PUBLIC_URL"].sort());
      for (const name of required) expect(env.get(name)?.secret, name).toBe(true);
      for (const name of env.keys()) expect(source).toContain(`"${name}"`);
      // No data directory: the objects are in the KV database Deno Deploy gives the app.
      expect(env.has("DATA_DIR")).toBe(false);
      expect(env.has("KV_PATH")).toBe(false);
      expect(env.get("CATTLE_ACCESS_KEY")?.value).toBe("deploy-access-key");
      expect(env.get("CATTLE_SECRET_KEY")?.value).toBe("deploy-secret-key");
      const signing = env.get("WEBHOOK_SIGNING_KEYS")?.value ?? "";
      expect(signing).toBe(readFileSync(keys, "utf8").trim());
      await expect(loadSigningKeys(signing)).resolves.toBeDefined();
      expect(JSON.parse(signing).keys[0].kid).toBe("prod-1");
      expect(new URL(env.get("PUBLIC_URL")?.value ?? "").protocol).toBe("https:");

      // Created and configured before the one deploy, which is the last command.
      expect(commands.at(-1)).toEqual(["--prod"]);
      expect(commands.filter((args) => args[0] === "--prod")).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("deno deploy is a command of the Deno this checkout installs, which reads deno.json's KV and cron", async () => {
    const { stdout: help } = await deno(["--help"]);
    expect(help).toMatch(/^\s+deploy\s+Deploy to Deno Deploy$/m);
    const { stdout: version } = await deno(["--version"]);
    const [major, minor, patch] = (/^deno (\d+)\.(\d+)\.(\d+)/m.exec(version) ?? []).slice(1).map(Number);
    // `deno deploy` came with Deno 2.4.2; docs/deno-deploy.md names the one installed here.
    expect((major ?? 0) * 1_000_000 + (minor ?? 0) * 1_000 + (patch ?? 0)).toBeGreaterThanOrEqual(2_004_002);
    expect(readFileSync("docs/deno-deploy.md", "utf8")).toContain(`is Deno ${major}.${minor}.${patch}`);
    const config = JSON.parse(readFileSync("deno.json", "utf8")) as { unstable: string[] };
    expect(config.unstable).toEqual(expect.arrayContaining(["kv", "cron"]));
  });
});
