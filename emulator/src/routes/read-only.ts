import { Hono } from "hono";
import { ApiError } from "../errors";
import { parseListQuery } from "../filters";
import { type AppEnv, methodNotAllowed, projectScope, publicUrl, stateOf } from "../http";
import type { ResourceType } from "../model";
import { renderCollection, renderResource } from "../render";
import { collectionSegment, typeDef } from "../schemas";

/** Collections the emulator only lets clients read: stacks. */
export const readOnly = new Hono<AppEnv>({ strict: false });

const READ_ONLY_TYPES: readonly ResourceType[] = ["stack"];

for (const type of READ_ONLY_TYPES) {
  const definition = typeDef(type);
  const segment = collectionSegment(definition);

  readOnly.get(`/${segment}`, async (c) => {
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
          createTypes: {},
        },
      ),
    );
  });
  readOnly.all(`/${segment}`, methodNotAllowed);

  readOnly.get(`/${segment}/:id`, async (c) => {
    const { projectId, scope } = projectScope(c);
    const record = await stateOf(c.env).get(projectId, c.req.param("id"), [type]);
    if (!record) throw new ApiError(404, "NotFound", `No ${type} with id ${c.req.param("id")}`);
    return c.json(renderResource(scope, record));
  });
  readOnly.all(`/${segment}/:id`, methodNotAllowed);
}
