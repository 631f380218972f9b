import { Hono } from "hono";
import { ApiError, type Result } from "../errors";
import { parseListQuery } from "../filters";
import {
  type AppEnv,
  methodNotAllowed,
  projectScope,
  publicUrl,
  readBody,
  requireWritable,
  stateOf,
} from "../http";
import type { ResourceRecord } from "../model";
import { renderCollection, renderResource } from "../render";
import { collectionSegment, typeDef } from "../schemas";
import { sanitize } from "../validation";
import { creation } from "./creation";

/**
 * Generic objects: free-form records Cattle keeps for other services. Rancher's webhook-service stored
 * its receivers as generic objects of kind `webhookReceiver` (docs/migrating.md), which is why a service
 * replacing it reads them here. Create, list (filters `kind`, `key`, `name`, …), get, PUT, DELETE.
 */
export const genericObjects = new Hono<AppEnv>({ strict: false });

const definition = typeDef("genericObject");
const canonical = collectionSegment(definition);

function unwrap(result: Result<ResourceRecord>): ResourceRecord {
  if (!result.ok) throw ApiError.from(result.error);
  return result.value;
}

for (const segment of [...new Set([canonical, definition.pluralName])]) {
  genericObjects.get(`/${segment}`, async (c) => {
    const { projectId, scope } = projectScope(c);
    const records = await stateOf(c.env).list(projectId, ["genericObject"]);
    const url = publicUrl(c);
    return c.json(
      renderCollection(
        records.map((record) => renderResource(scope, record)),
        {
          resourceType: "genericObject",
          type: definition,
          requestUrl: url,
          query: parseListQuery(definition, url.searchParams),
          createTypes: scope.role === "owner" ? { genericObject: `${scope.base}/${canonical}` } : {},
        },
      ),
    );
  });

  genericObjects.post(`/${segment}`, async (c) => {
    const { projectId, scope, values } = await creation(c, definition.fields);
    const record = unwrap(await stateOf(c.env).createGenericObject(projectId, values));
    return c.json(renderResource(scope, record), 201);
  });
  genericObjects.all(`/${segment}`, methodNotAllowed);

  genericObjects.get(`/${segment}/:id`, async (c) => {
    const { projectId, scope } = projectScope(c);
    const record = await stateOf(c.env).get(projectId, c.req.param("id"), ["genericObject"]);
    if (!record) throw new ApiError(404, "NotFound", `No genericObject with id ${c.req.param("id")}`);
    return c.json(renderResource(scope, record));
  });

  genericObjects.put(`/${segment}/:id`, async (c) => {
    const { projectId, scope } = projectScope(c);
    const body = await readBody(c);
    requireWritable(scope);
    const changes = sanitize(definition.fields, body, "update");
    if (!changes.ok) throw ApiError.from(changes.error);
    const record = unwrap(
      await stateOf(c.env).updateGenericObject(projectId, c.req.param("id"), changes.value),
    );
    return c.json(renderResource(scope, record));
  });

  genericObjects.delete(`/${segment}/:id`, async (c) => {
    const { projectId, scope } = projectScope(c);
    requireWritable(scope);
    const record = unwrap(await stateOf(c.env).removeGenericObject(projectId, c.req.param("id")));
    return c.json(renderResource(scope, record));
  });
  genericObjects.all(`/${segment}/:id`, methodNotAllowed);
}
