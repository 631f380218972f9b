import type { Execution, Outcome } from "../domain/execution";
import { executionResource } from "../domain/execution-resource";
import { isoDate } from "../domain/ids";
import type { NotificationKind, NotificationMessage } from "../domain/notifications";
import { fromBase64, toBase64 } from "../util/base64";
import { MAX_SUMMARY_CHARS, outcomeWord, plainClip } from "./summary";

/** What to POST to a destination: its body as sent, and the headers that go with it. */
export interface OutgoingRequest {
  body: string;
  headers: Record<string, string>;
}

/** The newest executions a chat message lists one by one; the summary speaks for all of them. */
const LINES_SHOWN = 10;
/** The most of an execution's reason a listed line quotes. */
const LINE_REASON_CHARS = 200;
const NAME_CHARS = 128;

const SECRET_PREFIX = "whsec_";

/** One listed execution: its outcome apart, so that each format can set it off its own way. */
interface Line {
  outcome: string;
  text: string;
}

/** `12:00:07 3 → 4: scaled up by 1`, the time in UTC (the message itself carries the date). */
function lineOf(execution: Execution): Line {
  const change =
    execution.from !== undefined && execution.to !== undefined ? ` ${execution.from} → ${execution.to}` : "";
  const reason = plainClip(execution.reason, LINE_REASON_CHARS);
  return {
    outcome: outcomeWord(execution.outcome),
    text: `${isoDate(execution.at).slice(11, 19)}${change}${reason ? `: ${reason}` : ""}`,
  };
}

/** What every format shows, made plain and bounded once: names and reasons quote other systems. */
interface Shown {
  summary: string;
  receiver: string;
  environment: string;
  driver: string;
  count: number;
  /** Newest first. */
  lines: Line[];
  /** Executions the lines leave out. */
  earlier: number;
  historyUrl: string;
}

function shown(message: NotificationMessage): Shown {
  // Newest first; of executions decided in the same millisecond, the one given later is newer.
  const newest = [...message.executions]
    .reverse()
    .sort((a, b) => b.at - a.at)
    .slice(0, LINES_SHOWN);
  // Chats refuse a whole message over one empty text: a name that was nothing but control
  // characters is shown by its id instead.
  const environmentId = plainClip(message.environment.id, NAME_CHARS);
  const environmentName = plainClip(message.environment.name, NAME_CHARS) || environmentId;
  const receiver = plainClip(message.receiver.name, NAME_CHARS) || plainClip(message.receiver.id, NAME_CHARS);
  return {
    summary:
      plainClip(message.summary, MAX_SUMMARY_CHARS) || `${receiver}: ${message.executions.length} executions`,
    receiver: `${receiver}${message.test ? " (test)" : ""}`,
    environment: `${environmentName} (${environmentId})`,
    driver: message.receiver.driver,
    count: message.executions.length,
    lines: newest.map(lineOf),
    earlier: message.executions.length - newest.length,
    historyUrl: message.historyUrl,
  };
}

const earlierNote = (earlier: number): string =>
  `…and ${earlier} earlier execution${earlier === 1 ? "" : "s"} on the History page`;

/**
 * `text` escaped character by character and cut to `max` characters of escaped text with "…",
 * never inside an escape sequence or a surrogate pair (`text` is plain: it has no lone surrogates).
 */
function fitted(text: string, max: number, escaped: (char: string, first: boolean) => string): string {
  const pieces: string[] = [];
  let length = 0;
  for (const char of text) {
    const piece = escaped(char, pieces.length === 0);
    pieces.push(piece);
    length += piece.length;
  }
  if (length <= max) return pieces.join("");
  let out = "";
  for (const piece of pieces) {
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

// ---- Slack: Block Kit, as an incoming webhook takes it ----

const SLACK = {
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  buttonUrl: 3000,
} as const;

/**
 * Slack reads `<…>` as a link or a mention (`<!channel>` pings everyone) and `&` as the start of an
 * entity: these three are escaped in every text, so a quoted reason can do neither.
 */
const slackChar = (char: string): string =>
  char === "&" ? "&amp;" : char === "<" ? "&lt;" : char === ">" ? "&gt;" : char;
const slackText = (text: string, max: number): string => fitted(text, max, slackChar);

// `verbatim` keeps Slack from turning bare URLs, channel names and @-words into links or mentions.
const mrkdwn = (text: string) => ({ type: "mrkdwn", text, verbatim: true });

function slackBody(message: NotificationMessage): unknown {
  const view = shown(message);
  // Each line gets an equal share of the section, with room left for the note on earlier ones.
  const share = Math.floor((SLACK.sectionText - 200) / LINES_SHOWN);
  const listed = view.lines.map((line) => {
    const lead = `• *${slackText(line.outcome, 20)}* `;
    return `${lead}${slackText(line.text, share - lead.length)}`;
  });
  if (view.earlier > 0) listed.push(`_${slackText(earlierNote(view.earlier), 150)}_`);
  const blocks: unknown[] = [
    {
      type: "header",
      text: { type: "plain_text", text: slackText(view.receiver, SLACK.headerText), emoji: true },
    },
    { type: "section", text: mrkdwn(slackText(view.summary, SLACK.sectionText)) },
    {
      type: "section",
      fields: [
        mrkdwn(`*Environment*\n${slackText(view.environment, SLACK.fieldText - 20)}`),
        mrkdwn(`*Receiver*\n${slackText(view.receiver, SLACK.fieldText - 20)}`),
        mrkdwn(`*Driver*\n${slackText(view.driver, SLACK.fieldText - 20)}`),
        mrkdwn(`*Executions*\n${view.count}`),
      ],
    },
    ...(listed.length > 0 ? [{ type: "section", text: mrkdwn(listed.join("\n")) }] : []),
    {
      type: "context",
      elements: [mrkdwn(slackText(`${isoDate(message.at)} · rancher-hooks message ${message.id}`, 300))],
    },
    // A URL too long to be a button would be refused with the whole message: it is left out.
    ...(view.historyUrl.length <= SLACK.buttonUrl
      ? [
          {
            type: "actions",
            elements: [
              { type: "button", text: { type: "plain_text", text: "History" }, url: view.historyUrl },
            ],
          },
        ]
      : []),
  ];
  return { text: slackText(view.summary, SLACK.sectionText), blocks };
}

// ---- Microsoft Teams: an Adaptive Card 1.4, as a Workflows webhook takes it ----

/**
 * Teams renders a subset of Markdown in a card's text; of it only a masked link (`[label](url)`)
 * could make quoted text mislead, by showing one address and opening another: it is broken apart.
 */
const teamsText = (text: string): string => text.replace(/\]\(/g, "] (");

function teamsBody(message: NotificationMessage): unknown {
  const view = shown(message);
  const text = (value: string, extra: Record<string, unknown> = {}) => ({
    type: "TextBlock",
    text: teamsText(value),
    wrap: true,
    ...extra,
  });
  const body: unknown[] = [
    text(view.receiver, { size: "Medium", weight: "Bolder" }),
    text(view.summary),
    {
      type: "FactSet",
      facts: [
        { title: "Environment", value: teamsText(view.environment) },
        { title: "Driver", value: view.driver },
        { title: "Executions", value: String(view.count) },
        { title: "Time", value: isoDate(message.at) },
      ],
    },
  ];
  if (view.lines.length > 0) {
    body.push(text("Latest executions", { weight: "Bolder", spacing: "Medium" }));
    body.push({
      type: "FactSet",
      facts: view.lines.map((line) => ({ title: line.outcome, value: teamsText(line.text) })),
    });
  }
  if (view.earlier > 0) body.push(text(earlierNote(view.earlier), { isSubtle: true }));
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          body,
          actions: [{ type: "Action.OpenUrl", title: "History", url: view.historyUrl }],
        },
      },
    ],
  };
}

// ---- Discord: a webhook message with one embed ----

const DISCORD = {
  content: 2000,
  title: 256,
  description: 4096,
  fieldValue: 1024,
  footer: 2048,
  /** Every embed's title, description, field names and values, footer and author together. */
  embedTotal: 6000,
} as const;

const RED = 0xdc2626;
const AMBER = 0xd97706;
const GREEN = 0x16a34a;
const GREY = 0x6b7280;
const BLUE = 0x2563eb;

/** The colour of the most telling outcome: something went wrong, is still going, was done, or nothing was. */
function colourOf(message: NotificationMessage): number {
  if (message.test) return BLUE;
  const outcomes = new Set<Outcome>(message.executions.map((execution) => execution.outcome));
  if (outcomes.has("failed") || outcomes.has("rolledBack")) return RED;
  if (outcomes.has("pending") || outcomes.has("queued")) return AMBER;
  if (outcomes.has("applied")) return GREEN;
  return GREY;
}

/**
 * Discord's markdown (`*`, `_`, `~`, `` ` ``, `|`, masked links) and its `<@…>` mentions are escaped
 * with a backslash wherever they are, and what starts a heading, quote or list (`#`, `>`, `-`) where
 * a text starts, so a quoted reason shows as it was written.
 */
const discordChar = (char: string, first: boolean): string =>
  /[\\*_~`|<[\]]/.test(char) || (first && /[#>\-+]/.test(char)) ? `\\${char}` : char;
const discordText = (text: string, max: number): string => fitted(text, max, discordChar);

function discordBody(message: NotificationMessage): unknown {
  const view = shown(message);
  const title = discordText(view.receiver, DISCORD.title);
  const fields = [
    { name: "Environment", value: discordText(view.environment, DISCORD.fieldValue), inline: true },
    { name: "Driver", value: discordText(view.driver, DISCORD.fieldValue), inline: true },
    { name: "Executions", value: String(view.count), inline: true },
  ];
  // Discord shows a footer as plain text: nothing in it is escaped.
  const footer = plainClip(`rancher-hooks · ${message.id}`, 200);
  const used =
    title.length + footer.length + fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0);
  const room = Math.min(DISCORD.description, DISCORD.embedTotal - used);
  const listed = view.lines.map(
    (line) => `**${discordText(line.outcome, 20)}** ${discordText(line.text, 380)}`,
  );
  if (view.earlier > 0) listed.push(`_${discordText(earlierNote(view.earlier), 150)}_`);
  // The lines go in newest first until the room is used; the summary in `content` speaks for the rest.
  let description = "";
  for (const line of listed) {
    const next = description ? `${description}\n${line}` : line;
    if (next.length > room) break;
    description = next;
  }
  if (description === "") description = discordText(view.summary, Math.min(room, DISCORD.description));
  return {
    content: discordText(view.summary, DISCORD.content),
    embeds: [
      {
        title,
        description,
        url: view.historyUrl,
        color: colourOf(message),
        fields,
        footer: { text: footer },
        timestamp: new Date(message.at).toISOString(),
      },
    ],
    // Nothing a message says pings anyone, whatever a reason quotes (`@everyone`, `<@id>`).
    allowed_mentions: { parse: [] },
  };
}

// ---- Generic webhooks: JSON signed per Standard Webhooks ----

function webhookBody(message: NotificationMessage): unknown {
  const { receiver, environment } = message;
  return {
    type: message.test ? "receiver.test" : "receiver.executions",
    id: message.id,
    timestamp: isoDate(message.at),
    environment: { id: environment.id, name: environment.name },
    receiver: {
      id: receiver.id,
      name: receiver.name,
      driver: receiver.driver,
      projectId: receiver.projectId,
    },
    summary: message.summary,
    historyUrl: message.historyUrl,
    executions: message.executions.map(executionResource),
  };
}

/** `v1,<base64 HMAC-SHA256>` of `${id}.${timestamp}.${body}`, keyed with the secret's bytes. */
async function signature(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error("a webhook signing secret starts with whsec_");
  const key = await crypto.subtle.importKey(
    "raw",
    fromBase64(secret.slice(SECRET_PREFIX.length)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/**
 * The request that delivers `message` to a destination of `kind` (docs/notifications.md). A
 * `webhook` is signed with `secret` at `now` (epoch ms), so each attempt carries its own time.
 */
export async function renderRequest(
  kind: NotificationKind,
  message: NotificationMessage,
  options: { secret?: string; now: number },
): Promise<OutgoingRequest> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  switch (kind) {
    case "slack":
      return { body: JSON.stringify(slackBody(message)), headers };
    case "teams":
      return { body: JSON.stringify(teamsBody(message)), headers };
    case "discord":
      return { body: JSON.stringify(discordBody(message)), headers };
    case "webhook": {
      // Every webhook destination is given a secret when it is made: one without is a bug, not input.
      if (options.secret === undefined) throw new Error("a webhook destination has no signing secret");
      const body = JSON.stringify(webhookBody(message));
      const timestamp = Math.floor(options.now / 1000);
      return {
        body,
        headers: {
          ...headers,
          "webhook-id": message.id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": await signature(options.secret, message.id, timestamp, body),
        },
      };
    }
  }
}
