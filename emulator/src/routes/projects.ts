import { Hono } from "hono";
import { roleIn } from "../auth";
import { notFound } from "../errors";
import { parseListQuery } from "../filters";
import { type AppEnv, methodNotAllowed, publicUrl, requestOrigin, stateOf } from "../http";
import { renderCollection, renderResource, type Scope } from "../render";
import { typeDef } from "../schemas";

/** `/v2-beta` itself and the projects (environments) a key belongs to. */
export const projects = new Hono<AppEnv>({ strict: false });

projects.get("/", (c) => {
  const origin = requestOrigin(c);
  const base = `${origin}/v2-beta`;
  return c.json({
    id: "v2-beta",
    type: "apiVersion",
    links: { self: base, projects: `${base}/projects`, schemas: `${base}/schemas` },
    actions: {},
  });
});
projects.all("/", methodNotAllowed);

function accountScope(origin: string, role: Scope["role"]): Scope {
  return { origin, base: `${origin}/v2-beta`, role };
}

projects.get("/projects", async (c) => {
  const principal = c.get("principal");
  const origin = requestOrigin(c);
  const records = await stateOf(c.env).projects(Object.keys(principal.projects));
  const rows = records.map((record) =>
    renderResource(accountScope(origin, roleIn(principal, record.id) ?? "readonly"), record),
  );
  const url = publicUrl(c);
  return c.json(
    renderCollection(rows, {
      resourceType: "project",
      type: typeDef("project"),
      requestUrl: url,
      query: parseListQuery(typeDef("project"), url.searchParams),
      createTypes: {},
    }),
  );
});
projects.all("/projects", methodNotAllowed);

projects.get("/projects/:pid", async (c) => {
  const pid = c.req.param("pid");
  const role = roleIn(c.get("principal"), pid);
  // A project the key is no member of is not shown to it at all.
  if (role === undefined) throw notFound(`No project ${pid}`);
  const [record] = await stateOf(c.env).projects([pid]);
  if (!record) throw notFound(`No project ${pid}`);
  return c.json(renderResource(accountScope(requestOrigin(c), role), record));
});
projects.all("/projects/:pid", methodNotAllowed);
