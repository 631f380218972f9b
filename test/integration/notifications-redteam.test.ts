import { env, evictDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, json, resetEmulator, scaleServiceBody, setScale, trigger } from "../helpers";

/**
 * Notifications on workerd when its target object is evicted: with a window open and a message to
 * retry, then after it was delivered. Nothing is lost, the retries are one message (one row of the
 * delivery log), and nothing is sent again. The emulator's inboxes are memory only, so the log says.
 */

const RECEIVERS = "/v1-webhooks/receivers?projectId=1a5";
const inboxUrl = (name: string) => `${EMULATOR}/_emulator/inbox/${name}`;

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`not reached in ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeEach(async () => {
  await resetEmulator();
});

describe("notifications when the target object is evicted", () => {
  it("sends what a window gathered, and retries with the same id, across evictions", async () => {
    await setScale("1s1", 3);
    const receiver = await json(
      await call(RECEIVERS, {
        method: "POST",
        body: {
          ...scaleServiceBody({ max: 10 }),
          notifications: [{ kind: "webhook", url: inboxUrl("evicted-hook") }],
          notifyWindowSeconds: 1,
        },
      }),
    );
    await fetch(inboxUrl("evicted-hook/answers"), {
      method: "POST",
      body: JSON.stringify({ answers: [{ status: 503, body: "busy" }] }),
    });
    const target = env.TARGETS.getByName("scaleService:1a5:1s1");
    const deliveries = async () =>
      (await json(await call(`/v1-webhooks/receivers/${receiver.id}/notifications?projectId=1a5`))).data as {
        messageId: string;
        status: string;
        attempts: number;
        lastError?: string;
      }[];
    expect((await trigger(receiver.url)).status).toBe(200);
    // Evicted with the window open: the alarm brings the object back to close it, and to retry.
    await evictDurableObject(target);
    const [delivered] = await eventually(deliveries, (list) => list[0]?.status === "delivered", 60_000);
    // The refused attempt, then the retry of the same message (one more if an eviction cut a request).
    expect(delivered?.attempts).toBeGreaterThanOrEqual(2);
    expect(await deliveries()).toHaveLength(1);
    // Evicted once more, after the delivery: nothing is sent again.
    await evictDurableObject(target);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(await deliveries()).toEqual([
      expect.objectContaining({
        messageId: delivered?.messageId,
        status: "delivered",
        attempts: delivered?.attempts,
      }),
    ]);
  }, 120_000);
});
