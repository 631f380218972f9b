import type { FC, PropsWithChildren } from "hono/jsx";
import { isoDate } from "../domain/ids";

/** The `projectId=` query of every page link. */
export const q = (projectId: string) => `projectId=${encodeURIComponent(projectId)}`;

export const When: FC<{ at: number }> = ({ at }) => (
  <time class="muted" datetime={isoDate(at)}>
    {isoDate(at).replace("T", " ").replace("Z", " UTC")}
  </time>
);

/**
 * A table whose rows stack their cells on a narrow screen (the `table.stack` rules of assets.ts),
 * each cell then named by its `data-label`: the rows' cells carry these `columns`, in this order.
 */
export const StackTable: FC<PropsWithChildren<{ columns: string[] }>> = ({ columns, children }) => (
  <div class="table-wrap">
    <table class="stack">
      <thead>
        <tr>
          {columns.map((column) => (
            <th scope="col">{column}</th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  </div>
);
