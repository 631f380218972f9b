import type { ApiError } from "../api/errors";
import type { ReceiverRecord } from "../receivers/store";

/** The Add Receiver form's fields as the user typed them: strings, so a rejected value is shown back as it was. */
export interface FormValues {
  name: string;
  kind: string;
  // Scale a Service
  action: string;
  serviceId: string;
  amount: string;
  min: string;
  max: string;
  cooldownSeconds: string;
  onResolved: string;
  // Scale the number of Hosts
  hostSelector: string;
  hostAction: string;
  hostAmount: string;
  hostMin: string;
  hostMax: string;
  deleteOption: string;
  hostTemplateId: string;
  hostCooldownSeconds: string;
  hostOnResolved: string;
  // Upgrade a Service
  serviceSelector: string;
  tag: string;
  payloadFormat: string;
  addressType: string;
  batchSize: string;
  intervalMillis: string;
  startFirst: string;
  // Sender check (any kind)
  senderScheme: string;
  senderUsername: string;
  senderSecret: string;
  senderTimestampHeader: string;
}

export type FieldErrors = Partial<Record<keyof FormValues, string>>;

export const FORM_FIELD_NAMES = [
  "name",
  "kind",
  "action",
  "serviceId",
  "amount",
  "min",
  "max",
  "cooldownSeconds",
  "onResolved",
  "hostSelector",
  "hostAction",
  "hostAmount",
  "hostMin",
  "hostMax",
  "deleteOption",
  "hostTemplateId",
  "hostCooldownSeconds",
  "hostOnResolved",
  "serviceSelector",
  "tag",
  "payloadFormat",
  "addressType",
  "batchSize",
  "intervalMillis",
  "startFirst",
  "senderScheme",
  "senderUsername",
  "senderSecret",
  "senderTimestampHeader",
] as const satisfies readonly (keyof FormValues)[];

export const EMPTY_FORM: FormValues = {
  name: "",
  kind: "scaleService",
  action: "up",
  serviceId: "",
  amount: "1",
  min: "1",
  max: "100",
  cooldownSeconds: "0",
  onResolved: "ignore",
  hostSelector: "",
  hostAction: "up",
  hostAmount: "1",
  hostMin: "1",
  hostMax: "10",
  deleteOption: "leastRecent",
  hostTemplateId: "",
  hostCooldownSeconds: "0",
  hostOnResolved: "ignore",
  serviceSelector: "",
  tag: "",
  payloadFormat: "dockerhub",
  addressType: "registry",
  batchSize: "1",
  intervalMillis: "2000",
  startFirst: "",
  senderScheme: "",
  senderUsername: "",
  senderSecret: "",
  senderTimestampHeader: "",
};

/** Which form field an API fieldName belongs to, and the label the user knows it by. */
const FORM_FIELDS: [prefix: string, field: keyof FormValues, label: string][] = [
  ["name", "name", "Name"],
  ["driver", "kind", "Kind"],
  ["scaleServiceConfig.serviceId", "serviceId", "Target Service"],
  ["scaleServiceConfig.action", "action", "Action"],
  ["scaleServiceConfig.amount", "amount", "By"],
  ["scaleServiceConfig.min", "min", "Minimum Scale"],
  ["scaleServiceConfig.max", "max", "Maximum Scale"],
  ["scaleServiceConfig.cooldownSeconds", "cooldownSeconds", "Cooldown"],
  ["scaleServiceConfig.onResolved", "onResolved", "When the alert resolves"],
  ["scaleServiceConfig", "serviceId", "Target Service"],
  ["scaleHostConfig.hostSelector", "hostSelector", "Host labels"],
  ["scaleHostConfig.action", "hostAction", "Host action"],
  ["scaleHostConfig.amount", "hostAmount", "Hosts at a time"],
  ["scaleHostConfig.min", "hostMin", "Minimum Hosts"],
  ["scaleHostConfig.max", "hostMax", "Maximum Hosts"],
  ["scaleHostConfig.deleteOption", "deleteOption", "Remove first"],
  ["scaleHostConfig.hostTemplateId", "hostTemplateId", "Host template"],
  ["scaleHostConfig.cooldownSeconds", "hostCooldownSeconds", "Host cooldown"],
  ["scaleHostConfig.onResolved", "hostOnResolved", "When a host alert resolves"],
  ["scaleHostConfig", "hostSelector", "Host labels"],
  ["serviceUpgradeConfig.serviceSelector", "serviceSelector", "Service labels"],
  ["serviceUpgradeConfig.tag", "tag", "Tag"],
  ["serviceUpgradeConfig.payloadFormat", "payloadFormat", "Registry"],
  ["serviceUpgradeConfig.addressType", "addressType", "Address type"],
  ["serviceUpgradeConfig.batchSize", "batchSize", "Batch size"],
  ["serviceUpgradeConfig.intervalMillis", "intervalMillis", "Batch interval (ms)"],
  ["serviceUpgradeConfig.startFirst", "startFirst", "Start new containers first"],
  ["serviceUpgradeConfig", "serviceSelector", "Service labels"],
  ["senderVerification.scheme", "senderScheme", "Sender check"],
  ["senderVerification.username", "senderUsername", "Sender user"],
  ["senderVerification.timestampHeader", "senderTimestampHeader", "Timestamp header"],
  ["senderVerification", "senderSecret", "Sender secret"],
];

const KIND_DRIVERS = new Set(["scaleService", "scaleHost", "serviceUpgrade"]);

const selectorText = (selector: Record<string, string>): string =>
  Object.entries(selector)
    .map(([key, value]) => (value === "" ? key : `${key}=${value}`))
    .join("\n");

/** The form's values for a clone of `record`. */
export function valuesFrom(record: ReceiverRecord): FormValues {
  const base = { ...EMPTY_FORM, name: `${record.name}-copy`.slice(0, 128), kind: record.driver };
  if (record.driver === "scaleHost") {
    const { config } = record;
    return {
      ...base,
      hostSelector: selectorText(config.hostSelector),
      hostAction: config.action,
      hostAmount: String(config.amount),
      hostMin: String(config.min),
      hostMax: String(config.max),
      deleteOption: config.deleteOption,
      hostTemplateId: config.hostTemplateId ?? "",
      hostCooldownSeconds: String(config.cooldownSeconds),
      hostOnResolved: config.onResolved,
    };
  }
  if (record.driver === "serviceUpgrade") {
    const { config } = record;
    return {
      ...base,
      serviceSelector: selectorText(config.serviceSelector),
      tag: config.tag,
      payloadFormat: config.payloadFormat,
      addressType: config.addressType ?? "registry",
      batchSize: String(config.batchSize),
      intervalMillis: String(config.intervalMillis),
      startFirst: config.startFirst ? "on" : "",
    };
  }
  const { config } = record;
  return {
    ...base,
    action: config.action,
    serviceId: config.serviceId,
    amount: String(config.amount),
    min: String(config.min),
    max: String(config.max),
    cooldownSeconds: String(config.cooldownSeconds),
    onResolved: config.onResolved,
  };
}

/** Integers where the user typed one; anything else as typed, for validation to name. */
function integer(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** `app=web` and `tier` lines (or commas): a label selector, `tier` alone matching any value. */
function selector(text: string): Record<string, string> {
  const pairs = text
    .split(/[\n,]/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const equals = part.indexOf("=");
      return equals < 0 ? [part, ""] : [part.slice(0, equals).trim(), part.slice(equals + 1).trim()];
    });
  return Object.fromEntries(pairs);
}

/** The secret's field name under each scheme: the form has one Sender secret box for all. */
const SECRET_FIELD: Record<string, string> = {
  bearer: "token",
  basic: "password",
  github: "secret",
  grafana: "secret",
  standardWebhooks: "secret",
};

/** The optional sender check the form asks for, in the API's shape. */
function senderVerificationFrom(values: FormValues): Record<string, unknown> | undefined {
  const scheme = values.senderScheme;
  if (!scheme) return undefined;
  return {
    scheme,
    [SECRET_FIELD[scheme] ?? "secret"]: values.senderSecret,
    ...(scheme === "basic" ? { username: values.senderUsername } : {}),
    ...(scheme === "grafana" && values.senderTimestampHeader.trim()
      ? { timestampHeader: values.senderTimestampHeader.trim() }
      : {}),
  };
}

/** The API's JSON body for what the form says: the config of the chosen kind, and the sender check. */
export function bodyFrom(values: FormValues): Record<string, unknown> {
  const senderVerification = senderVerificationFrom(values);
  return { ...driverBodyFrom(values), ...(senderVerification ? { senderVerification } : {}) };
}

function driverBodyFrom(values: FormValues): Record<string, unknown> {
  const driver = values.kind || undefined;
  if (driver === "scaleHost") {
    const removes = values.hostAction === "down" || values.hostOnResolved === "reverse";
    return {
      name: values.name,
      driver,
      scaleHostConfig: {
        hostSelector: selector(values.hostSelector),
        action: values.hostAction || undefined,
        amount: integer(values.hostAmount),
        min: integer(values.hostMin),
        max: integer(values.hostMax),
        ...(removes ? { deleteOption: values.deleteOption || undefined } : {}),
        hostTemplateId: values.hostTemplateId || undefined,
        cooldownSeconds: integer(values.hostCooldownSeconds),
        onResolved: values.hostOnResolved || undefined,
      },
    };
  }
  if (driver === "serviceUpgrade") {
    return {
      name: values.name,
      driver,
      serviceUpgradeConfig: {
        serviceSelector: selector(values.serviceSelector),
        tag: values.tag,
        payloadFormat: values.payloadFormat || undefined,
        ...(values.payloadFormat === "alicloud" ? { addressType: values.addressType || undefined } : {}),
        batchSize: integer(values.batchSize),
        intervalMillis: integer(values.intervalMillis),
        startFirst: values.startFirst === "on",
      },
    };
  }
  return {
    name: values.name,
    driver: driver && KIND_DRIVERS.has(driver) ? driver : (driver ?? "scaleService"),
    scaleServiceConfig: {
      serviceId: values.serviceId || undefined,
      action: values.action || undefined,
      amount: integer(values.amount),
      min: integer(values.min),
      max: integer(values.max),
      cooldownSeconds: integer(values.cooldownSeconds),
      onResolved: values.onResolved || undefined,
    },
  };
}

/** API errors placed next to the fields they are about; the rest is a problem of the whole form. */
export function fieldErrors(errors: ApiError[]): { fields: FieldErrors; problem?: string } {
  const fields: FieldErrors = {};
  let problem: string | undefined;
  for (const error of errors) {
    const name = error.fieldName ?? "";
    const target = FORM_FIELDS.find(([prefix]) => name === prefix || name.startsWith(`${prefix}.`));
    if (!target) {
      problem ??= error.message;
      continue;
    }
    const [, field, label] = target;
    fields[field] ??= error.message.replace(name, label);
  }
  return { fields, problem };
}
