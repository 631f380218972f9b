import type { ApiError } from "../api/errors";
import type { ReceiverRecord } from "../domain/receiver";
import { type AnyDriverDefinition, type ConfigField, DRIVER_NAMES, DRIVERS, driverNamed } from "../drivers";
import { MAX_ECHO_CHARS } from "../util/echo";
import { lazy } from "../util/lazy";
import { own } from "../util/own";

/**
 * The Add Receiver form. Every input is named by its path in the API's body
 * (`scaleServiceConfig.amount`), and every config field's control, label, hint and starting value
 * come from the driver's config rules: the form, the API and its published schema say one thing.
 * Values are kept as typed (strings), so a refused value is shown back as it was.
 */
export type FormValues = Readonly<Record<string, string>>;

export type FieldErrors = Record<string, string>;

/**
 * A posted form's values and errors as the page shows them again. A value longer than
 * MAX_ECHO_CHARS (more than any field takes, but for a long list of labels) is not repeated: its
 * input is shown empty, with its error or one asking for it again. The answer then never holds
 * more than that of what was sent, and a value cut short is never posted back as if it were whole.
 */
export function shownBack(
  values: FormValues,
  errors: FieldErrors = {},
): { values: FormValues; errors: FieldErrors } {
  const shown: Record<string, string> = {};
  const withDropped: FieldErrors = { ...errors };
  for (const [name, value] of Object.entries(values)) {
    if (value.length <= MAX_ECHO_CHARS) {
      shown[name] = value;
      continue;
    }
    shown[name] = "";
    withDropped[name] ??= `This was ${value.length} characters long, too long to show again: enter it again`;
  }
  return { values: shown, errors: withDropped };
}

/** An input of a driver's fieldset: the config field it edits, under its API path. */
export interface ConfigInput {
  name: string;
  field: ConfigField;
}

/** The inputs of one driver's fieldset, row by row, as the form shows them. */
export function configInputs(definition: AnyDriverDefinition): ConfigInput[][] {
  const fields = new Map(definition.fields().map((field) => [field.name, field]));
  const rows: readonly (readonly string[])[] = definition.fieldset.rows;
  return rows.map((row) =>
    row.flatMap((name) => {
      const field = fields.get(name);
      return field ? [{ name: `${definition.configField}.${name}`, field }] : [];
    }),
  );
}

/** The sender check's inputs, shared by every kind; one secret box serves every scheme. */
export const SENDER_INPUTS = {
  scheme: "senderVerification.scheme",
  username: "senderVerification.username",
  secret: "senderVerification.secret",
  header: "senderVerification.header",
  timestampHeader: "senderVerification.timestampHeader",
} as const;

/** The sender schemes that read each of the check's inputs (the page shows an input for these only). */
export const SENDER_INPUT_SCHEMES: Record<
  Exclude<keyof typeof SENDER_INPUTS, "scheme">,
  readonly string[]
> = {
  username: ["basic"],
  secret: ["bearer", "basic", "github", "grafana", "standardWebhooks"],
  header: ["grafana"],
  timestampHeader: ["grafana"],
};

/**
 * The kind whose fields the form showed. Without JavaScript only that kind's fields are shown, so a
 * form posted with another kind asks for that kind's fields before anything is created.
 */
export const SHOWN_KIND_INPUT = "shownKind";

/** The secret's field under each scheme. */
const SECRET_FIELD: Record<string, string> = {
  bearer: "token",
  basic: "password",
  github: "secret",
  grafana: "secret",
  standardWebhooks: "secret",
};

export const SENDER_LABELS: Record<string, string> = {
  [SENDER_INPUTS.scheme]: "Sender check",
  [SENDER_INPUTS.username]: "Sender user",
  [SENDER_INPUTS.secret]: "Sender secret",
  [SENDER_INPUTS.header]: "Signature header",
  [SENDER_INPUTS.timestampHeader]: "Timestamp header",
};

const allInputs = lazy(() => DRIVER_NAMES.flatMap((name) => configInputs(DRIVERS[name]).flat()));

/** Every input name the form posts. */
export const formInputNames = (): string[] => [
  "name",
  "driver",
  ...allInputs().map((input) => input.name),
  ...Object.values(SENDER_INPUTS),
];

/** The value a control shows for a config value: selectors as `key=value` lines, booleans as a checkbox's `on`. */
function shown(field: ConfigField, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (field.type === "boolean") return value === true ? "on" : "";
  if (field.type === "map[string]" && typeof value === "object") {
    return Object.entries(value as Record<string, string>)
      .map(([key, label]) => (label === "" ? key : `${key}=${label}`))
      .join("\n");
  }
  return String(value);
}

/** The empty form: each field's starting value, its default, or its first option. */
export function emptyForm(): FormValues {
  const values: Record<string, string> = { name: "", driver: DRIVER_NAMES[0] };
  for (const { name, field } of allInputs()) {
    values[name] = field.formValue ?? shown(field, field.default);
    if (values[name] === "" && field.type === "enum") values[name] = field.options?.[0] ?? "";
  }
  return values;
}

/** The form's values for a clone of `record`. */
export function valuesFrom(record: ReceiverRecord): FormValues {
  const values: Record<string, string> = {
    ...emptyForm(),
    name: `${record.name}-copy`.slice(0, 128),
    driver: record.driver,
  };
  const config = record.config as Record<string, unknown>;
  for (const { name, field } of configInputs(DRIVERS[record.driver]).flat()) {
    values[name] = shown(field, config[field.name]);
  }
  return values;
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

/** What a typed value is in the API's body. */
function sent(field: ConfigField, text: string): unknown {
  switch (field.type) {
    case "int":
      return integer(text);
    case "map[string]":
      return selector(text);
    case "boolean":
      return text === "on";
    case "string":
      // Typed text is sent as typed, so an empty box is reported as empty, not as missing; an
      // optional box left empty sends nothing.
      return text === "" && !field.required ? undefined : text;
    default:
      // A select or a reference left at its placeholder sends nothing.
      return text === "" ? undefined : text;
  }
}

/** The optional sender check the form asks for, in the API's shape. */
function senderVerificationFrom(values: FormValues): Record<string, unknown> | undefined {
  const scheme = values[SENDER_INPUTS.scheme] ?? "";
  if (!scheme) return undefined;
  // Grafana's headers are optional: an empty box keeps Grafana's default signature header.
  const header = (values[SENDER_INPUTS.header] ?? "").trim();
  const timestampHeader = (values[SENDER_INPUTS.timestampHeader] ?? "").trim();
  return {
    scheme,
    [own(SECRET_FIELD, scheme) ?? "secret"]: values[SENDER_INPUTS.secret] ?? "",
    ...(scheme === "basic" ? { username: values[SENDER_INPUTS.username] ?? "" } : {}),
    ...(scheme === "grafana" && header ? { header } : {}),
    ...(scheme === "grafana" && timestampHeader ? { timestampHeader } : {}),
  };
}

/** The API's JSON body for what the form says: the chosen kind's config, and the sender check. */
export function bodyFrom(values: FormValues): Record<string, unknown> {
  const driver = values.driver ?? "";
  const definition = driverNamed(driver);
  const body: Record<string, unknown> = { name: values.name ?? "", driver };
  if (definition) {
    const value = (field: string) => values[`${definition.configField}.${field}`] ?? "";
    const config: Record<string, unknown> = {};
    for (const { name, field } of configInputs(definition).flat()) {
      const conditions: Readonly<Record<string, (value: (field: string) => string) => boolean>> =
        definition.fieldset.sendOnlyWhen ?? {};
      const applies = Object.hasOwn(conditions, field.name) ? conditions[field.name] : undefined;
      if (applies && !applies(value)) continue;
      config[field.name] = sent(field, values[name] ?? "");
    }
    body[definition.configField] = config;
  }
  const senderVerification = senderVerificationFrom(values);
  return senderVerification ? { ...body, senderVerification } : body;
}

/** The input an API error is about: the field itself, or the first input of the object it names. */
function inputOf(fieldName: string): { name: string; label: string } | undefined {
  if (fieldName === "name") return { name: "name", label: "Name" };
  if (fieldName === "driver") return { name: "driver", label: "Kind" };
  if (fieldName.startsWith("senderVerification")) {
    const part = fieldName.split(".")[1];
    const name =
      part === "scheme" || part === "username" || part === "header" || part === "timestampHeader"
        ? `senderVerification.${part}`
        : SENDER_INPUTS.secret;
    return { name, label: SENDER_LABELS[name] ?? name };
  }
  const inputs = allInputs();
  const input =
    inputs.find((candidate) => fieldName === candidate.name || fieldName.startsWith(`${candidate.name}.`)) ??
    inputs.find((candidate) => candidate.name.startsWith(`${fieldName}.`));
  return input ? { name: input.name, label: input.field.label } : undefined;
}

/** A message as a sentence: its first letter capitalised. */
export const sentence = (message: string): string => message.charAt(0).toUpperCase() + message.slice(1);

/** API errors placed next to the inputs they are about; the rest is a problem of the whole form. */
export function fieldErrors(errors: ApiError[]): { fields: FieldErrors; problem?: string } {
  const fields: FieldErrors = {};
  let problem: string | undefined;
  for (const error of errors) {
    const fieldName = error.fieldName ?? "";
    const input = fieldName ? inputOf(fieldName) : undefined;
    if (!input) {
      problem ??= sentence(error.message);
      continue;
    }
    // Messages about a field start with its path (`scaleServiceConfig.amount must be…`): the form
    // names it by its label instead. Other messages (`a receiver named … already exists`) are
    // shown as they are, as a sentence.
    fields[input.name] ??= error.message.startsWith(`${fieldName} `)
      ? `${input.label}${error.message.slice(fieldName.length)}`
      : sentence(error.message);
  }
  return { fields, problem };
}
