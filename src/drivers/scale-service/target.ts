import type { CattleApi } from "../../cattle/client";
import type { Service } from "../../cattle/types";
import type { Resolution } from "../definition";
import { lookupProblem } from "../shared/lookup";
import type { ScaleServiceConfig } from "./config";

export const GLOBAL_LABEL = "io.rancher.scheduler.global";
const SCALABLE_KINDS = new Set(["service", "loadBalancerService"]);
const GONE_STATES = new Set(["removed", "removing", "purging", "purged"]);

/** The target object that owns every scaleService receiver of one service. */
export const scaleServiceTarget = (
  projectId: string,
  config: Pick<ScaleServiceConfig, "serviceId">,
): string => `scaleService:${projectId}:${config.serviceId}`;

/**
 * Why a service cannot be scaled by a receiver, or null if it can. Global services run one
 * container per host and have no scale; external services and `rancher/none` images have no
 * containers at all.
 */
export function unscalableReason(service: Service): string | null {
  if (service.removed || (service.state !== undefined && GONE_STATES.has(service.state))) {
    return `service ${service.id} has been removed`;
  }
  if (!service.kind || !SCALABLE_KINDS.has(service.kind)) {
    return `service ${service.id} is a ${service.kind ?? "resource"} and cannot be scaled`;
  }
  if (service.launchConfig?.labels?.[GLOBAL_LABEL] === "true") {
    return `service ${service.id} is global (one container per host) and cannot be scaled`;
  }
  const image = service.launchConfig?.imageUuid;
  if (service.kind === "service" && (!image || image === "docker:rancher/none")) {
    return `service ${service.id} has no image to scale`;
  }
  return null;
}

/** The service must exist in the environment and be one that has a scale. */
export async function resolveScaleServiceTarget(
  config: ScaleServiceConfig,
  projectId: string,
  cattle: CattleApi,
): Promise<Resolution> {
  const field = "scaleServiceConfig.serviceId";
  const found = await cattle.getService(projectId, config.serviceId);
  if (!found.ok) {
    const what = `service ${config.serviceId} in environment ${projectId}`;
    return { ok: false, problem: lookupProblem(found.failure, field, what) };
  }
  const reason = unscalableReason(found.value);
  if (reason) return { ok: false, problem: { kind: "invalid", field, message: reason } };
  return { ok: true, target: scaleServiceTarget(projectId, config) };
}
