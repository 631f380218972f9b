import { API_PREFIX } from "./resources";

/**
 * Rancher API schemas of this API (api-spec "Schemas"): what the UI and generated clients read to
 * know the fields, their types, limits and defaults. Kept next to the zod schemas' rules; the
 * tests check that both agree on defaults and limits.
 */
type Field = {
  type: string;
  required?: boolean;
  nullable?: boolean;
  create?: boolean;
  update?: boolean;
  default?: unknown;
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  options?: string[];
  description?: string;
};

const scaleRuleFields: Record<string, Field> = {
  action: { type: "enum", options: ["up", "down"], required: true, create: true },
  amount: {
    type: "int",
    min: 1,
    required: true,
    create: true,
    description: "By: how much one trigger changes the scale",
  },
  min: { type: "int", min: 0, default: 1, create: true, description: "Minimum Scale" },
  max: { type: "int", min: 1, default: 100, create: true, description: "Maximum Scale" },
  cooldownSeconds: { type: "int", min: 0, default: 0, create: true },
  onResolved: { type: "enum", options: ["ignore", "reverse"], default: "ignore", create: true },
  maxTriggersPerMinute: {
    type: "int",
    min: 1,
    max: 100_000,
    nullable: true,
    create: true,
    description: "deliveries a minute before the rest are answered ignored (default 600)",
  },
};

const SCHEMAS: Record<
  string,
  {
    resourceFields: Record<string, Field>;
    resourceMethods: string[];
    collectionMethods: string[];
    resourceActions?: Record<string, unknown>;
  }
> = {
  receiver: {
    resourceMethods: ["GET", "DELETE"],
    collectionMethods: ["GET", "POST"],
    resourceActions: { regenerate: { input: "regenerateInput", output: "receiver" } },
    resourceFields: {
      name: { type: "string", required: true, create: true, minLength: 1, maxLength: 128 },
      driver: {
        type: "enum",
        options: ["scaleService", "scaleHost", "serviceUpgrade"],
        required: true,
        create: true,
      },
      scaleServiceConfig: { type: "scaleServiceConfig", nullable: true, create: true },
      scaleHostConfig: { type: "scaleHostConfig", nullable: true, create: true },
      serviceUpgradeConfig: { type: "serviceUpgradeConfig", nullable: true, create: true },
      senderVerification: {
        type: "senderVerification",
        nullable: true,
        create: true,
        description: "optional proof of the sender beyond the Trigger URL; its secret is never shown",
      },
      url: { type: "string", description: "Trigger URL: POST to it to run the receiver" },
      state: { type: "string" },
      projectId: { type: "reference[project]" },
      created: { type: "date" },
    },
  },
  scaleServiceConfig: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      serviceId: { type: "reference[service]", required: true, create: true, description: "Target Service" },
      ...scaleRuleFields,
    },
  },
  scaleHostConfig: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      hostSelector: {
        type: "map[string]",
        required: true,
        create: true,
        description: "labels of the group's hosts (an empty value matches any value)",
      },
      ...scaleRuleFields,
      deleteOption: {
        type: "enum",
        options: ["mostRecent", "leastRecent"],
        default: "leastRecent",
        create: true,
        description: "which hosts go first when removing (unhealthy ones always do)",
      },
      hostTemplateId: { type: "reference[hostTemplate]", nullable: true, create: true },
    },
  },
  serviceUpgradeConfig: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      serviceSelector: {
        type: "map[string]",
        required: true,
        create: true,
        description: "labels a service must have (an empty value matches any value)",
      },
      tag: {
        type: "string",
        required: true,
        create: true,
        maxLength: 128,
        description: "an exact tag or a glob such as v1.*",
      },
      payloadFormat: {
        type: "enum",
        options: ["dockerhub", "quay", "acr", "alicloud", "ghcr"],
        default: "dockerhub",
        create: true,
      },
      addressType: {
        type: "enum",
        options: ["registry", "registry-internal", "registry-vpc"],
        default: "registry",
        nullable: true,
        create: true,
        description: "alicloud only",
      },
      batchSize: { type: "int", min: 1, default: 1, create: true },
      intervalMillis: { type: "int", min: 100, default: 2000, create: true },
      startFirst: { type: "boolean", default: false, create: true },
      maxTriggersPerMinute: scaleRuleFields.maxTriggersPerMinute as Field,
    },
  },
  senderVerification: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      scheme: {
        type: "enum",
        options: ["bearer", "basic", "github", "grafana", "standardWebhooks"],
        required: true,
        create: true,
      },
      token: { type: "password", create: true, minLength: 16, maxLength: 512, description: "bearer" },
      username: { type: "string", create: true, minLength: 1, maxLength: 128, description: "basic" },
      password: { type: "password", create: true, minLength: 16, maxLength: 512, description: "basic" },
      secret: {
        type: "password",
        create: true,
        minLength: 16,
        maxLength: 512,
        description: "github, grafana; standardWebhooks: whsec_ and a base64 key",
      },
      header: {
        type: "string",
        default: "X-Grafana-Alerting-Signature",
        create: true,
        description: "grafana: the signature header",
      },
      timestampHeader: {
        type: "string",
        nullable: true,
        create: true,
        description: "grafana: the timestamp header, which turns on the 5-minute replay window",
      },
    },
  },
  regenerateInput: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      senderVerification: {
        type: "senderVerification",
        nullable: true,
        create: true,
        description: "a new sender verification, or null to drop it; absent keeps the current one",
      },
    },
  },
  execution: {
    resourceMethods: ["GET"],
    collectionMethods: ["GET"],
    resourceFields: {
      receiverId: { type: "reference[receiver]" },
      driver: { type: "string" },
      outcome: {
        type: "enum",
        options: ["applied", "noop", "cooldown", "ignored", "deduplicated", "queued", "failed"],
      },
      reason: { type: "string" },
      from: { type: "int", nullable: true },
      to: { type: "int", nullable: true },
      sender: { type: "string", nullable: true, description: "the sender's User-Agent" },
      alertName: { type: "string", nullable: true, description: "for alert notifications: the alert's name" },
      alertStatus: {
        type: "string",
        nullable: true,
        description: "for alert notifications: firing or resolved",
      },
      at: { type: "date" },
      finished: { type: "date", nullable: true, description: "for queued work: when it ended" },
    },
  },
};

export function schemaResource(origin: string, id: string) {
  const schema = SCHEMAS[id];
  if (!schema) return undefined;
  return {
    id,
    type: "schema",
    links: {
      self: `${origin}${API_PREFIX}/schemas/${id}`,
      ...(schema.collectionMethods.includes("GET") ? { collection: `${origin}${API_PREFIX}/${id}s` } : {}),
    },
    pluralName: `${id}s`,
    ...schema,
  };
}

export const schemaIds = (): string[] => Object.keys(SCHEMAS);
