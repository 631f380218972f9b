import { ApiError } from "../api/errors";
import type { ReceiverCreate } from "../api/receiver-schema";
import type { CattleCredentials } from "../cattle/client";
import { CattleClient } from "../cattle/client";
import { scaleServiceTarget, unscalableReason } from "./scale-service";
import { serviceUpgradeTarget } from "./service-upgrade";

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
  const { serviceId } = input.config;
  const field = "scaleServiceConfig.serviceId";
  const found = await cattle.getService(projectId, serviceId);
  if (!found.ok) {
    if (found.failure.kind === "unavailable" || found.failure.kind === "conflict") {
      throw new ApiError(
        503,
        "ServiceUnavailable",
        "Rancher could not be reached to check the service; try again",
        undefined,
        {
          "retry-after": "5",
        },
      );
    }
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
