import type { FC } from "hono/jsx";
import type { Service } from "../cattle/types";
import { type AnyDriverDefinition, DRIVER_NAMES, DRIVERS, driverNamed } from "../drivers";
import { q } from "./components";
import {
  type ConfigInput,
  configInputs,
  type FieldErrors,
  type FormValues,
  SENDER_INPUT_SCHEMES,
  SENDER_INPUTS,
  SENDER_LABELS,
  SHOWN_KIND_INPUT,
} from "./form";

const SENDER_OPTIONS: [string, string][] = [
  ["", "None"],
  ["bearer", "Bearer token"],
  ["basic", "Basic credentials"],
  // Short enough to show whole in a phone's select.
  ["github", "GitHub X-Hub-Signature-256"],
  ["grafana", "Grafana HMAC signature"],
  ["standardWebhooks", "Standard Webhooks signature"],
];

interface FieldProps {
  id: string;
  label: string;
  errors: FieldErrors;
  hint?: string;
  /** The sender schemes this field is for: with JavaScript it is shown for those only. */
  schemes?: readonly string[];
  /** In a row of fields, takes the row's whole width (a select with long options). */
  wide?: boolean;
}

/** One labelled control with its error next to it, tied together for assistive technology. */
const Field: FC<FieldProps & { children: (described: Record<string, string>) => unknown }> = ({
  id,
  label,
  errors,
  hint,
  schemes,
  wide,
  children,
}) => {
  const error = errors[id];
  const describedBy = [error ? `error-${id}` : "", hint ? `hint-${id}` : ""].filter(Boolean).join(" ");
  const aria: Record<string, string> = {};
  if (describedBy) aria["aria-describedby"] = describedBy;
  if (error) aria["aria-invalid"] = "true";
  return (
    <div class={wide ? "field wide" : "field"} data-schemes={schemes?.join(" ")}>
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

type ControlProps = FieldProps & { values: FormValues };

const TextField: FC<ControlProps & { type?: string; autocomplete?: string }> = (props) => (
  <Field {...props}>
    {(aria) => (
      <input
        id={props.id}
        name={props.id}
        type={props.type ?? "text"}
        autocomplete={props.autocomplete}
        value={props.type === "password" ? undefined : props.values[props.id]}
        {...aria}
      />
    )}
  </Field>
);

/**
 * A select narrower than its chosen option cuts the option's words off. A row's column is at least
 * 9rem (see the page's stylesheet), room for about this many characters beside the select's arrow:
 * a select with a longer option takes the row's whole width.
 */
const NARROW_OPTION_CHARS = 12;

const wideOptions = (options: readonly [string, string][]) =>
  options.some(([, text]) => text.length > NARROW_OPTION_CHARS);

/** A labelled select whose options are [value, text] pairs, the current value selected. */
const SelectField: FC<ControlProps & { options: [string, string][]; required?: boolean }> = (props) => (
  <Field {...props} wide={props.wide ?? wideOptions(props.options)}>
    {(aria) => (
      <select id={props.id} name={props.id} required={props.required} {...aria}>
        {props.options.map(([value, text]) => (
          <option value={value} selected={props.values[props.id] === value}>
            {text}
          </option>
        ))}
      </select>
    )}
  </Field>
);

/**
 * An option's words in the select, where an option has a line of its own below it: a trailing
 * aside in parentheses ("Amazon ECR (EventBridge)") is left to that line, which names the option
 * in full, so that the chosen option fits a phone's width.
 */
const inSelect = (text: string, hasLine: boolean) =>
  hasLine ? text.replace(/\s+\([^()]*\)$/, "") || text : text;

/** The control a config field asks for: its type, options, label and hint come from the config's rules. */
const ConfigControl: FC<{
  definition: AnyDriverDefinition;
  input: ConfigInput;
  values: FormValues;
  errors: FieldErrors;
  services: readonly Service[];
}> = ({ definition, input, values, errors, services }) => {
  const { name, field } = input;
  const common = { id: name, label: field.label, hint: field.hint, values, errors };
  if (field.control === "service") {
    // Only the services a receiver of this kind can act on, as its definition says.
    const options: [string, string][] = [
      ["", "Choose a service…"],
      ...services
        .filter((service) => definition.offersService?.(service) ?? true)
        .map((service): [string, string] => [service.id, service.name || service.id]),
    ];
    return <SelectField {...common} options={options} required />;
  }
  if (field.type === "enum") {
    const options = (field.options ?? []).map((value): [string, string] => [
      value,
      field.optionLabels?.[value] ?? value,
    ]);
    const hints = field.optionHints;
    if (!hints) return <SelectField {...common} options={options} />;
    const shown = options.map(([value, text]): [string, string] => [
      value,
      inSelect(text, Boolean(hints[value])),
    ]);
    // A line per option: without JavaScript all are listed, with it the chosen one's alone.
    return (
      <Field {...common} wide={wideOptions(shown)}>
        {(aria) => (
          <>
            <select
              id={name}
              name={name}
              {...aria}
              aria-describedby={[aria["aria-describedby"], `options-${name}`].filter(Boolean).join(" ")}
            >
              {shown.map(([value, text]) => (
                <option value={value} selected={values[name] === value}>
                  {text}
                </option>
              ))}
            </select>
            <ul class="hint option-hints" id={`options-${name}`} data-hints-for={name}>
              {options.map(([value, text]) =>
                hints[value] ? (
                  <li data-option={value}>
                    <strong>{text}</strong>: {hints[value]}
                  </li>
                ) : null,
              )}
            </ul>
          </>
        )}
      </Field>
    );
  }
  if (field.type === "boolean") {
    return (
      <div class="field checkbox">
        {/* The box before its words, on their first line (the stylesheet's .field.checkbox). */}
        <label>
          <input type="checkbox" id={name} name={name} checked={values[name] === "on"} />
          <span>{field.label}</span>
        </label>
      </div>
    );
  }
  if (field.type === "map[string]") {
    return (
      <Field {...common}>
        {(aria) => (
          <textarea id={name} name={name} rows={3} {...aria}>
            {values[name]}
          </textarea>
        )}
      </Field>
    );
  }
  if (field.type === "int") {
    return (
      <Field {...common}>
        {(aria) => (
          <input id={name} name={name} type="number" inputmode="numeric" value={values[name]} {...aria} />
        )}
      </Field>
    );
  }
  return <TextField {...common} />;
};

/** The kind whose fields the form shows: the one chosen, else the first. */
export const shownKind = (values: FormValues): string =>
  driverNamed(values.driver ?? "") ? (values.driver as string) : DRIVER_NAMES[0];

export const ReceiverForm: FC<{
  projectId: string;
  values: FormValues;
  errors: FieldErrors;
  /** The environment's services; each kind's service select offers those its definition does. */
  services: readonly Service[];
  problem?: string;
  /** A line about the form itself, e.g. that it now shows another kind's fields. */
  notice?: string;
}> = ({ projectId, values, errors, services, problem, notice }) => {
  const kind = shownKind(values);
  const sender = (input: keyof typeof SENDER_INPUT_SCHEMES) => ({
    id: SENDER_INPUTS[input],
    label: SENDER_LABELS[SENDER_INPUTS[input]] ?? input,
    schemes: SENDER_INPUT_SCHEMES[input],
    values,
    errors,
  });
  return (
    <>
      <h1>Add Receiver</h1>
      {problem ? <p class="alert">{problem}</p> : null}
      {notice ? <p role="status">{notice}</p> : null}
      <noscript>
        {/* Enter presses a form's first submit button, hidden or not: without JavaScript that must
            be Create, not the kind switch. */}
        <button type="submit" form="receiver-form" hidden>
          Create
        </button>
      </noscript>
      <form
        id="receiver-form"
        class="receiver"
        method="post"
        action={`/receivers?${q(projectId)}`}
        novalidate
      >
        <input type="hidden" name={SHOWN_KIND_INPUT} value={kind} />
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
        <SelectField
          id="driver"
          label="Kind"
          values={{ ...values, driver: kind }}
          errors={errors}
          options={DRIVER_NAMES.map((name): [string, string] => [name, DRIVERS[name].label])}
        />
        <noscript>
          <p class="kind-switch">
            <button type="submit" name="show" value="fields">
              Show this kind's fields
            </button>{" "}
            <span class="hint">What you typed is kept.</span>
          </p>
        </noscript>
        {DRIVER_NAMES.map((name) => (
          <fieldset data-kind={name} hidden={name !== kind}>
            <legend>{DRIVERS[name].label}</legend>
            {configInputs(DRIVERS[name]).map((row) => {
              const controls = row.map((input) => (
                <ConfigControl
                  definition={DRIVERS[name]}
                  input={input}
                  values={values}
                  errors={errors}
                  services={services}
                />
              ));
              return row.length > 1 ? <div class="row">{controls}</div> : controls;
            })}
          </fieldset>
        ))}
        <fieldset>
          <legend>Sender check (optional)</legend>
          <p class="hint">
            Besides the Trigger URL, require proof that a delivery comes from its sender. The secret is never
            shown again: keep it in the sender's configuration.
          </p>
          <SelectField
            id={SENDER_INPUTS.scheme}
            label={SENDER_LABELS[SENDER_INPUTS.scheme] ?? "Sender check"}
            values={values}
            errors={errors}
            options={SENDER_OPTIONS}
          />
          <div class="row">
            <TextField {...sender("username")} hint="Basic credentials only." autocomplete="off" />
            <TextField
              {...sender("secret")}
              hint="16 characters or more; Standard Webhooks: whsec_…"
              type="password"
              autocomplete="new-password"
            />
          </div>
          <div class="row">
            <TextField
              {...sender("header")}
              hint="Grafana only, if changed there (X-Grafana-Alerting-Signature by default)."
              autocomplete="off"
            />
            <TextField {...sender("timestampHeader")} hint="Grafana only, if set there." autocomplete="off" />
          </div>
        </fieldset>
        <div class="actions">
          <button class="primary" type="submit">
            Create
          </button>
          <a href={`/?${q(projectId)}`}>Cancel</a>
        </div>
      </form>
    </>
  );
};
