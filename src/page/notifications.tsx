import type { FC } from "hono/jsx";
import { OUTCOMES } from "../domain/execution";
import {
  type DeliveryRecord,
  type DestinationView,
  MAX_DESTINATIONS,
  NOTIFICATION_KINDS,
  NOTIFY_WINDOW_SECONDS,
  type TestResult,
} from "../domain/notifications";
import type { ReceiverRecord } from "../domain/receiver";
import { q, StackTable, When } from "./components";
import type { FieldErrors, FormValues } from "./form";
import {
  destinationRows,
  KIND_LABELS,
  kindLabel,
  NEW_ROW,
  OPENED_ON_INPUT,
  outcomeInput,
  WINDOW_INPUT,
} from "./notifications-form";

/** How often the delivery log reloads while a delivery it shows is pending. */
export const DELIVERIES_REFRESH_SECONDS = 5;

/** Whether the delivery log must refresh itself: some delivery it shows is still to be tried again. */
export const awaitsDelivery = (deliveries: readonly DeliveryRecord[]): boolean =>
  deliveries.some((delivery) => delivery.status === "pending");

export const notificationsPath = (projectId: string, record: Pick<ReceiverRecord, "id">) =>
  `/receivers/${record.id}/notifications?${q(projectId)}`;

export const testPath = (projectId: string, record: Pick<ReceiverRecord, "id">) =>
  `/receivers/${record.id}/notifications/test?${q(projectId)}`;

/** A destination as the page names it: its kind and its URL's hint (the URL itself is never shown). */
const Destination: FC<{ kind: string; urlHint?: string }> = ({ kind, urlHint }) => (
  <>
    {kindLabel(kind)}
    {urlHint ? (
      <>
        {" "}
        <code>{urlHint}</code>
      </>
    ) : null}
  </>
);

/** The webhook signing secrets a save made: shown on this answer only, each with a copy button. */
const Secrets: FC<{ secrets: Record<string, string>; destinations: readonly DestinationView[] }> = ({
  secrets,
  destinations,
}) => (
  <section class="secrets" aria-labelledby="secrets-heading">
    <h2 id="secrets-heading">Signing secrets</h2>
    <p>
      Put each secret into the app that receives the webhook, to check the <code>webhook-signature</code> of
      what it is sent. <strong>It will not be shown again</strong>: copy it now.
    </p>
    <dl>
      {Object.entries(secrets).map(([id, secret]) => {
        const destination = destinations.find((candidate) => candidate.id === id);
        return (
          <>
            <dt>
              <Destination kind={destination?.kind ?? "webhook"} urlHint={destination?.urlHint} />
            </dt>
            <dd class="secret" data-destination-id={id}>
              <code id={`secret-${id}`}>{secret}</code>
              <button
                type="button"
                data-copy={secret}
                aria-controls={`secret-${id}`}
                aria-label="Copy signing secret"
              >
                Copy
              </button>
            </dd>
          </>
        );
      })}
    </dl>
  </section>
);

/** What "Send a test" came to, destination by destination. */
const TestResults: FC<{ results: readonly TestResult[] }> = ({ results }) => (
  <section class="test-results" aria-labelledby="test-heading">
    <h2 id="test-heading">Test sent</h2>
    {results.length === 0 ? (
      <p>This receiver has no destinations: there was nothing to test.</p>
    ) : (
      <ul>
        {results.map((result) => (
          <li data-destination-id={result.destinationId}>
            <Destination kind={result.kind} urlHint={result.urlHint} />:{" "}
            <strong class={`delivery-${result.status}`}>{result.status}</strong>
            {result.httpStatus === undefined ? "" : ` (HTTP ${result.httpStatus})`}
            {result.error ? <span class="muted"> {result.error}</span> : null}
          </li>
        ))}
      </ul>
    )}
  </section>
);

/** The outcomes a destination is told of, as checkboxes: one group, its error under it. */
const Outcomes: FC<{ row: string; values: FormValues; errors: FieldErrors }> = ({ row, values, errors }) => {
  const id = `${row}.on`;
  const error = errors[id];
  return (
    <fieldset
      class="outcomes"
      id={id}
      aria-describedby={error ? `error-${id}` : undefined}
      aria-invalid={error ? "true" : undefined}
    >
      <legend>Outcomes</legend>
      <div class="choices">
        {OUTCOMES.map((outcome) => (
          <label>
            <input
              type="checkbox"
              name={outcomeInput(row, outcome)}
              checked={values[outcomeInput(row, outcome)] === "on"}
            />
            <span>{outcome}</span>
          </label>
        ))}
      </div>
      {error ? (
        <p class="field-error" id={`error-${id}`}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
};

/** A text input with its label, hint and error, as Add Receiver's fields are. */
const UrlField: FC<{ id: string; label: string; hint: string; values: FormValues; errors: FieldErrors }> = ({
  id,
  label,
  hint,
  values,
  errors,
}) => {
  const error = errors[id];
  const describedBy = [error ? `error-${id}` : "", `hint-${id}`].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={id}
        type="url"
        inputmode="url"
        autocomplete="off"
        spellcheck={false}
        value={values[id]}
        aria-describedby={describedBy}
        aria-invalid={error ? "true" : undefined}
      />
      <p class="hint" id={`hint-${id}`}>
        {hint}
      </p>
      {error ? (
        <p class="field-error" id={`error-${id}`}>
          {error}
        </p>
      ) : null}
    </div>
  );
};

/** The form's row for one of the receiver's destinations: a new URL, its outcomes, or Remove. */
const DestinationRow: FC<{
  row: string;
  values: FormValues;
  errors: FieldErrors;
  hints: ReadonlyMap<string, string>;
}> = ({ row, values, errors, hints }) => {
  const id = values[`${row}.id`] ?? "";
  const kind = values[`${row}.kind`] ?? "";
  const hint = hints.get(id);
  return (
    <fieldset class="destination" data-destination-id={id}>
      <legend>
        <Destination kind={kind} urlHint={hint} />
      </legend>
      <input type="hidden" name={`${row}.id`} value={id} />
      <input type="hidden" name={`${row}.kind`} value={kind} />
      {errors[row] ? <p class="field-error">{errors[row]}</p> : null}
      <UrlField
        id={`${row}.url`}
        label="New URL"
        hint={`Leave empty to keep the URL it has${hint ? ` (${hint})` : ""}: a URL is never shown again.`}
        values={values}
        errors={errors}
      />
      <Outcomes row={row} values={values} errors={errors} />
      <div class="field checkbox">
        <label>
          <input type="checkbox" name={`${row}.remove`} checked={values[`${row}.remove`] === "on"} />
          <span>Remove this destination</span>
        </label>
      </div>
    </fieldset>
  );
};

const NewDestination: FC<{ values: FormValues; errors: FieldErrors }> = ({ values, errors }) => {
  const kindId = `${NEW_ROW}.kind`;
  return (
    <fieldset class="destination new">
      <legend>Add a destination</legend>
      {errors[NEW_ROW] ? <p class="field-error">{errors[NEW_ROW]}</p> : null}
      <div class="field">
        <label for={kindId}>Kind</label>
        <select id={kindId} name={kindId}>
          {NOTIFICATION_KINDS.map((kind) => (
            <option value={kind} selected={values[kindId] === kind}>
              {KIND_LABELS[kind]}
            </option>
          ))}
        </select>
      </div>
      <UrlField
        id={`${NEW_ROW}.url`}
        label="URL"
        hint="https:, or http: to a loopback address for development. Leave empty to add none."
        values={values}
        errors={errors}
      />
      <Outcomes row={NEW_ROW} values={values} errors={errors} />
    </fieldset>
  );
};

const EditForm: FC<{
  projectId: string;
  record: ReceiverRecord;
  values: FormValues;
  errors: FieldErrors;
  problem?: string;
}> = ({ projectId, record, values, errors, problem }) => {
  const rows = destinationRows(values);
  const hints = new Map(
    (record.notifications ?? []).map((destination) => [destination.id, destination.urlHint]),
  );
  const windowError = errors[WINDOW_INPUT];
  return (
    <section aria-labelledby="edit-heading">
      <h2 id="edit-heading">Change notifications</h2>
      {problem ? <p class="alert">{problem}</p> : null}
      <form
        class="receiver notifications"
        method="post"
        action={notificationsPath(projectId, record)}
        novalidate
      >
        <input type="hidden" name={OPENED_ON_INPUT} value={values[OPENED_ON_INPUT]} />
        {rows.map((row) => (
          <DestinationRow row={row} values={values} errors={errors} hints={hints} />
        ))}
        {rows.length < MAX_DESTINATIONS ? (
          <NewDestination values={values} errors={errors} />
        ) : (
          <p class="hint">
            A receiver has at most {MAX_DESTINATIONS} destinations: remove one to add another.
          </p>
        )}
        <div class="field">
          <label for={WINDOW_INPUT}>Window (seconds)</label>
          <input
            id={WINDOW_INPUT}
            name={WINDOW_INPUT}
            type="number"
            inputmode="numeric"
            min={NOTIFY_WINDOW_SECONDS.min}
            max={NOTIFY_WINDOW_SECONDS.max}
            value={values[WINDOW_INPUT]}
            aria-describedby={[windowError ? `error-${WINDOW_INPUT}` : "", `hint-${WINDOW_INPUT}`]
              .filter(Boolean)
              .join(" ")}
            aria-invalid={windowError ? "true" : undefined}
          />
          <p class="hint" id={`hint-${WINDOW_INPUT}`}>
            Executions decided within this many seconds go out as one message to each destination (
            {NOTIFY_WINDOW_SECONDS.min}–{NOTIFY_WINDOW_SECONDS.max}).
          </p>
          {windowError ? (
            <p class="field-error" id={`error-${WINDOW_INPUT}`}>
              {windowError}
            </p>
          ) : null}
        </div>
        <div class="actions">
          <button class="primary" type="submit">
            Save notifications
          </button>
          <a href={notificationsPath(projectId, record)}>Cancel</a>
        </div>
      </form>
    </section>
  );
};

const DeliveryLog: FC<{
  projectId: string;
  record: ReceiverRecord;
  deliveries: readonly DeliveryRecord[];
}> = ({ projectId, record, deliveries }) => {
  const live = awaitsDelivery(deliveries);
  const self = notificationsPath(projectId, record);
  return (
    // The region the page's script replaces while a delivery is pending (data-refresh-ms), fetched
    // from the view itself: this document may be the answer to a post (a save, a test).
    <section
      id="deliveries"
      aria-labelledby="deliveries-heading"
      data-refresh-ms={live ? String(DELIVERIES_REFRESH_SECONDS * 1000) : undefined}
      data-refresh-from={live ? self : undefined}
    >
      <h2 id="deliveries-heading">Delivery log</h2>
      {live ? (
        <p class="refreshing muted">
          A delivery is pending: this log refreshes every {DELIVERIES_REFRESH_SECONDS} seconds until none is.{" "}
          <a href={self}>Refresh now</a>
        </p>
      ) : null}
      {deliveries.length === 0 ? (
        <p>No deliveries yet.</p>
      ) : (
        <StackTable
          columns={["Time", "Destination", "Status", "Attempts", "Summary", "Last error", "Next attempt"]}
        >
          {deliveries.map((delivery) => (
            <tr data-message-id={delivery.messageId} data-destination-id={delivery.destinationId}>
              <td class="nowrap" data-label="Time">
                <When at={delivery.created} />
              </td>
              <td class="free" data-label="Destination">
                <Destination kind={delivery.kind} urlHint={delivery.urlHint} />
              </td>
              <td class={`delivery-${delivery.status}`} data-label="Status">
                {delivery.status}
              </td>
              <td data-label="Attempts">{delivery.attempts}</td>
              <td class="free" data-label="Summary">
                {delivery.summary}
              </td>
              <td class="free" data-label="Last error">
                {delivery.lastError ?? ""}
              </td>
              <td class="nowrap" data-label="Next attempt">
                {delivery.status === "pending" && delivery.nextAttempt !== undefined ? (
                  <When at={delivery.nextAttempt} />
                ) : (
                  ""
                )}
              </td>
            </tr>
          ))}
        </StackTable>
      )}
    </section>
  );
};

export interface NotificationsProps {
  projectId: string;
  record: ReceiverRecord;
  deliveries: readonly DeliveryRecord[];
  canWrite: boolean;
  values: FormValues;
  errors: FieldErrors;
  problem?: string;
  status?: string;
  /** Webhook signing secrets the save being answered made, by destination id. */
  secrets?: Record<string, string>;
  /** What the test being answered came to. */
  results?: readonly TestResult[];
}

/**
 * A receiver's notifications (docs/page.md): where its messages go and for which outcomes, its
 * window, the latest deliveries newest first, and for a key that may change receivers the form
 * that changes them and "Send a test".
 */
export const Notifications: FC<NotificationsProps> = ({
  projectId,
  record,
  deliveries,
  canWrite,
  values,
  errors,
  problem,
  status,
  secrets,
  results,
}) => {
  const destinations = record.notifications ?? [];
  const window = record.notifyWindowSeconds ?? NOTIFY_WINDOW_SECONDS.default;
  return (
    <>
      <h1>Notifications: {record.name}</h1>
      <p class="links">
        <a href={`/?${q(projectId)}`}>← Receiver Hooks</a>
        <a href={`/receivers/${record.id}/history?${q(projectId)}`}>History</a>
      </p>
      {status ? <p role="status">{status}</p> : null}
      {secrets && Object.keys(secrets).length > 0 ? (
        <Secrets secrets={secrets} destinations={destinations} />
      ) : null}
      {results ? <TestResults results={results} /> : null}
      <section aria-labelledby="destinations-heading">
        <h2 id="destinations-heading">Destinations</h2>
        {destinations.length === 0 ? (
          <p>No destinations: this receiver tells no one what it did.</p>
        ) : (
          <>
            <StackTable columns={["Kind", "URL", "Outcomes"]}>
              {destinations.map((destination) => (
                <tr data-destination-id={destination.id}>
                  <td data-label="Kind">{kindLabel(destination.kind)}</td>
                  <td class="free" data-label="URL">
                    <code>{destination.urlHint}</code>
                  </td>
                  <td class="free" data-label="Outcomes">
                    {destination.on.join(", ")}
                  </td>
                </tr>
              ))}
            </StackTable>
            <p>
              Executions decided within {window} {window === 1 ? "second" : "seconds"} go out as one message
              to each destination.
            </p>
            {canWrite ? (
              <form method="post" action={testPath(projectId, record)}>
                <button type="submit">Send a test</button>
              </form>
            ) : null}
          </>
        )}
      </section>
      <DeliveryLog projectId={projectId} record={record} deliveries={deliveries} />
      {canWrite ? (
        <EditForm projectId={projectId} record={record} values={values} errors={errors} problem={problem} />
      ) : (
        <p class="muted">Read-only: this API key can see notifications but not change or test them.</p>
      )}
    </>
  );
};
