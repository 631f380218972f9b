import type { CattleApi } from "../../cattle/client";
import type { Resolution } from "../definition";
import { lookupProblem } from "../shared/lookup";

/** The target object that serialises the upgrades of one environment. */
export const serviceUpgradeTarget = (projectId: string): string => `serviceUpgrade:${projectId}`;

/**
 * An upgrade receiver targets its environment; the services it upgrades are found at each push, by
 * listing them, so whoever runs its triggers must be able to.
 */
export async function resolveServiceUpgradeTarget(
  _config: unknown,
  projectId: string,
  cattle: CattleApi,
): Promise<Resolution> {
  const services = await cattle.listServices(projectId, { limit: "1" });
  if (!services.ok) {
    const what = `the service list of environment ${projectId}`;
    return {
      ok: false,
      problem: lookupProblem(services.failure, "serviceUpgradeConfig.serviceSelector", what),
    };
  }
  return { ok: true, target: serviceUpgradeTarget(projectId) };
}
