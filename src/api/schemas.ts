import { OUTCOMES, UPGRADE_STEPS } from "../domain/execution";
import {
  DEFAULT_NOTIFY_ON,
  DELIVERY_STATUSES,
  MAX_DESTINATION_URL_BYTES,
  MAX_DESTINATIONS,
  NOTIFICATION_KINDS,
  NOTIFY_WINDOW_SECONDS,
} from "../domain/notifications";
import { DRIVER_NAMES, DRIVERS, rancherField } from "../drivers";
import { lazy } from "../util/lazy";
import { API_PREFIX } from "./resources";

/**
 * Rancher API schemas of this API (api-spec "Schemas"): what the UI and generated clients read to
 * know the fields, their types, limits and defaults. Each driver config's schema is made from the
 * config's own rules (drivers/shared/config-fields.ts); the API's own resources are written here.
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

interface SchemaBody {
  resourceFields: Record<string, Field | Record<string, unknown>>;
  resourceMethods: string[];
  collectionMethods: string[];
  resourceActions?: Record<string, unknown>;
}

const API_SCHEMAS: Record<string, SchemaBody> = {
  receiver: {
    resourceMethods: ["GET", "DELETE"],
    collectionMethods: ["GET", "POST"],
    resourceActions: {
      regenerate: { input: "regenerateInput", output: "receiver" },
      setNotifications: { input: "setNotificationsInput", output: "receiver" },
      testNotification: { output: "notificationTestResult" },
    },
    resourceFields: {
      name: { type: "string", required: true, create: true, minLength: 1, maxLength: 128 },
      driver: { type: "enum", options: DRIVER_NAMES, required: true, create: true },
      ...Object.fromEntries(
        DRIVER_NAMES.map((name) => {
          // The config's type is the driver's schema, named as webhook-service named it (docs/rancher-ui.md).
          return [DRIVERS[name].configField, { type: name, nullable: true, create: true }];
        }),
      ),
      senderVerification: {
        type: "senderVerification",
        nullable: true,
        create: true,
        description: "optional proof of the sender beyond the Trigger URL; its secret is never shown",
      },
      notifications: {
        type: "array[notificationDestination]",
        nullable: true,
        create: true,
        description: `where to say what happened: up to ${MAX_DESTINATIONS}; URLs are write-only`,
      },
      notifyWindowSeconds: {
        type: "int",
        create: true,
        default: NOTIFY_WINDOW_SECONDS.default,
        min: NOTIFY_WINDOW_SECONDS.min,
        max: NOTIFY_WINDOW_SECONDS.max,
        description: "executions decided within this many seconds go out as one message",
      },
      url: { type: "string", description: "Trigger URL: POST to it to run the receiver" },
      state: { type: "string" },
      projectId: { type: "reference[project]" },
      created: { type: "date" },
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
    // Executions are listed per receiver (its `executions` link), not as a collection of their own.
    collectionMethods: [],
    resourceFields: {
      receiverId: { type: "reference[receiver]" },
      driver: { type: "string" },
      outcome: {
        type: "enum",
        options: [...OUTCOMES],
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
      upgrades: {
        type: "array[upgradeProgress]",
        nullable: true,
        description: "for a registry push: each service's upgrade, step by step",
      },
    },
  },
  upgradeProgress: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      serviceId: { type: "reference[service]" },
      serviceName: { type: "string" },
      image: { type: "string", description: "the image the service moves to" },
      previousImage: { type: "string", nullable: true, description: "the image it ran before" },
      steps: {
        type: "array[upgradeStep]",
        description: "each step with when it started; the last is the current one",
      },
      message: {
        type: "string",
        nullable: true,
        description: "why it was rolled back, failed or skipped, naming the containers",
      },
    },
  },
  notificationDestination: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      id: {
        type: "string",
        nullable: true,
        description: "given back to keep a destination (and its URL) in setNotifications",
      },
      kind: { type: "enum", options: [...NOTIFICATION_KINDS], required: true },
      url: {
        type: "string",
        maxLength: MAX_DESTINATION_URL_BYTES,
        description: "https: (or http: to a loopback address); write-only, answers show urlHint",
      },
      urlHint: { type: "string", description: "the URL's host and last 4 characters" },
      on: {
        type: "array[enum]",
        options: [...OUTCOMES],
        default: [...DEFAULT_NOTIFY_ON],
        description: "the outcomes this destination is told of",
      },
      secret: {
        type: "string",
        nullable: true,
        description: "a webhook destination's signing secret (whsec_…), in the one answer that made it",
      },
    },
  },
  setNotificationsInput: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      notifications: { type: "array[notificationDestination]", required: true },
      notifyWindowSeconds: {
        type: "int",
        nullable: true,
        min: NOTIFY_WINDOW_SECONDS.min,
        max: NOTIFY_WINDOW_SECONDS.max,
      },
    },
  },
  notificationDelivery: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      messageId: { type: "string", description: "the same on every attempt (webhook-id)" },
      destinationId: { type: "string" },
      kind: { type: "enum", options: [...NOTIFICATION_KINDS] },
      urlHint: { type: "string" },
      status: { type: "enum", options: [...DELIVERY_STATUSES] },
      summary: { type: "string" },
      executionIds: { type: "array[string]" },
      test: { type: "boolean" },
      attempts: { type: "int" },
      created: { type: "date" },
      lastAttempt: { type: "date", nullable: true },
      lastError: { type: "string", nullable: true },
      nextAttempt: { type: "date", nullable: true, description: "while pending: when it is tried again" },
    },
  },
  notificationTestResult: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      results: { type: "array[notificationTestOutcome]" },
    },
  },
  notificationTestOutcome: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      destinationId: { type: "string" },
      kind: { type: "enum", options: [...NOTIFICATION_KINDS] },
      urlHint: { type: "string" },
      status: { type: "enum", options: ["delivered", "failed"] },
      httpStatus: { type: "int", nullable: true },
      error: { type: "string", nullable: true },
    },
  },
  upgradeStep: {
    resourceMethods: [],
    collectionMethods: [],
    resourceFields: {
      step: { type: "enum", options: [...UPGRADE_STEPS] },
      at: { type: "date" },
    },
  },
};

/** Every schema by id: the API's own, and one per driver config made from the config's rules. */
const schemas = lazy(
  () =>
    new Map<string, SchemaBody>([
      ...Object.entries(API_SCHEMAS),
      ...DRIVER_NAMES.map((name): [string, SchemaBody] => [
        name,
        {
          resourceMethods: [],
          collectionMethods: [],
          resourceFields: Object.fromEntries(
            DRIVERS[name].fields().map((field) => [field.name, rancherField(field)]),
          ),
        },
      ]),
    ]),
);

/** Schema ids by their lower-case spelling: Rancher's clients look them up case-insensitively. */
const byLowerCase = lazy(() => new Map([...schemas().keys()].map((id) => [id.toLowerCase(), id])));

export function schemaResource(origin: string, asked: string) {
  // Maps, not objects: an id such as `__proto__` or `constructor` is no schema.
  const id = byLowerCase().get(asked.toLowerCase()) ?? asked;
  const schema = schemas().get(id);
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

export const schemaIds = (): string[] => [...schemas().keys()];
