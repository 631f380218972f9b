import { ApiError } from "../errors";
import { type AppContext, projectScope, readBody, requireWritable } from "../http";
import type { Scope } from "../render";
import type { FieldDef } from "../schemas";
import { sanitize } from "../validation";

/**
 * What a collection's POST checks before it creates, in Cattle's order: the body parses (400
 * InvalidBodyContent), no action is asked for (422 InvalidAction), the key may write (405), and the
 * fields are valid for a create (422, with defaults filled in).
 */
export async function creation(
  c: AppContext,
  fields: Readonly<Record<string, FieldDef>>,
): Promise<{ projectId: string; scope: Scope; values: Record<string, unknown> }> {
  const { projectId, scope } = projectScope(c);
  const body = await readBody(c);
  if (c.req.query("action") !== undefined) {
    throw new ApiError(422, "InvalidAction", `Unknown action ${c.req.query("action")}`, "action");
  }
  requireWritable(scope);
  const values = sanitize(fields, body, "create");
  if (!values.ok) throw ApiError.from(values.error);
  return { projectId, scope, values: values.value };
}
