import { describe, expect, it } from "vitest";
import { isoDate, newId } from "./ids";

describe("newId", () => {
  it("sorts by creation time and is unique", () => {
    const earlier = newId("r", 1_700_000_000_000);
    const later = newId("r", 1_700_000_000_001);
    expect(earlier < later).toBe(true);
    expect(earlier).toMatch(/^r[0-9a-z]{26}$/);
    expect(new Set(Array.from({ length: 1000 }, () => newId("r"))).size).toBe(1000);
  });

  it("formats dates as Rancher does", () => {
    expect(isoDate(Date.UTC(2026, 10, 23, 10, 0, 0, 123))).toBe("2026-11-23T10:00:00Z");
  });
});
