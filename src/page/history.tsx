import type { FC } from "hono/jsx";
import {
  continuesAfterAnswer,
  type Execution,
  OUTCOMES,
  type Outcome,
  type UpgradeProgress,
  type UpgradeStep,
} from "../domain/execution";
import type { ReceiverRecord } from "../domain/receiver";
import { q, StackTable, When } from "./components";

/** How often History reloads while an execution it shows is queued or pending. */
export const HISTORY_REFRESH_SECONDS = 5;

/** Whether History must refresh itself: some execution it shows has not ended yet. */
export const awaitsOutcome = (executions: readonly Execution[]): boolean =>
  executions.some((execution) => continuesAfterAnswer(execution.outcome));

/**
 * A sender's User-Agent in few words: its first product ("Alertmanager/0.25.0" of
 * "Alertmanager/0.25.0 (+https://…) Go-http-client/1.1"). The whole one stays in the cell's title.
 */
export const shortUserAgent = (userAgent: string): string => userAgent.trim().split(/\s+/)[0] ?? userAgent;

const Sender: FC<{ userAgent?: string }> = ({ userAgent }) => {
  if (!userAgent) return null;
  const short = shortUserAgent(userAgent);
  return <span title={short === userAgent ? undefined : userAgent}>{short}</span>;
};

/** Steps that say an upgrade went wrong: shown as a problem, as a failed outcome is. */
const PROBLEM_STEPS: ReadonlySet<UpgradeStep> = new Set(["rolling back", "rolled back", "failed"]);

/**
 * One service's upgrade within a push's execution (docs/page.md): the service, the image it leaves
 * and the one it moves to, each step with when it started, and why it ended as it did. While the
 * execution goes on, its last step is where the upgrade is now.
 */
const Upgrade: FC<{ upgrade: UpgradeProgress; live: boolean }> = ({ upgrade, live }) => {
  const last = upgrade.steps.at(-1);
  const troubled = last !== undefined && PROBLEM_STEPS.has(last.step);
  return (
    <li class="upgrade">
      <p>
        <strong>{upgrade.serviceName}</strong> <span class="muted">({upgrade.serviceId})</span>
      </p>
      <p class="images">
        {upgrade.previousImage ? (
          <>
            <code>{upgrade.previousImage}</code> →{" "}
          </>
        ) : (
          "→ "
        )}
        <code>{upgrade.image}</code>
      </p>
      <ol class="steps">
        {upgrade.steps.map(({ step, at }, index) => {
          const current = live && index === upgrade.steps.length - 1;
          const classes = [PROBLEM_STEPS.has(step) ? "problem" : "", current ? "current" : ""].filter(
            Boolean,
          );
          return (
            <li
              class={classes.length > 0 ? classes.join(" ") : undefined}
              aria-current={current ? "step" : undefined}
            >
              <span class="step">{step}</span> <When at={at} />
              {current ? <span class="now">now</span> : null}
            </li>
          );
        })}
      </ol>
      {upgrade.message ? (
        <p class={troubled ? "message problem" : "message muted"}>{upgrade.message}</p>
      ) : null}
    </li>
  );
};

const OutcomeFilter: FC<{ projectId: string; record: ReceiverRecord; outcome?: Outcome }> = ({
  projectId,
  record,
  outcome,
}) => (
  <form class="filter" method="get" action={`/receivers/${record.id}/history`}>
    <input type="hidden" name="projectId" value={projectId} />
    <label for="outcome">Outcome</label>
    <select id="outcome" name="outcome" data-autosubmit>
      <option value="" selected={outcome === undefined}>
        All outcomes
      </option>
      {OUTCOMES.map((each) => (
        <option value={each} selected={each === outcome}>
          {each}
        </option>
      ))}
    </select>
    <button type="submit">Filter</button>
  </form>
);

export const History: FC<{
  projectId: string;
  record: ReceiverRecord;
  executions: Execution[];
  /** Only executions with this outcome are shown. */
  outcome?: Outcome;
}> = ({ projectId, record, executions, outcome }) => {
  const live = awaitsOutcome(executions);
  const historyUrl = `/receivers/${record.id}/history?${q(projectId)}${outcome ? `&outcome=${outcome}` : ""}`;
  return (
    <>
      <h1>History: {record.name}</h1>
      <p class="links">
        <a href={`/?${q(projectId)}`}>← Receiver Hooks</a>
        <a href={`/receivers/${record.id}/notifications?${q(projectId)}`}>Notifications</a>
      </p>
      <OutcomeFilter projectId={projectId} record={record} outcome={outcome} />
      {/* The region the page's script replaces when it refreshes: it asks again while the region
          says so (data-refresh-ms), which it does only while an execution it shows is unfinished. */}
      <section
        id="history"
        aria-label="Executions"
        data-refresh-ms={live ? String(HISTORY_REFRESH_SECONDS * 1000) : undefined}
      >
        {live ? (
          <p class="refreshing muted">
            An execution is still queued or pending: this list refreshes every {HISTORY_REFRESH_SECONDS}{" "}
            seconds until none is. <a href={historyUrl}>Refresh now</a>
          </p>
        ) : null}
        {executions.length === 0 ? (
          <p>{outcome ? `No executions with the outcome ${outcome}.` : "No executions yet."}</p>
        ) : (
          <StackTable columns={["Time", "Outcome", "Reason", "From", "To", "Sender", "Alert"]}>
            {executions.map((execution) => (
              <tr data-execution-id={execution.id}>
                <td class="nowrap" data-label="Time">
                  <When at={execution.at} />
                </td>
                <td class={`outcome-${execution.outcome}`} data-label="Outcome">
                  {execution.outcome}
                </td>
                <td class="free" data-label="Reason">
                  {execution.reason}
                  {execution.upgrades && execution.upgrades.length > 0 ? (
                    <ul class="upgrades" aria-label="Upgrades">
                      {execution.upgrades.map((upgrade) => (
                        <Upgrade upgrade={upgrade} live={continuesAfterAnswer(execution.outcome)} />
                      ))}
                    </ul>
                  ) : null}
                </td>
                <td data-label="From">{execution.from ?? ""}</td>
                <td data-label="To">{execution.to ?? ""}</td>
                <td class="free" data-label="Sender">
                  <Sender userAgent={execution.sender} />
                </td>
                <td class="free" data-label="Alert">
                  {execution.alertName ? `${execution.alertName} (${execution.alertStatus ?? ""})` : ""}
                </td>
              </tr>
            ))}
          </StackTable>
        )}
      </section>
    </>
  );
};

/** What a confirmation page asks before a change that cannot be taken back. */
export interface Confirmation {
  heading: string;
  consequence: string;
  /** The button that does it, and where it posts. */
  action: string;
  postTo: string;
  cancelTo: string;
}

/** Asks before Delete or Regenerate URL, for a browser without JavaScript (with it, `confirm()` asks). */
export const Confirm: FC<{ confirmation: Confirmation }> = ({ confirmation }) => (
  <>
    <h1>{confirmation.heading}</h1>
    <p>{confirmation.consequence}</p>
    <form class="actions" method="post" action={confirmation.postTo}>
      <button class="primary danger" type="submit">
        {confirmation.action}
      </button>
      <a href={confirmation.cancelTo}>Cancel</a>
    </form>
  </>
);

/** The confirmations of a receiver's row options, the same words with and without JavaScript. */
export const confirmations = (projectId: string, record: ReceiverRecord) => {
  const base = `/receivers/${record.id}`;
  const cancelTo = `/?${q(projectId)}`;
  return {
    delete: {
      heading: `Delete ${record.name}?`,
      consequence: "Its Trigger URL stops working at once, everywhere. This cannot be undone.",
      question: `Delete the receiver "${record.name}"? Its Trigger URL stops working at once.`,
      action: "Delete",
      postTo: `${base}/delete?${q(projectId)}`,
      cancelTo,
    },
    regenerate: {
      heading: `Regenerate the Trigger URL of ${record.name}?`,
      consequence:
        "The old Trigger URL stops working at once, everywhere: every sender that uses it must be given the new one. This cannot be undone.",
      question: `Regenerate the Trigger URL of "${record.name}"? The old URL stops working at once.`,
      action: "Regenerate URL",
      postTo: `${base}/regenerate?${q(projectId)}`,
      cancelTo,
    },
  } satisfies Record<string, Confirmation & { question: string }>;
};
