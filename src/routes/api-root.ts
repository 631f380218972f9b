import { Hono } from "hono";
import type { AppEnv } from "../api/app-env";
import { notFound } from "../api/errors";
import { API_PREFIX, collection, publicOrigin } from "../api/resources";
import { schemaIds, schemaResource } from "../api/schemas";
import { managementAuth } from "../middleware/management-auth";

/** `/v1-webhooks` itself and its schemas. */
export const apiRoot = new Hono<AppEnv>()
  .get("/schemas", (c) => {
    const origin = publicOrigin(c);
    return c.json(
      collection(
        "schema",
        `${origin}${API_PREFIX}/schemas`,
        schemaIds().map((id) => schemaResource(origin, id)),
      ),
    );
  })
  .get("/schemas/:id", (c) => {
    const schema = schemaResource(publicOrigin(c), c.req.param("id"));
    if (!schema) throw notFound("schema");
    return c.json(schema);
  })
  .get("/", managementAuth(), (c) => {
    const origin = publicOrigin(c);
    const projectId = c.get("caller").projectId;
    return c.json({
      id: "v1-webhooks",
      type: "apiVersion",
      links: {
        self: `${origin}${API_PREFIX}?projectId=${projectId}`,
        receivers: `${origin}${API_PREFIX}/receivers?projectId=${projectId}`,
        schemas: `${origin}${API_PREFIX}/schemas`,
      },
      actions: {},
    });
  });
