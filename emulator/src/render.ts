import type { Role } from "./auth";
import { applyListQuery, type ListQuery } from "./filters";
import { isServiceType, type ResourceRecord } from "./model";
import { collectionSegment, type FieldDef, filterFields, TYPES, type TypeDef, typeDef } from "./schemas";
import { availableActions, currentState, transitioningOf } from "./state-machine";

/** Where links point: the request's origin and the API prefix it came through. */
export interface Scope {
  origin: string;
  /** `…/v2-beta/projects/1a5` for project-scoped requests, `…/v2-beta` for the rest. */
  base: string;
  role: Role;
}

/** Actions the emulator performs, in the order Cattle lists them. */
const SERVICE_ACTIONS = [
  "activate",
  "deactivate",
  "update",
  "remove",
  "restart",
  "upgrade",
  "finishupgrade",
  "cancelupgrade",
  "continueupgrade",
  "rollback",
] as const;

export const resourceUrl = (scope: Scope, record: ResourceRecord): string =>
  record.type === "project"
    ? `${scope.origin}/v2-beta/projects/${record.id}`
    : `${scope.base}/${collectionSegment(typeDef(record.type))}/${record.id}`;

/** Services report `initializing` until their first activation is over, then `healthy`. */
function healthState(record: ResourceRecord, state: string): unknown {
  if (!isServiceType(record.type)) return record.data.healthState ?? null;
  return state === "requested" || state === "registering" || state === "activating"
    ? "initializing"
    : "healthy";
}

/**
 * A record as Cattle shows it: every schema field present (null when unset), transitioning fields
 * derived from the running phase, links absolute from the request's origin, and the actions the
 * current state allows — none for a key that may not write.
 */
export function renderResource(scope: Scope, record: ResourceRecord): Record<string, unknown> {
  const type = typeDef(record.type);
  const state = currentState(record);
  const self = resourceUrl(scope, record);
  const links: Record<string, string> = { self };
  if (typeof record.data.stackId === "string") links.stack = `${scope.base}/stacks/${record.data.stackId}`;
  if (typeof record.data.hostTemplateId === "string") {
    links.hostTemplate = `${scope.base}/hosttemplates/${record.data.hostTemplateId}`;
  }
  // Cattle's link from a service to its containers (emulator/README.md, Containers).
  if (isServiceType(record.type)) links.instances = `${self}/instances`;
  if (record.type === "externalHostEvent" && typeof record.data.hostId === "string") {
    links.host = `${scope.base}/hosts/${record.data.hostId}`;
  }
  if (record.type === "project") {
    const projectBase = `${scope.origin}/v2-beta/projects/${record.id}`;
    links.schemas = `${projectBase}/schemas`;
    links.services = `${projectBase}/services`;
    links.hosts = `${projectBase}/hosts`;
    links.stacks = `${projectBase}/stacks`;
  }
  const actions: Record<string, string> = {};
  if (scope.role === "owner" && isServiceType(record.type)) {
    for (const action of availableActions(state, SERVICE_ACTIONS)) {
      actions[action] = `${self}/?action=${action}`;
    }
  }
  const transitioning = transitioningOf(record);
  const computed: Record<string, unknown> = {
    id: record.id,
    kind: record.data.kind ?? record.type,
    state,
    created: new Date(record.created).toISOString(),
    removed: record.removed === null ? null : new Date(record.removed).toISOString(),
    removeTime: record.removed === null ? null : new Date(record.removed).toISOString(),
    transitioning: transitioning.transitioning,
    transitioningMessage: transitioning.message,
    transitioningProgress: null,
    uuid: record.uuid,
    accountId: record.projectId,
    healthState: healthState(record, state),
  };
  const out: Record<string, unknown> = {
    id: record.id,
    type: record.type,
    // Cattle's containers are instances of kind container; services share the base type service.
    baseType: isServiceType(record.type) ? "service" : record.type === "container" ? "instance" : record.type,
    links,
    actions,
  };
  for (const name of Object.keys(type.fields)) {
    const field = type.fields[name] as FieldDef;
    const stored = Object.hasOwn(record.data, name) ? record.data[name] : (field.default ?? null);
    out[name] = field.writeOnly ? null : name in computed ? computed[name] : withType(field, stored);
  }
  out.createdTS = record.created;
  if (record.removed !== null) out.removedTS = record.removed;
  return out;
}

/** Embedded objects carry their own `type`, as Cattle writes them. */
function withType(field: FieldDef, value: unknown): unknown {
  if (value === undefined) return null;
  if (TYPES[field.type]?.embedded && isObject(value) && !("type" in value))
    return { type: field.type, ...value };
  return value;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export interface CollectionOptions {
  resourceType: string;
  type: TypeDef;
  requestUrl: URL;
  query: ListQuery;
  createTypes: Record<string, string>;
}

function urlWith(requestUrl: URL, remove: readonly string[], add: Record<string, string>): string {
  const params = new URLSearchParams(requestUrl.search);
  for (const name of remove) params.delete(name);
  for (const [name, value] of Object.entries(add)) params.append(name, value);
  const search = params.toString();
  return `${requestUrl.origin}${requestUrl.pathname}${search ? `?${search}` : ""}`;
}

/** A Cattle collection: filter, sort and page the rendered rows, then describe how to get more. */
export function renderCollection(rows: Record<string, unknown>[], options: CollectionOptions) {
  const { type, query, requestUrl } = options;
  const page = applyListQuery(type, rows, query);
  const filters: Record<string, unknown> = {};
  for (const name of filterFields(type)) filters[name] = query.conditions[name] ?? null;
  const sortLinks: Record<string, string> = {};
  for (const name of filterFields(type))
    sortLinks[name] = urlWith(requestUrl, ["sort", "order"], { sort: name });
  return {
    type: "collection",
    resourceType: options.resourceType,
    links: { self: `${requestUrl.origin}${requestUrl.pathname}` },
    createTypes: options.createTypes,
    actions: {},
    data: page.rows,
    sortLinks,
    pagination: {
      first: null,
      previous: null,
      next: page.partial
        ? urlWith(requestUrl, ["marker"], { marker: `m${query.offset + query.limit}` })
        : null,
      limit: query.limit,
      total: null,
      partial: page.partial,
    },
    sort: query.sort
      ? {
          name: query.sort.name,
          order: query.sort.order,
          reverse: urlWith(requestUrl, ["order", "marker"], {
            order: query.sort.order === "asc" ? "desc" : "asc",
          }),
        }
      : null,
    filters,
    createDefaults: {},
  };
}
