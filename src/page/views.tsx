import type { FC } from "hono/jsx";
import { isoDate } from "../api/ids";
import type { Execution } from "../objects/target-types";
import type { ReceiverRecord } from "../receivers/store";
import type { FieldErrors, FormValues } from "./form";

export const KIND_LABELS: Record<string, string> = {
  scaleService: "Scale a Service",
  scaleHost: "Scale the number of Hosts",
  serviceUpgrade: "Upgrade a Service",
};

const FORMAT_LABELS: Record<string, string> = {
  dockerhub: "Docker Hub",
  quay: "Quay",
  acr: "Azure Container Registry",
  alicloud: "Alibaba Cloud Container Registry",
  ghcr: "GitHub Packages (ghcr.io)",
};

export interface ReceiverRow {
  record: ReceiverRecord;
  /** Absent for a caller who may not use it (a read-only key). */
  url?: string;
  serviceName?: string;
  last?: Execution;
}

const q = (projectId: string) => `projectId=${encodeURIComponent(projectId)}`;

const SENDER_OPTIONS: [string, string][] = [
  ["", "None"],
  ["bearer", "Bearer token"],
  ["basic", "Basic credentials"],
  ["github", "GitHub signature (X-Hub-Signature-256)"],
  ["grafana", "Grafana HMAC signature"],
  ["standardWebhooks", "Standard Webhooks signature"],
];

/** How the page names each sender verification scheme. */
const SENDER_LABELS: Record<string, string> = {
  bearer: "bearer token",
  basic: "Basic credentials",
  github: "GitHub signature (X-Hub-Signature-256)",
  grafana: "Grafana signature",
  standardWebhooks: "Standard Webhooks signature",
};

export function describeConfig(record: ReceiverRecord, serviceName?: string): string {
  if (record.driver === "scaleHost") {
    const { config } = record;
    const labels = Object.entries(config.hostSelector)
      .map(([key, value]) => (value === "" ? key : `${key}=${value}`))
      .join(", ");
    let text = `hosts ${labels} ${config.action} by ${config.amount} (min ${config.min}, max ${config.max})`;
    if (config.hostTemplateId) text += `, from template ${config.hostTemplateId}`;
    if (config.action === "down" || config.onResolved === "reverse")
      text += `, removing ${config.deleteOption === "mostRecent" ? "newest" : "oldest"} first`;
    if (config.cooldownSeconds > 0) text += `, cooldown ${config.cooldownSeconds} s`;
    if (config.onResolved === "reverse") text += ", reversed when resolved";
    return text;
  }
  if (record.driver === "serviceUpgrade") {
    const { config } = record;
    const labels = Object.entries(config.serviceSelector)
      .map(([key, value]) => (value === "" ? key : `${key}=${value}`))
      .join(", ");
    return `services ${labels} on ${FORMAT_LABELS[config.payloadFormat] ?? config.payloadFormat} pushes of tag ${config.tag}, ${config.batchSize} at a time every ${config.intervalMillis} ms`;
  }
  const { config } = record;
  let text = `${serviceName ?? config.serviceId} ${config.action} by ${config.amount} (min ${config.min}, max ${config.max})`;
  if (config.cooldownSeconds > 0) text += `, cooldown ${config.cooldownSeconds} s`;
  if (config.onResolved === "reverse") text += ", reversed when resolved";
  return text;
}

const When: FC<{ at: number }> = ({ at }) => (
  <time class="muted" datetime={isoDate(at)}>
    {isoDate(at).replace("T", " ").replace("Z", " UTC")}
  </time>
);

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
  canWrite: boolean;
  status?: string;
  nextPage?: string;
}> = ({ projectId, rows, canWrite, status, nextPage }) => (
  <>
    <div class="toolbar">
      <h1>Receiver Hooks</h1>
      {canWrite ? (
        <a class="button primary" href={`/receivers/new?${q(projectId)}`}>
          Add Receiver
        </a>
      ) : (
        <p class="muted">Read-only: this API key can see receivers but not change them.</p>
      )}
    </div>
    {status ? <p role="status">{status}</p> : null}
    {rows.length === 0 ? (
      <p>No receiver hooks yet{canWrite ? ": add one to get a Trigger URL." : "."}</p>
    ) : (
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Detail</th>
              <th scope="col">Trigger URL</th>
              <th scope="col">Last execution</th>
              <th scope="col">Options</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ record, url, serviceName, last }) => {
              const base = `/receivers/${record.id}`;
              return (
                <tr data-receiver-id={record.id} id={`receiver-${record.id}`}>
                  <td>
                    <span class="state">Active</span>
                  </td>
                  <td class="nowrap">{record.name}</td>
                  <td class="nowrap">{KIND_LABELS[record.driver] ?? record.driver}</td>
                  <td>
                    {describeConfig(record, serviceName)}
                    {record.senderVerification ? (
                      <>
                        <br />
                        <span class="muted">
                          Sender check:{" "}
                          {SENDER_LABELS[record.senderVerification.scheme] ??
                            record.senderVerification.scheme}
                        </span>
                      </>
                    ) : null}
                  </td>
                  <td>
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
                  <td>
                    <Last execution={last} />
                  </td>
                  <td>
                    <div class="options">
                      {canWrite ? (
                        <>
                          <a class="button" href={`/receivers/new?${q(projectId)}&clone=${record.id}`}>
                            Clone
                          </a>
                          <form method="post" action={`${base}/regenerate?${q(projectId)}`}>
                            <button type="submit">Regenerate URL</button>
                          </form>
                          <a
                            class="button danger"
                            href={`${base}/delete?${q(projectId)}`}
                            data-confirm={`Delete the receiver "${record.name}"? Its Trigger URL stops working at once.`}
                          >
                            Delete
                          </a>
                        </>
                      ) : null}
                      <a class="button" href={`${base}/history?${q(projectId)}`}>
                        History
                      </a>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    )}
    {nextPage ? (
      <p>
        <a href={nextPage}>Next page</a>
      </p>
    ) : null}
  </>
);

interface FieldProps {
  id: keyof FormValues;
  label: string;
  errors: FieldErrors;
  hint?: string;
}

/** One labelled control with its error next to it, tied together for assistive technology. */
const Field: FC<FieldProps & { children: (described: Record<string, string>) => unknown }> = ({
  id,
  label,
  errors,
  hint,
  children,
}) => {
  const error = errors[id];
  const describedBy = [error ? `error-${id}` : "", hint ? `hint-${id}` : ""].filter(Boolean).join(" ");
  const aria: Record<string, string> = {};
  if (describedBy) aria["aria-describedby"] = describedBy;
  if (error) aria["aria-invalid"] = "true";
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children(aria) as never}
      {hint ? (
        <p class="hint" id={`hint-${id}`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`error-${id}`}>
          {error}
        </p>
      ) : null}
    </div>
  );
};

const NumberField: FC<FieldProps & { values: FormValues }> = ({ id, label, values, errors, hint }) => (
  <Field id={id} label={label} errors={errors} hint={hint}>
    {(aria) => <input id={id} name={id} type="number" inputmode="numeric" value={values[id]} {...aria} />}
  </Field>
);

const TextField: FC<FieldProps & { values: FormValues; autocomplete?: string }> = ({
  id,
  label,
  values,
  errors,
  hint,
  autocomplete,
}) => (
  <Field id={id} label={label} errors={errors} hint={hint}>
    {(aria) => (
      <input id={id} name={id} type="text" autocomplete={autocomplete} value={values[id]} {...aria} />
    )}
  </Field>
);

const RESOLVED_OPTIONS: [string, string][] = [
  ["ignore", "do nothing"],
  ["reverse", "scale the other way"],
];

/** A labelled select whose options are [value, text] pairs, the current value selected. */
const SelectField: FC<FieldProps & { values: FormValues; options: [string, string][] }> = ({
  id,
  label,
  values,
  errors,
  hint,
  options,
}) => (
  <Field id={id} label={label} errors={errors} hint={hint}>
    {(aria) => (
      <select id={id} name={id} {...aria}>
        {options.map(([value, text]) => (
          <option value={value} selected={values[id] === value}>
            {text}
          </option>
        ))}
      </select>
    )}
  </Field>
);

export interface ServiceOption {
  id: string;
  name: string;
}

export const ReceiverForm: FC<{
  projectId: string;
  values: FormValues;
  errors: FieldErrors;
  services: ServiceOption[];
  problem?: string;
}> = ({ projectId, values, errors, services, problem }) => (
  <>
    <h1>Add Receiver</h1>
    {problem ? <p class="alert">{problem}</p> : null}
    <form class="receiver" method="post" action={`/receivers?${q(projectId)}`} novalidate>
      <Field id="name" label="Name" errors={errors}>
        {(aria) => (
          <input
            id="name"
            name="name"
            type="text"
            value={values.name}
            maxlength={128}
            required
            autofocus
            {...aria}
          />
        )}
      </Field>
      <Field id="kind" label="Kind" errors={errors}>
        {(aria) => (
          <select id="kind" name="kind" {...aria}>
            {Object.entries(KIND_LABELS).map(([value, label]) => (
              <option value={value} selected={values.kind === value}>
                {label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <p class="hint" data-kind-hint>
        Fill in the fields of the kind you chose; the others are ignored.
      </p>
      <fieldset data-kind="scaleService">
        <legend>Scale a Service</legend>
        <SelectField
          id="action"
          label="Action"
          values={values}
          errors={errors}
          options={[
            ["up", "up"],
            ["down", "down"],
          ]}
        />
        <Field id="serviceId" label="Target Service" errors={errors}>
          {(aria) => (
            <select id="serviceId" name="serviceId" required {...aria}>
              <option value="" selected={values.serviceId === ""}>
                Choose a service…
              </option>
              {services.map((service) => (
                <option value={service.id} selected={values.serviceId === service.id}>
                  {service.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div class="row">
          <NumberField id="amount" label="By" values={values} errors={errors} />
          <NumberField id="min" label="Minimum Scale" values={values} errors={errors} />
          <NumberField id="max" label="Maximum Scale" values={values} errors={errors} />
        </div>
        <div class="row">
          <NumberField
            id="cooldownSeconds"
            label="Cooldown (seconds)"
            values={values}
            errors={errors}
            hint="Triggers within this time after a change are not applied."
          />
          <SelectField
            id="onResolved"
            label="When the alert resolves"
            values={values}
            errors={errors}
            options={RESOLVED_OPTIONS}
          />
        </div>
      </fieldset>
      <fieldset data-kind="scaleHost">
        <legend>Scale the number of Hosts</legend>
        <Field
          id="hostSelector"
          label="Host labels"
          errors={errors}
          hint="One label per line, such as pool=workers; a name alone matches any value. Hosts with all of them form the group."
        >
          {(aria) => (
            <textarea id="hostSelector" name="hostSelector" rows={2} {...aria}>
              {values.hostSelector}
            </textarea>
          )}
        </Field>
        <div class="row">
          <SelectField
            id="hostAction"
            label="Host action"
            values={values}
            errors={errors}
            options={[
              ["up", "up (add hosts)"],
              ["down", "down (remove hosts)"],
            ]}
          />
          <NumberField id="hostAmount" label="Hosts at a time" values={values} errors={errors} />
          <NumberField id="hostMin" label="Minimum Hosts" values={values} errors={errors} />
          <NumberField id="hostMax" label="Maximum Hosts" values={values} errors={errors} />
        </div>
        <div class="row">
          <SelectField
            id="deleteOption"
            label="Remove first"
            values={values}
            errors={errors}
            hint="Unhealthy hosts always go first."
            options={[
              ["leastRecent", "the oldest hosts"],
              ["mostRecent", "the newest hosts"],
            ]}
          />
          <TextField
            id="hostTemplateId"
            label="Host template"
            values={values}
            errors={errors}
            hint="Optional: otherwise the group's oldest machine-driver host is cloned."
          />
        </div>
        <div class="row">
          <NumberField
            id="hostCooldownSeconds"
            label="Host cooldown (seconds)"
            values={values}
            errors={errors}
          />
          <SelectField
            id="hostOnResolved"
            label="When a host alert resolves"
            values={values}
            errors={errors}
            options={RESOLVED_OPTIONS}
          />
        </div>
      </fieldset>
      <fieldset data-kind="serviceUpgrade">
        <legend>Upgrade a Service</legend>
        <Field
          id="serviceSelector"
          label="Service labels"
          errors={errors}
          hint="One label per line, such as app=web; a name alone matches any value. Services with all of them and an image of the pushed repository are upgraded."
        >
          {(aria) => (
            <textarea id="serviceSelector" name="serviceSelector" rows={3} {...aria}>
              {values.serviceSelector}
            </textarea>
          )}
        </Field>
        <div class="row">
          <TextField
            id="tag"
            label="Tag"
            values={values}
            errors={errors}
            hint="An exact tag, or a pattern such as v1.* or *."
          />
          <SelectField
            id="payloadFormat"
            label="Registry"
            values={values}
            errors={errors}
            options={Object.entries(FORMAT_LABELS)}
          />
          <SelectField
            id="addressType"
            label="Address type"
            values={values}
            errors={errors}
            hint="Alibaba Cloud only."
            options={["registry", "registry-internal", "registry-vpc"].map((value) => [value, value])}
          />
        </div>
        <div class="row">
          <NumberField id="batchSize" label="Batch size" values={values} errors={errors} />
          <NumberField id="intervalMillis" label="Batch interval (ms)" values={values} errors={errors} />
          <div class="field checkbox">
            <label>
              <input type="checkbox" id="startFirst" name="startFirst" checked={values.startFirst === "on"} />{" "}
              Start new containers first
            </label>
          </div>
        </div>
      </fieldset>
      <fieldset>
        <legend>Sender check (optional)</legend>
        <p class="hint">
          Besides the Trigger URL, require proof that a delivery comes from its sender. The secret is never
          shown again: keep it in the sender's configuration.
        </p>
        <SelectField
          id="senderScheme"
          label="Sender check"
          values={values}
          errors={errors}
          options={SENDER_OPTIONS}
        />
        <div class="row">
          <TextField
            id="senderUsername"
            label="Sender user"
            values={values}
            errors={errors}
            hint="Basic credentials only."
            autocomplete="off"
          />
          <Field
            id="senderSecret"
            label="Sender secret"
            errors={errors}
            hint="16 characters or more; Standard Webhooks: whsec_…"
          >
            {(aria) => (
              <input
                id="senderSecret"
                name="senderSecret"
                type="password"
                autocomplete="new-password"
                {...aria}
              />
            )}
          </Field>
          <TextField
            id="senderTimestampHeader"
            label="Timestamp header"
            values={values}
            errors={errors}
            hint="Grafana only, if set there."
          />
        </div>
      </fieldset>
      <div>
        <button class="primary" type="submit">
          Create
        </button>{" "}
        <a href={`/?${q(projectId)}`}>Cancel</a>
      </div>
    </form>
  </>
);

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
        <table>
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
                <td>
                  <When at={execution.at} />
                </td>
                <td class={`outcome-${execution.outcome}`}>{execution.outcome}</td>
                <td>{execution.reason}</td>
                <td>{execution.from ?? ""}</td>
                <td>{execution.to ?? ""}</td>
                <td>{execution.sender ?? ""}</td>
                <td>
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
