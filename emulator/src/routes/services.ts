import { Hono } from "hono";
import type { ServiceAction } from "../cattle-state";
import { ApiError, type Result } from "../errors";
import { parseListQuery } from "../filters";
import {
  type AppContext,
  type AppEnv,
  methodNotAllowed,
  projectScope,
  publicUrl,
  readBody,
  requireWritable,
  stateOf,
  withProcessLock,
} from "../http";
import type { ResourceRecord, ResourceType } from "../model";
import { renderCollection, renderResource, type Scope } from "../render";
import { collectionSegment, TYPES, type TypeDef, typeDef } from "../schemas";
import { sanitize } from "../validation";
import { creation } from "./creation";

/**
 * Services under `/services` (every kind) and under each kind's own collection. Parsing, the
 * type-driven validation and rendering happen here; everything that reads or changes the world is
 * one call into the state object.
 */
export const services = new Hono<AppEnv>({ strict: false });

const KINDS: readonly ResourceType[] = ["service", "loadBalancerService", "externalService"];
const INSTANCE = TYPES.instance as TypeDef;

function unwrap(result: Result<ResourceRecord>): ResourceRecord {
  if (!result.ok) throw ApiError.from(result.error);
  return result.value;
}

function createTypes(scope: Scope, urlType: ResourceType): Record<string, string> {
  if (scope.role !== "owner") return {};
  const kinds = urlType === "service" ? KINDS : [urlType];
  return Object.fromEntries(kinds.map((kind) => [kind, `${scope.base}/${collectionSegment(typeDef(kind))}`]));
}

/**
 * The `?action=` of a POST, which must be one of the actions the key's schema lists (422 InvalidAction
 * otherwise). A read-only member's schemas list none, so every action is invalid for it: gdapi checks
 * actions against the schema and skips the method check for them.
 */
function actionOf(c: AppContext, urlType: ResourceType, scope: Scope): ServiceAction {
  const action = c.req.query("action") ?? "";
  const offered = scope.role === "owner" ? (typeDef(urlType).resourceActions ?? {}) : {};
  if (!Object.hasOwn(offered, action)) {
    throw new ApiError(422, "InvalidAction", `Unknown action ${action}`, "action");
  }
  return action as ServiceAction;
}

for (const urlType of KINDS) {
  const definition = typeDef(urlType);
  const segments = [...new Set([collectionSegment(definition), definition.pluralName])];
  const kindsHere = urlType === "service" ? KINDS : [urlType];

  for (const segment of segments) {
    services.get(`/${segment}`, async (c) => {
      const { projectId, scope } = projectScope(c);
      const records = await stateOf(c.env).list(projectId, kindsHere);
      const url = publicUrl(c);
      return c.json(
        renderCollection(
          records.map((record) => renderResource(scope, record)),
          {
            resourceType: urlType,
            type: definition,
            requestUrl: url,
            query: parseListQuery(definition, url.searchParams),
            createTypes: createTypes(scope, urlType),
          },
        ),
      );
    });

    services.post(`/${segment}`, async (c) => {
      const { projectId, scope, values } = await creation(c, definition.fields);
      const record = unwrap(await stateOf(c.env).createService(projectId, urlType, values));
      return c.json(renderResource(scope, record), 201);
    });
    services.all(`/${segment}`, methodNotAllowed);

    services.get(`/${segment}/:id`, async (c) => {
      const { projectId, scope } = projectScope(c);
      const record = await stateOf(c.env).get(projectId, c.req.param("id"), kindsHere);
      if (!record) throw new ApiError(404, "NotFound", `No ${urlType} with id ${c.req.param("id")}`);
      return c.json(renderResource(scope, record));
    });

    services.put(`/${segment}/:id`, async (c) => {
      const { projectId, scope } = projectScope(c);
      const body = await readBody(c);
      requireWritable(scope);
      const changes = sanitize(definition.fields, body, "update");
      if (!changes.ok) throw ApiError.from(changes.error);
      const state = stateOf(c.env);
      const id = c.req.param("id");
      const record = unwrap(
        await withProcessLock((since) => state.updateService(projectId, id, urlType, changes.value, since)),
      );
      return c.json(renderResource(scope, record));
    });

    services.delete(`/${segment}/:id`, async (c) => {
      const { projectId, scope } = projectScope(c);
      requireWritable(scope);
      const state = stateOf(c.env);
      const id = c.req.param("id");
      const record = unwrap(
        await withProcessLock((since) => state.removeService(projectId, id, urlType, since)),
      );
      return c.json(renderResource(scope, record));
    });

    services.post(`/${segment}/:id`, async (c) => {
      // POST on a resource is only ever an action; the resource itself takes GET, PUT and DELETE.
      if (c.req.query("action") === undefined) return methodNotAllowed();
      const { projectId, scope } = projectScope(c);
      const body = await readBody(c);
      const action = actionOf(c, urlType, scope);
      const inputType = typeDef(urlType).resourceActions?.[action]?.input;
      let input: Record<string, unknown> = {};
      if (inputType && TYPES[inputType]) {
        const sanitized = sanitize((TYPES[inputType] as (typeof TYPES)[string]).fields, body, "create");
        if (!sanitized.ok) throw ApiError.from(sanitized.error);
        input = sanitized.value;
      }
      const state = stateOf(c.env);
      const id = c.req.param("id");
      const record = unwrap(
        await withProcessLock((since) =>
          state.serviceAction(projectId, id, urlType, action, input, false, since),
        ),
      );
      return c.json(renderResource(scope, record), 202);
    });
    services.all(`/${segment}/:id`, methodNotAllowed);

    // The service's `instances` link: its containers, a collection like any other.
    services.get(`/${segment}/:id/instances`, async (c) => {
      const { projectId, scope } = projectScope(c);
      const id = c.req.param("id");
      const result = await stateOf(c.env).serviceInstances(projectId, id, kindsHere);
      if (!result.ok) throw new ApiError(404, "NotFound", `No ${urlType} with id ${id}`);
      const url = publicUrl(c);
      return c.json(
        renderCollection(
          result.value.map((record) => renderResource(scope, record)),
          {
            resourceType: "instance",
            type: INSTANCE,
            requestUrl: url,
            query: parseListQuery(INSTANCE, url.searchParams),
            createTypes: {},
          },
        ),
      );
    });
    services.all(`/${segment}/:id/instances`, methodNotAllowed);
  }
}
