import type { Resolution } from "../definition";

/** The target object that serialises the upgrades of one environment. */
export const serviceUpgradeTarget = (projectId: string): string => `serviceUpgrade:${projectId}`;

/** An upgrade receiver targets its environment; the services it upgrades are found at each push. */
export const resolveServiceUpgradeTarget = async (
  _config: unknown,
  projectId: string,
): Promise<Resolution> => ({
  ok: true,
  target: serviceUpgradeTarget(projectId),
});
