import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevStack, startDev } from "./dev-stack";
import { DENO, eventually } from "./local-stack";
import {
  type Captured,
  type CaptureServer,
  checkDiscord,
  checkSlack,
  startCapture,
  teamsCard,
  verifyWebhook,
} from "./notification-capture";

/**
 * Notifications end to end (docs/notifications.md), on `npm run dev` and on `npm run dev:deno`:
 * a receiver's four destinations are capture servers on loopback that answer as Slack, Teams,
 * Discord and a receiving app do, or fail as the test says; everything is observed as a user
 * would (trigger answers, the delivery log, the metrics) and in what the stack printed.
 */
const denoAvailable = existsSync(DENO);
if (!denoAvailable && process.env.CI) throw new Error(`${DENO} is missing: npm ci installs the deno package`);

const KEY = `Basic ${btoa("dev-access:dev-secret")}`;
const BURST = 8;

const runtimes: [name: string, flags: string[], available: boolean][] = [
  ["workerd", [], true],
  ["Deno", ["--deno"], denoAvailable],
];

// Both stacks start at once: starting is most of what this file costs.
const stacks = new Map<string, Promise<DevStack>>();
beforeAll(() => {
  for (const [name, flags, available] of runtimes) {
    if (!available) continue;
    const started = startDev({ flags });
    // A stack that fails to start fails its own describe, not this hook.
    started.catch(() => undefined);
    stacks.set(name, started);
  }
});
afterAll(async () => {
  await Promise.all(
    [...stacks.values()].map((started) => started.then((stack) => stack.dispose()).catch(() => undefined)),
  );
});

// The two runtimes' tests wait on the same timers (the window, the retry's backoff): side by side.
describe.concurrent("notifications", () => {
  describe.each(runtimes)("on %s", (name, _flags, available) => {
    let dev: DevStack;
    let capture: CaptureServer;
    // Each path is a secret of its own: none may appear in what the stack prints.
    const secretPath = (kind: string) => `/${kind}/${crypto.randomUUID()}`;
    const paths = {
      slack: secretPath("slack"),
      teams: secretPath("teams"),
      discord: secretPath("discord"),
      webhook: secretPath("webhook"),
      flaky: secretPath("flaky"),
      refusing: secretPath("refusing"),
    };

    beforeAll(async () => {
      if (!available) return;
      capture = await startCapture((request, seen) => {
        switch (request.path) {
          case paths.slack:
            return { status: 200, body: "ok" };
          case paths.teams:
            return { status: 202 };
          case paths.flaky:
            // Down at first, as a receiving app being deployed is; asks for a second, gets the backoff.
            return seen === 0
              ? { status: 503, body: "deploying", headers: { "retry-after": "1" } }
              : { status: 200, body: "ok" };
          case paths.refusing:
            return { status: 400, body: "invalid_payload" };
          default:
            return { status: 204 };
        }
      });
      dev = await (stacks.get(name) as Promise<DevStack>);
    }, 150_000);
    afterAll(async () => {
      await capture?.close();
    });

    const api = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${dev.hooks}${path}`, {
        ...init,
        headers: { authorization: KEY, "content-type": "application/json" },
      });
      return {
        status: response.status,
        body: (await response.json().catch(() => null)) as Record<string, any>,
      };
    };
    const create = async (body: Record<string, unknown>) => {
      const created = await api("/v1-webhooks/receivers?projectId=1a5", {
        method: "POST",
        body: JSON.stringify({
          driver: "scaleService",
          scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 100 },
          ...body,
        }),
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return created.body as { id: string; url: string; notifications: { kind: string; secret?: string }[] };
    };
    const log = async (receiverId: string) =>
      (await api(`/v1-webhooks/receivers/${receiverId}/notifications?projectId=1a5`)).body.data as Record<
        string,
        any
      >[];
    const trigger = async (url: string) => {
      const response = await fetch(url, { method: "POST" });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };

    it.skipIf(!available)(
      "a burst is one message per destination, retried on 503, refused on 400, and nothing secret is printed",
      async () => {
        await fetch(`${dev.emulator}/_emulator/reset`, { method: "POST" });
        const url = (path: string) => `${capture.origin}${path}`;
        const plain = await create({ name: "plain" });
        const told = await create({
          name: "told",
          notifyWindowSeconds: 3,
          notifications: [
            { kind: "slack", url: url(paths.slack) },
            { kind: "teams", url: url(paths.teams) },
            { kind: "discord", url: url(paths.discord) },
            { kind: "webhook", url: url(paths.webhook) },
          ],
        });
        const flaky = await create({
          name: "flaky",
          notifyWindowSeconds: 0,
          notifications: [
            { kind: "webhook", url: url(paths.flaky) },
            { kind: "slack", url: url(paths.refusing) },
          ],
        });
        const secret = told.notifications.find((destination) => destination.kind === "webhook")
          ?.secret as string;
        const flakySecret = flaky.notifications[0]?.secret as string;

        // The flaky receiver's message first: its retry comes 5 s later, while the burst goes on.
        const flakyAnswer = await trigger(flaky.url);
        const plainAnswer = await trigger(plain.url);
        const answers = await Promise.all(Array.from({ length: BURST }, () => trigger(told.url)));

        // The answers are those of a receiver without destinations: same status, same fields, exact steps.
        for (const answer of [flakyAnswer, ...answers]) {
          expect(answer.status).toBe(plainAnswer.status);
          expect(Object.keys(answer.body).sort()).toEqual(Object.keys(plainAnswer.body).sort());
          expect(answer.body).toMatchObject({ outcome: "applied", reason: "scaled up by 1" });
        }
        const steps = answers.map((answer) => [answer.body.from, answer.body.to]).sort((a, b) => a[0] - b[0]);
        const first = steps[0]?.[0] as number;
        expect(steps).toEqual(Array.from({ length: BURST }, (_, i) => [first + i, first + i + 1]));

        // One message per destination, summing the whole burst up.
        const summary = `told: ${BURST} applied, web ${first} → ${first + BURST}`;
        const only = async (path: string): Promise<Captured> =>
          eventually(`the message to ${path.split("/")[1]}`, async () => capture.to(path)[0], 30_000);
        const [slack, teams, discord, webhook] = await Promise.all(
          [paths.slack, paths.teams, paths.discord, paths.webhook].map(only),
        );
        expect(checkSlack(slack?.body ?? "").text).toBe(summary);
        const { card, events } = teamsCard(teams?.body ?? "");
        expect(events).toEqual([]);
        expect(JSON.stringify(card)).toContain(summary);
        expect(checkDiscord(discord?.body ?? "").embeds[0]?.fields).toContainEqual({
          name: "Executions",
          value: String(BURST),
          inline: true,
        });
        const body = verifyWebhook(webhook as Captured, secret) as Record<string, any>;
        expect(body).toMatchObject({
          type: "receiver.executions",
          summary,
          receiver: { id: told.id, name: "told" },
        });
        const ids = answers.map((answer) => answer.body.id).sort();
        expect(body.executions.map((execution: { id: string }) => execution.id).sort()).toEqual(ids);

        const toldLog = await log(told.id);
        expect(toldLog).toHaveLength(4);
        for (const delivery of toldLog) {
          expect(delivery).toMatchObject({ status: "delivered", attempts: 1, summary, test: false });
          expect([...delivery.executionIds].sort()).toEqual(ids);
          expect(delivery.urlHint).toBe(`${new URL(capture.origin).host} ...${delivery.urlHint.slice(-4)}`);
        }
        expect(toldLog.map((delivery) => delivery.kind).sort()).toEqual([
          "discord",
          "slack",
          "teams",
          "webhook",
        ]);

        // 503 then 204: tried again after the backoff (5 s, more than the 1 s asked), the same message.
        const [down, up] = await eventually(
          "the flaky destination's retry",
          async () => {
            const got = capture.to(paths.flaky);
            return got.length >= 2 ? got : undefined;
          },
          30_000,
        );
        expect(up?.headers["webhook-id"]).toBe(down?.headers["webhook-id"]);
        expect((up?.at ?? 0) - (down?.at ?? 0)).toBeGreaterThanOrEqual(4_500);
        expect(verifyWebhook(up as Captured, flakySecret)).toMatchObject({ type: "receiver.executions" });
        const flakyLog = await eventually("the flaky deliveries to settle", async () => {
          const entries = await log(flaky.id);
          return entries.length === 2 && entries.every((entry) => entry.status !== "pending")
            ? entries
            : undefined;
        });
        const byKind = Object.fromEntries(flakyLog.map((delivery) => [delivery.kind, delivery]));
        expect(byKind.webhook).toMatchObject({ status: "delivered", attempts: 2 });
        expect(byKind.webhook).not.toHaveProperty("lastError");
        // 400: failed at once, never tried again (the flaky retry came well after it).
        expect(byKind.slack).toMatchObject({
          status: "failed",
          attempts: 1,
          lastError: "HTTP 400: invalid_payload",
        });
        expect(byKind.slack).not.toHaveProperty("nextAttempt");
        expect(capture.to(paths.refusing)).toHaveLength(1);

        const metrics = await (
          await fetch(`${dev.hooks}/v1-webhooks/metrics?projectId=1a5`, { headers: { authorization: KEY } })
        ).text();
        const counter = (receiverId: string, kind: string, result: string) =>
          Number(
            new RegExp(
              `^rancher_hooks_notifications_total\\{receiver_id="${receiverId}",[^}]*kind="${kind}",result="${result}"\\} (\\d+)$`,
              "m",
            ).exec(metrics)?.[1],
          );
        expect(counter(flaky.id, "webhook", "retried")).toBe(1);
        expect(counter(flaky.id, "webhook", "delivered")).toBe(1);
        expect(counter(flaky.id, "slack", "failed")).toBe(1);
        expect(counter(told.id, "teams", "delivered")).toBe(1);

        // What the stack printed names the failures by hint, never by URL, secret or signature.
        const output = dev.output();
        expect(output).toContain('"event":"notification_failed"');
        const signatures = [webhook, down, up].map((request) =>
          String(request?.headers["webhook-signature"]),
        );
        for (const secretText of [...Object.values(paths), secret, flakySecret, ...signatures]) {
          expect(output).not.toContain(secretText);
          expect(output).not.toContain(secretText.replace(/^v1,/, ""));
        }

        for (const receiver of [plain, told, flaky]) {
          await api(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, { method: "DELETE" });
        }
      },
      60_000,
    );
  });
});
