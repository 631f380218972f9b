import { createRequire } from "node:module";
import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { executionResource } from "../../src/api/resources";
import { type Execution, OUTCOMES } from "../../src/domain/execution";
import type { NotificationMessage } from "../../src/domain/notifications";
import { newSigningSecret, urlHint } from "../../src/notifications/destinations";
import { renderRequest } from "../../src/notifications/formats";
import { summarize, testSummary } from "../../src/notifications/summary";

// A UMD bundle: its ESM build does not resolve under Node.
const AC = createRequire(import.meta.url)("adaptivecards/dist/adaptivecards.js");

const T0 = 1_800_000_000_000;
const HISTORY = "https://hooks.example.com/v1-webhooks/page/receivers/1rc1?projectId=1a5";

let sequence = 0;
const execution = (fields: Partial<Execution> & Pick<Execution, "outcome">): Execution => ({
  id: `1ex${++sequence}`,
  receiverId: "1rc1",
  driver: "scaleService",
  reason: "",
  at: T0 + sequence,
  ...fields,
});

const message = (
  executions: Execution[],
  fields: { name?: string; environment?: string; test?: boolean; targetLabel?: string } = {},
): NotificationMessage => {
  const name = fields.name ?? "scale-web";
  return {
    id: "msg_1",
    at: T0 + 60_000,
    test: fields.test ?? false,
    environment: { id: "1a5", name: fields.environment ?? "Default" },
    receiver: { id: "1rc1", name, driver: "scaleService", projectId: "1a5" },
    summary: fields.test
      ? testSummary(name)
      : summarize({ receiverName: name, targetLabel: fields.targetLabel ?? "web", executions }),
    executions,
    historyUrl: HISTORY,
  };
};

// ---- The scenarios every format must carry within its limits ----

const HOSTILE =
  "<!channel> @everyone @here <@123456> *bold* _it_ ~s~ `c` [x](https://evil.example) 😀 \uD800 \uDC00 & > <";

const scenarios: Record<string, NotificationMessage> = {
  "a burst of 1,000 scale steps": message(
    Array.from({ length: 1000 }, (_, i) =>
      execution({ outcome: "applied", from: i + 1, to: i + 2, reason: "scaled up by 1", at: T0 + i }),
    ),
  ),
  "an upgrade rolled back": message(
    [
      execution({
        driver: "serviceUpgrade",
        outcome: "rolledBack",
        reason:
          "rolled back 1s7 (api) from myorg/api:1.1.0 to myorg/api:1.0.0: 1i7 (Default-api-1) unhealthy",
        upgrades: [
          {
            serviceId: "1s7",
            serviceName: "api",
            image: "myorg/api:1.1.0",
            previousImage: "myorg/api:1.0.0",
            steps: [
              { step: "upgrading", at: T0 },
              { step: "rolled back", at: T0 + 30_000 },
            ],
            message: "1i7 (Default-api-1) unhealthy",
          },
        ],
      }),
    ],
    { name: "deploy-api" },
  ),
  "failures with 20 KiB reasons": message(
    Array.from({ length: 30 }, (_, i) =>
      execution({ outcome: "failed", reason: `${i}: ${HOSTILE.repeat(220).slice(0, 20 * 1024)}` }),
    ),
  ),
  "names that try mentions, markup, emoji and lone surrogates": message(
    [
      execution({ outcome: "applied", from: 1, to: 2, reason: HOSTILE }),
      execution({ outcome: "noop", from: 2, to: 2, reason: "already at maximum scale 2" }),
    ],
    { name: `${HOSTILE.repeat(3)}`, environment: `env ${HOSTILE.repeat(20)}`, targetLabel: HOSTILE },
  ),
  "names of nothing but control characters": message(
    [execution({ outcome: "failed", reason: "\u0000\u0007" })],
    {
      name: "\u0000\u0001\r\n",
      environment: "\u202E\t",
    },
  ),
  "a test message": message([], { test: true }),
};

// ---- Slack: Block Kit's limits ----

type Json = Record<string, unknown>;
const RAW_MARKUP = /[<>]|&(?!amp;|lt;|gt;)/;
const ESCAPED_LONE_SURROGATE = /\\ud[89a-f][0-9a-f]{2}(?!\\ud[c-f])/i;

function assertText(text: unknown, where: string, max: number): void {
  if (typeof text !== "string" || text.length < 1 || text.length > max) {
    throw new Error(
      `${where}: text of ${typeof text === "string" ? text.length : typeof text} characters, not 1..${max}`,
    );
  }
  if (RAW_MARKUP.test(text))
    throw new Error(`${where}: unescaped markup in ${JSON.stringify(text.slice(0, 80))}`);
}

function assertTextObject(
  object: unknown,
  where: string,
  max: number,
  kinds = ["plain_text", "mrkdwn"],
): void {
  const text = object as Json;
  if (!kinds.includes(text.type as string))
    throw new Error(`${where}: text object of type ${String(text.type)}`);
  assertText(text.text, where, max);
}

/** Throws where a Slack message breaks one of Block Kit's limits or lets text make a mention or link. */
function checkSlack(body: string): void {
  if (ESCAPED_LONE_SURROGATE.test(body)) throw new Error("a lone surrogate");
  const parsed = JSON.parse(body) as Json;
  assertText(parsed.text, "text", 40_000);
  const blocks = parsed.blocks as Json[];
  if (!Array.isArray(blocks) || blocks.length < 1 || blocks.length > 50) throw new Error("1..50 blocks");
  blocks.forEach((block, index) => {
    const where = `block ${index} (${String(block.type)})`;
    switch (block.type) {
      case "header":
        assertTextObject(block.text, where, 150, ["plain_text"]);
        break;
      case "section": {
        if (block.text === undefined && block.fields === undefined) throw new Error(`${where}: empty`);
        if (block.text !== undefined) assertTextObject(block.text, where, 3000);
        if (block.fields !== undefined) {
          const fields = block.fields as unknown[];
          if (fields.length > 10) throw new Error(`${where}: ${fields.length} fields`);
          for (const field of fields) assertTextObject(field, `${where} field`, 2000);
        }
        break;
      }
      case "context": {
        const elements = block.elements as unknown[];
        if (elements.length < 1 || elements.length > 10)
          throw new Error(`${where}: ${elements.length} elements`);
        for (const element of elements) assertTextObject(element, `${where} element`, 3000);
        break;
      }
      case "actions": {
        const elements = block.elements as Json[];
        if (elements.length < 1 || elements.length > 25)
          throw new Error(`${where}: ${elements.length} elements`);
        for (const button of elements) {
          if (button.type !== "button") throw new Error(`${where}: ${String(button.type)}`);
          assertTextObject(button.text, `${where} button`, 75, ["plain_text"]);
          if (typeof button.url !== "string" || button.url.length > 3000)
            throw new Error(`${where}: button url`);
        }
        break;
      }
      default:
        throw new Error(`${where}: a block this message does not use`);
    }
  });
}

// ---- Discord: its message and embed limits ----

/** Throws where a Discord message breaks one of its limits or could ping someone. */
function checkDiscord(body: string): void {
  if (ESCAPED_LONE_SURROGATE.test(body)) throw new Error("a lone surrogate");
  const parsed = JSON.parse(body) as Json;
  const content = parsed.content as string;
  if (typeof content !== "string" || content.length > 2000) throw new Error("content over 2000");
  if (JSON.stringify(parsed.allowed_mentions) !== JSON.stringify({ parse: [] })) {
    throw new Error("allowed_mentions does not stop every ping");
  }
  const embeds = parsed.embeds as Json[];
  if (!Array.isArray(embeds) || embeds.length > 10) throw new Error("over 10 embeds");
  let total = 0;
  for (const embed of embeds) {
    const title = (embed.title as string | undefined) ?? "";
    const description = (embed.description as string | undefined) ?? "";
    const footer = ((embed.footer as Json | undefined)?.text as string | undefined) ?? "";
    const fields = (embed.fields as Json[] | undefined) ?? [];
    if (title.length > 256) throw new Error("title over 256");
    if (description.length > 4096) throw new Error("description over 4096");
    if (footer.length > 2048) throw new Error("footer over 2048");
    if (fields.length > 25) throw new Error("over 25 fields");
    for (const field of fields) {
      const name = field.name as string;
      const value = field.value as string;
      if (name.length < 1 || name.length > 256) throw new Error("field name not 1..256");
      if (value.length < 1 || value.length > 1024) throw new Error("field value not 1..1024");
      total += name.length + value.length;
    }
    if (typeof embed.color !== "number" || embed.color < 0 || embed.color > 0xffffff)
      throw new Error("colour");
    if (Number.isNaN(Date.parse(embed.timestamp as string))) throw new Error("timestamp");
    total += title.length + description.length + footer.length;
  }
  if (total > 6000) throw new Error(`embed text ${total} over 6000`);
}

/** The Adaptive Card of a Teams message, checked for the Workflows envelope around it. */
function teamsCard(body: string): Json {
  const parsed = JSON.parse(body) as Json;
  expect(parsed.type).toBe("message");
  const attachments = parsed.attachments as Json[];
  expect(attachments).toHaveLength(1);
  expect(attachments[0]?.contentType).toBe("application/vnd.microsoft.card.adaptive");
  expect(attachments[0]?.contentUrl).toBeNull();
  const card = attachments[0]?.content as Json;
  expect(card).toMatchObject({
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
  });
  return card;
}

/** How many warnings and errors the adaptivecards package has on parsing a card. */
function cardEvents(card: unknown): string[] {
  const context = new AC.SerializationContext();
  context.targetVersion = AC.Versions.v1_4;
  new AC.AdaptiveCard().parse(card, context);
  return Array.from({ length: context.eventCount }, (_, i) => context.getEventAt(i).message as string);
}

const render = (kind: "slack" | "teams" | "discord", subject: NotificationMessage) =>
  renderRequest(kind, subject, { now: T0 });

describe("the checkers", () => {
  const base = message([execution({ outcome: "applied", from: 1, to: 2 })]);

  it("refuse a Slack message past a limit or with markup left in", async () => {
    const good = JSON.parse((await render("slack", base)).body) as { text: string; blocks: Json[] };
    expect(() => checkSlack(JSON.stringify(good))).not.toThrow();
    const header = {
      ...good,
      blocks: [{ type: "header", text: { type: "plain_text", text: "h".repeat(151) } }],
    };
    expect(() => checkSlack(JSON.stringify(header))).toThrow(/not 1..150/);
    const section = {
      ...good,
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "s".repeat(3001) } }],
    };
    expect(() => checkSlack(JSON.stringify(section))).toThrow(/not 1..3000/);
    const fields = Array.from({ length: 11 }, () => ({ type: "mrkdwn", text: "f" }));
    expect(() => checkSlack(JSON.stringify({ ...good, blocks: [{ type: "section", fields }] }))).toThrow(
      /11 fields/,
    );
    const mention = {
      ...good,
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "hi <!channel>" } }],
    };
    expect(() => checkSlack(JSON.stringify(mention))).toThrow(/unescaped markup/);
    const many = { ...good, blocks: Array.from({ length: 51 }, () => good.blocks[1]) };
    expect(() => checkSlack(JSON.stringify(many))).toThrow(/1..50 blocks/);
    const button = {
      ...good,
      blocks: [
        {
          type: "actions",
          elements: [{ type: "button", text: { type: "plain_text", text: "b".repeat(76) } }],
        },
      ],
    };
    expect(() => checkSlack(JSON.stringify(button))).toThrow(/not 1..75/);
    expect(() => checkSlack(JSON.stringify({ ...good, text: "a \uD800" }))).toThrow(/lone surrogate/);
  });

  it("refuse a Discord message past a limit or that could ping", async () => {
    const good = JSON.parse((await render("discord", base)).body) as Json & { embeds: Json[] };
    expect(() => checkDiscord(JSON.stringify(good))).not.toThrow();
    const embed = good.embeds[0] as Json;
    expect(() => checkDiscord(JSON.stringify({ ...good, content: "c".repeat(2001) }))).toThrow(/content/);
    expect(() => checkDiscord(JSON.stringify({ ...good, allowed_mentions: undefined }))).toThrow(/ping/);
    const long = { ...embed, description: "d".repeat(4097) };
    expect(() => checkDiscord(JSON.stringify({ ...good, embeds: [long] }))).toThrow(/description/);
    const title = { ...embed, title: "t".repeat(257) };
    expect(() => checkDiscord(JSON.stringify({ ...good, embeds: [title] }))).toThrow(/title/);
    const field = { ...embed, fields: [{ name: "n", value: "v".repeat(1025) }] };
    expect(() => checkDiscord(JSON.stringify({ ...good, embeds: [field] }))).toThrow(/field value/);
    const total = {
      ...embed,
      description: "d".repeat(4000),
      fields: [
        { name: "n", value: "v".repeat(1024) },
        { name: "n", value: "v".repeat(1024) },
      ],
    };
    expect(() => checkDiscord(JSON.stringify({ ...good, embeds: [total] }))).toThrow(/over 6000/);
    expect(() => checkDiscord(JSON.stringify({ ...good, embeds: Array(11).fill(embed) }))).toThrow(
      /10 embeds/,
    );
  });

  it("find events in a card with an element or property Adaptive Cards 1.4 does not have", async () => {
    const card = teamsCard((await render("teams", base)).body);
    expect(cardEvents(card)).toEqual([]);
    const unknown = { ...card, body: [...(card.body as unknown[]), { type: "Carousel", pages: [] }] };
    expect(cardEvents(unknown).length).toBeGreaterThan(0);
    // A property that came after 1.4 counts too: the card must be one Teams' 1.4 renderer knows.
    const newer = { ...card, body: [{ type: "TextBlock", text: "x", style: "heading" }] };
    expect(cardEvents(newer)).toEqual([expect.stringMatching(/version 1.5/)]);
  });
});

describe.each(Object.entries(scenarios))("%s", (_, subject) => {
  const newest = [...subject.executions].sort((a, b) => b.at - a.at).slice(0, 10);

  it("goes to Slack within Block Kit's limits, and says what happened", async () => {
    const { body, headers } = await render("slack", subject);
    expect(headers).toEqual({ "content-type": "application/json" });
    checkSlack(body);
    const parsed = JSON.parse(body) as { text: string; blocks: Json[] };
    expect(parsed.blocks.find((block) => block.type === "actions")).toMatchObject({
      elements: [{ type: "button", text: { type: "plain_text", text: "History" }, url: HISTORY }],
    });
    expect(body).toContain("1a5");
    expect(body).not.toContain("<!channel>");
    if (!subject.summary.includes("<")) expect(parsed.text).toBe(subject.summary);
    const lines = parsed.blocks.filter(
      (block) => block.type === "section" && JSON.stringify(block).includes("• "),
    );
    const text = (lines[0]?.text as Json | undefined)?.text as string | undefined;
    const listed = text === undefined ? 0 : text.split("\n• ").length;
    expect(listed).toBe(newest.length);
  });

  it("goes to Teams as an Adaptive Card 1.4 the adaptivecards package parses without events", async () => {
    const { body, headers } = await render("teams", subject);
    expect(headers).toEqual({ "content-type": "application/json" });
    const card = teamsCard(body);
    expect(cardEvents(card)).toEqual([]);
    expect(card.actions).toEqual([{ type: "Action.OpenUrl", title: "History", url: HISTORY }]);
    const texts = JSON.stringify(card.body);
    expect(texts).toContain("(1a5)");
    expect(texts).toContain(JSON.stringify(subject.summary).slice(1, 40));
    for (const block of card.body as Json[]) {
      if (block.type === "TextBlock") expect(block.wrap).toBe(true);
    }
    expect(Buffer.byteLength(body)).toBeLessThan(28 * 1024);
  });

  it("goes to Discord within its limits, pinging no one", async () => {
    const { body, headers } = await render("discord", subject);
    expect(headers).toEqual({ "content-type": "application/json" });
    checkDiscord(body);
    const parsed = JSON.parse(body) as { content: string; embeds: Json[] };
    expect(parsed.embeds[0]).toMatchObject({ url: HISTORY, timestamp: new Date(subject.at).toISOString() });
    expect(JSON.stringify(parsed.embeds[0]?.fields)).toContain("(1a5)");
    expect(parsed.content).not.toMatch(/(?<!\\)<@/);
  });
});

describe("message contents", () => {
  const burst = scenarios["a burst of 1,000 scale steps"] as NotificationMessage;

  it("lists the ten newest executions, newest first, and counts the rest", async () => {
    const slack = JSON.parse((await render("slack", burst)).body) as { blocks: Json[] };
    const section = slack.blocks.find((block) => JSON.stringify(block).includes("• ")) as {
      text: { text: string };
    };
    const lines = section.text.text.split("\n");
    expect(lines).toHaveLength(11);
    expect(lines[0]).toMatch(/^• \*applied\* \d\d:\d\d:\d\d 1000 → 1001: scaled up by 1$/);
    expect(lines[9]).toContain("991 → 992");
    expect(lines[10]).toBe("_…and 990 earlier executions on the History page_");
    const discord = JSON.parse((await render("discord", burst)).body) as { content: string; embeds: Json[] };
    expect(discord.content).toBe("scale-web: 1000 applied, web 1 → 1001");
    expect(discord.embeds[0]?.title).toBe("scale-web");
    expect(discord.embeds[0]?.footer).toEqual({ text: "rancher-hooks · msg_1" });
    expect(discord.embeds[0]?.color).toBe(0x16a34a);
    expect(String(discord.embeds[0]?.description).split("\n")[0]).toMatch(/^\*\*applied\*\* .*1000 → 1001/);
  });

  it("escapes what a reason or name says, so it can neither ping, link nor format", async () => {
    const hostile = scenarios[
      "names that try mentions, markup, emoji and lone surrogates"
    ] as NotificationMessage;
    const slack = (await render("slack", hostile)).body;
    expect(slack).toContain("&lt;!channel&gt;");
    expect(slack).toContain("😀");
    const discord = JSON.parse((await render("discord", hostile)).body) as {
      content: string;
      embeds: Json[];
    };
    expect(discord.content).toContain("\\<!channel>");
    expect(discord.content).toContain("\\<@123456>");
    expect(discord.content).toContain("\\*bold\\*");
    expect(discord.content).toContain("\\[x\\](https://evil.example)");
    expect(discord.content).toContain("\uFFFD");
  });

  it("starts no heading, quote or list in Discord with what a name starts with", async () => {
    for (const [name, shown] of [
      ["# big", "\\# big"],
      ["> quoted", "\\> quoted"],
      ["- item", "\\- item"],
      ["a-b > c # d", "a-b > c # d"],
    ]) {
      const subject = message([], { name, test: true });
      const discord = JSON.parse((await render("discord", subject)).body) as {
        content: string;
        embeds: Json[];
      };
      expect(discord.content).toBe(`${shown}: test message from rancher-hooks`);
    }
  });

  it("colours a Discord message by its most telling outcome", async () => {
    const colour = async (subject: NotificationMessage) =>
      (JSON.parse((await render("discord", subject)).body) as { embeds: Json[] }).embeds[0]?.color;
    expect(await colour(scenarios["an upgrade rolled back"] as NotificationMessage)).toBe(0xdc2626);
    expect(await colour(message([execution({ outcome: "noop" }), execution({ outcome: "failed" })]))).toBe(
      0xdc2626,
    );
    expect(await colour(message([execution({ outcome: "applied" }), execution({ outcome: "queued" })]))).toBe(
      0xd97706,
    );
    expect(await colour(message([execution({ outcome: "noop" })]))).toBe(0x6b7280);
    expect(await colour(scenarios["a test message"] as NotificationMessage)).toBe(0x2563eb);
  });

  it("shows a name of nothing but control characters by its id", async () => {
    const subject = scenarios["names of nothing but control characters"] as NotificationMessage;
    const slack = JSON.parse((await render("slack", subject)).body) as { blocks: Json[] };
    expect(slack.blocks[0]).toMatchObject({ type: "header", text: { text: "1rc1" } });
    const discord = JSON.parse((await render("discord", subject)).body) as { embeds: Json[] };
    expect(discord.embeds[0]?.fields).toContainEqual({
      name: "Environment",
      value: "1a5 (1a5)",
      inline: true,
    });
  });

  it("says a test message is a test, with no executions listed", async () => {
    const subject = scenarios["a test message"] as NotificationMessage;
    const slack = JSON.parse((await render("slack", subject)).body) as { text: string; blocks: Json[] };
    expect(slack.text).toBe("scale-web: test message from rancher-hooks");
    expect(slack.blocks[0]).toMatchObject({ type: "header", text: { text: "scale-web (test)" } });
    expect(JSON.stringify(slack.blocks)).not.toContain("• ");
  });
});

describe("webhook destinations", () => {
  const subject = scenarios["an upgrade rolled back"] as NotificationMessage;

  it("are signed so that the standardwebhooks package verifies the message", async () => {
    const secret = newSigningSecret();
    const now = Date.now();
    const { body, headers } = await renderRequest("webhook", subject, { secret, now });
    expect(headers).toMatchObject({
      "content-type": "application/json",
      "webhook-id": "msg_1",
      "webhook-timestamp": String(Math.floor(now / 1000)),
    });
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("fail to verify when the body, the secret or the time is not the one signed", async () => {
    const secret = newSigningSecret();
    const { body, headers } = await renderRequest("webhook", subject, { secret, now: Date.now() });
    expect(() => new Webhook(secret).verify(body.replace("rolledBack", "applied"), headers)).toThrow();
    expect(() => new Webhook(newSigningSecret()).verify(body, headers)).toThrow();
    const stale = await renderRequest("webhook", subject, { secret, now: Date.now() - 10 * 60_000 });
    expect(() => new Webhook(secret).verify(stale.body, stale.headers)).toThrow(/too old/);
  });

  it("carry the receiver, its environment and the executions as the API shows them", async () => {
    const { body } = await renderRequest("webhook", subject, { secret: newSigningSecret(), now: T0 });
    expect(JSON.parse(body)).toEqual({
      type: "receiver.executions",
      id: "msg_1",
      timestamp: "2027-01-15T08:01:00Z",
      environment: { id: "1a5", name: "Default" },
      receiver: { id: "1rc1", name: "deploy-api", driver: "scaleService", projectId: "1a5" },
      summary: subject.summary,
      historyUrl: HISTORY,
      executions: JSON.parse(JSON.stringify(subject.executions.map(executionResource))),
    });
    const test = scenarios["a test message"] as NotificationMessage;
    const sent = JSON.parse(
      (await renderRequest("webhook", test, { secret: newSigningSecret(), now: T0 })).body,
    );
    expect(sent).toMatchObject({
      type: "receiver.test",
      executions: [],
      summary: "scale-web: test message from rancher-hooks",
    });
  });

  it("cannot be sent without a secret", async () => {
    await expect(renderRequest("webhook", subject, { now: T0 })).rejects.toThrow(/signing secret/);
    await expect(renderRequest("webhook", subject, { secret: "not-a-secret", now: T0 })).rejects.toThrow(
      /whsec_/,
    );
  });

  it("get secrets of 24 random bytes that Standard Webhooks takes", () => {
    const secrets = new Set(Array.from({ length: 20 }, newSigningSecret));
    expect(secrets.size).toBe(20);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
      expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(24);
      expect(() => new Webhook(secret)).not.toThrow();
    }
  });
});

describe("urlHint", () => {
  it("shows the host and the last 4 characters, nothing more", () => {
    const url = "https://hooks.slack.com/services/T0SECRET/B0SECRET/XXXXXXXXXXXXabcd";
    expect(urlHint(url)).toBe("hooks.slack.com ...abcd");
    expect(urlHint(url)).not.toContain("SECRET");
    expect(urlHint("http://127.0.0.1:9100/hook?token=zz😀yz")).toBe("127.0.0.1:9100 ...z😀yz");
    expect(urlHint("https://user:password@example.com/x/wxyz")).toBe("example.com ...wxyz");
    expect(urlHint("not a url 1234")).toBe("...1234");
  });
});

describe("any message", () => {
  it("fits every chat's limits, parses as a card and verifies as a webhook (property)", async () => {
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 3000 }),
      fc.string({ unit: "grapheme", maxLength: 200 }),
      fc.constantFrom(HOSTILE, "", "\u0000", "&&&<<<>>>"),
    );
    const executions = fc.array(
      fc.record({
        outcome: fc.constantFrom(...OUTCOMES),
        reason: text,
        from: fc.option(fc.nat(1000), { nil: undefined }),
        to: fc.option(fc.nat(1000), { nil: undefined }),
        at: fc.integer({ min: T0, max: T0 + 300_000 }),
      }),
      { maxLength: 40 },
    );
    await fc.assert(
      fc.asyncProperty(
        text,
        text,
        text,
        fc.boolean(),
        executions,
        async (name, environment, label, test, drawn) => {
          const subject = message(test ? [] : drawn.map((fields) => execution(fields)), {
            name,
            environment,
            test,
            targetLabel: label,
          });
          checkSlack((await render("slack", subject)).body);
          checkDiscord((await render("discord", subject)).body);
          expect(cardEvents(teamsCard((await render("teams", subject)).body))).toEqual([]);
          const secret = newSigningSecret();
          const signed = await renderRequest("webhook", subject, { secret, now: Date.now() });
          expect(new Webhook(secret).verify(signed.body, signed.headers)).toMatchObject({ id: "msg_1" });
        },
      ),
      { numRuns: 40 },
    );
  }, 30_000);
});

describe("Teams text", () => {
  it("cannot be made a masked link by what a reason quotes", async () => {
    const hostile = scenarios[
      "names that try mentions, markup, emoji and lone surrogates"
    ] as NotificationMessage;
    const card = JSON.stringify(teamsCard((await render("teams", hostile)).body));
    expect(card).toContain("[x] (https://evil.example)");
    expect(card).not.toContain("](");
  });
});
