import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, freePort, type LocalStack, startLocalStack, stopChild } from "./local-stack";

/**
 * A real Prometheus Alertmanager (Debian's prometheus-alertmanager) delivers its webhook
 * notifications to trigger URLs served by the worker. CI installs it; elsewhere the test is
 * skipped when the binary is missing, and fails if CI is set.
 */
const ALERTMANAGER = process.env.ALERTMANAGER_BIN ?? "/usr/bin/prometheus-alertmanager";
const available = existsSync(ALERTMANAGER);
if (!available && process.env.CI)
  throw new Error(`${ALERTMANAGER} is not installed (CI installs prometheus-alertmanager)`);

const DEV_KEY = `Basic ${btoa("dev-access:dev-secret")}`;

const BEARER_TOKEN = "alertmanager-bearer-token-0123456789";
const BASIC_PASSWORD = "alertmanager-basic-password-0123";

describe.skipIf(!available)("with a real Alertmanager", () => {
  let stack: LocalStack;
  /** Two Alertmanagers with one configuration, as an HA pair sends every notification twice. */
  const alertmanagers: ChildProcess[] = [];
  const alertmanagerUrls: string[] = [];
  let dir: string;
  const receivers: Record<string, { id: string; url: string }> = {};
  let amLog = "";

  const createReceiver = async (
    name: string,
    serviceId: string,
    extra: Record<string, unknown>,
    senderVerification: Record<string, string>,
  ) => {
    const response = await fetch(new URL("/v1-webhooks/receivers?projectId=1a5", stack.url), {
      method: "POST",
      headers: { authorization: DEV_KEY, "content-type": "application/json" },
      body: JSON.stringify({
        name,
        driver: "scaleService",
        scaleServiceConfig: { serviceId, action: "up", amount: 1, min: 1, max: 10, ...extra },
        senderVerification,
      }),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; url: string };
  };

  const executions = async (receiverId: string) => {
    const response = await fetch(
      new URL(`/v1-webhooks/receivers/${receiverId}/executions?projectId=1a5`, stack.url),
      {
        headers: { authorization: DEV_KEY },
      },
    );
    return (
      (await response.json()) as {
        data: { outcome: string; alertStatus?: string; from?: number; to?: number; sender?: string }[];
      }
    ).data;
  };

  const scaleOf = async (serviceId: string) => {
    const response = await stack.emulator(`/v2-beta/projects/1a5/services/${serviceId}`, {
      headers: { authorization: DEV_KEY },
    });
    return ((await response.json()) as { scale: number }).scale;
  };

  const postAlerts = async (alerts: unknown[]) => {
    for (const url of alertmanagerUrls) {
      const response = await fetch(`${url}/api/v2/alerts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alerts),
      });
      expect(response.status).toBe(200);
    }
  };

  beforeAll(async () => {
    stack = await startLocalStack();
    await stack.emulator("/_emulator/reset", { method: "POST" });
    // Each receiver also checks its sender, as Alertmanager's http_config sends it.
    receivers.ignore = await createReceiver(
      "am-ignore",
      "1s1",
      { onResolved: "ignore" },
      { scheme: "bearer", token: BEARER_TOKEN },
    );
    receivers.reverse = await createReceiver(
      "am-reverse",
      "1s2",
      { onResolved: "reverse", amount: 2 },
      { scheme: "basic", username: "alertmanager", password: BASIC_PASSWORD },
    );

    dir = mkdtempSync(join(tmpdir(), "alertmanager-"));
    writeFileSync(
      join(dir, "alertmanager.yml"),
      [
        "route:",
        "  receiver: hooks-ignore",
        "  group_by: [alertname]",
        "  group_wait: 1s",
        "  group_interval: 1s",
        "  repeat_interval: 1h",
        "  routes:",
        "    - matchers: ['hook=\"reverse\"']",
        "      receiver: hooks-reverse",
        "receivers:",
        "  - name: hooks-ignore",
        "    webhook_configs:",
        `      - url: '${receivers.ignore.url}'`,
        "        send_resolved: true",
        "        http_config:",
        "          authorization:",
        `            credentials: '${BEARER_TOKEN}'`,
        "  - name: hooks-reverse",
        "    webhook_configs:",
        `      - url: '${receivers.reverse.url}'`,
        "        send_resolved: true",
        "        http_config:",
        "          basic_auth:",
        "            username: alertmanager",
        `            password: '${BASIC_PASSWORD}'`,
        "",
      ].join("\n"),
    );
    for (const instance of [1, 2]) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const child = spawn(
        ALERTMANAGER,
        [
          `--config.file=${join(dir, "alertmanager.yml")}`,
          `--storage.path=${join(dir, `data-${instance}`)}`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--cluster.listen-address=",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      child.stdout?.on("data", (chunk) => (amLog += chunk));
      child.stderr?.on("data", (chunk) => (amLog += chunk));
      alertmanagers.push(child);
      alertmanagerUrls.push(url);
      await eventually("Alertmanager to be ready", async () => {
        const ready = await fetch(`${url}/-/ready`).catch(() => undefined);
        return ready?.ok ? true : undefined;
      });
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(alertmanagers.map((child) => stopChild(child)));
    await stack?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("scales once on firing, de-duplicates the HA pair, resolved follows onResolved, credentials checked", async () => {
    const startsAt = new Date().toISOString();
    const firing = [
      { labels: { alertname: "HighLatency", hook: "ignore", service: "web" }, startsAt },
      { labels: { alertname: "QueueBacklog", hook: "reverse", service: "lb" }, startsAt },
    ];
    await postAlerts(firing);

    const byStatus = async (receiverId: string, status: string, count: number) =>
      eventually(`${count} ${status} notifications`, async () => {
        const list = (await executions(receiverId)).filter((execution) => execution.alertStatus === status);
        return list.length >= count ? list : undefined;
      });

    // Both Alertmanagers deliver the firing notification: it is applied once.
    const ignoreFiring = await byStatus(receivers.ignore?.id ?? "", "firing", 2);
    expect(ignoreFiring.map((execution) => execution.outcome).sort()).toEqual(["applied", "deduplicated"]);
    expect(ignoreFiring.every((execution) => execution.from === 1 && execution.to === 2)).toBe(true);
    expect(ignoreFiring[0]?.sender).toMatch(/^Alertmanager\//);
    const reverseFiring = await byStatus(receivers.reverse?.id ?? "", "firing", 2);
    expect(reverseFiring.map((execution) => execution.outcome).sort()).toEqual(["applied", "deduplicated"]);
    expect(await scaleOf("1s1")).toBe(2);
    expect(await scaleOf("1s2")).toBe(3);

    const endsAt = new Date().toISOString();
    await postAlerts(firing.map((alert) => ({ ...alert, endsAt })));

    const ignoreResolved = await byStatus(receivers.ignore?.id ?? "", "resolved", 2);
    expect(ignoreResolved.map((execution) => execution.outcome).sort()).toEqual(["deduplicated", "ignored"]);
    const reverseResolved = await byStatus(receivers.reverse?.id ?? "", "resolved", 2);
    expect(reverseResolved.map((execution) => execution.outcome).sort()).toEqual(["applied", "deduplicated"]);
    expect(reverseResolved.every((execution) => execution.from === 3 && execution.to === 1)).toBe(true);

    expect(await scaleOf("1s1")).toBe(2);
    expect(await scaleOf("1s2")).toBe(1);
    const all = await executions(receivers.ignore?.id ?? "");
    expect(
      all.filter((execution) => execution.outcome === "applied"),
      amLog.slice(-2000),
    ).toHaveLength(1);
  }, 90_000);
});
