import type { FC } from "hono/jsx";
import { isoDate } from "../domain/ids";

/** The `projectId=` query of every page link. */
export const q = (projectId: string) => `projectId=${encodeURIComponent(projectId)}`;

export const When: FC<{ at: number }> = ({ at }) => (
  <time class="muted" datetime={isoDate(at)}>
    {isoDate(at).replace("T", " ").replace("Z", " UTC")}
  </time>
);
