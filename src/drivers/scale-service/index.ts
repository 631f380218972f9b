import { lazy } from "../../util/lazy";
import type { DriverDefinition } from "../definition";
import { configFields } from "../shared/config-fields";
import { countRuleSuffix } from "../shared/describe";
import { scaleServiceConfigSchema } from "./config";
import { ScaleServiceExecutor } from "./executor";
import { resolveScaleServiceTarget, scaleServiceTarget, unscalableReason } from "./target";
import { WRITE_LOG_TABLES } from "./write-log";

/** Scale a Service: each trigger moves one service's scale by `amount`, within [min, max]. */
export const scaleService: DriverDefinition<"scaleService"> = {
  name: "scaleService",
  label: "Scale a Service",
  configField: "scaleServiceConfig",
  configSchema: scaleServiceConfigSchema,
  fields: lazy(() => configFields(scaleServiceConfigSchema())),
  offersService: (service) => unscalableReason(service) === null,
  targetName: scaleServiceTarget,
  resolveTarget: resolveScaleServiceTarget,
  targetLabel: async (config, projectId, cattle) => {
    const service = await cattle.getService(projectId, config.serviceId);
    return service.ok ? (service.value.name ?? undefined) : undefined;
  },
  executor: (context) => new ScaleServiceExecutor(context),
  tables: [WRITE_LOG_TABLES],
  describe: (config, names) =>
    `${names.services?.get(config.serviceId) ?? config.serviceId} ${config.action} by ${config.amount} (min ${config.min}, max ${config.max})${countRuleSuffix(config)}`,
  fieldset: {
    rows: [["action"], ["serviceId"], ["amount", "min", "max"], ["cooldownSeconds", "onResolved"]],
  },
};
