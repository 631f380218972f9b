import { Hono } from "hono";
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
} from "../http";
import type { ResourceRecord, ResourceType } from "../model";
import { renderCollection, renderResource, type Scope } from "../render";
import { CONFIG_SUFFIX, collectionSegment, DRIVER_CONFIGS, typeDef } from "../schemas";
import { sanitize } from "../validation";
import { creation } from "./creation";

/**
 * Hosts (list, get, create, PUT), host templates (list, get, create) and external host events (list,
 * get, create) — what a scaleHost receiver calls. Validation follows gdapi (schema fields) and
 * Cattle's filters (MachineValidationFilter, HostTemplateValidationFilter); the world changes in one
 * call into the state object.
 */
export const hosts = new Hono<AppEnv>({ strict: false });

const TYPES_HERE: readonly ResourceType[] = ["host", "hostTemplate", "externalHostEvent"];

function unwrap(result: Result<ResourceRecord>): ResourceRecord {
  if (!result.ok) throw ApiError.from(result.error);
  return result.value;
}

/**
 * Cattle's MachineValidationFilter (v2-beta): more than one non-null `*Config` field, or none and no
 * `hostTemplateId`, is 422 DriverConfigExactlyOneRequired. It sees the request after gdapi dropped
 * the fields the schema does not know.
 */
function checkMachine(fields: Record<string, unknown>): void {
  const configs = DRIVER_CONFIGS.filter((name) => fields[name] !== undefined && fields[name] !== null);
  const template = fields.hostTemplateId !== undefined && fields.hostTemplateId !== null;
  if (configs.length > 1 || (configs.length === 0 && !template)) {
    throw new ApiError(
      422,
      "DriverConfigExactlyOneRequired",
      `Exactly one machine driver config (${DRIVER_CONFIGS.join(", ")}, …${CONFIG_SUFFIX}) or a hostTemplateId is required`,
    );
  }
}

async function create(
  c: AppContext,
  type: ResourceType,
  projectId: string,
  fields: Record<string, unknown>,
): Promise<Result<ResourceRecord>> {
  const state = stateOf(c.env);
  if (type === "host") {
    checkMachine(fields);
    return state.createHost(projectId, fields);
  }
  if (type === "hostTemplate") return state.createHostTemplate(projectId, fields);
  return state.createExternalHostEvent(projectId, fields);
}

const createTypes = (scope: Scope, type: ResourceType, segment: string): Record<string, string> =>
  scope.role === "owner" ? { [type]: `${scope.base}/${segment}` } : {};

for (const type of TYPES_HERE) {
  const definition = typeDef(type);
  const canonical = collectionSegment(definition);
  const segments = [...new Set([canonical, definition.pluralName])];

  for (const segment of segments) {
    hosts.get(`/${segment}`, async (c) => {
      const { projectId, scope } = projectScope(c);
      const records = await stateOf(c.env).list(projectId, [type]);
      const url = publicUrl(c);
      return c.json(
        renderCollection(
          records.map((record) => renderResource(scope, record)),
          {
            resourceType: type,
            type: definition,
            requestUrl: url,
            query: parseListQuery(definition, url.searchParams),
            createTypes: createTypes(scope, type, canonical),
          },
        ),
      );
    });

    hosts.post(`/${segment}`, async (c) => {
      const { projectId, scope, values } = await creation(c, definition.fields);
      const record = unwrap(await create(c, type, projectId, values));
      return c.json(renderResource(scope, record), 201);
    });
    hosts.all(`/${segment}`, methodNotAllowed);

    hosts.get(`/${segment}/:id`, async (c) => {
      const { projectId, scope } = projectScope(c);
      const record = await stateOf(c.env).get(projectId, c.req.param("id"), [type]);
      if (!record) throw new ApiError(404, "NotFound", `No ${type} with id ${c.req.param("id")}`);
      return c.json(renderResource(scope, record));
    });

    if (type === "host") {
      hosts.put(`/${segment}/:id`, async (c) => {
        const { projectId, scope } = projectScope(c);
        const body = await readBody(c);
        requireWritable(scope);
        const changes = sanitize(definition.fields, body, "update");
        if (!changes.ok) throw ApiError.from(changes.error);
        const record = unwrap(await stateOf(c.env).updateHost(projectId, c.req.param("id"), changes.value));
        return c.json(renderResource(scope, record));
      });
    }
    hosts.all(`/${segment}/:id`, methodNotAllowed);
  }
}
