import type { ApiError } from "../api/errors";
import { OUTCOMES } from "../domain/execution";
import {
  DEFAULT_NOTIFY_ON,
  MAX_DESTINATIONS,
  NOTIFICATION_KINDS,
  NOTIFY_WINDOW_SECONDS,
} from "../domain/notifications";
import type { ReceiverRecord } from "../domain/receiver";
import { own } from "../util/own";
import { type FieldErrors, type FormValues, sentence } from "./form";

/**
 * The Notifications form (docs/page.md). Like Add Receiver it keeps values as typed, flat, under
 * input names: `destinations.{i}.id|kind|url|remove|on.{outcome}` for each destination the
 * receiver has, `new.kind|url|on.{outcome}` for one to add, and `notifyWindowSeconds`. A URL is
 * never shown again: a destination's URL input is empty, and left empty it keeps the URL.
 */
export const WINDOW_INPUT = "notifyWindowSeconds";

/**
 * The ids of the destinations the form was opened on. A save whose form was opened on others (a
 * change made since in another tab, or this form posted again by a reload of its answer) would
 * undo that change, so it is refused, and the form shown again as the receiver now is.
 */
export const OPENED_ON_INPUT = "openedOn";

/** The receiver's destinations as OPENED_ON_INPUT names them. */
export const destinationIds = (record: ReceiverRecord): string =>
  (record.notifications ?? []).map((destination) => destination.id).join(" ");

/** The row that adds a destination. */
export const NEW_ROW = "new";

/** How the page names each kind of destination. */
export const KIND_LABELS: Record<(typeof NOTIFICATION_KINDS)[number], string> = {
  slack: "Slack",
  teams: "Microsoft Teams",
  discord: "Discord",
  webhook: "Webhook (Standard Webhooks)",
};

export const kindLabel = (kind: string): string => own(KIND_LABELS, kind) ?? kind;

export const rowKey = (index: number) => `destinations.${index}`;

export const outcomeInput = (row: string, outcome: string) => `${row}.on.${outcome}`;

/** A checked checkbox's value, as browsers post it. */
const CHECKED = "on";

/** The rows of the receiver's destinations in `values`, in order. */
export function destinationRows(values: FormValues): string[] {
  const rows: string[] = [];
  for (let index = 0; typeof values[`${rowKey(index)}.id`] === "string"; index++) rows.push(rowKey(index));
  return rows;
}

/** The form as it opens: the receiver's destinations with their outcomes, and a blank one to add. */
export function notificationValues(record: ReceiverRecord): FormValues {
  const values: Record<string, string> = {
    [WINDOW_INPUT]: String(record.notifyWindowSeconds ?? NOTIFY_WINDOW_SECONDS.default),
    [OPENED_ON_INPUT]: destinationIds(record),
    ...blankNew(),
  };
  (record.notifications ?? []).forEach((destination, index) => {
    const row = rowKey(index);
    values[`${row}.id`] = destination.id;
    values[`${row}.kind`] = destination.kind;
    values[`${row}.url`] = "";
    for (const outcome of destination.on) values[outcomeInput(row, outcome)] = CHECKED;
  });
  return values;
}

/** The row to add a destination, blank: the first kind, the default outcomes checked. */
function blankNew(): Record<string, string> {
  const values: Record<string, string> = {
    [`${NEW_ROW}.kind`]: NOTIFICATION_KINDS[0],
    [`${NEW_ROW}.url`]: "",
  };
  for (const outcome of DEFAULT_NOTIFY_ON) values[outcomeInput(NEW_ROW, outcome)] = CHECKED;
  return values;
}

/**
 * The form's values from a post: only the inputs the form has, as strings. The receiver's rows are
 * read while they are numbered without a gap, never more than the most a receiver can have and
 * one more (so that a post with too many is refused by the API's rule, not cut short here).
 */
export function postedValues(form: Readonly<Record<string, unknown>>): FormValues {
  const text = (name: string) => {
    const value = own(form, name);
    return typeof value === "string" ? value : undefined;
  };
  const values: Record<string, string> = {
    [WINDOW_INPUT]: text(WINDOW_INPUT) ?? "",
    [OPENED_ON_INPUT]: text(OPENED_ON_INPUT) ?? "",
  };
  const rows = [NEW_ROW];
  for (let index = 0; index <= MAX_DESTINATIONS && text(`${rowKey(index)}.id`) !== undefined; index++) {
    rows.push(rowKey(index));
  }
  for (const row of rows) {
    for (const part of ["id", "kind", "url", "remove"]) {
      const value = text(`${row}.${part}`);
      if (value !== undefined) values[`${row}.${part}`] = value;
    }
    for (const outcome of OUTCOMES) {
      if (text(outcomeInput(row, outcome)) !== undefined) values[outcomeInput(row, outcome)] = CHECKED;
    }
  }
  return values;
}

/**
 * The body of `setNotifications` the form says, and the row each of its destinations came from
 * (`rows[i]` for `notifications[i]`), so that an error about one is shown in its row. A removed
 * destination is left out; a kept one is named by its id, with a URL only if one was typed; the
 * new one is added only if its URL was typed.
 */
export function notificationsBody(values: FormValues): { body: Record<string, unknown>; rows: string[] } {
  const notifications: Record<string, unknown>[] = [];
  const rows: string[] = [];
  const on = (row: string) => OUTCOMES.filter((outcome) => values[outcomeInput(row, outcome)] === CHECKED);
  for (const row of destinationRows(values)) {
    if (values[`${row}.remove`] === CHECKED) continue;
    const url = (values[`${row}.url`] ?? "").trim();
    notifications.push({
      id: values[`${row}.id`],
      kind: values[`${row}.kind`],
      on: on(row),
      ...(url ? { url } : {}),
    });
    rows.push(row);
  }
  const url = (values[`${NEW_ROW}.url`] ?? "").trim();
  if (url) {
    notifications.push({ kind: values[`${NEW_ROW}.kind`], url, on: on(NEW_ROW) });
    rows.push(NEW_ROW);
  }
  const window = (values[WINDOW_INPUT] ?? "").trim();
  // Typed as a number, sent as one; anything else as typed, for validation to name.
  const notifyWindowSeconds = window === "" ? undefined : /^-?\d+$/.test(window) ? Number(window) : window;
  return {
    body: { notifications, ...(notifyWindowSeconds === undefined ? {} : { notifyWindowSeconds }) },
    rows,
  };
}

const PART_LABELS: Record<string, string> = {
  kind: "Kind",
  url: "URL",
  on: "Outcomes",
  id: "This destination",
};

/**
 * API errors placed in the rows they are about: `notifications.{i}.url` beside row i's URL,
 * `….on` under its outcomes, `….id` (a destination removed meanwhile) at the top of its row; the
 * window's beside the window; the rest (too many destinations) is a problem of the whole form.
 */
export function notificationErrors(
  errors: readonly ApiError[],
  rows: readonly string[],
): { fields: FieldErrors; problem?: string } {
  const fields: FieldErrors = {};
  let problem: string | undefined;
  for (const error of errors) {
    const fieldName = error.fieldName ?? "";
    const place = placeOf(fieldName, rows);
    if (!place) {
      problem ??=
        fieldName === "notifications" && error.code === "MaxLimitExceeded"
          ? `A receiver has at most ${MAX_DESTINATIONS} destinations: remove one to add another`
          : sentence(error.message);
      continue;
    }
    fields[place.input] ??= wording(error, fieldName, place.label);
  }
  return { fields, problem };
}

function placeOf(fieldName: string, rows: readonly string[]): { input: string; label: string } | undefined {
  if (fieldName === WINDOW_INPUT) return { input: WINDOW_INPUT, label: "Window" };
  const match = /^notifications\.(\d+)(?:\.(\w+))?/.exec(fieldName);
  const row = match ? rows[Number(match[1])] : undefined;
  if (!match || !row) return undefined;
  const part = match[2] ?? "";
  // An id's problem, or one of no single input, is the row's.
  if (part === "url" || part === "on" || part === "kind") {
    return { input: `${row}.${part}`, label: PART_LABELS[part] ?? part };
  }
  return { input: row, label: PART_LABELS.id ?? "" };
}

/**
 * An error's words beside its input: named by the input's label rather than the API's path
 * (`URL must be…` for `notifications.0.url must be…`), and a message that names no field (`must be
 * an https: URL`) given the label in front.
 */
function wording(error: ApiError, fieldName: string, label: string): string {
  const { message } = error;
  if (fieldName.endsWith(".on") && error.code === "MinLimitExceeded") return "Choose at least one outcome";
  if (message.startsWith(`${fieldName} `)) return `${label}${message.slice(fieldName.length)}`;
  if (/^(must|is) /.test(message)) return `${label} ${message}`;
  return sentence(message);
}
