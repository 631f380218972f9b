import * as z from "zod";
import { lazy } from "../../util/lazy";
import { configType, maxNotBelowMin, resourceId, scaleRuleFields } from "../shared/config";

export const scaleServiceConfigSchema = lazy(() =>
  z
    .strictObject({
      type: configType("scaleService"),
      serviceId: resourceId().meta({
        label: "Target Service",
        description: "Target Service",
        rancherType: "reference[service]",
        control: "service",
      }),
      ...scaleRuleFields({
        action: "Action",
        actionOptions: { up: "up", down: "down" },
        amount: "By",
        min: "Minimum Scale",
        max: "Maximum Scale",
        cooldownSeconds: "Cooldown (seconds)",
        cooldownHint: "Triggers within this time after a change are not applied.",
        onResolved: "When the alert resolves",
      }),
    })
    .superRefine(maxNotBelowMin)
    .transform(({ type: _type, ...config }) => config),
);

export type ScaleServiceConfig = z.output<ReturnType<typeof scaleServiceConfigSchema>>;

declare module "../../domain/driver" {
  interface DriverConfigs {
    scaleService: ScaleServiceConfig;
  }
}
