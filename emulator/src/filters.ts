import { type FieldDef, filterFields, modifiersFor, type TypeDef } from "./schemas";

/**
 * Collection queries as gdapi parses them: `field=value` or `field_modifier=value` for every field the
 * schema lists as a filter, `sort`/`order`, `limit` and an opaque `marker`. Parameters that name no
 * filter, or a modifier the field does not take, are ignored, as Cattle ignores them.
 */

export const DEFAULT_LIMIT = 100;
/** gdapi's ParseCollectionAttributes cap; a limit of 0 or less also means this. */
export const MAX_LIMIT = 3000;

export interface Condition {
  modifier: string;
  value: string;
}

export interface ListQuery {
  conditions: Record<string, Condition[]>;
  sort: { name: string; order: "asc" | "desc" } | null;
  limit: number;
  offset: number;
}

const RESERVED = new Set(["sort", "order", "limit", "marker", "include", "action"]);

export function parseListQuery(type: TypeDef, params: URLSearchParams): ListQuery {
  const filters = new Set(filterFields(type));
  const conditions: Record<string, Condition[]> = {};
  for (const key of new Set(params.keys())) {
    if (RESERVED.has(key)) continue;
    const underscore = key.lastIndexOf("_");
    const name = underscore < 0 ? key : key.slice(0, underscore);
    const modifier = underscore < 0 ? "eq" : key.slice(underscore + 1);
    if (!filters.has(name)) continue;
    if (!modifiersFor(type.fields[name] as FieldDef).includes(modifier)) continue;
    // Repeated parameters all apply (Cattle ANDs the values of one parameter).
    const list = conditions[name] ?? [];
    for (const value of params.getAll(key)) list.push({ modifier, value });
    conditions[name] = list;
  }

  const sortName = params.get("sort");
  const order = params.get("order")?.trim().toLowerCase() === "desc" ? "desc" : "asc";
  const sort = sortName && filters.has(sortName) ? { name: sortName, order: order as "asc" | "desc" } : null;

  let limit = DEFAULT_LIMIT;
  const rawLimit = params.get("limit");
  if (rawLimit !== null && /^\s*-?\d+\s*$/.test(rawLimit)) {
    const parsed = Number(rawLimit);
    limit = parsed <= 0 || parsed > MAX_LIMIT ? MAX_LIMIT : parsed;
  }

  // Markers are "m" + offset, as Cattle's jOOQ resource manager writes them; anything else starts over.
  const marker = params.get("marker");
  const offsetMatch = marker ? /^m(\d{1,9})$/.exec(marker) : null;
  const offset = offsetMatch ? Number(offsetMatch[1]) : 0;

  return { conditions, sort, limit, offset };
}

type Row = Record<string, unknown>;

function comparable(field: FieldDef, value: unknown): number | string | null {
  if (value === null || value === undefined) return null;
  if (field.type === "date") {
    const time = typeof value === "number" ? value : Date.parse(String(value));
    return Number.isNaN(time) ? null : time;
  }
  if (field.type === "int") {
    const number = Number(value);
    return Number.isFinite(number) ? number : null;
  }
  // Cattle's MySQL schema uses a case-insensitive collation, so string comparisons ignore case.
  return String(value).toLowerCase();
}

function dateOrNumber(field: FieldDef, raw: string): number | string | null {
  if (field.type === "date" && /^\d+$/.test(raw)) return Number(raw);
  return comparable(field, raw);
}

function likeToRegExp(pattern: string): RegExp {
  const escaped = pattern.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/%/g, ".*").replace(/_/g, ".")}$`, "s");
}

function matches(field: FieldDef, actual: unknown, condition: Condition): boolean {
  const left = comparable(field, actual);
  if (condition.modifier === "null") return left === null;
  if (condition.modifier === "notnull") return left !== null;
  // SQL semantics: a NULL column satisfies no comparison, `ne` included.
  if (left === null) return false;
  const right = dateOrNumber(field, condition.value);
  if (right === null) return false;
  switch (condition.modifier) {
    case "eq":
      return left === right;
    case "ne":
      return left !== right;
    case "lt":
      return left < right;
    case "lte":
      return left <= right;
    case "gt":
      return left > right;
    case "gte":
      return left >= right;
    case "prefix":
      return String(left).startsWith(String(right));
    case "like":
      return likeToRegExp(condition.value).test(String(left));
    case "notlike":
      return !likeToRegExp(condition.value).test(String(left));
    default:
      return false;
  }
}

function compareIds(a: unknown, b: unknown): number {
  const number = (id: unknown) => Number(/(\d+)$/.exec(String(id))?.[1] ?? 0);
  return number(a) - number(b);
}

function compareValues(a: number | string | null, b: number | string | null): number {
  // MySQL sorts NULL before everything in ascending order.
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

export interface ListPage {
  rows: Row[];
  partial: boolean;
}

/** Filters, sorts (by id unless told otherwise, id breaking ties) and cuts one page. */
export function applyListQuery(type: TypeDef, rows: readonly Row[], query: ListQuery): ListPage {
  const filtered = rows.filter((row) =>
    Object.entries(query.conditions).every(([name, conditions]) =>
      conditions.every((condition) => matches(type.fields[name] as FieldDef, row[name], condition)),
    ),
  );
  const direction = query.sort?.order === "desc" ? -1 : 1;
  const sortField = query.sort ? (type.fields[query.sort.name] as FieldDef) : null;
  const sorted = [...filtered].sort((a, b) => {
    if (query.sort && sortField) {
      const byField = compareValues(
        comparable(sortField, a[query.sort.name]),
        comparable(sortField, b[query.sort.name]),
      );
      if (byField !== 0) return byField * direction;
    }
    return compareIds(a.id, b.id) * direction;
  });
  const page = sorted.slice(query.offset, query.offset + query.limit);
  return { rows: page, partial: sorted.length > query.offset + query.limit };
}
