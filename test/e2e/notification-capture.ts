import { createServer, type IncomingHttpHeaders } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/**
 * Stand-ins for Slack, Teams, Discord and a receiving app, on loopback: an HTTP server that keeps
 * every request it gets and answers as the test says, and checks of what arrived against what each
 * real destination takes (docs/notifications.md, "Formats").
 */

/** One request a capture server got. */
export interface Captured {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived (epoch ms). */
  at: number;
}

/** What the server answers a request: `seen` is how many requests to the same path came before it. */
export type Answer = (
  request: Captured,
  seen: number,
) => {
  status: number;
  body?: string;
  headers?: Record<string, string>;
};

export interface CaptureServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  requests: Captured[];
  /** The requests to one path, in the order they came. */
  to(path: string): Captured[];
  close(): Promise<void>;
}

export async function startCapture(answer: Answer): Promise<CaptureServer> {
  const requests: Captured[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const captured: Captured = {
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      const seen = requests.filter((earlier) => earlier.path === captured.path).length;
      requests.push(captured);
      const { status, body, headers } = answer(captured, seen);
      response.writeHead(status, headers);
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    to: (path) => requests.filter((request) => request.path === path),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Json = Record<string, unknown>;

const within = (what: string, text: unknown, max: number): string => {
  if (typeof text !== "string" || text.length < 1 || text.length > max) {
    throw new Error(`${what} is not a text of 1 to ${max} characters: ${JSON.stringify(text)?.slice(0, 80)}`);
  }
  return text;
};

/** A Slack incoming-webhook body within Block Kit's limits (throws naming the first that is not). */
export function checkSlack(body: string): { text: string; blocks: Json[] } {
  const message = JSON.parse(body) as { text: unknown; blocks: Json[] };
  within("text", message.text, 40_000);
  if (!Array.isArray(message.blocks) || message.blocks.length < 1 || message.blocks.length > 50) {
    throw new Error("blocks: 1 to 50");
  }
  for (const block of message.blocks) {
    const text = block.text as Json | undefined;
    switch (block.type) {
      case "header":
        if (text?.type !== "plain_text") throw new Error("a header's text is plain_text");
        within("header text", text.text, 150);
        break;
      case "section": {
        const fields = (block.fields as Json[] | undefined) ?? [];
        if (!text && fields.length === 0) throw new Error("a section has text or fields");
        if (text) within("section text", text.text, 3000);
        if (fields.length > 10) throw new Error("a section has at most 10 fields");
        for (const field of fields) within("field text", field.text, 2000);
        break;
      }
      case "context": {
        const elements = block.elements as Json[];
        if (elements.length < 1 || elements.length > 10) throw new Error("context: 1 to 10 elements");
        for (const element of elements) within("context text", element.text, 3000);
        break;
      }
      case "actions": {
        const elements = block.elements as Json[];
        if (elements.length < 1 || elements.length > 25) throw new Error("actions: 1 to 25 elements");
        for (const element of elements) {
          within("button text", (element.text as Json).text, 75);
          within("button url", element.url, 3000);
        }
        break;
      }
      default:
        throw new Error(`a block of an unexpected type: ${String(block.type)}`);
    }
  }
  return message as { text: string; blocks: Json[] };
}

/** A Discord webhook body within Discord's limits (throws naming the first that is not). */
export function checkDiscord(body: string): { content: string; embeds: Json[] } {
  const message = JSON.parse(body) as { content: unknown; embeds: Json[]; allowed_mentions: unknown };
  within("content", message.content, 2000);
  if (!Array.isArray(message.embeds) || message.embeds.length > 10) throw new Error("at most 10 embeds");
  let total = 0;
  for (const embed of message.embeds) {
    const title = within("title", embed.title, 256);
    const description = within("description", embed.description, 4096);
    const footer = within("footer", (embed.footer as Json).text, 2048);
    const fields = (embed.fields as Json[] | undefined) ?? [];
    if (fields.length > 25) throw new Error("at most 25 fields");
    total += title.length + description.length + footer.length;
    for (const field of fields) {
      total += within("field name", field.name, 256).length + within("field value", field.value, 1024).length;
    }
    if (typeof embed.color !== "number" || embed.color < 0 || embed.color > 0xffffff) {
      throw new Error("an embed's colour is a number up to 0xffffff");
    }
  }
  if (total > 6000) throw new Error(`the embeds' text is ${total} characters, over 6000`);
  if (JSON.stringify(message.allowed_mentions) !== JSON.stringify({ parse: [] })) {
    throw new Error("allowed_mentions must let no one be pinged");
  }
  return message as { content: string; embeds: Json[] };
}

// The package's CommonJS build: its ES modules import paths without extensions, which Node refuses.
const AC = createRequire(import.meta.url)("adaptivecards/dist/adaptivecards.js");

/**
 * The Adaptive Card of a Teams Workflows message, and what the `adaptivecards` package says on
 * parsing it as a 1.4 card (no events: it parses without errors or warnings).
 */
export function teamsCard(body: string): { card: Json; events: string[] } {
  const message = JSON.parse(body) as { type: unknown; attachments: Json[] };
  if (message.type !== "message" || message.attachments?.length !== 1) {
    throw new Error("a Workflows message with one attachment");
  }
  const [attachment] = message.attachments as [Json];
  if (attachment.contentType !== "application/vnd.microsoft.card.adaptive") {
    throw new Error(`an attachment of ${String(attachment.contentType)}`);
  }
  const card = attachment.content as Json;
  if (card.type !== "AdaptiveCard" || card.version !== "1.4") throw new Error("an Adaptive Card 1.4");
  const context = new AC.SerializationContext();
  context.targetVersion = AC.Versions.v1_4;
  new AC.AdaptiveCard().parse(card, context);
  const events = Array.from(
    { length: context.eventCount as number },
    (_, i) => context.getEventAt(i).message as string,
  );
  return { card, events };
}

/** A `webhook` delivery verified with its signing secret by the `standardwebhooks` package. */
export function verifyWebhook(request: Captured, secret: string): Json {
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
  );
  return new Webhook(secret).verify(request.body, headers) as Json;
}
