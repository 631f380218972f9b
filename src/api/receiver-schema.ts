import { z } from "zod";
import { type SenderVerificationInput, senderVerificationSchema } from "../senders/verification";

/** Ids go into Cattle URLs and storage keys: a strict alphabet keeps both unambiguous. */
export const resourceId = z.string().regex(/^[0-9A-Za-z]{1,64}$/, "must be a Rancher id such as 1a5");

const count = (minimum: number) => z.int().min(minimum);

const scaleRuleFields = {
  action: z.enum(["up", "down"]),
  amount: count(1),
  min: count(0).default(1),
  max: count(1).default(100),
  cooldownSeconds: count(0).default(0),
  onResolved: z.enum(["ignore", "reverse"]).default("ignore"),
  maxTriggersPerMinute: count(1).max(100_000).optional(),
};

/** `max` below `min` is reported on `max`, where the user has to change something. */
const maxNotBelowMin = (config: { min: number; max: number }, ctx: z.RefinementCtx) => {
  if (config.max < config.min) {
    ctx.addIssue({
      code: "custom",
      path: ["max"],
      message: `max (${config.max}) must not be below min (${config.min})`,
      params: { code: "MaxLimitExceeded" },
    });
  }
};

export const scaleServiceConfigSchema = z
  .strictObject({
    type: z.literal("scaleServiceConfig").optional(),
    serviceId: resourceId,
    ...scaleRuleFields,
  })
  .superRefine(maxNotBelowMin)
  .transform(({ type: _type, ...config }) => config);

export type ScaleServiceConfig = z.output<typeof scaleServiceConfigSchema>;

const labelSelector = z
  .record(z.string().min(1).max(253), z.string().max(253))
  .refine((selector) => Object.keys(selector).length > 0, {
    message: "must name at least one label",
    params: { code: "MissingRequired", prefixField: true },
  })
  .refine((selector) => Object.keys(selector).length <= 32, {
    message: "may name at most 32 labels",
    params: { code: "MaxLimitExceeded", prefixField: true },
  });

export const serviceUpgradeConfigSchema = z
  .strictObject({
    type: z.literal("serviceUpgradeConfig").optional(),
    serviceSelector: labelSelector,
    tag: z.string().trim().min(1).max(128),
    payloadFormat: z.enum(["dockerhub", "quay", "acr", "alicloud", "ghcr"]).default("dockerhub"),
    addressType: z.enum(["registry", "registry-internal", "registry-vpc"]).optional(),
    batchSize: count(1).default(1),
    intervalMillis: count(100).default(2000),
    startFirst: z.boolean().default(false),
    maxTriggersPerMinute: count(1).max(100_000).optional(),
  })
  .superRefine((config, ctx) => {
    if (config.addressType !== undefined && config.payloadFormat !== "alicloud") {
      ctx.addIssue({
        code: "custom",
        path: ["addressType"],
        message: "addressType applies to the alicloud payload format only",
        params: { code: "InvalidOption" },
      });
    }
  })
  .transform(({ type: _type, addressType, ...config }) => ({
    ...config,
    ...(config.payloadFormat === "alicloud" ? { addressType: addressType ?? ("registry" as const) } : {}),
  }));

export type ServiceUpgradeConfig = z.output<typeof serviceUpgradeConfigSchema>;

export const scaleHostConfigSchema = z
  .strictObject({
    type: z.literal("scaleHostConfig").optional(),
    hostSelector: labelSelector,
    ...scaleRuleFields,
    deleteOption: z.enum(["mostRecent", "leastRecent"]).optional(),
    hostTemplateId: resourceId.optional(),
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
  }));

export type ScaleHostConfig = z.output<typeof scaleHostConfigSchema>;

/** Drivers that can be created, with the body field that carries each one's config. */
export const DRIVER_CONFIG_FIELDS = {
  scaleService: "scaleServiceConfig",
  scaleHost: "scaleHostConfig",
  serviceUpgrade: "serviceUpgradeConfig",
} as const;

export type Driver = keyof typeof DRIVER_CONFIG_FIELDS;

/** A receiver's driver with its config: the one shape everything downstream switches on. */
export type DriverConfig =
  | { driver: "scaleService"; config: ScaleServiceConfig }
  | { driver: "scaleHost"; config: ScaleHostConfig }
  | { driver: "serviceUpgrade"; config: ServiceUpgradeConfig };

/** Copies the driver and its config as one value, keeping TypeScript's knowledge that they belong together. */
export function driverConfigOf(value: DriverConfig): DriverConfig {
  switch (value.driver) {
    case "scaleService":
      return { driver: value.driver, config: value.config };
    case "scaleHost":
      return { driver: value.driver, config: value.config };
    case "serviceUpgrade":
      return { driver: value.driver, config: value.config };
  }
}

const CONFIG_SCHEMAS = {
  scaleService: scaleServiceConfigSchema,
  scaleHost: scaleHostConfigSchema,
  serviceUpgrade: serviceUpgradeConfigSchema,
} as const;

/** Config objects of every driver Rancher knows, so a mismatch is reported as such and not as an unknown field. */
const ALL_CONFIG_FIELDS = ["scaleServiceConfig", "scaleHostConfig", "serviceUpgradeConfig"] as const;

export const receiverCreateSchema = z
  .strictObject({
    type: z.literal("receiver").optional(),
    name: z.string().trim().min(1).max(128),
    driver: z.enum(Object.keys(DRIVER_CONFIG_FIELDS) as [Driver, ...Driver[]]),
    scaleServiceConfig: z.unknown().optional(),
    scaleHostConfig: z.unknown().optional(),
    serviceUpgradeConfig: z.unknown().optional(),
    senderVerification: senderVerificationSchema.optional(),
  })
  .superRefine((body, ctx) => {
    const expected = DRIVER_CONFIG_FIELDS[body.driver];
    for (const field of ALL_CONFIG_FIELDS) {
      if (field !== expected && body[field] !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [field],
          message: `${field} does not belong to a ${body.driver} receiver (use ${expected})`,
          params: { code: "InvalidOption" },
        });
      }
    }
  })
  .transform((body, ctx) => {
    const field = DRIVER_CONFIG_FIELDS[body.driver];
    const parsed = CONFIG_SCHEMAS[body.driver].safeParse(body[field], { reportInput: true });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ ...issue, path: [field, ...issue.path] } as z.core.$ZodRawIssue);
      }
      return z.NEVER;
    }
    return {
      name: body.name,
      driver: body.driver,
      config: parsed.data,
      ...(body.senderVerification ? { senderVerification: body.senderVerification } : {}),
    } as { name: string; senderVerification?: SenderVerificationInput } & DriverConfig;
  });

/** The optional body of `?action=regenerate`: a new sender verification, or `null` to drop it. */
export const regenerateSchema = z.strictObject({
  senderVerification: senderVerificationSchema.nullable().optional(),
});

export type RegenerateInput = z.output<typeof regenerateSchema>;

export type ReceiverCreate = z.output<typeof receiverCreateSchema>;
