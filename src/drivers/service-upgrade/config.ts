import { z } from "zod";
import { lazy } from "../../util/lazy";
import { configType, count, labelSelector, maxTriggersPerMinute } from "../shared/config";
import { PAYLOAD_FORMAT_NAMES, PAYLOAD_FORMATS } from "./formats";

const ADDRESS_TYPES = ["registry", "registry-internal", "registry-vpc"] as const;
export type AddressType = (typeof ADDRESS_TYPES)[number];

const FORMAT_LABELS = Object.fromEntries(
  PAYLOAD_FORMAT_NAMES.map((format) => [format, PAYLOAD_FORMATS[format].label]),
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
      tag: z.string().trim().min(1).max(128).meta({
        label: "Tag",
        hint: "An exact tag, or a pattern such as v1.* or *.",
        description: "an exact tag or a glob such as v1.*",
      }),
      payloadFormat: z
        .enum(PAYLOAD_FORMAT_NAMES)
        .default("dockerhub")
        .meta({ label: "Registry", optionLabels: FORMAT_LABELS }),
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
      maxTriggersPerMinute: maxTriggersPerMinute(),
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
