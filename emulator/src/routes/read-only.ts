import { Hono } from "hono";
import { ApiError } from "../errors";
import { parseListQuery } from "../filters";
import { type AppEnv, methodNotAllowed, projectScope, publicUrl, stateOf } from "../http";
import type { ResourceType } from "../model";
import { renderCollection, renderResource } from "../render";
import { collectionSegment, TYPES, type TypeDef, typeDef } from "../schemas";

/**
 * Collections the emulator only lets clients read: stacks, and containers — under `/containers` and,
 * as Cattle also lists them, `/instances` (emulator/README.md, Containers).
 */
export const readOnly = new Hono<AppEnv>({ strict: false });

const READ_ONLY: readonly { type: ResourceType; definition: TypeDef }[] = [
  { type: "stack", definition: typeDef("stack") },
  { type: "container", definition: typeDef("container") },
  { type: "container", definition: TYPES.instance as TypeDef },
];

for (const { type, definition } of READ_ONLY) {
  const segment = collectionSegment(definition);

  readOnly.get(`/${segment}`, async (c) => {
    const { projectId, scope } = projectScope(c);
    const records = await stateOf(c.env).list(projectId, [type]);
    const url = publicUrl(c);
    return c.json(
      renderCollection(
        records.map((record) => renderResource(scope, record)),
        {
          resourceType: definition.id,
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
    if (!record) throw new ApiError(404, "NotFound", `No ${definition.id} with id ${c.req.param("id")}`);
    return c.json(renderResource(scope, record));
  });
  readOnly.all(`/${segment}/:id`, methodNotAllowed);
}
