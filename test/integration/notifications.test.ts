import { env } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, json, KEYS, resetEmulator, scaleServiceBody, setScale, trigger } from "../helpers";

const RECEIVERS = "/v1-webhooks/receivers?projectId=1a5";
const inboxUrl = (name: string) => `${EMULATOR}/_emulator/inbox/${name}`;

interface InboxMessage {
  at: number;
  headers: Record<string, string>;
  body: string;
}

async function inbox(name: string): Promise<InboxMessage[]> {
  const response = await fetch(inboxUrl(name));
  return ((await response.json()) as { data: InboxMessage[] }).data;
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`not reached in ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function receiverCount(): Promise<number> {
  return (await json(await call(`${RECEIVERS}&limit=-1`))).data.length;
}

/** Everything the receivers' KV holds, as text: no destination URL may be in it. */
async function kvText(): Promise<string> {
  const listed = await env.RECEIVERS.list();
  const values = await Promise.all(listed.keys.map((key) => env.RECEIVERS.get(key.name)));
  return values.join("\n");
}

beforeEach(async () => {
  await resetEmulator();
});

describe("notifications through the API", () => {
  it("keeps URLs write-only, shows a webhook secret once, and delivers a signed, summed-up message", async () => {
    await setScale("1s1", 3);
    const created = await call(RECEIVERS, {
      method: "POST",
      body: {
        ...scaleServiceBody({ max: 10 }),
        notifications: [
          { kind: "slack", url: inboxUrl("slack-a") },
          { kind: "webhook", url: inboxUrl("hook-a"), on: ["applied", "noop"] },
        ],
        notifyWindowSeconds: 1,
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const receiver = await json(created);
    expect(receiver.notifyWindowSeconds).toBe(1);
    const [slack, webhook] = receiver.notifications;
    expect(slack).toMatchObject({ kind: "slack", on: ["applied", "failed", "rolledBack"] });
    expect(slack.urlHint).toMatch(/^127\.0\.0\.1:8788 \.\.\./);
    expect(slack.secret).toBeUndefined();
    expect(webhook.secret).toMatch(/^whsec_/);
    expect(JSON.stringify(receiver)).not.toContain("/_emulator/inbox/");
    expect(receiver.actions).toHaveProperty("setNotifications");
    expect(receiver.actions).toHaveProperty("testNotification");

    const again = await json(await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`));
    expect(again.notifications[1].secret).toBeUndefined();
    expect(JSON.stringify(again)).not.toContain("/_emulator/inbox/");
    expect(await kvText()).not.toContain("/_emulator/inbox/");

    const answers = await Promise.all([1, 2, 3].map(() => trigger(receiver.url)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    const [message] = await eventually(
      () => inbox("hook-a"),
      (list) => list.length > 0,
    );
    const verified = new Webhook(webhook.secret).verify(message?.body ?? "", message?.headers ?? {}) as {
      type: string;
      executions: { outcome: string }[];
      receiver: { id: string };
    };
    expect(verified.type).toBe("receiver.executions");
    expect(verified.receiver.id).toBe(receiver.id);
    expect(verified.executions.map((execution) => execution.outcome)).toEqual([
      "applied",
      "applied",
      "applied",
    ]);
    const [slackMessage] = await eventually(
      () => inbox("slack-a"),
      (list) => list.length > 0,
    );
    expect(JSON.parse(slackMessage?.body ?? "{}").text).toContain("3 applied");
    // One message each for the three triggers, the window gathered them.
    expect(await inbox("slack-a")).toHaveLength(1);

    const log = await json(await call(`/v1-webhooks/receivers/${receiver.id}/notifications?projectId=1a5`));
    expect(log.type).toBe("collection");
    expect(
      log.data.map((entry: { kind: string; status: string }) => [entry.kind, entry.status]).sort(),
    ).toEqual([
      ["slack", "delivered"],
      ["webhook", "delivered"],
    ]);
    expect(JSON.stringify(log)).not.toContain("/_emulator/inbox/");

    const metrics = await (await call("/v1-webhooks/metrics?projectId=1a5")).text();
    expect(metrics).toContain(
      `rancher_hooks_notifications_total{receiver_id="${receiver.id}",receiver_name="${receiver.name}",driver="scaleService",kind="slack",result="delivered"} 1`,
    );
  });

  it("edits the destinations without changing the Trigger URL, and tests each", async () => {
    const receiver = await json(
      await call(RECEIVERS, {
        method: "POST",
        body: { ...scaleServiceBody(), notifications: [{ kind: "discord", url: inboxUrl("discord-b") }] },
      }),
    );
    const [discord] = receiver.notifications;
    const set = await call(`/v1-webhooks/receivers/${receiver.id}?action=setNotifications&projectId=1a5`, {
      method: "POST",
      body: {
        notifications: [
          { id: discord.id, kind: "discord", on: ["failed"] },
          { kind: "teams", url: inboxUrl("teams-b") },
        ],
        notifyWindowSeconds: 0,
      },
    });
    expect(set.status).toBe(200);
    const changed = await json(set);
    expect(changed.url).toBe(receiver.url);
    expect(
      changed.notifications.map((d: { id: string; kind: string; on: string[] }) => [d.kind, d.on]),
    ).toEqual([
      ["discord", ["failed"]],
      ["teams", ["applied", "failed", "rolledBack"]],
    ]);
    expect(changed.notifications[0].id).toBe(discord.id);
    expect(changed.notifications[0].urlHint).toBe(discord.urlHint);

    await fetch(inboxUrl("teams-b/answers"), {
      method: "POST",
      body: JSON.stringify({ answers: [{ status: 404, body: "no flow" }] }),
    });
    const tested = await json(
      await call(`/v1-webhooks/receivers/${receiver.id}?action=testNotification&projectId=1a5`, {
        method: "POST",
      }),
    );
    expect(tested.type).toBe("notificationTestResult");
    expect(tested.results.map((r: { kind: string; status: string }) => [r.kind, r.status])).toEqual([
      ["discord", "delivered"],
      ["teams", "failed"],
    ]);
    expect(tested.results[1]).toMatchObject({ httpStatus: 404, error: "HTTP 404: no flow" });
    const [test] = await inbox("discord-b");
    expect(JSON.parse(test?.body ?? "{}").content).toContain("test");

    const unknown = await call(
      `/v1-webhooks/receivers/${receiver.id}?action=setNotifications&projectId=1a5`,
      {
        method: "POST",
        body: { notifications: [{ id: "d00000000000000000000000000", kind: "slack" }] },
      },
    );
    expect(unknown.status).toBe(422);
    expect(await json(unknown)).toMatchObject({ type: "error", fieldName: "notifications.0.id" });
    const still = await json(await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`));
    expect(still.notifications).toEqual(
      changed.notifications.map(({ secret: _s, ...rest }: Record<string, unknown>) => rest),
    );

    const readonly = await call(
      `/v1-webhooks/receivers/${receiver.id}?action=setNotifications&projectId=1a5`,
      {
        method: "POST",
        key: KEYS.readonly,
        body: { notifications: [] },
      },
    );
    expect(readonly.status).toBe(403);
  });

  it("refuses bad destinations with 422 and the field, and stores nothing", async () => {
    const before = await receiverCount();
    const cases: [unknown, string][] = [
      [[{ kind: "email", url: "https://example.com/x" }], "notifications.0.kind"],
      [[{ kind: "slack", url: "https://example.com/x", on: ["exploded"] }], "notifications.0.on.0"],
      [Array.from({ length: 6 }, () => ({ kind: "slack", url: "https://example.com/x" })), "notifications"],
      [[{ kind: "slack", url: "http://hooks.example.com/x" }], "notifications.0.url"],
      [[{ kind: "slack", url: `https://example.com/${"a".repeat(2100)}` }], "notifications.0.url"],
      [[{ kind: "slack" }], "notifications.0.url"],
      [[{ kind: "slack", url: "ftp://example.com/x" }], "notifications.0.url"],
      [[{ kind: "slack", url: "https://user:pass@example.com/x" }], "notifications.0.url"],
    ];
    for (const [notifications, field] of cases) {
      const response = await call(RECEIVERS, {
        method: "POST",
        body: { ...scaleServiceBody(), notifications },
      });
      expect(response.status, field).toBe(422);
      expect(await json(response), field).toMatchObject({ type: "error", status: 422, fieldName: field });
    }
    const window = await call(RECEIVERS, {
      method: "POST",
      body: { ...scaleServiceBody(), notifyWindowSeconds: 301 },
    });
    expect(await json(window)).toMatchObject({ status: 422, fieldName: "notifyWindowSeconds" });
    expect(await receiverCount()).toBe(before);
    expect(await kvText()).not.toContain("example.com");
  });
});
