import type { CattleApi } from "../../cattle/client";
import { isTransient } from "../../cattle/failures";
import type { Resolution } from "../definition";
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
      if (isTransient(template.failure)) return { ok: false, problem: { kind: "unavailable" } };
      const message = `host template ${config.hostTemplateId} does not exist in environment ${projectId}`;
      return { ok: false, problem: { kind: "invalid", field: "scaleHostConfig.hostTemplateId", message } };
    }
  } else if (config.action === "up" || config.onResolved === "reverse") {
    const hosts = await cattle.listHosts(projectId);
    if (!hosts.ok) {
      if (isTransient(hosts.failure)) return { ok: false, problem: { kind: "unavailable" } };
      return { ok: false, problem: { kind: "forbidden", message: "this API key cannot list hosts" } };
    }
    if (!cloneSourceOf(groupOf(hosts.value.data, config.hostSelector))) {
      const message = `no host labelled ${describeSelector(config.hostSelector)} was created by a machine driver, so new hosts cannot be cloned: set hostTemplateId`;
      return { ok: false, problem: { kind: "invalid", field: "scaleHostConfig.hostSelector", message } };
    }
  }
  return { ok: true, target: scaleHostTarget(projectId, config) };
}
