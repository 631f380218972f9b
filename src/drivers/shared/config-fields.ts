import * as z from "zod";

/**
 * What a config field says of itself beyond validation, written once beside its zod rule: the
 * Rancher schema (api/schemas.ts) and the page's form (page/receiver-form.tsx) are both made from
 * it, so the API, its published schema and the form cannot disagree.
 */
declare module "zod" {
  interface GlobalMeta {
    /** The form's label (the page's words, docs/page.md: Target Service, By, Minimum Scale, …). */
    label?: string;
    /** One line under the form control. */
    hint?: string;
    /** The Rancher field type when it says more than the JSON type (`reference[service]`, `password`). */
    rancherType?: string;
    /** Rancher schema attributes the rule cannot express (a default applied after validation). */
    rancher?: { default?: unknown; nullable?: boolean };
    /** Words for enum values in the form's select. */
    optionLabels?: Record<string, string>;
    /** One line per enum value, shown under the select for the chosen one. */
    optionHints?: Record<string, string>;
    /** A control other than the one the type implies: the environment's scalable services. */
    control?: "service";
    /** What the empty form shows, when it is not the default. */
    formValue?: string;
  }
}

/** One field of a driver's config, as the schema and the form describe it. */
export interface ConfigField {
  name: string;
  /** Rancher's field type: `int`, `string`, `enum`, `boolean`, `map[string]`, `reference[service]`, … */
  type: string;
  required: boolean;
  nullable: boolean;
  default?: unknown;
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  options?: string[];
  description?: string;
  label: string;
  hint?: string;
  optionLabels?: Record<string, string>;
  optionHints?: Record<string, string>;
  control?: "service";
  formValue?: string;
}

type JsonSchema = {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
} & z.GlobalMeta;

const RANCHER_TYPES: Record<string, string> = {
  integer: "int",
  number: "float",
  string: "string",
  boolean: "boolean",
  object: "map[string]",
};

/**
 * The fields of a config schema, in declaration order, read from its JSON Schema (zod's own
 * export, so no zod internals are relied on). `type` (the config's own type marker) is not a field.
 */
export function configFields(schema: z.ZodType): ConfigField[] {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {})
    .filter(([name]) => name !== "type")
    .map(([name, property]) => {
      const options = property.enum?.map(String);
      const isRequired = required.has(name);
      const field: ConfigField = {
        name,
        type: property.rancherType ?? (options ? "enum" : (RANCHER_TYPES[property.type ?? ""] ?? "string")),
        required: isRequired,
        nullable: property.rancher?.nullable ?? (!isRequired && property.default === undefined),
        label: property.label ?? name,
      };
      const fieldDefault = property.rancher?.default ?? property.default;
      if (fieldDefault !== undefined) field.default = fieldDefault;
      if (property.minimum !== undefined) field.min = property.minimum;
      if (property.maximum !== undefined && property.maximum < Number.MAX_SAFE_INTEGER)
        field.max = property.maximum;
      if (property.minLength !== undefined) field.minLength = property.minLength;
      if (property.maxLength !== undefined) field.maxLength = property.maxLength;
      if (options) field.options = options;
      for (const key of [
        "description",
        "hint",
        "optionLabels",
        "optionHints",
        "control",
        "formValue",
      ] as const) {
        if (property[key] !== undefined) Object.assign(field, { [key]: property[key] });
      }
      return field;
    });
}

/** A Rancher schema's `resourceFields` entry for a config field (api-spec "Schemas"). */
export function rancherField(field: ConfigField): Record<string, unknown> {
  return {
    type: field.type,
    ...(field.required ? { required: true } : {}),
    ...(field.nullable ? { nullable: true } : {}),
    create: true,
    ...(field.default === undefined ? {} : { default: field.default }),
    ...(field.min === undefined ? {} : { min: field.min }),
    ...(field.max === undefined ? {} : { max: field.max }),
    ...(field.minLength === undefined ? {} : { minLength: field.minLength }),
    ...(field.maxLength === undefined ? {} : { maxLength: field.maxLength }),
    ...(field.options ? { options: field.options } : {}),
    ...(field.description ? { description: field.description } : {}),
  };
}
