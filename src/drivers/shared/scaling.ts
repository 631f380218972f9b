/** Pure scaling arithmetic shared by the drivers that move a count within [min, max]. */

export type ScaleAction = "up" | "down";

export interface ScaleRule {
  action: ScaleAction;
  amount: number;
  min: number;
  max: number;
}

export interface ScaleStep {
  outcome: "applied" | "noop";
  from: number;
  to: number;
  reason: string;
}

export const opposite = (action: ScaleAction): ScaleAction => (action === "up" ? "down" : "up");

/**
 * One trigger's effect on a count. The result never leaves [min, max]: a step that would pass a
 * limit stops at it (and says so), and a count already at or beyond the limit in the direction of
 * travel is left alone. A count found outside the range against the direction of travel is brought
 * to the nearest limit, since the receiver's range is what its owner asked for.
 */
export function planScale(current: number, rule: ScaleRule): ScaleStep {
  const { action, amount, min, max } = rule;
  if (action === "up" && current >= max) {
    return { outcome: "noop", from: current, to: current, reason: `already at maximum scale ${max}` };
  }
  if (action === "down" && current <= min) {
    return { outcome: "noop", from: current, to: current, reason: `already at minimum scale ${min}` };
  }
  const wanted = action === "up" ? current + amount : current - amount;
  const to = Math.min(max, Math.max(min, wanted));
  const verb = action === "up" ? "scaled up" : "scaled down";
  let reason = `${verb} by ${Math.abs(to - current)}`;
  if (to !== wanted) reason += ` (clamped to ${to === max ? "maximum" : "minimum"} scale ${to})`;
  return { outcome: "applied", from: current, to, reason };
}

/** Applies triggers one after another, as if each had arrived alone: the sequential result. */
export function planSequence(
  current: number,
  rules: readonly ScaleRule[],
): { steps: ScaleStep[]; final: number } {
  const steps: ScaleStep[] = [];
  let value = current;
  for (const rule of rules) {
    const step = planScale(value, rule);
    steps.push(step);
    value = step.to;
  }
  return { steps, final: value };
}

/** One trigger as the batch planner sees it. */
export interface PlannedTrigger {
  receiverId: string;
  rule: ScaleRule;
  cooldownSeconds: number;
}

export interface CooldownStep {
  outcome: "cooldown";
  reason: string;
}

export type BatchStep = ScaleStep | CooldownStep;

/** Why a receiver is still cooling down at `now`, or null if it may act. */
export function cooldownReason(
  cooldownSeconds: number,
  lastApplied: number | undefined,
  now: number,
): string | null {
  if (cooldownSeconds <= 0 || lastApplied === undefined) return null;
  const remainingMs = lastApplied + cooldownSeconds * 1000 - now;
  if (remainingMs <= 0) return null;
  return `in cooldown: last scaled ${Math.round((now - lastApplied) / 1000)} s ago, cooldown is ${cooldownSeconds} s`;
}

/**
 * The sequential result of a batch of triggers on one count: each applied as if it had arrived
 * alone, in order, clamped at each step, and a receiver that has just scaled cools down for the
 * rest of the batch. `lastApplied` (epoch ms per receiver) is updated in place for applied steps.
 */
export function planBatch(
  current: number,
  triggers: readonly PlannedTrigger[],
  lastApplied: Map<string, number>,
  now: number,
): { steps: BatchStep[]; final: number } {
  const steps: BatchStep[] = [];
  let value = current;
  for (const trigger of triggers) {
    const cooling = cooldownReason(trigger.cooldownSeconds, lastApplied.get(trigger.receiverId), now);
    if (cooling) {
      steps.push({ outcome: "cooldown", reason: cooling });
      continue;
    }
    const step = planScale(value, trigger.rule);
    if (step.outcome === "applied") lastApplied.set(trigger.receiverId, now);
    steps.push(step);
    value = step.to;
  }
  return { steps, final: value };
}
