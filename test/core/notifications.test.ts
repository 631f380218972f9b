import { describe, expect, it, vi } from "vitest";
import type { Destination, NotificationKind, NotifySettings } from "../../src/domain/notifications";
import type { LiveReceiver } from "../../src/domain/receiver";
import { backoffMs, RETRY_FOR_MS } from "../../src/notifications/outbox";
import { FakeCattle, FakeClock, memoryStorage, newTarget, scaleReceiver } from "./fakes";

/**
 * Notifications over the target core: an in-memory outbox, a fake clock and a fake `fetch` that
 * records every request and answers what the test says, so retries, windows and crashes run in no time.
 */

interface Sent {
  url: string;
  at: number;
  headers: Record<string, string>;
  body: string;
}

/** A fake `fetch`: answers each request with what `answer` gives (a Response, or a thrown error). */
function destinationServer(
  clock: FakeClock,
  answer: (sent: Sent, n: number) => Response | Promise<Response> = () => new Response("ok"),
) {
  const sent: Sent[] = [];
  const send: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const entry: Sent = {
      url: request.url,
      at: clock.now(),
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
    };
    sent.push(entry);
    return answer(entry, sent.length);
  };
  return { sent, send };
}

/** The time between each request and the one before it. */
const gapsOf = (times: number[]): number[] => times.slice(1).map((at, i) => at - (times[i] ?? at));

const SLACK_URL = "https://hooks.slack.test/services/T000/B000/secretpart1234";

const destination = (
  kind: NotificationKind,
  url: string,
  on = ["applied", "noop", "failed"],
): Destination => ({
  id: `d${kind.padEnd(26, "0")}`,
  kind,
  url,
  on: on as Destination["on"],
  ...(kind === "webhook" ? { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" } : {}),
});

const notify = (destinations: Destination[], windowSeconds = 10): NotifySettings => ({
  windowSeconds,
  destinations,
  environment: "Default",
  targetLabel: "web",
  historyUrl: "https://hooks.example.com/receivers/ra/history?projectId=1a5",
});

const withNotify = (receiver: LiveReceiver, settings: NotifySettings): LiveReceiver => ({
  ...receiver,
  name: "scale-web",
  notify: settings,
});

function setUp(
  settings: NotifySettings,
  answer?: (sent: Sent, n: number) => Response | Promise<Response>,
  config: Parameters<typeof scaleReceiver>[1] = { max: 40 },
) {
  const clock = new FakeClock();
  const cattle = new FakeCattle(clock);
  const server = destinationServer(clock, answer);
  const storage = memoryStorage();
  const target = newTarget(clock, cattle, storage, server.send);
  target.core.register(withNotify(scaleReceiver("ra", config), settings));
  return { ...target, server };
}

/** Runs the target's alarm at each time it asked for, as the runtime would, until `until`. */
async function runAlarms(target: ReturnType<typeof setUp>, until: number) {
  let ran = 0;
  while (ran < 1_000) {
    const due = target.storage.alarms.filter((at) => at <= until).sort((a, b) => a - b)[0];
    if (due === undefined) return;
    target.storage.alarms.splice(target.storage.alarms.indexOf(due), 1);
    if (due > target.clock.now()) await target.clock.advance(due - target.clock.now());
    await target.clock.run(target.core.alarm());
    ran++;
  }
  throw new Error("the alarm kept running");
}

describe("notifications from a target", () => {
  it("sums up a burst in one message per window, after the answers", async () => {
    const target = setUp(notify([destination("slack", SLACK_URL)]));
    target.cattle.service().scale = 3;
    const answers = await target.clock.run(
      Promise.all(Array.from({ length: 39 }, () => target.core.trigger("ra", 1, {}))),
    );
    expect(answers.every((answer) => answer.kind === "decided")).toBe(true);
    // Nothing leaves while triggers are answered: the window is still open.
    expect(target.server.sent).toHaveLength(0);
    await runAlarms(target, target.clock.now() + 60_000);
    expect(target.server.sent).toHaveLength(1);
    const body = JSON.parse(target.server.sent[0]?.body ?? "{}") as { text: string };
    expect(body.text).toBe("scale-web: 37 applied, web 3 → 40; 2 noop at maximum");
    const [log] = target.core.notificationLog("ra");
    expect(log).toMatchObject({ status: "delivered", attempts: 1, kind: "slack", test: false });
    expect(log?.executionIds).toHaveLength(39);
    expect(log?.urlHint).not.toContain("secretpart");
  });

  it("makes a burst of 1,000 triggers one message to each destination", async () => {
    const target = setUp(
      notify([destination("slack", SLACK_URL), destination("webhook", "https://ops.example.com/hooks")], 10),
      undefined,
      { max: 10_000, maxTriggersPerMinute: 2_000 },
    );
    const answers = await target.clock.run(
      Promise.all(Array.from({ length: 1_000 }, () => target.core.trigger("ra", 1, {}))),
    );
    expect(
      answers.every((answer) => answer.kind === "decided" && answer.execution.outcome === "applied"),
    ).toBe(true);
    await runAlarms(target, target.clock.now() + 60_000);
    expect(target.server.sent.map((sent) => new URL(sent.url).host).sort()).toEqual([
      "hooks.slack.test",
      "ops.example.com",
    ]);
    const slack = target.server.sent.find((sent) => sent.url === SLACK_URL);
    expect(JSON.parse(slack?.body ?? "{}").text).toBe("scale-web: 1000 applied, web 1 → 1001");
    const log = target.core.notificationLog("ra");
    expect(log.map((entry) => entry.status)).toEqual(["delivered", "delivered"]);
    // The summary counts them all; the message carries the newest 100.
    expect(log[0]?.executionIds).toHaveLength(100);
  });

  it("sends only the outcomes a destination asks for, and nothing when none happened", async () => {
    const target = setUp(
      notify([
        destination("slack", SLACK_URL, ["failed"]),
        destination("discord", "https://discord.test/api/webhooks/1/abcd", ["applied"]),
      ]),
    );
    await target.clock.run(target.core.trigger("ra", 1, {}));
    await runAlarms(target, target.clock.now() + 60_000);
    expect(target.server.sent.map((sent) => new URL(sent.url).host)).toEqual(["discord.test"]);
  });

  it("retries 5xx, 429 (after its Retry-After) and network errors, gives up other 4xx at once", async () => {
    const answers = [
      () => new Response("busy", { status: 503 }),
      () => new Response("slow down", { status: 429, headers: { "retry-after": "120" } }),
      () => Promise.reject(new TypeError(`error sending request for url (${SLACK_URL})`)),
      () => new Response("ok"),
    ];
    const target = setUp(notify([destination("slack", SLACK_URL)], 0), (_sent, n) =>
      (answers[n - 1] ?? (() => new Response("ok")))(),
    );
    await target.clock.run(target.core.trigger("ra", 1, {}));
    await runAlarms(target, target.clock.now() + 3_600_000);
    const gaps = gapsOf(target.server.sent.map((sent) => sent.at));
    expect(gaps).toHaveLength(3);
    expect(gaps[0]).toBeGreaterThanOrEqual(backoffMs(1));
    expect(gaps[1]).toBeGreaterThanOrEqual(120_000);
    expect(gaps[2]).toBeGreaterThanOrEqual(backoffMs(3));
    // One message: every attempt carries the same body.
    expect(new Set(target.server.sent.map((sent) => sent.body)).size).toBe(1);
    const [log] = target.core.notificationLog("ra");
    expect(log).toMatchObject({ status: "delivered", attempts: 4 });
    expect(target.core.metrics().receivers[0]?.notifications).toEqual(
      expect.arrayContaining([
        { kind: "slack", result: "retried", count: 3 },
        { kind: "slack", result: "delivered", count: 1 },
      ]),
    );

    const refused = setUp(
      notify([destination("slack", SLACK_URL)], 0),
      () => new Response("invalid_payload", { status: 400 }),
    );
    await refused.clock.run(refused.core.trigger("ra", 1, {}));
    await runAlarms(refused, refused.clock.now() + 3_600_000);
    expect(refused.server.sent).toHaveLength(1);
    expect(refused.core.notificationLog("ra")[0]).toMatchObject({
      status: "failed",
      attempts: 1,
      lastError: "HTTP 400: invalid_payload",
    });
  });

  it("keeps the URL out of every error it records", async () => {
    const target = setUp(notify([destination("slack", SLACK_URL)], 0), () =>
      Promise.reject(new TypeError(`error sending request for url (${SLACK_URL}): connection refused`)),
    );
    await target.clock.run(target.core.trigger("ra", 1, {}));
    await runAlarms(target, target.clock.now() + 1_000);
    const [log] = target.core.notificationLog("ra");
    expect(log?.status).toBe("pending");
    expect(log?.lastError).toContain("connection refused");
    expect(JSON.stringify(log)).not.toContain("secretpart1234");
    expect(JSON.stringify(log)).not.toContain("/services/T000");
  });

  it("reads no more of an answer than its error text needs, however long the answer runs", async () => {
    let pulled = 0;
    let cancelled = false;
    // Some 22 MB, as far as this test goes (an endless one would starve a reader that reads it all).
    const endless = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled += 1;
          controller.enqueue(new TextEncoder().encode("overloaded ".repeat(1_000)));
          if (pulled === 2_000) controller.close();
        },
        cancel() {
          cancelled = true;
        },
      });
    const target = setUp(
      notify([destination("slack", SLACK_URL)], 0),
      () => new Response(endless(), { status: 503 }),
    );
    await target.clock.run(target.core.trigger("ra", 1, {}));
    await runAlarms(target, target.clock.now() + 1_000);
    const [log] = target.core.notificationLog("ra");
    expect(log).toMatchObject({ status: "pending", attempts: 1 });
    expect(log?.lastError).toMatch(/^HTTP 503: overloaded overloaded .*…$/);
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThan(5);
  });

  it("gives up after 24 hours of failures", async () => {
    const target = setUp(
      notify([destination("slack", SLACK_URL)], 0),
      () => new Response("down", { status: 502 }),
    );
    await target.clock.run(target.core.trigger("ra", 1, {}));
    const start = target.clock.now();
    await runAlarms(target, start + RETRY_FOR_MS + 3_600_000);
    const [log] = target.core.notificationLog("ra");
    expect(log?.status).toBe("failed");
    expect(log?.lastError).toMatch(/^given up after 24 hours: HTTP 502/);
    const last = target.server.sent.at(-1)?.at ?? 0;
    expect(last - start).toBeLessThan(RETRY_FOR_MS);
    // Backoff: well under one attempt a minute after the first few.
    expect(target.server.sent.length).toBeLessThan(70);
  });

  it("logs the attempt that gives up as a failure, not as one to be retried", async () => {
    const target = setUp(
      notify([destination("slack", SLACK_URL)], 0),
      () => new Response("down", { status: 502 }),
    );
    const lines: { level: string; retried: boolean; error: string }[] = [];
    const keep = (line: unknown) => {
      const parsed = JSON.parse(String(line));
      if (parsed.event === "notification_failed") lines.push(parsed);
    };
    const warn = vi.spyOn(console, "warn").mockImplementation(keep);
    const error = vi.spyOn(console, "error").mockImplementation(keep);
    try {
      await target.clock.run(target.core.trigger("ra", 1, {}));
      await runAlarms(target, target.clock.now() + RETRY_FOR_MS + 3_600_000);
    } finally {
      warn.mockRestore();
      error.mockRestore();
    }
    expect(lines.length).toBe(target.server.sent.length);
    expect(lines.slice(0, -1).every((line) => line.level === "warn" && line.retried)).toBe(true);
    expect(lines.at(-1)).toMatchObject({ level: "error", retried: false });
    expect(lines.at(-1)?.error).toMatch(/^given up after 24 hours: HTTP 502/);
  });

  it("sends a message again with the same id after a crash during its request", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const first = destinationServer(clock, () => new Promise<Response>(() => {}));
    const webhook = destination("webhook", "http://127.0.0.1:9/hook");
    const crashed = newTarget(clock, cattle, storage, first.send);
    crashed.core.register(withNotify(scaleReceiver("ra"), notify([webhook], 0)));
    await clock.run(crashed.core.trigger("ra", 1, {}));
    void crashed.core.alarm();
    // Signing runs off the event loop's turns (WebCrypto), so a few turns may not be enough under load:
    // wait, in real time, for the request to have left.
    for (let turns = 0; first.sent.length === 0 && turns < 500; turns++) await clock.flush();
    expect(first.sent).toHaveLength(1);
    crashed.stop();

    const second = destinationServer(clock);
    const restarted = { ...newTarget(clock, cattle, storage, second.send), server: second };
    await runAlarms(restarted as never, clock.now() + 60_000);
    expect(second.sent).toHaveLength(1);
    expect(second.sent[0]?.headers["webhook-id"]).toBe(first.sent[0]?.headers["webhook-id"]);
    expect(second.sent[0]?.body).toBe(first.sent[0]?.body);
    expect(restarted.core.notificationLog("ra")[0]).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("gives up an attempt that gets no answer after 10 s of the target's clock, and tries again", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    // The first request is taken and never answered: it ends only when its attempt aborts it.
    const server = destinationServer(clock, (_sent, n) =>
      n === 1 ? new Promise<Response>(() => {}) : new Response("ok"),
    );
    const aborted: number[] = [];
    const send: typeof fetch = (input, init) =>
      new Promise<Response>((resolve, reject) => {
        init?.signal?.addEventListener(
          "abort",
          () => {
            aborted.push(clock.now());
            reject(init.signal?.reason);
          },
          { once: true },
        );
        server.send(input, init).then(resolve, reject);
      });
    const target = { ...newTarget(clock, cattle, storage, send), server };
    target.core.register(withNotify(scaleReceiver("ra"), notify([destination("slack", SLACK_URL)], 0)));
    await clock.run(target.core.trigger("ra", 1, {}));
    await runAlarms(target as never, clock.now() + 60_000);
    const times = server.sent.map((sent) => sent.at);
    expect(times).toHaveLength(2);
    // Aborted on the target's clock, 10 s after it left: real time never moved that far.
    expect(aborted).toEqual([(times[0] ?? 0) + 10_000]);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(backoffMs(1));
    expect(target.core.notificationLog("ra")[0]).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("keeps executions gathered before a restart and sends them when the window closes", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const before = newTarget(clock, cattle, storage);
    before.core.register(withNotify(scaleReceiver("ra"), notify([destination("slack", SLACK_URL)], 30)));
    await clock.run(Promise.all([1, 2, 3].map(() => before.core.trigger("ra", 1, {}))));
    before.stop();
    const server = destinationServer(clock);
    const after = { ...newTarget(clock, cattle, storage, server.send), server };
    // The restarted object asks for its alarm again, at the window's end.
    expect(Math.min(...storage.alarms)).toBeLessThanOrEqual(clock.now() + 30_000);
    await runAlarms(after as never, clock.now() + 60_000);
    expect(server.sent).toHaveLength(1);
    expect(JSON.parse(server.sent[0]?.body ?? "{}").text).toContain("3 applied");
  });

  it("sends at most one request a second to a destination", async () => {
    const target = setUp(notify([destination("slack", SLACK_URL)], 0));
    for (let i = 0; i < 5; i++) {
      await target.clock.run(target.core.trigger("ra", 1, {}));
      await runAlarms(target, target.clock.now());
    }
    await runAlarms(target, target.clock.now() + 60_000);
    const gaps = gapsOf(target.server.sent.map((sent) => sent.at));
    expect(gaps.length).toBeGreaterThanOrEqual(1);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1_000);
    expect(target.core.notificationLog("ra").every((entry) => entry.status === "delivered")).toBe(true);
  });

  it("forgets what a deleted receiver had not sent", async () => {
    const target = setUp(notify([destination("slack", SLACK_URL)], 10));
    await target.clock.run(target.core.trigger("ra", 1, {}));
    expect(target.core.revoke("ra")).toBe(true);
    await runAlarms(target, target.clock.now() + 60_000);
    expect(target.server.sent).toHaveLength(0);
    const rows = target.storage.sql.exec<{ n: number }>(
      "SELECT (SELECT COUNT(*) FROM notification_events) + (SELECT COUNT(*) FROM notification_deliveries) AS n",
    );
    expect(rows.toArray()[0]?.n).toBe(0);
  });

  it("edits destinations without their URLs and keeps a webhook's secret; refuses an id it does not have", async () => {
    const target = setUp(notify([], 10));
    const names = {
      environment: "Default",
      historyUrl: "https://hooks.example.com/receivers/ra/history?projectId=1a5",
    };
    const made = target.core.setNotifications("ra", {
      destinations: [{ kind: "webhook", url: "https://example.com/hook", on: ["failed"] }],
      ...names,
    });
    if (made.kind !== "live") throw new Error(made.kind);
    const [created] = made.receiver.notify?.destinations ?? [];
    expect(made.secrets[created?.id ?? ""]).toMatch(/^whsec_/);
    const edited = target.core.setNotifications("ra", {
      destinations: [{ id: created?.id, kind: "webhook", on: ["failed", "applied"] }],
      windowSeconds: 0,
      ...names,
    });
    if (edited.kind !== "live") throw new Error(edited.kind);
    expect(edited.secrets).toEqual({});
    expect(edited.receiver.notify?.destinations[0]).toEqual({ ...created, on: ["failed", "applied"] });
    expect(edited.receiver.notify?.windowSeconds).toBe(0);
    expect(edited.receiver.version).toBe(1);

    const before = JSON.stringify(target.core.liveReceivers(["ra"]));
    const refused = target.core.setNotifications("ra", {
      destinations: [{ id: "d00000000000000000000000000", kind: "slack", on: ["failed"] }],
      ...names,
    });
    expect(refused).toMatchObject({ kind: "invalid", index: 0, field: "id" });
    expect(JSON.stringify(target.core.liveReceivers(["ra"]))).toBe(before);
  });

  it("sends what a window gathered to the destinations that wanted it when a change of them comes first", async () => {
    const slack = destination("slack", SLACK_URL, ["applied"]);
    const target = setUp(notify([slack], 10));
    await target.clock.run(target.core.trigger("ra", 1, {}));
    // Before the window closes, the Slack destination stops wanting `applied` and a Discord one that wants it comes.
    const changed = target.core.setNotifications("ra", {
      destinations: [
        { id: slack.id, kind: "slack", on: ["failed"] },
        { kind: "discord", url: "https://discord.test/api/webhooks/1/abcd", on: ["applied"] },
      ],
      environment: "Default",
      historyUrl: "https://hooks.example.com/receivers/ra/history?projectId=1a5",
    });
    expect(changed.kind).toBe("live");
    await runAlarms(target, target.clock.now() + 60_000);
    // The execution was decided while Slack wanted it, and Discord did not exist yet.
    expect(target.server.sent.map((sent) => new URL(sent.url).host)).toEqual(["hooks.slack.test"]);
    expect(target.core.notificationLog("ra")).toEqual([
      expect.objectContaining({ kind: "slack", status: "delivered", executionIds: [expect.any(String)] }),
    ]);
    // What is decided from now on goes by the new list.
    await target.clock.run(target.core.trigger("ra", 1, {}));
    await runAlarms(target, target.clock.now() + 60_000);
    expect(target.server.sent.map((sent) => new URL(sent.url).host)).toEqual([
      "hooks.slack.test",
      "discord.test",
    ]);
  });

  it("sends an execution decided during an alarm at that alarm's own time", async () => {
    // One alarm, as a Durable Object has: once alarm() returns, an alarm set meanwhile to the time
    // that ran is taken for the one that ran, and dropped.
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const server = destinationServer(clock, async () => {
      await clock.sleep(500);
      return new Response("ok");
    });
    const target = newTarget(clock, cattle, storage, server.send);
    target.core.register(
      withNotify(
        scaleReceiver("ra", { cooldownSeconds: 60 }),
        notify([destination("slack", SLACK_URL, ["applied", "cooldown"])], 0),
      ),
    );
    const scheduled = () => storage.alarms.at(-1);
    await clock.run(target.core.trigger("ra", 1, {}));
    const at = scheduled() as number;
    await clock.advance(Math.max(0, at - clock.now()));
    const running = target.core.alarm();
    await clock.flush();
    expect(server.sent).toHaveLength(1);
    // While the alarm waits for that answer, a trigger is decided (cooldown, no Cattle call) at its time.
    const second = await target.core.trigger("ra", 1, {});
    expect(second).toMatchObject({ kind: "decided", execution: { outcome: "cooldown" } });
    await clock.run(running);
    for (let runs = 0; runs < 10; runs++) {
      const next = scheduled();
      if (next === undefined || next === at) break;
      await clock.advance(Math.max(0, next - clock.now()));
      storage.alarms.length = 0;
      await clock.run(target.core.alarm());
    }
    expect(server.sent).toHaveLength(2);
    expect(JSON.parse(server.sent[1]?.body ?? "{}").text).toContain("cooldown");
  });

  it("sends no test for a receiver deleted while the test waited for its destination's second", async () => {
    const target = setUp(notify([destination("slack", SLACK_URL)], 0));
    await target.clock.run(target.core.trigger("ra", 1, {}));
    await runAlarms(target, target.clock.now());
    expect(target.server.sent).toHaveLength(1);
    // The destination was sent to just now: the test waits for its next second, and the receiver goes meanwhile.
    const testing = target.core.testNotification("ra");
    await target.clock.flush();
    expect(target.core.revoke("ra")).toBe(true);
    const results = await target.clock.run(testing);
    expect(results).toEqual([
      expect.objectContaining({ status: "failed", error: expect.stringContaining("removed") }),
    ]);
    expect(target.server.sent).toHaveLength(1);
    const kept = target.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM notification_deliveries");
    expect(kept.toArray()[0]?.n).toBe(0);
  });

  it("keeps a destination's second after a restart cut a test short, and logs the test as unanswered", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = memoryStorage();
    const first = destinationServer(clock, () => new Promise<Response>(() => {}));
    const crashed = newTarget(clock, cattle, storage, first.send);
    crashed.core.register(withNotify(scaleReceiver("ra"), notify([destination("slack", SLACK_URL)], 0)));
    void crashed.core.testNotification("ra");
    await clock.flush();
    expect(first.sent).toHaveLength(1);
    crashed.stop();
    await clock.advance(300);

    const second = destinationServer(clock);
    const restarted = newTarget(clock, cattle, storage, second.send);
    expect(restarted.core.notificationLog("ra")).toEqual([
      expect.objectContaining({
        test: true,
        status: "failed",
        attempts: 1,
        lastError: expect.stringContaining("restarted"),
      }),
    ]);
    await clock.run(restarted.core.testNotification("ra"));
    expect(second.sent).toHaveLength(1);
    expect((second.sent[0]?.at ?? 0) - (first.sent[0]?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
  });

  it("answers a test to each destination, and logs it", async () => {
    const target = setUp(
      notify([destination("slack", SLACK_URL), destination("teams", "https://teams.test/workflows/x")]),
      (sent) => (sent.url.includes("teams") ? new Response("nope", { status: 404 }) : new Response("ok")),
    );
    const results = await target.clock.run(target.core.testNotification("ra"));
    expect(results).toEqual([
      expect.objectContaining({ kind: "slack", status: "delivered", httpStatus: 200 }),
      expect.objectContaining({ kind: "teams", status: "failed", httpStatus: 404, error: "HTTP 404: nope" }),
    ]);
    expect(target.core.notificationLog("ra").map((entry) => [entry.kind, entry.status, entry.test])).toEqual([
      ["teams", "failed", true],
      ["slack", "delivered", true],
    ]);
    expect(await target.core.testNotification("nobody")).toBeNull();
  });
});
