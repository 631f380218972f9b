import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { SqliteObjectStorage } from "../../src/storage/sqlite";

/** The Deno adapter's objects keep their alarm in SQLite; it must behave as a Durable Object's does. */
describe("an object's alarm over SQLite", () => {
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(check()).toBe(true);
  };

  it("never runs twice at once: one set while another runs waits for it, then runs", async () => {
    const storage = new SqliteObjectStorage(new DatabaseSync(":memory:"));
    let running = 0;
    let most = 0;
    let runs = 0;
    let release = () => {};
    storage.onAlarm = async () => {
      running++;
      most = Math.max(most, running);
      runs++;
      if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
      running--;
    };
    await storage.setAlarm(Date.now());
    await until(() => runs === 1);
    // A call sets the alarm again while the first one waits (for Cattle, say).
    await storage.setAlarm(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runs).toBe(1);
    release();
    await until(() => runs === 2);
    expect(most).toBe(1);
  });

  it("runs a waiting alarm only if it is still the one set: a later setAlarm replaces it", async () => {
    const storage = new SqliteObjectStorage(new DatabaseSync(":memory:"));
    const ran: number[] = [];
    let release = () => {};
    storage.onAlarm = async () => {
      ran.push(Date.now());
      if (ran.length === 1) await new Promise<void>((resolve) => (release = resolve));
    };
    await storage.setAlarm(Date.now());
    await until(() => ran.length === 1);
    await storage.setAlarm(Date.now());
    // Set once more, for later: the one due now is no longer the object's alarm.
    await storage.setAlarm(Date.now() + 60_000);
    release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ran).toHaveLength(1);
  });
});
