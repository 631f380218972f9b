import type { FC } from "hono/jsx";
import type { Execution } from "../domain/execution";
import type { ReceiverRecord } from "../domain/receiver";
import { q, When } from "./components";

export const History: FC<{ projectId: string; record: ReceiverRecord; executions: Execution[] }> = ({
  projectId,
  record,
  executions,
}) => (
  <>
    <h1>History: {record.name}</h1>
    <p>
      <a href={`/?${q(projectId)}`}>← Receiver Hooks</a>
    </p>
    {executions.length === 0 ? (
      <p>No executions yet.</p>
    ) : (
      <div class="table-wrap">
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Outcome</th>
              <th scope="col">Reason</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Sender</th>
              <th scope="col">Alert</th>
            </tr>
          </thead>
          <tbody>
            {executions.map((execution) => (
              <tr>
                <td class="nowrap" data-label="Time">
                  <When at={execution.at} />
                </td>
                <td class={`outcome-${execution.outcome}`} data-label="Outcome">
                  {execution.outcome}
                </td>
                <td class="free" data-label="Reason">
                  {execution.reason}
                </td>
                <td data-label="From">{execution.from ?? ""}</td>
                <td data-label="To">{execution.to ?? ""}</td>
                <td class="free" data-label="Sender">
                  {execution.sender ?? ""}
                </td>
                <td class="free" data-label="Alert">
                  {execution.alertName ? `${execution.alertName} (${execution.alertStatus ?? ""})` : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </>
);

export const ConfirmDelete: FC<{ projectId: string; record: ReceiverRecord }> = ({ projectId, record }) => (
  <>
    <h1>Delete {record.name}?</h1>
    <p>Its Trigger URL stops working at once, everywhere. This cannot be undone.</p>
    <form method="post" action={`/receivers/${record.id}/delete?${q(projectId)}`}>
      <button class="primary danger" type="submit">
        Delete
      </button>{" "}
      <a href={`/?${q(projectId)}`}>Cancel</a>
    </form>
  </>
);
