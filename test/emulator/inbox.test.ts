import { beforeEach, describe, expect, it } from "vitest";
import { EMULATOR, reset } from "./emulator-client";

beforeEach(reset);

const inbox = (path: string, init?: RequestInit) => fetch(`${EMULATOR}/_emulator/inbox${path}`, init);

describe("the emulator's inboxes", () => {
  it("keeps what is posted and answers 200, then what it is told, in order", async () => {
    const told = await inbox("/slack/answers", {
      method: "POST",
      body: JSON.stringify({ answers: [{ status: 503 }, { status: 429, retryAfter: 7, body: "slow down" }] }),
    });
    expect(told.status).toBe(204);
    const post = (text: string) =>
      inbox("/slack", {
        method: "POST",
        headers: { "content-type": "application/json", "x-one": "1" },
        body: text,
      });
    const first = await post('{"n":1}');
    const second = await post('{"n":2}');
    const third = await post('{"n":3}');
    expect([first.status, second.status, third.status]).toEqual([503, 429, 200]);
    expect(second.headers.get("retry-after")).toBe("7");
    expect(await second.text()).toBe("slow down");
    const kept = (await (await inbox("/slack")).json()) as {
      data: { body: string; headers: Record<string, string> }[];
    };
    expect(kept.data.map((message) => message.body)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(kept.data[0]?.headers["x-one"]).toBe("1");
    const all = (await (await inbox("")).json()) as { data: unknown[] };
    expect(all.data).toHaveLength(3);
  });

  it("refuses a bad name or answer list, and a reset empties it", async () => {
    expect((await inbox("/no%20spaces", { method: "POST", body: "x" })).status).toBe(422);
    expect(
      (await inbox("/a/answers", { method: "POST", body: JSON.stringify({ answers: [{ status: 99 }] }) }))
        .status,
    ).toBe(422);
    await inbox("/a", { method: "POST", body: "x" });
    await reset();
    expect(((await (await inbox("/a")).json()) as { data: unknown[] }).data).toEqual([]);
  });
});
