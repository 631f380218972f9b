import * as z from "zod";
import { lazy } from "../../util/lazy";
import { configType, labelSelector, maxNotBelowMin, resourceId, scaleRuleFields } from "../shared/config";

export const scaleHostConfigSchema = lazy(() =>
  z
    .strictObject({
      type: configType("scaleHost"),
      hostSelector: labelSelector({
        label: "Host labels",
        hint: "One label per line, such as pool=workers; a name alone matches any value. Hosts with all of them form the group.",
        description: "labels of the group's hosts (an empty value matches any value)",
      }),
      ...scaleRuleFields({
        action: "Host action",
        actionOptions: { up: "up (add hosts)", down: "down (remove hosts)" },
        amount: "Hosts at a time",
        min: "Minimum Hosts",
        max: "Maximum Hosts",
        maxFormValue: "10",
        cooldownSeconds: "Host cooldown (seconds)",
        onResolved: "When a host alert resolves",
      }),
      deleteOption: z
        .enum(["mostRecent", "leastRecent"])
        .optional()
        .meta({
          label: "Remove first",
          hint: "Unhealthy hosts always go first.",
          optionLabels: { leastRecent: "the oldest hosts", mostRecent: "the newest hosts" },
          description: "which hosts go first when removing (unhealthy ones always do)",
          rancher: { default: "leastRecent", nullable: false },
          formValue: "leastRecent",
        }),
      hostTemplateId: resourceId().optional().meta({
        label: "Host template",
        hint: "Optional: otherwise the group's oldest machine-driver host is cloned.",
        rancherType: "reference[hostTemplate]",
      }),
    })
    .superRefine(maxNotBelowMin)
    .superRefine((config, ctx) => {
      if (config.deleteOption !== undefined && config.action === "up" && config.onResolved !== "reverse") {
        ctx.addIssue({
          code: "custom",
          path: ["deleteOption"],
          message: "deleteOption applies to receivers that remove hosts (action down, or onResolved reverse)",
          params: { code: "InvalidOption" },
        });
      }
    })
    .transform(({ type: _type, deleteOption, ...config }) => ({
      ...config,
      deleteOption: deleteOption ?? ("leastRecent" as const),
    })),
);

export type ScaleHostConfig = z.output<ReturnType<typeof scaleHostConfigSchema>>;

declare module "../../domain/driver" {
  interface DriverConfigs {
    scaleHost: ScaleHostConfig;
  }
}
