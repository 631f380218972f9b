import * as z from "zod";
import { lazy } from "../../util/lazy";
import { configType, count, labelSelector, maxTriggersPerMinute } from "../shared/config";
import { ADDRESS_TYPES, PAYLOAD_FORMAT_NAMES, PAYLOAD_FORMATS } from "./formats";
import { isSemanticPolicy, POLICIES } from "./policy";
import { VERIFY_DEFAULTS } from "./verify";

const FORMAT_LABELS = Object.fromEntries(
  PAYLOAD_FORMAT_NAMES.map((format) => [format, PAYLOAD_FORMATS[format].label]),
);
const FORMAT_HINTS = Object.fromEntries(
  PAYLOAD_FORMAT_NAMES.map((format) => [format, PAYLOAD_FORMATS[format].hint]),
);

export const serviceUpgradeConfigSchema = lazy(() =>
  z
    .strictObject({
      type: configType("serviceUpgrade"),
      serviceSelector: labelSelector({
        label: "Service labels",
        hint: "One label per line, such as app=web; a name alone matches any value. Services with all of them and an image of the pushed repository are upgraded.",
        description: "labels a service must have (an empty value matches any value)",
      }),
      tag: z.string().trim().min(1).max(128).optional().meta({
        label: "Tag",
        hint: "An exact tag, or a pattern such as v1.* or *. Optional with a semantic version policy.",
        description: "an exact tag or a glob such as v1.*; optional with a semver policy",
      }),
      policy: z
        .enum(POLICIES)
        .default("glob")
        .meta({
          label: "Version policy",
          description: "glob: any tag the pattern matches; semver-*: only newer versions in that range",
          optionLabels: {
            glob: "Any tag matching the pattern",
            "semver-major": "Newer versions (any)",
            "semver-minor": "Newer versions, same major",
            "semver-patch": "Newer versions, same minor",
          },
          optionHints: {
            glob: "Every push of a matching tag upgrades, even to an older one.",
            "semver-major":
              "1.4.2 → 1.4.3, 1.5.0 or 2.0.0; never down, never to a pre-release or another variant.",
            "semver-minor": "1.4.2 → 1.4.3 or 1.5.0, not 2.0.0; never down.",
            "semver-patch": "1.4.2 → 1.4.3, not 1.5.0; never down.",
          },
        }),
      payloadFormat: z
        .enum(PAYLOAD_FORMAT_NAMES)
        .default("dockerhub")
        .meta({ label: "Registry", optionLabels: FORMAT_LABELS, optionHints: FORMAT_HINTS }),
      addressType: z
        .enum(ADDRESS_TYPES)
        .optional()
        .meta({
          label: "Address type",
          hint: "Alibaba Cloud only.",
          description: "alicloud only",
          rancher: { default: "registry" },
          formValue: "registry",
        }),
      batchSize: count(1).default(1).meta({ label: "Batch size" }),
      intervalMillis: count(100).default(2000).meta({ label: "Batch interval (ms)" }),
      startFirst: z.boolean().default(false).meta({ label: "Start new containers first" }),
      rollbackOnFailure: z.boolean().default(VERIFY_DEFAULTS.rollbackOnFailure).meta({
        label: "Roll back if the new containers fail",
        description:
          "after Cattle shows upgraded: roll back when a new container is unhealthy, stops or keeps restarting",
      }),
      healthySeconds: count(0).max(3600).default(VERIFY_DEFAULTS.healthySeconds).meta({
        label: "Healthy for (s)",
        hint: "How long every new container must stay running, and healthy where the service has a health check, before the upgrade is finished.",
        description: "seconds every new container must stay running (and healthy) before finishupgrade",
      }),
      healthTimeoutSeconds: count(10).max(7200).default(VERIFY_DEFAULTS.healthTimeoutSeconds).meta({
        label: "Health timeout (s)",
        hint: "A new container not running and healthy within this time fails the upgrade.",
        description: "seconds the new containers have to become healthy",
      }),
      maxTriggersPerMinute: maxTriggersPerMinute(),
    })
    .superRefine((config, ctx) => {
      if (config.tag === undefined && !isSemanticPolicy(config.policy)) {
        ctx.addIssue({
          code: "custom",
          path: ["tag"],
          message: "is required unless policy is semver-major, semver-minor or semver-patch",
          params: { code: "MissingRequired", prefixField: true },
        });
      }
    })
    .transform(({ type: _type, addressType, ...config }) => ({
      ...config,
      ...(config.payloadFormat === "alicloud" ? { addressType: addressType ?? ("registry" as const) } : {}),
    })),
);

export type ServiceUpgradeConfig = z.output<ReturnType<typeof serviceUpgradeConfigSchema>>;

declare module "../../domain/driver" {
  interface DriverConfigs {
    serviceUpgrade: ServiceUpgradeConfig;
  }
}
