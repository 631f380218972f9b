import { afterEach, describe, expect, it, vi } from "vitest";
import type { Destination, NotificationKind, NotifySettings } from "../../src/domain/notifications";
import type { LiveReceiver } from "../../src/domain/receiver";
import { parseExport } from "../../src/receivers/backup";
import type { ObjectStorage } from "../../src/storage/object-storage";
import { EXECUTIONS_KEPT } from "../../src/targets/history";
import { FakeCattle, FakeClock, memoryStorage, newTarget, scaleReceiver } from "./fakes";

/**
 * Attacks on notifications: each test here shows a way a message could be lost, delayed, sent twice,
 * or give a secret away, over the target core with a fake clock and a fake `fetch`.
 */

interface Sent {
  url: string;
  at: number;
  headers: Record<string, string>;
  body: string;
}

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

const names = {
  environment: "Default",
  targetLabel: "web",
  historyUrl: "https://hooks.example.com/receivers/ra/history?projectId=1a5",
};

const notify = (destinations: Destination[], windowSeconds = 10): NotifySettings => ({
  windowSeconds,
  destinations,
  ...names,
});

const withNotify = (receiver: LiveReceiver, settings: NotifySettings): LiveReceiver => ({
  ...receiver,
  name: "scale-web",
  notify: settings,
});

/**
 * Storage with one alarm, as a Durable Object has: setting it replaces the one set before, whoever
 * set it, and it survives a restart of the object.
 */
function oneAlarmStorage(): ObjectStorage & { alarm: number | undefined } {
  const inner = memoryStorage();
  const storage = {
    sql: inner.sql,
    transactionSync: inner.transactionSync,
    alarm: undefined as number | undefined,
    setAlarm: async (at: number) => {
      storage.alarm = at;
    },
  };
  return storage;
}

/**
 * Runs the object's one alarm whenever it is due, until `until`, as the runtime does: the alarm is
 * spent when it fires, and one that throws is tried again 2 s later (Durable Objects retry alarms).
 */
async function runOneAlarm(
  clock: FakeClock,
  storage: { alarm: number | undefined },
  core: { alarm(): Promise<void> },
  until: number,
) {
  for (let ran = 0; ran < 1_000; ran++) {
    const due = storage.alarm;
    if (due === undefined || due > until) {
      if (until > clock.now()) await clock.advance(until - clock.now());
      return;
    }
    storage.alarm = undefined;
    if (due > clock.now()) await clock.advance(due - clock.now());
    const threw = await clock.run(
      core.alarm().then(
        () => false,
        () => true,
      ),
    );
    if (threw && storage.alarm === undefined) storage.alarm = clock.now() + 2_000;
  }
  throw new Error("the alarm kept running");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("notifications under attack: secrets", () => {
  it("keeps a URL's path out of the log when the destination echoes it without its query", async () => {
    // A web framework's 404 quotes the path it was asked for, never the query string.
    const url = "https://hooks.example.test/hooks/SECRETTOKEN0123456789?source=rancher";
    const lines: string[] = [];
    for (const level of ["log", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(String(line)));
    }
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    const server = destinationServer(
      clock,
      () => new Response("Cannot POST /hooks/SECRETTOKEN0123456789", { status: 404 }),
    );
    const target = newTarget(clock, new FakeCattle(clock), storage, server.send);
    target.core.register(withNotify(scaleReceiver("ra"), notify([destination("slack", url)], 0)));
    await clock.run(target.core.trigger("ra", 1, {}));
    const results = await clock.run(target.core.testNotification("ra"));
    await runOneAlarm(clock, storage, target.core, clock.now() + 5_000);
    expect(server.sent.length).toBeGreaterThanOrEqual(2);
    const log = target.core.notificationLog("ra");
    expect(log.map((entry) => entry.status)).toEqual(["failed", "failed"]);
    expect(log[0]?.lastError).toMatch(/^HTTP 404: Cannot POST /);
    for (const shown of [JSON.stringify(log), JSON.stringify(results), ...lines]) {
      expect(shown).not.toContain("SECRETTOKEN");
    }
  });
});

/** A receiver in an export, with secrets, as an export with `includeSecrets=true` writes it. */
const exportedReceiver = (destinations: unknown[]) => ({
  type: "receiverExport",
  version: 1,
  projectId: "1a5",
  receivers: [
    {
      id: `r${"0".repeat(26)}`,
      name: "scale-web",
      driver: "scaleService",
      scaleServiceConfig: {
        serviceId: "1s1",
        action: "up",
        amount: 1,
        min: 1,
        max: 7,
        cooldownSeconds: 30,
        onResolved: "ignore",
      },
      version: 1,
      created: new Date(1_800_000_000_000).toISOString(),
      notify: { windowSeconds: 10, destinations, ...names },
    },
  ],
});

describe("notifications under attack: a restore", () => {
  it("takes the destinations an export holds, as exported", () => {
    const [entry] = parseExport(
      exportedReceiver([destination("slack", SLACK_URL), destination("webhook", "https://example.com/hook")]),
      "1a5",
    );
    expect(entry?.notify?.destinations.map((kept) => kept.kind)).toEqual(["slack", "webhook"]);
  });

  it("refuses two destinations with one id, which no receiver can have", () => {
    const slack = destination("slack", SLACK_URL);
    expect(() =>
      parseExport(
        exportedReceiver([slack, { ...slack, url: "https://hooks.slack.test/services/other" }]),
        "1a5",
      ),
    ).toThrow(expect.objectContaining({ status: 422, fieldName: "receivers.0.notify.destinations.1.id" }));
  });

  it("refuses a History link that is not an http(s) URL: Slack refuses every message with one", () => {
    const document = exportedReceiver([destination("slack", SLACK_URL)]);
    const [receiver] = document.receivers;
    if (receiver) receiver.notify.historyUrl = "javascript:alert(1)";
    expect(() => parseExport(document, "1a5")).toThrow(
      expect.objectContaining({ status: 422, fieldName: "receivers.0.notify.historyUrl" }),
    );
  });

  it("refuses a webhook destination without its signing secret: nothing could sign its messages", () => {
    const { secret: _secret, ...unsigned } = destination("webhook", "https://example.com/hook");
    expect(() => parseExport(exportedReceiver([unsigned]), "1a5")).toThrow(
      expect.objectContaining({ status: 422, fieldName: "receivers.0.notify.destinations.0.secret" }),
    );
  });
});

describe("notifications under attack: settings changed while executions wait", () => {
  it("sends at once what waits when the window is made shorter", async () => {
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    const server = destinationServer(clock);
    const target = newTarget(clock, new FakeCattle(clock), storage, server.send);
    const slack = destination("slack", SLACK_URL);
    target.core.register(withNotify(scaleReceiver("ra"), notify([slack], 300)));
    await clock.run(target.core.trigger("ra", 1, {}));
    const changed = target.core.setNotifications("ra", {
      destinations: [{ id: slack.id, kind: "slack", on: slack.on }],
      windowSeconds: 0,
      ...names,
    });
    expect(changed.kind).toBe("live");
    await runOneAlarm(clock, storage, target.core, clock.now() + 5_000);
    expect(server.sent).toHaveLength(1);
    expect(JSON.parse(server.sent[0]?.body ?? "{}").text).toContain("1 applied");
  });
  it("sends what waits for a destination at once to the URL it is given instead", async () => {
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    // The old URL is gone for good; its server asks for an hour's pause.
    const server = destinationServer(clock, (sent) =>
      sent.url === SLACK_URL
        ? new Response("gone", { status: 503, headers: { "retry-after": "3600" } })
        : new Response("ok"),
    );
    const target = newTarget(clock, new FakeCattle(clock), storage, server.send);
    const slack = destination("slack", SLACK_URL);
    target.core.register(withNotify(scaleReceiver("ra"), notify([slack], 0)));
    await clock.run(target.core.trigger("ra", 1, {}));
    await runOneAlarm(clock, storage, target.core, clock.now() + 5_000);
    expect(target.core.notificationLog("ra")[0]).toMatchObject({ status: "pending", attempts: 1 });
    const moved = "https://hooks.slack.test/services/T000/B000/newsecret5678";
    target.core.setNotifications("ra", {
      destinations: [{ id: slack.id, kind: "slack", url: moved, on: slack.on }],
      ...names,
    });
    await runOneAlarm(clock, storage, target.core, clock.now() + 5_000);
    expect(server.sent.map((sent) => sent.url)).toEqual([SLACK_URL, moved]);
    expect(target.core.notificationLog("ra")[0]).toMatchObject({ status: "delivered", attempts: 2 });
  });
});

/** How many acknowledged triggers a scaleService target keeps, and whether a write's fate is unknown. */
const kept = (storage: ObjectStorage) =>
  storage.sql
    .exec<{ pending: number; unresolved: number }>(
      "SELECT (SELECT COUNT(*) FROM pending_steps) AS pending, (SELECT COUNT(*) FROM unresolved_write) AS unresolved",
    )
    .toArray()[0] ?? { pending: 0, unresolved: 0 };

describe("notifications under attack: one URL, several destinations", () => {
  it("sends at most one request a second to a URL that two receivers of a service post to", async () => {
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    const server = destinationServer(clock);
    const target = newTarget(clock, new FakeCattle(clock), storage, server.send);
    // "Scale up" and "scale down" receivers of one service, both telling the team's channel; and a
    // third destination of the first with the same URL, for other outcomes.
    target.core.register(
      withNotify(
        scaleReceiver("ra"),
        notify(
          [
            destination("slack", SLACK_URL, ["applied"]),
            { ...destination("slack", SLACK_URL, ["noop"]), id: `d${"1".repeat(26)}` },
          ],
          0,
        ),
      ),
    );
    target.core.register(
      withNotify(
        scaleReceiver("rb", { action: "down" }),
        notify([{ ...destination("slack", SLACK_URL), id: `d${"2".repeat(26)}` }], 0),
      ),
    );
    target.cattle.service().scale = 5;
    await clock.run(Promise.all([target.core.trigger("ra", 1, {}), target.core.trigger("rb", 1, {})]));
    await runOneAlarm(clock, storage, target.core, clock.now() + 60_000);
    expect(server.sent.length).toBeGreaterThanOrEqual(2);
    const times = server.sent.map((sent) => sent.at);
    for (const [i, at] of times.slice(1).entries())
      expect(at - (times[i] ?? 0)).toBeGreaterThanOrEqual(1_000);
    // A test as well, right after: it waits for the URL's next second too.
    const before = server.sent.length;
    await clock.run(target.core.testNotification("ra"));
    const tests = server.sent.slice(before - 1).map((sent) => sent.at);
    for (const [i, at] of tests.slice(1).entries())
      expect(at - (tests[i] ?? 0)).toBeGreaterThanOrEqual(1_000);
  });
});

describe("notifications under attack: the one alarm a target shares", () => {
  it("does not put off, after a restart, an alarm the scale writer needs for acknowledged triggers", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = oneAlarmStorage();
    // The destination asks for an hour's pause: its message waits in the outbox until then.
    const server = destinationServer(
      clock,
      () => new Response("slow down", { status: 429, headers: { "retry-after": "3600" } }),
    );
    const first = newTarget(clock, cattle, storage, server.send);
    first.core.register(
      withNotify(scaleReceiver("ra"), notify([destination("slack", SLACK_URL, ["failed"])], 0)),
    );
    // A failed trigger: its message is refused for an hour.
    cattle.writes.push({
      kind: "refused",
      failure: { kind: "rejected", status: 422, message: "Cattle answered 422" },
    });
    await clock.run(first.core.trigger("ra", 1, {}));
    await runOneAlarm(clock, storage, first.core, clock.now() + 2_000);
    expect(server.sent).toHaveLength(1);
    // A trigger while the service waits for its upgrade to be finished: Cattle refuses any update
    // until then, so the trigger is acknowledged pending and kept, with no write sent.
    cattle.service().scale = 3;
    cattle.service().state = "upgraded";
    void first.core.trigger("ra", 1, {});
    await clock.advance(7_000);
    expect(kept(storage)).toEqual({ unresolved: 0, pending: 1 });
    first.stop();
    cattle.service().state = "active";

    const second = newTarget(clock, cattle, storage, server.send);
    await runOneAlarm(clock, storage, second.core, clock.now() + 60_000);
    // The acknowledged trigger is written within a minute, as it is without notifications.
    expect(kept(storage)).toMatchObject({ unresolved: 0, pending: 0 });
    expect(cattle.service().scale).toBe(4);
  }, 30_000);

  it("sends what is due even when another part's alarm throws", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = oneAlarmStorage();
    const server = destinationServer(clock);
    const target = newTarget(clock, cattle, storage, server.send);
    const service = cattle.service();
    service.launchConfig = { imageUuid: "docker:myorg/web:1.0", labels: { app: "web" }, version: "v1" };
    service.scale = 1;
    target.core.register({
      id: "ru",
      projectId: "1a5",
      name: "ru",
      version: 1,
      driver: "serviceUpgrade",
      config: {
        serviceSelector: { app: "web" },
        tag: "1.*",
        policy: "glob",
        payloadFormat: "dockerhub",
        batchSize: 1,
        intervalMillis: 2000,
        startFirst: false,
        rollbackOnFailure: true,
        healthySeconds: 10,
        healthTimeoutSeconds: 600,
      },
    });
    target.core.register(withNotify(scaleReceiver("ra"), notify([destination("slack", SLACK_URL)], 0)));
    // An upgrade under way, whose alarm then breaks on every run (a bug, a storage error).
    await clock.run(target.core.trigger("ru", 1, { pushes: [{ repository: "myorg/web", tags: ["1.1"] }] }));
    await clock.run(target.core.trigger("ra", 1, {}));
    cattle.at = () => {
      throw new Error("the upgrade's step broke");
    };
    await runOneAlarm(clock, storage, target.core, clock.now() + 30_000);
    expect(server.sent).toHaveLength(1);
    expect(target.core.notificationLog("ra")[0]).toMatchObject({ status: "delivered" });
  });
});

describe("notifications under attack: executions that settle later", () => {
  it("tells of every acknowledged trigger once its write lands, however many came", async () => {
    const clock = new FakeClock();
    const cattle = new FakeCattle(clock);
    const storage = oneAlarmStorage();
    const server = destinationServer(clock);
    const target = newTarget(clock, cattle, storage, server.send);
    target.core.register(
      withNotify(
        scaleReceiver("ra", { max: 1_000 }),
        notify([destination("slack", SLACK_URL, ["applied"])], 60),
      ),
    );
    // The service waits for its upgrade to be finished: every trigger is acknowledged pending.
    cattle.service().state = "upgraded";
    const answers = Promise.all(Array.from({ length: 151 }, () => target.core.trigger("ra", 1, {})));
    const outcomes = (await clock.run(answers)).map((answer) =>
      answer.kind === "decided" ? answer.execution.outcome : answer.kind,
    );
    expect(new Set(outcomes)).toEqual(new Set(["pending"]));
    cattle.service().state = "active";
    await runOneAlarm(clock, storage, target.core, clock.now() + 10 * 60_000);
    expect(kept(storage)).toEqual({ unresolved: 0, pending: 0 });
    expect(cattle.service().scale).toBe(152);
    const texts = server.sent.map((sent) => JSON.parse(sent.body).text as string);
    const applied = texts.reduce((sum, text) => sum + Number(/(\d+) applied/.exec(text)?.[1] ?? 0), 0);
    expect({ texts, applied }).toMatchObject({ applied: 151 });
    // Settled, they are history like any other: cut back to the latest EXECUTIONS_KEPT again.
    await clock.run(Promise.all(Array.from({ length: 20 }, () => target.core.trigger("ra", 1, {}))));
    const [rows] = storage.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM executions WHERE receiver_id = 'ra'")
      .toArray();
    expect(rows?.n).toBeLessThanOrEqual(EXECUTIONS_KEPT + 16);
  }, 60_000);
});

describe("notifications under attack: one execution, two states in a window", () => {
  it("tells of an execution once, as it ended, when it settles within the window", async () => {
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    const server = destinationServer(clock);
    const cattle = new FakeCattle(clock);
    const target = newTarget(clock, cattle, storage, server.send);
    target.core.register(
      withNotify(
        scaleReceiver("ra"),
        notify([destination("webhook", "https://example.com/hook", ["pending", "applied"])], 120),
      ),
    );
    // Acknowledged pending while the service waits for its upgrade to be finished, applied soon after.
    cattle.service().state = "upgraded";
    const [answer] = await clock.run(Promise.all([target.core.trigger("ra", 1, {})]));
    expect(answer).toMatchObject({ execution: { outcome: "pending" } });
    cattle.service().state = "active";
    await runOneAlarm(clock, storage, target.core, clock.now() + 5 * 60_000);
    expect(target.core.executions("ra")).toEqual([expect.objectContaining({ outcome: "applied" })]);
    expect(server.sent).toHaveLength(1);
    const body = JSON.parse(server.sent[0]?.body ?? "{}") as {
      executions: { id: string; outcome: string }[];
    };
    expect(body.executions.map((execution) => execution.outcome)).toEqual(["applied"]);
  });
});

describe("notifications under attack: cost", () => {
  it("sums up a burst of 1,000 triggers in a handful of messages and rows", async () => {
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    const server = destinationServer(clock);
    const target = newTarget(clock, new FakeCattle(clock), storage, server.send);
    target.core.register(
      withNotify(scaleReceiver("ra", { max: 100_000 }), notify([destination("slack", SLACK_URL)], 10)),
    );
    for (let i = 0; i < 10; i++) {
      await clock.run(Promise.all(Array.from({ length: 100 }, () => target.core.trigger("ra", 1, {}))));
      await clock.advance(500);
    }
    await runOneAlarm(clock, storage, target.core, clock.now() + 60_000);
    expect(server.sent.length).toBeLessThanOrEqual(2);
    const [rows] = storage.sql
      .exec<{ events: number; deliveries: number }>(
        "SELECT (SELECT COUNT(*) FROM notification_events) AS events, (SELECT COUNT(*) FROM notification_deliveries) AS deliveries",
      )
      .toArray();
    expect(rows).toEqual({ events: 0, deliveries: server.sent.length });
  }, 60_000);

  it("backs off from a destination that is down, however many messages wait for it, and loses none", async () => {
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    let down = true;
    const server = destinationServer(clock, () =>
      down ? new Response("down", { status: 503 }) : new Response("ok"),
    );
    const target = newTarget(clock, new FakeCattle(clock), storage, server.send);
    target.core.register(
      withNotify(scaleReceiver("ra", { max: 100_000 }), notify([destination("slack", SLACK_URL)], 10)),
    );
    // A trigger a minute for four hours: 240 messages, none of which can be delivered.
    const hours = 4;
    for (let minute = 0; minute < hours * 60; minute++) {
      await clock.run(target.core.trigger("ra", 1, {}));
      await runOneAlarm(clock, storage, target.core, clock.now() + 60_000);
    }
    const [waiting] = storage.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM notification_deliveries WHERE status = 'pending'")
      .toArray();
    expect(waiting?.n).toBe(hours * 60);
    // The log says when each is tried next: none sooner than the one retried ahead of them.
    const [retried] = storage.sql
      .exec<{ attempts: number; next_attempt: number }>(
        "SELECT attempts, next_attempt FROM notification_deliveries WHERE status = 'pending' ORDER BY seq LIMIT 1",
      )
      .toArray();
    expect(retried?.attempts).toBeGreaterThan(5);
    for (const entry of target.core.notificationLog("ra")) {
      expect(entry.nextAttempt).toBeGreaterThanOrEqual(retried?.next_attempt ?? Number.POSITIVE_INFINITY);
    }
    // Backoff as for one message (5 s doubling to 30 minutes): a few dozen requests, not thousands.
    expect(server.sent.length).toBeLessThan(hours * 2 + 20);
    const failedRequests = server.sent.length;
    // Back up: each message is delivered once, oldest first, one a second.
    down = false;
    await runOneAlarm(clock, storage, target.core, clock.now() + 60 * 60_000);
    const delivered = server.sent.slice(failedRequests);
    // Each message tells of one trigger, "web 7 → 8": every one of them, once.
    const texts = delivered.map((sent) => JSON.parse(sent.body).text as string);
    expect(delivered).toHaveLength(hours * 60);
    expect(new Set(texts).size).toBe(hours * 60);
    const log = target.core.notificationLog("ra");
    expect(log.every((entry) => entry.status === "delivered")).toBe(true);
    expect(log.map((entry) => entry.created)).toEqual(
      [...log.map((entry) => entry.created)].sort((a, b) => b - a),
    );
    const gaps = delivered.slice(1).map((sent, i) => sent.at - (delivered[i]?.at ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1_000);
  }, 120_000);

  it("fails at once every message waiting for a destination that was removed", async () => {
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    const server = destinationServer(clock, () => new Response("down", { status: 503 }));
    const target = newTarget(clock, new FakeCattle(clock), storage, server.send);
    const slack = destination("slack", SLACK_URL);
    target.core.register(withNotify(scaleReceiver("ra"), notify([slack], 0)));
    for (let i = 0; i < 3; i++) {
      await clock.run(target.core.trigger("ra", 1, {}));
      await runOneAlarm(clock, storage, target.core, clock.now() + 2_000);
    }
    expect(target.core.notificationLog("ra").map((entry) => entry.status)).toEqual([
      "pending",
      "pending",
      "pending",
    ]);
    const sent = server.sent.length;
    target.core.setNotifications("ra", { destinations: [], ...names });
    await runOneAlarm(clock, storage, target.core, clock.now() + 60 * 60_000);
    expect(server.sent).toHaveLength(sent);
    expect(target.core.notificationLog("ra").map((entry) => [entry.status, entry.lastError])).toEqual(
      Array.from({ length: 3 }, () => [
        "failed",
        "the destination was removed before the message was delivered",
      ]),
    );
    expect(target.core.metrics().receivers[0]?.notifications).toEqual(
      expect.arrayContaining([{ kind: "slack", result: "failed", count: 3 }]),
    );
  });

  it("fails a message that cannot be made, rather than hold up the ones behind it for a day", async () => {
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    const server = destinationServer(clock);
    const target = newTarget(clock, new FakeCattle(clock), storage, server.send);
    // A signing secret that is not one (kept by an older release, or edited in an export).
    const hook = { ...destination("webhook", "https://example.com/hook"), secret: "not-a-secret" };
    target.core.register(withNotify(scaleReceiver("ra"), notify([hook], 0)));
    await clock.run(target.core.trigger("ra", 1, {}));
    await runOneAlarm(clock, storage, target.core, clock.now() + 60_000);
    expect(server.sent).toHaveLength(0);
    expect(target.core.notificationLog("ra")).toEqual([
      expect.objectContaining({
        status: "failed",
        attempts: 1,
        lastError: "not sent: a webhook signing secret starts with whsec_",
      }),
    ]);
  });

  it("keeps nothing of a test whose receiver was deleted while it was being sent", async () => {
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    let answer: (response: Response) => void = () => {};
    const server = destinationServer(clock, () => new Promise<Response>((resolve) => (answer = resolve)));
    const target = newTarget(clock, new FakeCattle(clock), storage, server.send);
    target.core.register(withNotify(scaleReceiver("ra"), notify([destination("slack", SLACK_URL)], 0)));
    const testing = target.core.testNotification("ra");
    await clock.flush();
    expect(server.sent).toHaveLength(1);
    expect(target.core.revoke("ra")).toBe(true);
    answer(new Response("ok"));
    await clock.run(testing);
    const [rows] = storage.sql
      .exec<{ n: number }>(
        "SELECT (SELECT COUNT(*) FROM notification_deliveries) + (SELECT COUNT(*) FROM notification_counts) AS n",
      )
      .toArray();
    expect(rows?.n).toBe(0);
    expect(target.core.metrics().receivers).toEqual([]);
  });

  it("says why when a Retry-After past the 24 hours ends a message", async () => {
    const clock = new FakeClock();
    const storage = oneAlarmStorage();
    const server = destinationServer(
      clock,
      () => new Response("later", { status: 429, headers: { "retry-after": String(2 * 24 * 3600) } }),
    );
    const target = newTarget(clock, new FakeCattle(clock), storage, server.send);
    target.core.register(withNotify(scaleReceiver("ra"), notify([destination("slack", SLACK_URL)], 0)));
    await clock.run(target.core.trigger("ra", 1, {}));
    await runOneAlarm(clock, storage, target.core, clock.now() + 60_000);
    expect(server.sent).toHaveLength(1);
    expect(target.core.notificationLog("ra")[0]).toMatchObject({
      status: "failed",
      attempts: 1,
      lastError: "given up: the destination asked to wait past 24 hours: HTTP 429: later",
    });
  });
});
