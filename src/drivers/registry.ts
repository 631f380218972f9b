import { ApiError, rancherUnavailable } from "../api/errors";
import type { ReceiverCreate } from "../api/receiver-schema";
import type { CattleCredentials } from "../cattle/client";
import { CattleClient } from "../cattle/client";
import type { CattleFailure } from "../cattle/types";
import { cloneSourceOf, groupOf, scaleHostTarget } from "./scale-host";
import { scaleServiceTarget, unscalableReason } from "./scale-service";
import { describeSelector } from "./selectors";
import { serviceUpgradeTarget } from "./service-upgrade";

const unavailable = () => rancherUnavailable("to check the receiver's target");

const isTransient = (failure: CattleFailure) => failure.kind === "unavailable" || failure.kind === "conflict";

/**
 * Checks, with the caller's own key, that what a new receiver points at exists and can be acted
 * on, and names the Durable Object that will own it.
 */
export async function resolveTarget(
  input: ReceiverCreate,
  projectId: string,
  cattleUrl: string,
  credentials: CattleCredentials,
): Promise<string> {
  // An upgrade receiver targets its environment; the services it upgrades are found at each push.
  if (input.driver === "serviceUpgrade") return serviceUpgradeTarget(projectId);
  const cattle = new CattleClient({ baseUrl: cattleUrl, credentials });

  if (input.driver === "scaleHost") {
    const { config } = input;
    if (config.hostTemplateId) {
      const template = await cattle.getHostTemplate(projectId, config.hostTemplateId);
      if (!template.ok) {
        if (isTransient(template.failure)) throw unavailable();
        throw new ApiError(
          422,
          "InvalidReference",
          `host template ${config.hostTemplateId} does not exist in environment ${projectId}`,
          "scaleHostConfig.hostTemplateId",
        );
      }
    } else if (config.action === "up" || config.onResolved === "reverse") {
      // New hosts are cloned from a machine-driver host of the group; custom hosts cannot be.
      const hosts = await cattle.listHosts(projectId);
      if (!hosts.ok)
        throw isTransient(hosts.failure)
          ? unavailable()
          : new ApiError(403, "Forbidden", "this API key cannot list hosts");
      if (!cloneSourceOf(groupOf(hosts.value.data, config.hostSelector))) {
        throw new ApiError(
          422,
          "InvalidReference",
          `no host labelled ${describeSelector(config.hostSelector)} was created by a machine driver, so new hosts cannot be cloned: set hostTemplateId`,
          "scaleHostConfig.hostSelector",
        );
      }
    }
    return scaleHostTarget(projectId, config.hostSelector);
  }

  const { serviceId } = input.config;
  const field = "scaleServiceConfig.serviceId";
  const found = await cattle.getService(projectId, serviceId);
  if (!found.ok) {
    if (isTransient(found.failure)) throw unavailable();
    throw new ApiError(
      422,
      "InvalidReference",
      `service ${serviceId} does not exist in environment ${projectId}`,
      field,
    );
  }
  const reason = unscalableReason(found.value);
  if (reason) throw new ApiError(422, "InvalidReference", reason, field);
  return scaleServiceTarget(projectId, serviceId);
}
