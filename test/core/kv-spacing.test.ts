import { describe, expect, it } from "vitest";
import { spacedFetch } from "../../src/platform/kv-objects";
import { FakeClock } from "./fakes";

/**
 * Notification requests of an object over KV wait at its output gate for a time that varies; the
 * requests to one destination must still leave at least a second apart (docs/notifications.md).
 */
describe("notification requests through an output gate", () => {
  it("leave a second apart per URL, however long each waited at the gate", async () => {
    const clock = new FakeClock();
    const left: [string, number][] = [];
    // The first request's gate takes 900 ms (a commit, a renewal); the later ones' none.
    const gateMs = [900, 0, 0, 0];
    const fetch = spacedFetch(clock, async (input, _init, depart) => {
      await clock.sleep(gateMs.shift() ?? 0);
      depart();
      left.push([String(input), clock.now()]);
      return new Response("ok");
    });
    const start = clock.now();
    await clock.run(
      Promise.all([
        fetch("https://hooks.example/a"),
        fetch("https://hooks.example/a"),
        fetch("https://hooks.example/b"),
        fetch("https://hooks.example/a"),
      ]),
    );
    const at = (url: string) => left.filter(([sent]) => sent === url).map(([, time]) => time - start);
    expect(at("https://hooks.example/a")).toEqual([900, 1_900, 2_900]);
    expect(at("https://hooks.example/b")).toEqual([0]);
  });

  it("let the next request go when one never left (its object lost its lease)", async () => {
    const clock = new FakeClock();
    const left: number[] = [];
    let first = true;
    const fetch = spacedFetch(clock, async (_input, _init, depart) => {
      if (first) {
        first = false;
        throw new Error("the lease was lost");
      }
      depart();
      left.push(clock.now());
      return new Response("ok");
    });
    const start = clock.now();
    const [lost, sent] = await clock.run(
      Promise.allSettled([fetch("https://hooks.example/a"), fetch("https://hooks.example/a")]),
    );
    expect(lost.status).toBe("rejected");
    expect(sent.status).toBe("fulfilled");
    expect(left.map((time) => time - start)).toEqual([0]);
  });
});
