import type { CountConfig } from "./count-queue";

/** The words every count receiver ends its description with: its cooldown and what a resolved alert does. */
export function countRuleSuffix(config: CountConfig): string {
  let text = "";
  if (config.cooldownSeconds > 0) text += `, cooldown ${config.cooldownSeconds} s`;
  if (config.onResolved === "reverse") text += ", reversed when resolved";
  return text;
}
