import { Hono } from "hono";
import { notFound } from "../errors";
import { type AppEnv, methodNotAllowed, projectScope, publicUrl } from "../http";
import { findSchemaName, renderSchema, schemaNames } from "../schemas";

/** Schemas as the requesting key sees them in its project. */
export const schemas = new Hono<AppEnv>({ strict: false });

schemas.get("/schemas", (c) => {
  const { scope } = projectScope(c);
  const url = publicUrl(c);
  const schemasUrl = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  return c.json({
    type: "collection",
    resourceType: "schema",
    links: { self: schemasUrl },
    createTypes: {},
    actions: {},
    data: schemaNames().map((name) => renderSchema(name, scope.role, schemasUrl, scope.base)),
    sortLinks: {},
    pagination: null,
    sort: null,
    filters: {},
    createDefaults: {},
  });
});
schemas.all("/schemas", methodNotAllowed);

schemas.get("/schemas/:name", (c) => {
  const { scope } = projectScope(c);
  const name = findSchemaName(c.req.param("name"));
  if (!name) throw notFound(`No schema ${c.req.param("name")}`);
  return c.json(renderSchema(name, scope.role, `${scope.base}/schemas`, scope.base));
});
schemas.all("/schemas/:name", methodNotAllowed);
