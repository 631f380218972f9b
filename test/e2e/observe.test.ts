import { execFile, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerHubPush } from "../fixtures/pushes";
import { type DevStack, startDev } from "./dev-stack";
import { DENO, eventually, freePort, startDenoStack } from "./local-stack";
import { readmeBlocks } from "./readme-blocks";

/**
 * What an operator sees: `npm run dev` on free ports with ALL the output of all its processes
 * captured, driven through a day's events (receivers of each driver, bearer and HMAC sender checks,
 * applied/noop/cooldown/de-duplicated triggers, a Cattle outage, an upgrade that fails, regenerate,
 * delete, the page signed in). Its metrics pass `promtool check metrics` and a real Prometheus
 * scrapes them with docs/monitoring.md's scrape config; its log lines are the JSON events
 * docs/monitoring.md describes, and no secret of any kind appears anywhere in the output.
 */
const run = promisify(execFile);
const PROMTOOL = "/usr/bin/promtool";
const PROMETHEUS = "/usr/bin/prometheus";
for (const tool of [PROMTOOL, PROMETHEUS]) {
  if (!existsSync(tool) && process.env.CI) throw new Error(`${tool} is not installed (CI installs it)`);
}

const DEV_KEY = { access: "dev-access", secret: "dev-secret" };
const BEARER = "observe-bearer-token-7f3a9c1e55";
const HMAC_SECRET = "observe-hmac-secret-2b8d4e6f90";
const SESSION = "dev-session";

let dev: DevStack;
/** Everything that must never be printed: filled in as the scenario makes it. */
const secrets = new Map<string, string>();

const basic = `Basic ${btoa(`${DEV_KEY.access}:${DEV_KEY.secret}`)}`;

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${dev.hooks}${path}`, {
    ...init,
    headers: { authorization: basic, "content-type": "application/json", ...init.headers },
  });
}

async function create(body: Record<string, unknown>): Promise<Record<string, any>> {
  const response = await api("/v1-webhooks/receivers?projectId=1a5", {
    method: "POST",
    body: JSON.stringify(body),
  });
  const receiver = (await response.json()) as Record<string, any>;
  expect(response.status, JSON.stringify(receiver)).toBe(201);
  keepSecret(receiver.url);
  return receiver;
}

/** A trigger URL and its token are secrets. */
function keepSecret(url: string): void {
  secrets.set(`trigger URL ${url.slice(-8)}`, url);
  const token = new URL(url).searchParams.get("token") as string;
  secrets.set(`trigger token ${token.slice(-8)}`, token);
  // The token's signature alone, too: a line must not carry it in another form.
  secrets.set(`token signature ${token.slice(-8)}`, token.split(".")[2] as string);
}

const post = (url: string, init: RequestInit = {}) => fetch(url, { method: "POST", ...init });

async function outcome(response: Response): Promise<string> {
  const body = (await response.json()) as { outcome?: string; code?: string };
  return body.outcome ?? `${response.status} ${body.code}`;
}

const emulator = (path: string, body: unknown) =>
  fetch(`${dev.emulator}/_emulator${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });

async function executions(receiver: Record<string, any>) {
  const response = await api(`/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`);
  return ((await response.json()) as { data: { id: string; outcome: string }[] }).data;
}

/** docs/monitoring.md's one block of `lang` containing `marker`. */
function docBlock(lang: string, marker: string): string {
  const found = readmeBlocks("docs/monitoring.md").filter(
    (block) => block.lang === lang && block.code.includes(marker),
  );
  expect(found, `one ${lang} block with ${marker}`).toHaveLength(1);
  return found[0]?.code as string;
}

/** Terminal colours, which wrangler adds around a Worker's warn and error lines. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is matched
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * The JSON lines the service printed, parsed. wrangler dev marks a Worker's `console.warn` and
 * `console.error` lines (`▲ [WARNING] {…}`, `✘ [ERROR] {…}`); Workers Logs keeps the line itself.
 */
const jsonLines = () =>
  dev
    .output()
    .replace(ANSI, "")
    .split("\n")
    .filter((line) => line.startsWith("[hooks] "))
    .map((line) => /^\[hooks\] (?:[▲✘] \[(?:WARNING|ERROR)\] )?(\{.*\})$/.exec(line)?.[1])
    .filter((json): json is string => json !== undefined)
    .map((json) => JSON.parse(json) as Record<string, unknown>);

let scaled: Record<string, any>;

describe("a day of receiver hooks, seen from outside", () => {
  beforeAll(async () => {
    dev = await startDev();
    await emulator("/reset", {});
    // The signing key's private part, as `npm run dev` wrote it for the service.
    const vars = readFileSync(".dev.vars", "utf8");
    const keys = JSON.parse(/^WEBHOOK_SIGNING_KEYS=(.*)$/m.exec(vars)?.[1] ?? "null") as {
      keys: { d?: string }[];
    };
    for (const key of keys.keys) if (key.d) secrets.set("signing key d", key.d);
    expect(secrets.has("signing key d")).toBe(true);
    for (const [name, value] of [
      ["API secret dev-secret", DEV_KEY.secret],
      ["service key secret", "service-secret"],
      ["session token", SESSION],
      ["bearer sender token", BEARER],
      ["HMAC sender secret", HMAC_SECRET],
      ["Basic credentials", btoa(`${DEV_KEY.access}:${DEV_KEY.secret}`)],
    ] as const) {
      secrets.set(name, value);
    }
  }, 120_000);

  afterAll(async () => {
    await dev?.dispose();
  });

  it("runs the day's events", async () => {
    // scaleService with a bearer check: applied, de-duplicated, noop at its maximum.
    scaled = await create({
      name: "observe-web",
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 2 },
      senderVerification: { scheme: "bearer", token: BEARER },
    });
    const bearer = { authorization: `Bearer ${BEARER}`, "idempotency-key": "delivery-1" };
    expect(await outcome(await post(scaled.url, { headers: bearer }))).toBe("applied");
    expect(await outcome(await post(scaled.url, { headers: bearer }))).toBe("deduplicated");
    expect(await outcome(await post(scaled.url, { headers: { authorization: `Bearer ${BEARER}` } }))).toBe(
      "noop",
    );
    expect((await post(scaled.url, { headers: { authorization: "Bearer wrong-token" } })).status).toBe(401);

    // scaleService with a cooldown: applied, then cooldown.
    const cooled = await create({
      name: "observe-cooldown",
      driver: "scaleService",
      scaleServiceConfig: {
        serviceId: "1s2",
        action: "up",
        amount: 1,
        min: 1,
        max: 10,
        cooldownSeconds: 600,
      },
    });
    expect(await outcome(await post(cooled.url))).toBe("applied");
    expect(await outcome(await post(cooled.url))).toBe("cooldown");

    // scaleHost: a host added to the seed's group.
    const hosts = await create({
      name: "observe-hosts",
      driver: "scaleHost",
      scaleHostConfig: { hostSelector: { pool: "workers" }, action: "up", amount: 1, min: 1, max: 10 },
    });
    expect(await outcome(await post(hosts.url))).toBe("applied");

    // serviceUpgrade with a GitHub-style HMAC check: one upgrade that works, one that Cattle fails
    // and that is rolled back.
    const upgrades = await create({
      name: "observe-upgrade",
      driver: "serviceUpgrade",
      serviceUpgradeConfig: {
        serviceSelector: { tier: "backend" },
        tag: "1.*",
        intervalMillis: 100,
        healthySeconds: 1,
      },
      senderVerification: { scheme: "github", secret: HMAC_SECRET },
    });
    const push = async (tag: string) => {
      const body = JSON.stringify(dockerHubPush("myorg/api", tag));
      const signature = `sha256=${createHmac("sha256", HMAC_SECRET).update(body).digest("hex")}`;
      secrets.set(`signature of ${tag}`, signature.slice("sha256=".length));
      const response = await post(upgrades.url, {
        body,
        headers: { "content-type": "application/json", "x-hub-signature-256": signature },
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    };
    const settled = (id: string) =>
      eventually(
        `upgrade execution ${id} to settle`,
        async () => {
          const found = (await executions(upgrades)).find((execution) => execution.id === id);
          return found && found.outcome !== "queued" ? found.outcome : undefined;
        },
        60_000,
      );
    expect(await settled(await push("1.1.0"))).toBe("applied");
    await emulator("/faults", { upgradeFailure: "no space left on device" });
    expect(await settled(await push("1.2.0"))).toBe("rolledBack");

    // A Cattle outage while a trigger is decided.
    const outage = await create({
      name: "observe-outage",
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s2", action: "up", amount: 1, min: 1, max: 10 },
    });
    await emulator("/faults", { status: 503, count: 30 });
    const during = await post(outage.url);
    await emulator("/faults", { count: 0 });
    expect(during.status).toBeGreaterThanOrEqual(200);

    // Regenerate: the old URL stops working; delete.
    const regenerated = await api(`/v1-webhooks/receivers/${scaled.id}?projectId=1a5&action=regenerate`, {
      method: "POST",
    });
    expect(regenerated.status).toBe(200);
    const renewed = (await regenerated.json()) as { url: string };
    keepSecret(renewed.url);
    expect((await post(scaled.url, { headers: { authorization: `Bearer ${BEARER}` } })).status).toBe(403);
    expect(
      (await api(`/v1-webhooks/receivers/${cooled.id}?projectId=1a5`, { method: "DELETE" })).status,
    ).toBe(204);

    // The page, signed in with a key; the API with Rancher's session cookie.
    const page = await api("/");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("observe-web");
    const listed = await fetch(`${dev.hooks}/v1-webhooks/receivers?projectId=1a5`, {
      headers: { cookie: `token=${SESSION}` },
    });
    expect(listed.status).toBe(200);
  }, 240_000);

  it("answers metrics that promtool accepts, counting what happened", async () => {
    const response = await api("/v1-webhooks/metrics?projectId=1a5");
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    const dir = mkdtempSync(join(tmpdir(), "observe-metrics-"));
    try {
      writeFileSync(join(dir, "metrics.txt"), text);
      // promtool reads the exposition on stdin and exits non-zero for any problem it finds.
      const checked = await run("bash", ["-c", `${PROMTOOL} check metrics < ${join(dir, "metrics.txt")}`]);
      expect(checked.stdout + checked.stderr).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const labels = `receiver_id="${scaled.id}",receiver_name="observe-web",driver="scaleService"`;
    expect(text).toContain(`rancher_hooks_executions_total{${labels},outcome="applied"} 1\n`);
    expect(text).toContain(`rancher_hooks_executions_total{${labels},outcome="deduplicated"} 1\n`);
    expect(text).toContain(`rancher_hooks_executions_total{${labels},outcome="noop"} 1\n`);
    expect(text).toMatch(
      /rancher_hooks_executions_total\{[^}]*receiver_name="observe-upgrade"[^}]*outcome="rolledBack"\} 1\n/,
    );
    expect(text).toMatch(
      /rancher_hooks_executions_total\{[^}]*receiver_name="observe-upgrade"[^}]*outcome="queued"\} 2\n/,
    );
    expect(text).not.toContain("observe-cooldown");
    expect(text).toContain("rancher_hooks_cattle_up 1\n");
  });

  it("is scraped by a real Prometheus with docs/monitoring.md's scrape config", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "observe-prometheus-"));
    writeFileSync(join(dir, "secret-key"), DEV_KEY.secret, { mode: 0o600 });
    // The doc's block as an operator fills it in, against this stack.
    const config = docBlock("yaml", "scrape_configs:")
      .replace("scrape_interval: 30s", "scrape_interval: 1s")
      .replace("scheme: https", "scheme: http")
      .replace("YOUR_ACCESS_KEY", DEV_KEY.access)
      .replace("/etc/prometheus/rancher-hooks-secret-key", join(dir, "secret-key"))
      .replace("hooks.example.com", dev.hooks.replace("http://", ""));
    writeFileSync(join(dir, "prometheus.yml"), config);
    const prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    let log = "";
    prometheus.stdout?.on("data", (chunk) => (log += chunk));
    prometheus.stderr?.on("data", (chunk) => (log += chunk));
    const exited = new Promise((resolve) => prometheus.on("exit", resolve));
    try {
      const query = `rancher_hooks_executions_total{receiver_id="${scaled.id}",outcome="applied"}`;
      const value = await eventually(
        "Prometheus to have scraped the counter",
        async () => {
          const response = await fetch(
            `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`,
          ).catch(() => undefined);
          if (!response?.ok) return undefined;
          const body = (await response.json()) as {
            data: { result: { metric: Record<string, string>; value: [number, string] }[] };
          };
          return body.data.result[0];
        },
        60_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${log}`);
      });
      expect(value.value[1]).toBe("1");
      expect(value.metric).toMatchObject({
        job: "rancher-hooks-1a5",
        receiver_name: "observe-web",
        driver: "scaleService",
        outcome: "applied",
      });
    } finally {
      if (prometheus.pid) process.kill(-prometheus.pid, "SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("logged the events as JSON lines, and no secret anywhere in the output", async () => {
    // Stop everything first, so that every line every process printed is in.
    await dev.dispose();
    const lines = jsonLines();
    const executionLines = lines.filter((line) => line.event === "execution");
    for (const line of executionLines) {
      expect(line.level).toBe(line.outcome === "failed" || line.outcome === "rolledBack" ? "error" : "info");
      expect(line).toMatchObject({
        projectId: "1a5",
        receiverId: expect.any(String),
        executionId: expect.any(String),
      });
    }
    const outcomes = new Set(executionLines.map((line) => `${line.driver}:${line.outcome}`));
    for (const expected of [
      "scaleService:applied",
      "scaleService:deduplicated",
      "scaleService:noop",
      "scaleService:cooldown",
      "scaleHost:applied",
      "serviceUpgrade:queued",
      "serviceUpgrade:applied",
      "serviceUpgrade:rolledBack",
    ]) {
      expect(outcomes, expected).toContain(expected);
    }
    const rolledBack = executionLines.find(
      (line) => line.driver === "serviceUpgrade" && line.outcome === "rolledBack",
    );
    expect(rolledBack).toMatchObject({ level: "error", reason: expect.stringContaining("no space left") });
    const cattleFailures = lines.filter((line) => line.event === "cattle_failure");
    expect(cattleFailures.length).toBeGreaterThan(0);
    // The outage's failures are warnings; a caller's key refused or nothing found would be info.
    expect(cattleFailures.some((line) => line.level === "warn" && line.kind === "unavailable")).toBe(true);
    for (const line of cattleFailures) {
      expect(line).toMatchObject({ method: expect.any(String), kind: expect.any(String) });
      expect(["warn", "info"]).toContain(line.level);
      expect(String(line.path)).not.toContain("?");
    }
    expect(cattleFailures.some((line) => line.status === 503 && line.kind === "unavailable")).toBe(true);

    // docs/monitoring.md's example of each event has exactly the fields the service writes.
    const examples = docBlock("text", '"event":"execution"')
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const event of ["execution", "cattle_failure"]) {
      const example = examples.find((line) => line.event === event);
      // The fullest line of each: an execution with from and to, a failure Cattle answered.
      const real = lines.find((line) => line.event === event && ("from" in line || "status" in line));
      expect(Object.keys(example ?? {}).sort(), event).toEqual(Object.keys(real ?? {}).sort());
    }

    // `npm run dev` itself prints the emulator's sign-in for the developer ("[dev] page: … secret key
    // dev-secret"); every other line of every process is the services' own.
    const output = dev
      .output()
      .split("\n")
      .filter((line) => !line.startsWith("[dev] page: "))
      .join("\n");
    expect(dev.output()).toContain("[dev] page: ");
    for (const [name, value] of secrets) {
      expect(value.length, name).toBeGreaterThan(6);
      expect(output.includes(value), `${name} appears in the output`).toBe(false);
    }
  }, 60_000);
});

describe("metrics on Deno", () => {
  it("counts in the in-process target objects, and the counts survive a killed process", async () => {
    expect(existsSync(DENO), `${DENO} (npm ci installs the deno package)`).toBe(true);
    const dataDir = mkdtempSync(join(tmpdir(), "observe-deno-"));
    const stack = await startDenoStack({ dataDir });
    try {
      const api = (path: string, init: RequestInit = {}) =>
        fetch(new URL(path, stack.url), {
          ...init,
          headers: { authorization: basic, "content-type": "application/json", ...init.headers },
        });
      const created = await api("/v1-webhooks/receivers?projectId=1a5", {
        method: "POST",
        body: JSON.stringify({
          name: "deno-web",
          driver: "scaleService",
          scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 100 },
        }),
      });
      expect(created.status).toBe(201);
      const receiver = (await created.json()) as { id: string; url: string };
      const { pathname, search } = new URL(receiver.url);
      for (let i = 0; i < 2; i++) {
        expect((await fetch(new URL(pathname + search, stack.url), { method: "POST" })).status).toBe(200);
      }
      const applied = `rancher_hooks_executions_total{receiver_id="${receiver.id}",receiver_name="deno-web",driver="scaleService",outcome="applied"} 2\n`;
      const scrape = async () => {
        const response = await api("/v1-webhooks/metrics?projectId=1a5");
        expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
        return response.text();
      };
      expect(await scrape()).toContain(applied);
      await stack.restart();
      expect(await scrape()).toContain(applied);
    } finally {
      await stack.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
