import { type Execution, OUTCOMES, type Outcome, type UpgradeProgress } from "../domain/execution";

/** The longest summary: it leads every message, and must fit where a chat allows the least. */
export const MAX_SUMMARY_CHARS = 600;

/** The most of one reason or upgrade message a summary quotes: the rest is on the receiver's History. */
const REASON_CHARS = 160;
const MESSAGE_CHARS = 120;
const NAME_CHARS = 128;
const LABEL_CHARS = 64;
/** Services an upgrade detail names before it counts the rest. */
const SERVICES_NAMED = 5;

/** The words a summary uses for an outcome. */
export const outcomeWord = (outcome: Outcome): string => (outcome === "rolledBack" ? "rolled back" : outcome);

// Control characters (line breaks, escapes) and the bidirectional overrides that make text read in
// another order than it is stored would let a quoted reason forge or hide what a line says.
const CONTROLS = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]+/gu;
// A lone surrogate is not text at all: JSON encoders and chat APIs either reject it or mangle it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as one plain line: control and reordering characters become spaces, runs of spaces one,
 * and a lone surrogate the replacement character. Reasons quote senders and Cattle; this is how
 * every message shows them.
 */
export const plainLine = (text: string): string =>
  text.replace(LONE_SURROGATE, "\uFFFD").replace(CONTROLS, " ").replace(/\s+/g, " ").trim();

/**
 * `text` in at most `max` UTF-16 code units (what every chat's limits count, or fewer than they
 * count), cut with "…" where it is longer, never between the two halves of a surrogate pair.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return "";
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * The start of `text`, enough to clip to `max` once made plain: a 20 KiB reason is not scanned whole
 * to show 160 characters of it. Runs of spaces shrink when made plain, so it takes several times more.
 */
const head = (text: string, max: number): string => {
  const end = max * 4;
  if (text.length <= end) return text;
  const last = text.charCodeAt(end - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? end - 1 : end);
};

/** `text` as one plain line of at most `max` characters. */
export const plainClip = (text: string, max: number): string => {
  const start = head(text, max);
  const plain = clip(plainLine(start), max);
  // Text cut short by `head` is longer than shown even when what is left fits: say so.
  return start.length < text.length && !plain.endsWith("…") ? clip(`${plain}…`, max) : plain;
};

const AT_LIMIT: [RegExp, string][] = [
  [/^already at maximum scale \d+$/, "at maximum"],
  [/^already at minimum scale \d+$/, "at minimum"],
];

/** A reason's gist, when it is one a summary can say in two words. */
const gistOf = (reason: string): string | undefined =>
  AT_LIMIT.find(([pattern]) => pattern.test(reason))?.[1];

/** Oldest first; executions decided at the same time keep the order they were given in. */
const byTime = (executions: readonly Execution[]): Execution[] =>
  executions
    .map((execution, index) => ({ execution, index }))
    .sort((a, b) => a.execution.at - b.execution.at || a.index - b.index)
    .map(({ execution }) => execution);

const isScaling = (execution: Execution): boolean =>
  execution.outcome === "applied" && execution.from !== undefined && execution.to !== undefined;

const hasUpgrades = (execution: Execution): boolean => (execution.upgrades?.length ?? 0) > 0;

/** `web 3 → 40`: where the oldest step started and the newest ended. */
function scalingDetail(steps: Execution[], targetLabel: string | undefined): string {
  const first = steps[0];
  const last = steps[steps.length - 1];
  if (!first || !last) return "";
  const label = targetLabel === undefined ? "" : plainClip(targetLabel, LABEL_CHARS);
  return `, ${label ? `${label} ` : ""}${first.from} → ${last.to}`;
}

const withMessage = (text: string, message: string | undefined): string => {
  const said = message ? plainClip(message, MESSAGE_CHARS) : "";
  return said ? `${text} (${said})` : text;
};

/** One service's upgrade as it stands: where it went, or where it went back to and why. */
function describeUpgrade(upgrade: UpgradeProgress): string {
  const name = plainClip(upgrade.serviceName, LABEL_CHARS) || plainClip(upgrade.serviceId, LABEL_CHARS);
  const image = plainClip(upgrade.image, LABEL_CHARS * 2);
  const step = upgrade.steps[upgrade.steps.length - 1]?.step;
  switch (step) {
    case "rolling back":
    case "rolled back":
      return withMessage(
        upgrade.previousImage
          ? `${name} back to ${plainClip(upgrade.previousImage, LABEL_CHARS * 2)}`
          : `${name} back from ${image}`,
        upgrade.message,
      );
    case "failed":
      return withMessage(`${name} not upgraded to ${image}`, upgrade.message);
    case "skipped":
      return withMessage(`${name} skipped`, upgrade.message);
    default:
      return `${name} → ${image}`;
  }
}

/** `api → myorg/api:1.1.0, web → …`: each service once, as the newest execution left it. */
function upgradesDetail(executions: Execution[]): string {
  const latest = new Map<string, UpgradeProgress>();
  for (const execution of executions) {
    for (const upgrade of execution.upgrades ?? []) {
      latest.delete(upgrade.serviceId);
      latest.set(upgrade.serviceId, upgrade);
    }
  }
  const services = [...latest.values()];
  const named = services.slice(-SERVICES_NAMED).map(describeUpgrade);
  const more = services.length - named.length;
  return `, ${named.join(", ")}${more > 0 ? `, ${more} more` : ""}`;
}

/** ` at maximum`, `: reason`, or ` (latest: reason)` when the reasons differ. */
function reasonsDetail(executions: Execution[]): string {
  // A reason that is nothing once made plain (control characters only) says nothing.
  const reasons = executions
    .map((execution) => ({ reason: execution.reason, said: plainClip(execution.reason, REASON_CHARS) }))
    .filter(({ said }) => said !== "");
  const newest = reasons[reasons.length - 1];
  if (newest === undefined) return "";
  const gists = new Set(reasons.map(({ reason }) => gistOf(reason)));
  const [gist] = gists;
  if (gists.size === 1 && gist !== undefined) return ` ${gist}`;
  return new Set(reasons.map(({ reason }) => reason)).size === 1
    ? `: ${newest.said}`
    : ` (latest: ${newest.said})`;
}

function describeGroup(outcome: Outcome, executions: Execution[], targetLabel: string | undefined): string {
  const scaling = executions.filter(isScaling);
  const upgrading = executions.filter((execution) => !isScaling(execution) && hasUpgrades(execution));
  const rest = executions.filter((execution) => !isScaling(execution) && !hasUpgrades(execution));
  return [
    `${executions.length} ${outcomeWord(outcome)}`,
    scaling.length > 0 ? scalingDetail(scaling, targetLabel) : "",
    upgrading.length > 0 ? upgradesDetail(upgrading) : "",
    reasonsDetail(rest),
  ].join("");
}

/**
 * One line summing up what a receiver's executions came to, for a message's fallback text, header
 * and delivery log: `scale-web: 37 applied, web 3 → 40; 2 noop at maximum`. One group per outcome,
 * in the order `OUTCOMES` lists them; at most MAX_SUMMARY_CHARS characters of plain
 * text whatever the executions say, since their reasons quote senders and Cattle.
 */
export function summarize(input: {
  receiverName: string;
  targetLabel?: string;
  executions: readonly Execution[];
}): string {
  const executions = byTime(input.executions);
  const groups = OUTCOMES.flatMap((outcome) => {
    const members = executions.filter((execution) => execution.outcome === outcome);
    return members.length > 0 ? [describeGroup(outcome, members, input.targetLabel)] : [];
  });
  const what = groups.length > 0 ? groups.join("; ") : "nothing happened";
  return clip(`${nameOf(input.receiverName)}: ${what}`, MAX_SUMMARY_CHARS);
}

/** A receiver's name as a summary leads with it; one of nothing but control characters is "receiver". */
const nameOf = (name: string): string => plainClip(name, NAME_CHARS) || "receiver";

/** The summary of a `testNotification`'s message. */
export const testSummary = (receiverName: string): string =>
  clip(`${nameOf(receiverName)}: test message from rancher-hooks`, MAX_SUMMARY_CHARS);
