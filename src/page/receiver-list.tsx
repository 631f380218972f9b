import type { FC } from "hono/jsx";
import type { Execution } from "../domain/execution";
import type { ReceiverRecord } from "../domain/receiver";
import { driverOf } from "../drivers";
import { q, StackTable, When } from "./components";
import { confirmations } from "./history";

export interface ReceiverRow {
  record: ReceiverRecord;
  /** Absent for a caller who may not use it (a read-only key). */
  url?: string;
  last?: Execution;
}

/** How the page names each sender verification scheme. */
const SENDER_LABELS: Record<string, string> = {
  bearer: "bearer token",
  basic: "Basic credentials",
  github: "GitHub signature (X-Hub-Signature-256)",
  grafana: "Grafana signature",
  standardWebhooks: "Standard Webhooks signature",
};

const Last: FC<{ execution?: Execution }> = ({ execution }) =>
  execution ? (
    <span>
      <span class={`outcome-${execution.outcome}`}>{execution.outcome}</span>
      {execution.from !== undefined && execution.to !== undefined
        ? ` ${execution.from} → ${execution.to}`
        : ""}
      <br />
      <When at={execution.at} />
    </span>
  ) : (
    <span class="muted">never</span>
  );

export const ReceiverList: FC<{
  projectId: string;
  rows: ReceiverRow[];
  /** Names of the environment's services, to describe receivers in words. */
  services: ReadonlyMap<string, string>;
  canWrite: boolean;
  status?: string;
  nextPage?: string;
}> = ({ projectId, rows, services, canWrite, status, nextPage }) => (
  <>
    <div class="toolbar">
      <h1>Receiver Hooks</h1>
      {canWrite ? (
        <div class="options">
          <a class="button primary" href={`/receivers/new?${q(projectId)}`}>
            Add Receiver
          </a>
          <form method="post" action={`/receivers/import?${q(projectId)}`}>
            <button type="submit">Import from webhook-service</button>
          </form>
        </div>
      ) : (
        <p class="muted">Read-only: this API key can see receivers but not change them.</p>
      )}
    </div>
    {status ? <p role="status">{status}</p> : null}
    {rows.length === 0 ? (
      <p>No receiver hooks yet{canWrite ? ": add one to get a Trigger URL." : "."}</p>
    ) : (
      <StackTable columns={["State", "Name", "Kind", "Detail", "Trigger URL", "Last execution", "Options"]}>
        {rows.map(({ record, url, last }) => {
          const base = `/receivers/${record.id}`;
          const ask = confirmations(projectId, record);
          return (
            <tr data-receiver-id={record.id} id={`receiver-${record.id}`}>
              <td data-label="State">
                <span class="state">Active</span>
              </td>
              <td class="free name" data-label="Name">
                <span class="receiver-name">{record.name}</span>
              </td>
              <td data-label="Kind">{driverOf(record).label}</td>
              <td class="free" data-label="Detail">
                {driverOf(record).describe(record.config as never, { services })}
                {record.senderVerification ? (
                  <>
                    <br />
                    <span class="muted">
                      Sender check:{" "}
                      {SENDER_LABELS[record.senderVerification.scheme] ?? record.senderVerification.scheme}
                      {record.senderVerification.header ? ` (${record.senderVerification.header})` : ""}
                    </span>
                  </>
                ) : null}
              </td>
              <td data-label="Trigger URL">
                {url ? (
                  <div class="url">
                    <code id={`url-${record.id}`} title={url}>
                      {url}
                    </code>
                    <button
                      type="button"
                      data-copy={url}
                      aria-controls={`url-${record.id}`}
                      aria-label="Copy Trigger URL"
                    >
                      Copy
                    </button>
                  </div>
                ) : (
                  <span class="muted">hidden</span>
                )}
              </td>
              <td data-label="Last execution">
                <Last execution={last} />
              </td>
              <td data-label="Options">
                <div class="options">
                  {canWrite ? (
                    <>
                      <a class="button" href={`/receivers/new?${q(projectId)}&clone=${record.id}`}>
                        Clone
                      </a>
                      {/* Each asks first: with JavaScript by confirm(), without it on a page of
                          its own (the link's target), whose button posts. */}
                      <a class="button" href={ask.regenerate.postTo} data-confirm={ask.regenerate.question}>
                        Regenerate URL
                      </a>
                      <a class="button danger" href={ask.delete.postTo} data-confirm={ask.delete.question}>
                        Delete
                      </a>
                    </>
                  ) : null}
                  <a class="button" href={`${base}/history?${q(projectId)}`}>
                    History
                  </a>
                  <a class="button" href={`${base}/notifications?${q(projectId)}`}>
                    Notifications
                  </a>
                </div>
              </td>
            </tr>
          );
        })}
      </StackTable>
    )}
    {nextPage ? (
      <p>
        <a href={nextPage}>Next page</a>
      </p>
    ) : null}
  </>
);
