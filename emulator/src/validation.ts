import { failure, ok, type Result } from "./errors";
import { type FieldDef, TYPES } from "./schemas";

export type Operation = "create" | "update";

type Converted =
  | { ok: true; value: unknown }
  | { ok: false; code: string; message: string; fieldName: string };

const bad = (code: string, fieldName: string, message: string): Converted => ({
  ok: false,
  code,
  fieldName,
  message,
});

const INTEGER = /^-?\d+$/;

function convert(fieldName: string, type: string, value: unknown): Converted {
  if (value === null || value === undefined) return { ok: true, value: null };
  const inner = /^(array|map|reference)\[(.+)\]$/.exec(type);
  if (inner) {
    const [, wrapper, subType] = inner as unknown as [string, string, string];
    if (wrapper === "reference") {
      if (typeof value === "string" && value.length > 0) return { ok: true, value };
      if (typeof value === "number" && Number.isSafeInteger(value)) return { ok: true, value: String(value) };
      return bad("InvalidReference", fieldName, `${fieldName} must be an id`);
    }
    if (wrapper === "array") {
      // gdapi accepts a single value where a list is expected and wraps it.
      const items = Array.isArray(value) ? value : [value];
      const out: unknown[] = [];
      for (const item of items) {
        if (item === null || item === undefined)
          return bad("NotNullable", fieldName, `${fieldName} has a null item`);
        const converted = convert(fieldName, subType, item);
        if (!converted.ok) return converted;
        out.push(converted.value);
      }
      return { ok: true, value: out };
    }
    if (!isPlainObject(value)) return bad("InvalidFormat", fieldName, `${fieldName} must be an object`);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const converted = convert(`${fieldName}.${key}`, subType, item);
      if (!converted.ok) return converted;
      out[key] = converted.value;
    }
    return { ok: true, value: out };
  }
  switch (type) {
    case "string":
    case "password":
    case "enum":
      if (typeof value === "string") return { ok: true, value };
      if (typeof value === "number" || typeof value === "boolean") return { ok: true, value: String(value) };
      return bad("InvalidFormat", fieldName, `${fieldName} must be a string`);
    case "int":
      if (typeof value === "number" && Number.isSafeInteger(value)) return { ok: true, value };
      if (typeof value === "string" && INTEGER.test(value.trim()) && Number.isSafeInteger(Number(value))) {
        return { ok: true, value: Number(value) };
      }
      return bad("InvalidFormat", fieldName, `${fieldName} must be an integer`);
    case "boolean":
      if (typeof value === "boolean") return { ok: true, value };
      if (value === "true" || value === "false") return { ok: true, value: value === "true" };
      return bad("InvalidFormat", fieldName, `${fieldName} must be a boolean`);
    case "json":
      return { ok: true, value };
    case "date":
      return bad("InvalidFormat", fieldName, `${fieldName} cannot be set`);
    default: {
      const nested = TYPES[type];
      if (!nested) return { ok: true, value };
      if (!isPlainObject(value)) return bad("InvalidFormat", fieldName, `${fieldName} must be an object`);
      // Embedded objects are validated as creates, as gdapi does, whatever the outer operation.
      const result = sanitize(nested.fields, value, "create", `${fieldName}.`, nested.open === true);
      if (!result.ok)
        return bad(result.error.code, result.error.fieldName ?? fieldName, result.error.message);
      return { ok: true, value: result.value };
    }
  }
}

function checkCriteria(fieldName: string, field: FieldDef, value: unknown): Converted | null {
  if (value === null) {
    return field.nullable || field.default !== undefined
      ? null
      : bad("NotNullable", fieldName, `${fieldName} may not be null`);
  }
  if (typeof value === "number") {
    if (field.min !== undefined && value < field.min) {
      return bad("MinLimitExceeded", fieldName, `${fieldName} must be at least ${field.min}`);
    }
    if (field.max !== undefined && value > field.max) {
      return bad("MaxLimitExceeded", fieldName, `${fieldName} must be at most ${field.max}`);
    }
  }
  if (typeof value === "string") {
    if (field.minLength !== undefined && value.length < field.minLength) {
      return bad(
        "MinLengthExceeded",
        fieldName,
        `${fieldName} must be at least ${field.minLength} characters`,
      );
    }
    if (field.maxLength !== undefined && value.length > field.maxLength) {
      return bad(
        "MaxLengthExceeded",
        fieldName,
        `${fieldName} must be at most ${field.maxLength} characters`,
      );
    }
    if (field.options && !field.options.includes(value)) {
      return bad("InvalidOption", fieldName, `${fieldName} must be one of ${field.options.join(", ")}`);
    }
    if (field.validChars && !new RegExp(`^[${field.validChars}]*$`).test(value)) {
      return bad("InvalidCharacters", fieldName, `${fieldName} may only contain ${field.validChars}`);
    }
  }
  return null;
}

/**
 * Validates a request body against a type's fields the way gdapi's ValidationHandler does:
 * fields the operation may not set (unknown, read-only, create-only on update) are dropped without
 * complaint; the others are converted and checked; on create, defaults fill in and required fields
 * must be present. `prefix` names the enclosing field in error paths. With `keepUnknown` (an open
 * type such as a launch config), fields the type does not list are kept as sent.
 */
export function sanitize(
  fields: Readonly<Record<string, FieldDef>>,
  input: unknown,
  operation: Operation,
  prefix = "",
  keepUnknown = false,
): Result<Record<string, unknown>> {
  const body = isPlainObject(input) ? input : {};
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(body)) {
    if (name === "id") continue;
    if (!Object.hasOwn(fields, name)) {
      if (keepUnknown) out[name] = raw;
      continue;
    }
    const field = fields[name] as FieldDef;
    if (!(operation === "create" ? field.create : field.update)) continue;
    const fieldName = `${prefix}${name}`;
    if ((raw === null || raw === undefined) && !field.nullable && field.default !== undefined) continue;
    const converted = convert(fieldName, field.type, raw);
    if (!converted.ok) return failure(422, converted.code, converted.message, converted.fieldName);
    const problem = checkCriteria(fieldName, field, converted.value);
    if (problem && !problem.ok) return failure(422, problem.code, problem.message, problem.fieldName);
    out[name] = converted.value;
  }
  if (operation === "create") {
    for (const [name, field] of Object.entries(fields)) {
      if (!(name in out) && field.default !== undefined && field.create) out[name] = field.default;
      if (field.create && field.required && (out[name] === undefined || out[name] === null)) {
        return failure(422, "MissingRequired", `${prefix}${name} is required`, `${prefix}${name}`);
      }
    }
  }
  return ok(out);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
