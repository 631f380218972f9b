import { describe, expect, it } from "vitest";
import { planScale, planSequence, type ScaleRule } from "./scaling";

const up = (amount: number, min = 1, max = 10): ScaleRule => ({ action: "up", amount, min, max });
const down = (amount: number, min = 1, max = 10): ScaleRule => ({ action: "down", amount, min, max });

describe("planScale", () => {
  it("scales up by the amount inside the range", () => {
    expect(planScale(3, up(1))).toEqual({ outcome: "applied", from: 3, to: 4, reason: "scaled up by 1" });
  });

  it("clamps at the maximum and says so", () => {
    expect(planScale(9, up(2))).toEqual({
      outcome: "applied",
      from: 9,
      to: 10,
      reason: "scaled up by 1 (clamped to maximum scale 10)",
    });
  });

  it("is a noop at the maximum", () => {
    expect(planScale(10, up(2))).toMatchObject({
      outcome: "noop",
      from: 10,
      to: 10,
      reason: "already at maximum scale 10",
    });
  });

  it("clamps at the minimum and is a noop there", () => {
    expect(planScale(2, down(5, 1))).toMatchObject({
      outcome: "applied",
      to: 1,
      reason: "scaled down by 1 (clamped to minimum scale 1)",
    });
    expect(planScale(1, down(1, 1))).toMatchObject({
      outcome: "noop",
      to: 1,
      reason: "already at minimum scale 1",
    });
  });

  it("never leaves the range, even from a count outside it", () => {
    expect(planScale(20, up(1))).toMatchObject({ outcome: "noop", to: 20 });
    expect(planScale(20, down(1))).toMatchObject({ outcome: "applied", to: 10 });
    expect(planScale(0, up(1, 3))).toMatchObject({ outcome: "applied", to: 3 });
    expect(planScale(0, down(1, 3))).toMatchObject({ outcome: "noop", to: 0 });
  });

  it("allows a minimum of zero", () => {
    expect(planScale(1, down(1, 0))).toMatchObject({ outcome: "applied", to: 0 });
  });
});

describe("planSequence", () => {
  it("applies rules one after another, clamped at each step", () => {
    const { steps, final } = planSequence(8, [up(1), up(1), up(1), down(3), down(1, 6)]);
    expect(steps.map((step) => [step.from, step.to, step.outcome])).toEqual([
      [8, 9, "applied"],
      [9, 10, "applied"],
      [10, 10, "noop"],
      [10, 7, "applied"],
      [7, 6, "applied"],
    ]);
    expect(final).toBe(6);
  });

  it("is the identity for no rules", () => {
    expect(planSequence(4, [])).toEqual({ steps: [], final: 4 });
  });
});
