import type { FC } from "hono/jsx";
import type { ReceiverRecord } from "../domain/receiver";
import { driverOf } from "../drivers";
import type { Skipped } from "../receivers/import";
import { q } from "./components";

/** What an import from webhook-service did: the receivers it made, and what it left and why. */
export const ImportResult: FC<{ projectId: string; imported: ReceiverRecord[]; skipped: Skipped[] }> = ({
  projectId,
  imported,
  skipped,
}) => (
  <>
    <h1>Import from webhook-service</h1>
    <p>
      Receivers of Rancher's webhook-service in this environment become receivers here, with the same names
      and settings. Their original URLs keep working once they reach this service; the originals are left as
      they are. Importing again imports nothing twice.
    </p>
    <h2>Imported ({imported.length})</h2>
    {imported.length === 0 ? (
      <p class="muted">Nothing new to import.</p>
    ) : (
      <ul>
        {imported.map((record) => (
          <li>
            {record.name} <span class="muted">({driverOf(record).label})</span>
          </li>
        ))}
      </ul>
    )}
    <h2>Skipped ({skipped.length})</h2>
    {skipped.length === 0 ? (
      <p class="muted">None.</p>
    ) : (
      <ul>
        {skipped.map((item) => (
          <li>
            {item.name || item.genericObjectId}: {item.reason}
          </li>
        ))}
      </ul>
    )}
    <p>
      <a href={`/?${q(projectId)}`}>← Receiver Hooks</a>
    </p>
  </>
);
