import type { Service } from "../cattle/types";

export const GLOBAL_LABEL = "io.rancher.scheduler.global";
const SCALABLE_KINDS = new Set(["service", "loadBalancerService"]);
const GONE_STATES = new Set(["removed", "removing", "purging", "purged"]);

/** The Durable Object that owns every scaleService receiver of one service. */
export const scaleServiceTarget = (projectId: string, serviceId: string): string =>
  `scaleService:${projectId}:${serviceId}`;

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
