import type { CattleApi } from "../../cattle/client";
import type { Resolution } from "../definition";
import { lookupProblem } from "../shared/lookup";
import { describeSelector } from "../shared/selectors";
import type { ScaleHostConfig } from "./config";
import { canonicalSelector, cloneSourceOf, groupOf } from "./hosts";

/** The target object that owns every scaleHost receiver of one host group. */
export const scaleHostTarget = (projectId: string, config: Pick<ScaleHostConfig, "hostSelector">): string =>
  `scaleHost:${projectId}:${canonicalSelector(config.hostSelector)}`;

/**
 * A receiver that adds hosts needs somewhere to make them from: its host template, or a
 * machine-driver host of the group to clone (custom hosts cannot be cloned).
 */
export async function resolveScaleHostTarget(
  config: ScaleHostConfig,
  projectId: string,
  cattle: CattleApi,
): Promise<Resolution> {
  if (config.hostTemplateId) {
    const template = await cattle.getHostTemplate(projectId, config.hostTemplateId);
    if (!template.ok) {
      const what = `host template ${config.hostTemplateId} in environment ${projectId}`;
      return { ok: false, problem: lookupProblem(template.failure, "scaleHostConfig.hostTemplateId", what) };
    }
  }
  // Every trigger lists the group's hosts, so whoever runs them must be able to.
  const hosts = await cattle.listHosts(projectId);
  if (!hosts.ok) {
    const what = `the host list of environment ${projectId}`;
    return { ok: false, problem: lookupProblem(hosts.failure, "scaleHostConfig.hostSelector", what) };
  }
  const adds = config.action === "up" || config.onResolved === "reverse";
  if (adds && !config.hostTemplateId && !cloneSourceOf(groupOf(hosts.value.data, config.hostSelector))) {
    const message = `no host labelled ${describeSelector(config.hostSelector)} was created by a machine driver, so new hosts cannot be cloned: set hostTemplateId`;
    return { ok: false, problem: { kind: "invalid", field: "scaleHostConfig.hostSelector", message } };
  }
  return { ok: true, target: scaleHostTarget(projectId, config) };
}
