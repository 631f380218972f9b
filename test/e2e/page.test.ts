import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { jsx } from "hono/jsx";
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Execution } from "../../src/domain/execution";
import type { ReceiverRecord } from "../../src/domain/receiver";
import type { DRIVERS } from "../../src/drivers";
import { urlHint } from "../../src/notifications/destinations";
import { PAGE_CSS } from "../../src/page/assets";
import { History } from "../../src/page/history";
import { chromiumAvailable, launchChromium } from "./browser";
import { eventually, type LocalStack, startLocalStack } from "./local-stack";

/**
 * The Receiver Hooks page (docs/page.md) in a real headless Chromium, used as a person would: the
 * browser's Basic prompt, the list, the Add Receiver form, the row options and History. The service
 * and the Cattle emulator run as real HTTP servers on loopback (local-stack.ts).
 */

type Key = { username: string; password: string };
const DEV: Key = { username: "dev-access", password: "dev-secret" };
const READONLY: Key = { username: "readonly-access", password: "readonly-secret" };
const OTHER: Key = { username: "other-access", password: "other-secret" };

const LIST_HEADERS = ["State", "Name", "Kind", "Detail", "Trigger URL", "Last execution", "Options"];
const HISTORY_HEADERS = ["Time", "Outcome", "Reason", "From", "To", "Sender"];

interface ReceiverInput {
  name: string;
  action?: "up" | "down";
  serviceId?: string;
  by?: number | string;
  min?: number | string;
  max?: number | string;
}

interface Table {
  headers: string[];
  rows: { id: string | null; cells: Record<string, string> }[];
}

let counter = 0;
/** Receivers live in the service, which an emulator reset does not clear: every test uses new names. */
const uniqueName = (base: string) => `${base}-${++counter}`;

/** The form's fields, found by their labels (the seed's words). */
const field = {
  name: (page: Page) => page.getByLabel(/^Name\b/),
  kind: (page: Page) => page.getByLabel(/^Kind\b/),
  action: (page: Page) => page.getByLabel(/^Action\b/),
  target: (page: Page) => page.getByLabel(/^Target Service\b/),
  by: (page: Page) => page.getByLabel(/^By\b/),
  min: (page: Page) => page.getByLabel(/^Minimum Scale\b/),
  max: (page: Page) => page.getByLabel(/^Maximum Scale\b/),
};

async function fillForm(page: Page, input: ReceiverInput): Promise<void> {
  await field.name(page).fill(input.name);
  await field.kind(page).selectOption({ label: "Scale a Service" });
  await field.action(page).selectOption(input.action ?? "up");
  await field.target(page).selectOption(input.serviceId ?? "1s1");
  await field.by(page).fill(String(input.by ?? 1));
  if (input.min !== undefined) await field.min(page).fill(String(input.min));
  if (input.max !== undefined) await field.max(page).fill(String(input.max));
}

/** The list's row for a receiver, by its exact name. */
function rowOf(page: Page, name: string): Locator {
  return page.locator("tr[data-receiver-id]").filter({ has: page.getByText(name, { exact: true }) });
}

async function triggerUrlOf(row: Locator): Promise<string> {
  return ((await row.locator("code").textContent()) ?? "").trim();
}

/** The first table of the page, its cells keyed by the header's text. */
function readTable(page: Page): Promise<Table | null> {
  return page.evaluate(() => {
    const table = document.querySelector("table");
    if (!table) return null;
    const text = (cell: Element) => (cell.textContent ?? "").replace(/\s+/g, " ").trim();
    const headerRow = table.tHead?.rows[0] ?? table.rows[0];
    const headers = Array.from(headerRow?.cells ?? []).map(text);
    const rows = Array.from(table.tBodies)
      .flatMap((body) => Array.from(body.rows))
      .filter((row) => row.querySelector("td"))
      .map((row) => ({
        id: row.getAttribute("data-receiver-id"),
        cells: Object.fromEntries(
          Array.from(row.cells).map((cell, i) => [headers[i] ?? String(i), text(cell)]),
        ),
      }));
    return { headers, rows };
  });
}

async function rowCells(page: Page, name: string): Promise<Record<string, string>> {
  const table = await readTable(page);
  const row = table?.rows.find((candidate) => candidate.cells.Name === name);
  if (!row) throw new Error(`no row named ${name} in ${JSON.stringify(table)}`);
  return row.cells;
}

/** The `.field-error` element a form control names in its aria-describedby, and where it sits. */
function describedError(control: Locator) {
  return control.evaluate((element) => {
    const ids = (element.getAttribute("aria-describedby") ?? "").split(/\s+/).filter(Boolean);
    const error = ids
      .map((id) => document.getElementById(id))
      .find((candidate) => candidate?.classList.contains("field-error"));
    if (!error) return null;
    const container = error.parentElement;
    return {
      text: (error.textContent ?? "").trim(),
      // "Right next to the field": the error's container holds this control and no other one.
      besideField: Boolean(container?.contains(element)),
      controlsBeside: container ? container.querySelectorAll("input, select, textarea").length : 0,
    };
  });
}

/**
 * How the page fits its window: the document's width against the window's, and every control, table
 * cell and heading that is off-screen sideways, cut off by a box that clips (a scrolling table), wider
 * than its own box, or covered where a click would land.
 */
function howItFits(page: Page) {
  return page.evaluate(() => {
    const windowWidth = window.innerWidth;
    const problems: string[] = [];
    const controls = "a[href], button, input:not([type=hidden]), select, textarea";
    const shown = Array.from(document.querySelectorAll<HTMLElement>(`${controls}, td, h1`)).filter(
      (element) => element.checkVisibility(),
    );
    const nameOf = (element: Element) =>
      `${element.tagName.toLowerCase()} "${(element.textContent ?? "").trim().slice(0, 40)}"`;
    for (const element of shown) {
      const box = element.getBoundingClientRect();
      let inside = box.left >= -0.5 && box.right <= windowWidth + 0.5;
      for (let frame = element.parentElement; frame && inside; frame = frame.parentElement) {
        if (getComputedStyle(frame).overflowX === "visible") continue;
        const edges = frame.getBoundingClientRect();
        inside = box.left >= edges.left - 0.5 && box.right <= edges.right + 0.5;
      }
      if (!inside)
        problems.push(`${nameOf(element)} is cut off (${Math.round(box.left)}–${Math.round(box.right)} px)`);
      if (element.tagName === "TD" && element.scrollWidth > element.clientWidth + 1) {
        problems.push(`${nameOf(element)} overflows its cell`);
      }
    }
    // Then each control where a click lands (scrolling to it, as a person would).
    for (const element of shown.filter((candidate) => candidate.matches(controls))) {
      element.scrollIntoView({ block: "center", inline: "center" });
      const at = element.getBoundingClientRect();
      const top = document.elementFromPoint(at.left + at.width / 2, at.top + at.height / 2);
      if (!top || !(element === top || element.contains(top) || top.contains(element))) {
        problems.push(`${nameOf(element)} cannot be clicked (under ${top?.tagName.toLowerCase()})`);
      }
    }
    window.scrollTo(0, 0);
    return { documentWidth: document.documentElement.scrollWidth, windowWidth, problems };
  });
}

/** The kinds whose fieldsets Add Receiver shows. */
function shownKinds(page: Page): Promise<(string | null)[]> {
  return page
    .locator("fieldset[data-kind]")
    .evaluateAll((fieldsets) =>
      fieldsets
        .filter((fieldset) => fieldset.checkVisibility())
        .map((fieldset) => fieldset.getAttribute("data-kind")),
    );
}

/** The two windows every visual guarantee of the page is checked at: a laptop's and a phone's. */
const WINDOWS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;

/** WCAG's contrast ratio of two opaque computed colours (`rgb(r, g, b)`). */
function contrast(first: string, second: string): number {
  const luminance = (colour: string) => {
    const [r, g, b] = (colour.match(/[\d.]+/g) ?? []).slice(0, 3).map((part) => {
      const channel = Number(part) / 255;
      return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
  };
  const [light, dark] = [luminance(first), luminance(second)].sort((a, b) => b - a);
  return ((light ?? 0) + 0.05) / ((dark ?? 0) + 0.05);
}

/** The lines an element's text is laid out on (distinct tops of its text's boxes). */
function textLines(element: Locator): Promise<number> {
  return element.evaluate((node) => {
    const range = document.createRange();
    range.selectNodeContents(node);
    return new Set(Array.from(range.getClientRects(), (rect) => Math.round(rect.top))).size;
  });
}

/**
 * Options of the page's shown selects whose words do not fit their box ("id: words"): each option's
 * text measured in its select's font against the box less its padding and the arrow's room.
 */
function cutOffOptions(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const context = document.createElement("canvas").getContext("2d");
    if (!context) throw new Error("no canvas");
    const arrow = 20;
    return Array.from(document.querySelectorAll("select"))
      .filter((select) => select.checkVisibility())
      .flatMap((select) => {
        const style = getComputedStyle(select);
        context.font = style.font;
        const room =
          select.clientWidth -
          Number.parseFloat(style.paddingLeft) -
          Number.parseFloat(style.paddingRight) -
          arrow;
        const offScreen = select.getBoundingClientRect().right > window.innerWidth;
        return Array.from(select.options)
          .filter((option) => offScreen || context.measureText(option.text).width > room)
          .map((option) => `${select.id}: ${option.text}`);
      });
  });
}

describe.skipIf(!chromiumAvailable)("the Receiver Hooks page in a real Chromium", () => {
  let stack: LocalStack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const listUrl = (projectId?: string) =>
    new URL(projectId ? `/?projectId=${projectId}` : "/", stack.url).href;
  const formUrl = (query = "projectId=1a5") => new URL(`/receivers/new?${query}`, stack.url).href;

  /** A browser context signed in with a key through the Basic prompt (none: not signed in). */
  async function open(key: Key | null = DEV, options: BrowserContextOptions = {}): Promise<Page> {
    const context = await browser.newContext({
      ...(key ? { httpCredentials: { ...key, origin: stack.url.origin } } : {}),
      permissions: ["clipboard-read", "clipboard-write"],
      ...options,
    });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context.newPage();
  }

  /** Create a receiver through the Add Receiver form; ends on the list showing its row. */
  async function createThroughForm(page: Page, input: ReceiverInput): Promise<Locator> {
    await page.goto(formUrl());
    await fillForm(page, input);
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL((url) => url.pathname === "/");
    const row = rowOf(page, input.name);
    await row.waitFor();
    return row;
  }

  const trigger = (url: string) => fetch(url, { method: "POST" });

  /** Create a receiver through the API (quicker than the form, for tests about other things). */
  async function createThroughApi(body: Record<string, unknown>): Promise<{ id: string; url: string }> {
    const response = await fetch(new URL("/v1-webhooks/receivers?projectId=1a5", stack.url), {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa(`${DEV.username}:${DEV.password}`)}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as { id: string; url: string };
  }

  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.dispose();
  });

  beforeEach(async () => {
    const reset = await stack.emulator("/_emulator/reset", { method: "POST" });
    expect(reset.ok).toBe(true);
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  it("asks for a Rancher API key with the browser's Basic prompt", async () => {
    const bare = await fetch(listUrl());
    expect(bare.status).toBe(401);
    expect(bare.headers.get("www-authenticate")).toBe('Basic realm="Rancher API key"');

    // Without a key (or with a wrong one) Chromium gets the challenge; Playwright then cancels the
    // prompt, so the navigation itself ends in net::ERR_INVALID_AUTH_CREDENTIALS.
    for (const key of [null, { username: "dev-access", password: "not-the-secret" }]) {
      const page = await open(key);
      const [challenge] = await Promise.all([
        page.waitForResponse((response) => response.url() === listUrl()),
        page.goto(listUrl()).catch(() => null),
      ]);
      expect(challenge.status()).toBe(401);
      expect(await challenge.headerValue("www-authenticate")).toBe('Basic realm="Rancher API key"');
    }

    const page = await open(DEV);
    const response = await page.goto(listUrl());
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-type"]).toMatch(/^text\/html/);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toContain("Receiver Hooks");
  });

  it("picks the environment from those the key can see", async () => {
    const page = await open(DEV);
    await page.goto(listUrl());
    const picker = page.getByLabel("Environment");
    expect(await picker.evaluate((element) => element.tagName)).toBe("SELECT");
    expect(await picker.getAttribute("name")).toBe("projectId");
    expect((await picker.locator("option").allTextContents()).map((text) => text.trim())).toEqual([
      "Default",
    ]);
    expect(await picker.inputValue()).toBe("1a5");

    // A key of another environment sees only that one, and it is empty.
    const other = await open(OTHER);
    await other.goto(listUrl());
    const otherPicker = other.getByLabel("Environment");
    expect((await otherPicker.locator("option").allTextContents()).map((text) => text.trim())).toEqual([
      "Other",
    ]);
    expect(await otherPicker.inputValue()).toBe("1a7");
    await other.getByText("No receiver hooks yet").waitFor();
    expect(await other.locator("tr[data-receiver-id]").count()).toBe(0);
  });

  it("creates a receiver through the form and lists it with a Trigger URL that copies", async () => {
    const page = await open(DEV);
    await page.goto(listUrl());
    await page.getByRole("link", { name: "Add Receiver" }).click();
    await page.waitForURL((url) => url.pathname === "/receivers/new");
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toContain("Add Receiver");

    // The form offers the seed's choices: only scalable services, the documented defaults.
    expect(await field.kind(page).locator("option").allTextContents()).toContainEqual(
      expect.stringContaining("Scale a Service"),
    );
    const actions = await field
      .action(page)
      .locator("option")
      .evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value));
    expect(actions).toEqual(expect.arrayContaining(["up", "down"]));
    const targets = await field
      .target(page)
      .locator("option")
      .evaluateAll((options) =>
        options.map((option) => ({
          value: (option as HTMLOptionElement).value,
          text: (option.textContent ?? "").trim(),
        })),
      );
    const services = targets.filter((option) => option.value !== "");
    // Every scalable service of the seed: web, lb, api and worker; never the external or global one.
    expect(services.map((option) => option.value).sort()).toEqual(["1s1", "1s2", "1s5", "1s6"]);
    expect(services.find((option) => option.value === "1s1")?.text).toContain("web");
    expect(services.find((option) => option.value === "1s2")?.text).toContain("lb");
    expect(targets.map((option) => option.text).join(" ")).not.toMatch(/\b(ext|agent)\b/);
    expect(await field.min(page).inputValue()).toBe("1");
    expect(await field.max(page).inputValue()).toBe("100");

    const name = uniqueName("scale-web");
    await fillForm(page, { name, action: "up", serviceId: "1s1", by: 1, max: 10 });
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL((url) => url.pathname === "/" && url.searchParams.get("projectId") === "1a5");
    const row = rowOf(page, name);
    await row.waitFor();
    expect(((await page.getByRole("status").textContent()) ?? "").trim()).not.toBe("");

    expect((await readTable(page))?.headers).toEqual(LIST_HEADERS);
    const cells = await rowCells(page, name);
    expect(cells.Kind).toBe("Scale a Service");
    expect(cells.Detail).toBe("web up by 1 (min 1, max 10)");
    const url = await triggerUrlOf(row);
    expect(url.startsWith(`${stack.url.origin}/v1-webhooks/endpoint?token=`)).toBe(true);
    expect(cells["Trigger URL"]).toContain(url);

    // The URL shown is the receiver's own, as the API reports it.
    const api = await fetch(new URL("/v1-webhooks/receivers?projectId=1a5", stack.url), {
      headers: { authorization: `Basic ${btoa("dev-access:dev-secret")}` },
    });
    const receivers = ((await api.json()) as { data: { id: string; name: string; url: string }[] }).data;
    const receiver = receivers.find((candidate) => candidate.name === name);
    expect(receiver?.url).toBe(url);
    expect(await row.getAttribute("data-receiver-id")).toBe(receiver?.id);

    // Copy: the button says so, and the clipboard holds the URL.
    const copy = await row.getByRole("button", { name: "Copy Trigger URL" }).elementHandle();
    if (!copy) throw new Error("no copy button");
    await copy.click();
    await expect.poll(async () => ((await copy.textContent()) ?? "").trim()).toBe("Copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
  });

  it("shows a trigger of the listed URL in History and as the last execution", async () => {
    const page = await open(DEV);
    const name = uniqueName("history-web");
    const row = await createThroughForm(page, { name, action: "up", serviceId: "1s1", by: 1, max: 10 });
    const url = await triggerUrlOf(row);
    const lastBefore = (await rowCells(page, name))["Last execution"];

    await row.getByRole("link", { name: "History" }).click();
    await page.waitForURL((at) => at.pathname.endsWith("/history"));
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toContain("History");
    await page.getByText("No executions yet").waitFor();

    const response = await trigger(url);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { outcome: string }).outcome).toBe("applied");

    await page.reload();
    const history = await readTable(page);
    // The contract's columns, in its order (the page may show more, e.g. the alert's status).
    expect(history?.headers.filter((header) => HISTORY_HEADERS.includes(header))).toEqual(HISTORY_HEADERS);
    expect(history?.rows).toHaveLength(1);
    expect(history?.rows[0]?.cells).toMatchObject({ Outcome: "applied", From: "1", To: "2" });
    expect(history?.rows[0]?.cells.Time).not.toBe("");

    await page.goto(listUrl("1a5"));
    const lastAfter = (await rowCells(page, name))["Last execution"];
    expect(lastAfter).not.toBe(lastBefore);
  });

  it("creates an Upgrade a Service receiver: Kind shows that kind's fields, a push upgrades", async () => {
    const page = await open(DEV);
    await page.goto(formUrl());
    const scaleFields = page.locator('fieldset[data-kind="scaleService"]');
    const upgradeFields = page.locator('fieldset[data-kind="serviceUpgrade"]');
    // With JavaScript the kind switches at once: no button for it.
    expect(await page.getByRole("button", { name: "Show this kind's fields" }).count()).toBe(0);
    expect(await scaleFields.isVisible()).toBe(true);
    expect(await upgradeFields.isVisible()).toBe(false);
    await page.getByLabel("Kind").selectOption({ label: "Upgrade a Service" });
    expect(await scaleFields.isVisible()).toBe(false);
    expect(await upgradeFields.isVisible()).toBe(true);

    const name = uniqueName("upgrade-worker");
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Service labels").fill("app=worker");
    await page.getByLabel("Tag", { exact: true }).fill("1.*");
    await page.getByLabel("Batch interval (ms)").fill("100");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL((url) => url.pathname === "/");
    const row = rowOf(page, name);
    await row.waitFor();
    expect((await rowCells(page, name)).Kind).toBe("Upgrade a Service");

    const push = await fetch(await triggerUrlOf(row), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ push_data: { tag: "1.7.0" }, repository: { repo_name: "myorg/api" } }),
    });
    expect(push.status).toBe(202);
    expect(((await push.json()) as { outcome: string }).outcome).toBe("queued");
    await row.getByRole("link", { name: "History" }).click();
    await page.getByText("upgrading 1s6 (worker) to myorg/api:1.7.0").waitFor();
  });

  it("shows validation errors next to their fields and keeps the entered values", async () => {
    const page = await open(DEV);
    await page.goto(formUrl());
    const name = uniqueName("invalid");
    await fillForm(page, { name, action: "down", serviceId: "1s2", by: 0, min: 2, max: 5 });
    // The server's own check is under test: a browser's constraint validation (min="1") would stop
    // the submission before it left the page.
    await page.locator("form", { has: field.name(page) }).evaluate((form) => {
      (form as HTMLFormElement).noValidate = true;
    });
    const [rejected] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === "POST"),
      page.getByRole("button", { name: "Create" }).click(),
    ]);
    expect(rejected.status()).toBe(422);
    await page.waitForLoadState();
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toContain("Add Receiver");
    expect(await field.name(page).inputValue()).toBe(name);
    expect(await field.action(page).inputValue()).toBe("down");
    expect(await field.target(page).inputValue()).toBe("1s2");
    expect(await field.by(page).inputValue()).toBe("0");
    expect(await field.min(page).inputValue()).toBe("2");
    expect(await field.max(page).inputValue()).toBe("5");
    const byError = await describedError(field.by(page));
    expect(byError?.text).toContain("at least 1");
    expect(byError).toMatchObject({ besideField: true, controlsBeside: 1 });
    expect(await page.locator(".field-error").filter({ hasText: /\S/ }).count()).toBe(1);

    // A name already used in the environment.
    const taken = uniqueName("taken");
    await createThroughForm(page, { name: taken, serviceId: "1s1" });
    await page.goto(formUrl());
    await fillForm(page, { name: taken, action: "up", serviceId: "1s2", by: 3 });
    const [duplicate] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === "POST"),
      page.getByRole("button", { name: "Create" }).click(),
    ]);
    expect(duplicate.status()).toBe(422);
    await page.waitForLoadState();
    expect(await field.name(page).inputValue()).toBe(taken);
    expect(await field.target(page).inputValue()).toBe("1s2");
    expect(await field.by(page).inputValue()).toBe("3");
    const nameError = await describedError(field.name(page));
    expect(nameError?.text).toContain("already exists");
    expect(nameError).toMatchObject({ besideField: true, controlsBeside: 1 });
  });

  it("clones a receiver: the form pre-filled, then a second receiver", async () => {
    const page = await open(DEV);
    const name = uniqueName("scale-lb");
    const row = await createThroughForm(page, {
      name,
      action: "down",
      serviceId: "1s2",
      by: 2,
      min: 1,
      max: 5,
    });
    const id = await row.getAttribute("data-receiver-id");
    const originalUrl = await triggerUrlOf(row);

    await row.getByRole("link", { name: "Clone" }).click();
    await page.waitForURL((url) => url.pathname === "/receivers/new" && url.searchParams.get("clone") === id);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toContain("Add Receiver");
    expect(await field.name(page).inputValue()).toBe(`${name}-copy`);
    expect(await field.action(page).inputValue()).toBe("down");
    expect(await field.target(page).inputValue()).toBe("1s2");
    expect(await field.by(page).inputValue()).toBe("2");
    expect(await field.min(page).inputValue()).toBe("1");
    expect(await field.max(page).inputValue()).toBe("5");

    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL((url) => url.pathname === "/");
    const clone = rowOf(page, `${name}-copy`);
    await clone.waitFor();
    await rowOf(page, name).waitFor();
    expect((await rowCells(page, `${name}-copy`)).Detail).toBe("lb down by 2 (min 1, max 5)");
    expect(await clone.getAttribute("data-receiver-id")).not.toBe(id);
    expect(await triggerUrlOf(clone)).not.toBe(originalUrl);
  });

  it("regenerates a Trigger URL: the new one works, the old one is refused", async () => {
    const page = await open(DEV);
    const name = uniqueName("regenerate");
    const row = await createThroughForm(page, { name, serviceId: "1s1", by: 1, max: 10 });
    const id = await row.getAttribute("data-receiver-id");
    const oldUrl = await triggerUrlOf(row);

    // It asks first, saying what happens to the old URL; cancelled, nothing changes.
    const regenerate = row.getByRole("link", { name: "Regenerate URL" });
    const asked = new Promise<{ type: string; message: string }>((resolve) =>
      page.once("dialog", (dialog) => {
        resolve({ type: dialog.type(), message: dialog.message() });
        void dialog.dismiss();
      }),
    );
    await regenerate.click();
    expect(await asked).toEqual({
      type: "confirm",
      message: `Regenerate the Trigger URL of "${name}"? The old URL stops working at once.`,
    });
    await page.waitForTimeout(500);
    expect(await triggerUrlOf(rowOf(page, name))).toBe(oldUrl);
    expect((await trigger(oldUrl)).status).toBe(200);

    page.once("dialog", (dialog) => void dialog.accept());
    await regenerate.click();
    await expect.poll(() => triggerUrlOf(rowOf(page, name)), { timeout: 10_000 }).not.toBe(oldUrl);
    const newUrl = await triggerUrlOf(rowOf(page, name));
    expect(newUrl.startsWith(`${stack.url.origin}/v1-webhooks/endpoint?token=`)).toBe(true);
    expect(await rowOf(page, name).getAttribute("data-receiver-id")).toBe(id);
    expect(((await page.getByRole("status").textContent()) ?? "").trim()).not.toBe("");

    expect((await trigger(oldUrl)).status).toBe(403);
    const fresh = await trigger(newUrl);
    expect(fresh.status).toBe(200);
    expect(((await fresh.json()) as { outcome: string }).outcome).toBe("applied");
  });

  it("deletes a receiver only after confirmation, and its URL stops working", async () => {
    const page = await open(DEV);
    const name = uniqueName("delete-me");
    const keep = uniqueName("keep-me");
    await createThroughForm(page, { name: keep, serviceId: "1s1" });
    const row = await createThroughForm(page, { name, serviceId: "1s1" });
    const url = await triggerUrlOf(row);
    const deleteControl = row
      .getByRole("button", { name: "Delete" })
      .or(row.getByRole("link", { name: "Delete" }));

    // Cancelled: nothing happens.
    const dismissed = new Promise<string>((resolve) =>
      page.once("dialog", (dialog) => {
        resolve(dialog.type());
        void dialog.dismiss();
      }),
    );
    await deleteControl.click();
    expect(await dismissed).toBe("confirm");
    await page.waitForTimeout(500);
    expect(await rowOf(page, name).count()).toBe(1);

    // Confirmed: the list comes back without the row.
    page.once("dialog", (dialog) => void dialog.accept());
    await deleteControl.click();
    await rowOf(page, name).waitFor({ state: "detached" });
    await rowOf(page, keep).waitFor();
    expect(((await page.getByRole("status").textContent()) ?? "").trim()).not.toBe("");
    expect((await trigger(url)).status).toBe(403);
  });

  it("shows a read-only key the list without URLs and without write controls", async () => {
    const owner = await open(DEV);
    const name = uniqueName("read-only-view");
    await createThroughForm(owner, { name, serviceId: "1s1" });

    const page = await open(READONLY);
    expect((await page.goto(listUrl()))?.status()).toBe(200);
    const row = rowOf(page, name);
    await row.waitFor();
    expect(await page.locator("main code").count()).toBe(0);
    expect(await page.content()).not.toContain("/v1-webhooks/endpoint");
    expect(await page.getByRole("button", { name: "Copy Trigger URL" }).count()).toBe(0);
    for (const control of ["Add Receiver", "Clone", "Regenerate URL", "Delete"]) {
      expect(await page.getByRole("link", { name: control }).count(), control).toBe(0);
      expect(await page.getByRole("button", { name: control }).count(), control).toBe(0);
    }
    const history = row.getByRole("link", { name: "History" });
    expect(await history.count()).toBe(1);
    await history.click();
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toContain("History");
  });

  it("works from the keyboard: Add Receiver with Enter, the form submitted with Enter", async () => {
    const page = await open(DEV);
    await page.goto(listUrl());
    await page.getByRole("link", { name: "Add Receiver" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL((url) => url.pathname === "/receivers/new");

    const name = uniqueName("keyboard");
    await fillForm(page, { name: "placeholder", serviceId: "1s2", by: 2 });
    const nameField = field.name(page);
    await nameField.fill("");
    await nameField.focus();
    expect(await nameField.evaluate((element) => element === document.activeElement)).toBe(true);
    await page.keyboard.type(name);
    await page.keyboard.press("Enter");
    await page.waitForURL((url) => url.pathname === "/");
    await rowOf(page, name).waitFor();
    expect((await rowCells(page, name)).Detail).toBe("lb up by 2 (min 1, max 100)");
  });

  it("works without JavaScript: the Switch button, the form, the list", async () => {
    const page = await open(DEV, { javaScriptEnabled: false });
    await page.goto(listUrl());
    await page.getByRole("button", { name: "Switch" }).waitFor();
    expect(await page.getByLabel("Environment").inputValue()).toBe("1a5");

    const name = uniqueName("no-script");
    const row = await createThroughForm(page, { name, serviceId: "1s1", by: 1, max: 10 });
    expect(await triggerUrlOf(row)).toMatch(/\/v1-webhooks\/endpoint\?token=/);
    expect((await rowCells(page, name)).Detail).toBe("web up by 1 (min 1, max 10)");
  });

  it("without JavaScript shows the chosen kind's fields only, and switches kind keeping what was typed", async () => {
    const page = await open(DEV, { javaScriptEnabled: false });
    await page.goto(formUrl());
    expect(await shownKinds(page)).toEqual(["scaleService"]);

    const name = uniqueName("no-script-upgrade");
    await field.name(page).fill(name);
    await field.kind(page).selectOption({ label: "Upgrade a Service" });
    expect(await shownKinds(page)).toEqual(["scaleService"]);
    const [switched] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === "POST"),
      page.getByRole("button", { name: "Show this kind's fields" }).click(),
    ]);
    expect(switched.status()).toBe(200);
    await page.waitForLoadState();
    expect(await shownKinds(page)).toEqual(["serviceUpgrade"]);
    expect(await field.name(page).inputValue()).toBe(name);
    expect(await field.kind(page).inputValue()).toBe("serviceUpgrade");
    expect(await page.getByRole("status").textContent()).toContain("Upgrade a Service");

    await page.getByLabel("Service labels").fill("app=worker");
    await page.getByLabel("Tag", { exact: true }).fill("1.*");
    await page.getByLabel("Batch interval (ms)").fill("100");
    // Enter submits with the form's first submit button: Create, not the kind switch.
    await field.name(page).press("Enter");
    await page.waitForURL((url) => url.pathname === "/");
    await rowOf(page, name).waitFor();
    expect((await rowCells(page, name)).Kind).toBe("Upgrade a Service");
  });

  it("creates a receiver with Grafana's check and its own signature header from the form", async () => {
    const page = await open(DEV);
    await page.goto(formUrl());
    const header = page.getByLabel("Signature header");
    expect(await header.isVisible()).toBe(false);

    const name = uniqueName("grafana-custom-header");
    const secret = "e2e-grafana-secret-0123456789";
    await fillForm(page, { name, serviceId: "1s1", by: 1, max: 10 });
    await page.getByLabel("Sender check", { exact: true }).selectOption({ label: "Grafana HMAC signature" });
    expect(await header.isVisible()).toBe(true);
    expect(await page.getByLabel("Timestamp header").isVisible()).toBe(true);
    expect(await page.getByLabel("Sender user").isVisible()).toBe(false);
    await page.getByLabel("Sender secret").fill(secret);
    await header.fill("X-Custom-Signature");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL((url) => url.pathname === "/");
    const row = rowOf(page, name);
    await row.waitFor();
    expect((await rowCells(page, name)).Detail).toContain(
      "Sender check: Grafana signature (X-Custom-Signature)",
    );

    const body = JSON.stringify({ receiver: "rancher", status: "firing", alerts: [] });
    const signature = createHmac("sha256", secret).update(body).digest("hex");
    const url = await triggerUrlOf(row);
    const send = (signatureHeader: string) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", [signatureHeader]: signature },
        body,
      });
    expect((await send("X-Grafana-Alerting-Signature")).status).toBe(401);
    expect((await send("X-Custom-Signature")).status).toBe(200);
  });

  it("answers errors with a page in its layout: a read-only key's Add Receiver, its form post, a gone receiver", async () => {
    const page = await open(READONLY);
    const refused = await page.goto(formUrl());
    expect(refused?.status()).toBe(403);
    expect(refused?.headers()["content-type"]).toMatch(/^text\/html/);
    expect(await page.title()).toBe("Not allowed · Receiver Hooks");
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Not allowed");
    expect(await page.locator(".alert").textContent()).toContain("but not change them");

    // A form posted by the key anyway (a tab left open from another key, say): a page too.
    const [posted] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === "POST"),
      page.evaluate(() => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = "/receivers?projectId=1a5";
        form.append(Object.assign(document.createElement("input"), { name: "name", value: "sneaky" }));
        document.body.append(form);
        form.submit();
      }),
    ]);
    expect(posted.status()).toBe(403);
    await page.waitForURL((url) => url.pathname === "/receivers");
    expect(await page.title()).toBe("Not allowed · Receiver Hooks");

    // The way back: the list, where the key can read.
    await page.getByRole("link", { name: "← Receiver Hooks" }).click();
    await page.waitForURL((url) => url.pathname === "/");
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toContain("Receiver Hooks");

    const gone = await page.goto(
      new URL("/receivers/r00000000000000000000000000/history?projectId=1a5", stack.url).href,
    );
    expect(gone?.status()).toBe(404);
    expect(await page.title()).toBe("Not found · Receiver Hooks");
    expect(await page.locator(".alert").textContent()).toContain("may have been deleted");
  });

  it("fits a 1280 px and a 390 px window: the list, Add Receiver and History, nothing cut off or off-screen", async () => {
    // Long names and Trigger URLs, every kind, a sender check, and a History with a long sender.
    const long = uniqueName(
      `scale-web-up-when-the-checkout-latency-alert-fires-in-production-${"x".repeat(30)}`,
    );
    const checked = await createThroughApi({
      name: long,
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 20 },
    });
    await createThroughApi({
      name: uniqueName("hosts-pool-workers-for-the-batch-jobs"),
      driver: "scaleHost",
      scaleHostConfig: { hostSelector: { pool: "workers" }, action: "up", amount: 1, min: 1, max: 8 },
    });
    await createThroughApi({
      name: uniqueName("upgrade-api-from-ghcr"),
      driver: "serviceUpgrade",
      serviceUpgradeConfig: {
        serviceSelector: { app: "api", tier: "backend" },
        tag: "v1.*",
        payloadFormat: "ghcr",
        batchSize: 1,
        intervalMillis: 2000,
      },
      senderVerification: { scheme: "bearer", token: "e2e-bearer-token-0123456789" },
    });
    const userAgent =
      "Grafana/11.2.0 (+https://grafana.com/docs/grafana/latest/alerting/)/contact-point-webhook";
    for (let i = 0; i < 2; i++) {
      const response = await fetch(checked.url, { method: "POST", headers: { "user-agent": userAgent } });
      expect(response.status).toBe(200);
    }
    const historyUrl = new URL(`/receivers/${checked.id}/history?projectId=1a5`, stack.url).href;

    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 390, height: 844 },
    ]) {
      const page = await open(DEV, { viewport });
      for (const [what, url] of [
        ["the list", listUrl("1a5")],
        ["Add Receiver", formUrl()],
        ["History", historyUrl],
      ] as const) {
        await page.goto(url);
        const where = `${what} at ${viewport.width}×${viewport.height}`;
        const { documentWidth, windowWidth, problems } = await howItFits(page);
        expect(documentWidth, where).toBeLessThanOrEqual(windowWidth);
        expect(problems, where).toEqual([]);
      }
      // The row options are there to be used: Regenerate URL of the long-named row works at this size.
      await page.goto(listUrl("1a5"));
      const before = await triggerUrlOf(rowOf(page, long));
      page.once("dialog", (dialog) => void dialog.accept());
      await rowOf(page, long).getByRole("link", { name: "Regenerate URL" }).click();
      await expect.poll(() => triggerUrlOf(rowOf(page, long)), { timeout: 10_000 }).not.toBe(before);
      checked.url = await triggerUrlOf(rowOf(page, long));
    }
  });

  it("asks before a Delete or Regenerate URL without JavaScript: a danger button legible in both themes, Cancel apart", async () => {
    const { id } = await createThroughApi({
      name: uniqueName("confirm-me"),
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 20 },
    });
    for (const viewport of WINDOWS) {
      for (const colorScheme of ["light", "dark"] as const) {
        const page = await open(DEV, { viewport, colorScheme, javaScriptEnabled: false });
        for (const [action, path] of [
          ["Delete", `/receivers/${id}/delete?projectId=1a5`],
          ["Regenerate URL", `/receivers/${id}/regenerate?projectId=1a5`],
        ] as const) {
          const where = `${action} at ${viewport.width} px, ${colorScheme}`;
          expect((await page.goto(new URL(path, stack.url).href))?.status(), where).toBe(200);
          const button = page.getByRole("button", { name: action, exact: true });
          const colours = await button.evaluate((element) => {
            const style = getComputedStyle(element);
            return { text: style.color, fill: style.backgroundColor };
          });
          expect(
            contrast(colours.text, colours.fill),
            `${where}: ${JSON.stringify(colours)}`,
          ).toBeGreaterThanOrEqual(4.5);
          const [deed, cancel] = await Promise.all([
            button.boundingBox(),
            page.getByRole("link", { name: "Cancel" }).boundingBox(),
          ]);
          if (!deed || !cancel) throw new Error(`${where}: no button or no Cancel`);
          // The space between the two boxes, whether side by side or one under the other.
          const gap = Math.max(cancel.x - (deed.x + deed.width), cancel.y - (deed.y + deed.height));
          expect(gap, where).toBeGreaterThanOrEqual(8);
        }
      }
    }
  });

  it("regenerates a Trigger URL without JavaScript only after its confirmation page", async () => {
    const page = await open(DEV, { javaScriptEnabled: false });
    const name = uniqueName("no-script-regenerate");
    const row = await createThroughForm(page, { name, serviceId: "1s1", by: 1, max: 10 });
    const oldUrl = await triggerUrlOf(row);
    await row.getByRole("link", { name: "Regenerate URL" }).click();
    await page.waitForURL((url) => url.pathname.endsWith("/regenerate"));
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
      `Regenerate the Trigger URL of ${name}?`,
    );
    await page.getByText("The old Trigger URL stops working at once").waitFor();
    expect((await trigger(oldUrl)).status).toBe(200);

    // Cancel goes back and changes nothing.
    await page.getByRole("link", { name: "Cancel" }).click();
    await page.waitForURL((url) => url.pathname === "/");
    expect(await triggerUrlOf(rowOf(page, name))).toBe(oldUrl);

    await rowOf(page, name).getByRole("link", { name: "Regenerate URL" }).click();
    await page.getByRole("button", { name: "Regenerate URL" }).click();
    await page.waitForURL((url) => url.pathname === "/");
    const newUrl = await triggerUrlOf(rowOf(page, name));
    expect(newUrl).not.toBe(oldUrl);
    expect((await trigger(oldUrl)).status).toBe(403);
    expect((await trigger(newUrl)).status).toBe(200);
  });

  it("keeps a name whole at its hyphens when it fits, at 1280 and 390 px", async () => {
    // Another environment, where this receiver is alone: its Name column is as narrow as the table
    // makes it (another test's long names would widen it in the shared one).
    const name = uniqueName("scale-web");
    const created = await fetch(new URL("/v1-webhooks/receivers?projectId=1a7", stack.url), {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa(`${OTHER.username}:${OTHER.password}`)}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        name,
        driver: "scaleService",
        scaleServiceConfig: { serviceId: "1s9", action: "up", amount: 1, min: 1, max: 20 },
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    for (const viewport of WINDOWS) {
      const page = await open(OTHER, { viewport });
      await page.goto(listUrl("1a7"));
      const cell = rowOf(page, name).locator("td.name");
      expect(await textLines(cell), `${name} at ${viewport.width} px`).toBe(1);
      expect(await cell.evaluate((element) => element.scrollWidth <= element.clientWidth)).toBe(true);
    }
  });

  it("shows every option of Add Receiver's selects whole (the Registry's too), and Start first's box before its words", async () => {
    for (const viewport of WINDOWS) {
      for (const javaScriptEnabled of [true, false]) {
        const page = await open(DEV, { viewport, javaScriptEnabled });
        const where = `at ${viewport.width} px${javaScriptEnabled ? "" : " without JavaScript"}`;
        for (const driver of ["scaleService", "scaleHost", "serviceUpgrade"]) {
          await page.goto(formUrl(`projectId=1a5&driver=${driver}`));
          expect(await shownKinds(page), where).toEqual([driver]);
          expect(await cutOffOptions(page), `${driver} ${where}`).toEqual([]);
        }
        const fieldset = page.locator('fieldset[data-kind="serviceUpgrade"]');
        expect(await fieldset.getByLabel("Registry", { exact: true }).isVisible(), where).toBe(true);
        const box = await fieldset.getByLabel("Start new containers first").boundingBox();
        const words = await fieldset
          .locator("label", { hasText: "Start new containers first" })
          .getByText("Start new containers first")
          .evaluate((element) => {
            const range = document.createRange();
            range.selectNodeContents(element);
            const first = range.getClientRects()[0];
            return first ? { left: first.left, top: first.top, bottom: first.bottom } : null;
          });
        if (!box || !words) throw new Error(`no checkbox or no label ${where}`);
        expect(box.x + box.width, where).toBeLessThanOrEqual(words.left);
        const middle = box.y + box.height / 2;
        expect(middle, where).toBeGreaterThanOrEqual(words.top);
        expect(middle, where).toBeLessThanOrEqual(words.bottom);
      }
    }
  });

  it("names a sender by its User-Agent's first product on a phone and a laptop, the whole one in the title", async () => {
    const { id, url } = await createThroughApi({
      name: uniqueName("alert-sender"),
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 20 },
    });
    const userAgent = "Alertmanager/0.25.0 (+https://github.com/prometheus/alertmanager) Go-http-client/1.1";
    expect((await fetch(url, { method: "POST", headers: { "user-agent": userAgent } })).status).toBe(200);
    for (const viewport of WINDOWS) {
      const page = await open(DEV, { viewport });
      await page.goto(new URL(`/receivers/${id}/history?projectId=1a5`, stack.url).href);
      const sender = page.locator('td[data-label="Sender"]');
      expect(((await sender.textContent()) ?? "").trim(), `at ${viewport.width} px`).toBe(
        "Alertmanager/0.25.0",
      );
      expect(await sender.locator("[title]").getAttribute("title")).toBe(userAgent);
      expect((await page.locator("main").textContent()) ?? "").not.toContain("Go-http-client");
    }
  });

  it("loads every page with no error in the console: the icon is there", async () => {
    const { id } = await createThroughApi({
      name: uniqueName("icon"),
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 20 },
    });
    for (const viewport of WINDOWS) {
      const page = await open(DEV, { viewport });
      const errors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(`${page.url()}: ${message.text()}`);
      });
      page.on("response", (response) => {
        if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
      });
      for (const path of [
        "/?projectId=1a5",
        "/receivers/new?projectId=1a5",
        `/receivers/${id}/history?projectId=1a5`,
      ]) {
        await page.goto(new URL(path, stack.url).href);
        await page.waitForLoadState("networkidle");
      }
      expect(errors, `at ${viewport.width} px`).toEqual([]);
      const icon = await page.evaluate(
        () => document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href,
      );
      expect(icon).toBe(new URL("/assets/favicon.svg", stack.url).href);
    }
  });

  it("refreshes History while an upgrade is queued, with and without JavaScript, and then stops", async () => {
    for (const javaScriptEnabled of [true, false]) {
      const { id, url } = await createThroughApi({
        name: uniqueName("upgrade-refresh"),
        driver: "serviceUpgrade",
        // One service at a time, 4 s apart: the upgrade stays queued for a while.
        serviceUpgradeConfig: {
          serviceSelector: { tier: "backend" },
          tag: "1.*",
          batchSize: 1,
          intervalMillis: 4000,
          healthySeconds: 2,
        },
      });
      const page = await open(DEV, { javaScriptEnabled });
      const how = javaScriptEnabled ? "with JavaScript" : "without JavaScript";
      const push = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ push_data: { tag: "1.7.0" }, repository: { repo_name: "myorg/api" } }),
      });
      expect(push.status, how).toBe(202);
      await page.goto(new URL(`/receivers/${id}/history?projectId=1a5`, stack.url).href);
      const outcome = page.locator('td[data-label="Outcome"]');
      expect(((await outcome.textContent()) ?? "").trim(), how).toBe("queued");
      await page.getByText("this list refreshes every 5 seconds").waitFor();
      const navigations: string[] = [];
      page.on("framenavigated", (frame) => {
        if (frame === page.mainFrame()) navigations.push(frame.url());
      });
      // Nobody reloads: the page does.
      await expect
        .poll(async () => ((await outcome.textContent()) ?? "").trim(), { timeout: 45_000, interval: 500 })
        .toBe("applied");
      expect(await page.locator("[data-refresh-ms]").count(), how).toBe(0);
      expect(await page.getByText("this list refreshes every").count(), how).toBe(0);
      // With JavaScript the region is replaced in place; without it the document reloads itself.
      if (javaScriptEnabled) expect(navigations, how).toEqual([]);
      else expect(navigations.length, how).toBeGreaterThan(0);
      const settled = navigations.length;
      await page.waitForTimeout(6_000);
      expect(navigations.length, `${how}: stopped`).toBe(settled);
    }
  });

  it("filters History by outcome, with and without JavaScript", async () => {
    const { id, url } = await createThroughApi({
      name: uniqueName("filter"),
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s2", action: "up", amount: 1, min: 1, max: 2 },
    });
    expect((await fetch(url, { method: "POST" })).status).toBe(200);
    expect((await fetch(url, { method: "POST" })).status).toBe(200);
    const outcomes = (page: Page) =>
      page
        .locator('td[data-label="Outcome"]')
        .evaluateAll((cells) => cells.map((cell) => cell.textContent?.trim()));
    for (const javaScriptEnabled of [true, false]) {
      const page = await open(DEV, { javaScriptEnabled });
      await page.goto(new URL(`/receivers/${id}/history?projectId=1a5`, stack.url).href);
      expect((await outcomes(page)).sort()).toEqual(["applied", "noop"]);
      await page.getByLabel("Outcome").selectOption("noop");
      if (!javaScriptEnabled) await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL((at) => at.searchParams.get("outcome") === "noop");
      expect(await outcomes(page)).toEqual(["noop"]);
      expect(await page.getByLabel("Outcome").inputValue()).toBe("noop");
      await page.getByLabel("Outcome").selectOption("");
      if (!javaScriptEnabled) await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL((at) => at.searchParams.get("outcome") === "");
      expect((await outcomes(page)).sort()).toEqual(["applied", "noop"]);
    }
  });

  it("shows which key is signed in, in the header at 1280 and 390 px, never its secret", async () => {
    for (const [key, viewport] of [
      [DEV, WINDOWS[0]],
      [READONLY, WINDOWS[1]],
    ] as const) {
      const page = await open(key, { viewport });
      await page.goto(listUrl());
      const signedIn = page.locator("header .signed-in");
      expect(((await signedIn.textContent()) ?? "").trim()).toBe(`Key ${key.username}`);
      const box = await signedIn.boundingBox();
      expect(box && box.x >= 0 && box.x + box.width <= viewport.width).toBe(true);
      expect(await page.content()).not.toContain(key.password);
    }
  });
});

/**
 * Pictures of the page for the docs: `SCREENSHOTS=1 npx vitest run --project e2e test/e2e/page.test.ts`
 * (SCREENSHOTS_DIR to write elsewhere than docs/). A stack of its own, so the list shows only these.
 */
describe.runIf(chromiumAvailable && process.env.SCREENSHOTS === "1")("screenshots of the page", () => {
  const dir = process.env.SCREENSHOTS_DIR ?? "docs";
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium();
    await stack.emulator("/_emulator/reset", { method: "POST" });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.dispose();
  });

  it("saves the list (light, dark and on a phone) and the filled Add Receiver form", async () => {
    mkdirSync(dir, { recursive: true });
    const context = await browser.newContext({
      httpCredentials: { ...DEV, origin: stack.url.origin },
      viewport: { width: 1280, height: 800 },
      colorScheme: "light",
    });
    context.setDefaultTimeout(10_000);
    try {
      const page = await context.newPage();
      const receivers: ReceiverInput[] = [
        { name: "scale-web-up", action: "up", serviceId: "1s1", by: 1, min: 1, max: 10 },
        { name: "scale-web-burst", action: "up", serviceId: "1s1", by: 3, min: 1, max: 20 },
        { name: "scale-lb-down", action: "down", serviceId: "1s2", by: 2, min: 1, max: 5 },
      ];
      let firstUrl = "";
      for (const receiver of receivers) {
        await page.goto(new URL("/receivers/new?projectId=1a5", stack.url).href);
        await fillForm(page, receiver);
        await page.getByRole("button", { name: "Create" }).click();
        await page.waitForURL((url) => url.pathname === "/");
        const row = rowOf(page, receiver.name);
        await row.waitFor();
        firstUrl ||= await triggerUrlOf(row);
      }
      expect((await fetch(firstUrl, { method: "POST" })).status).toBe(200);

      await page.goto(new URL("/?projectId=1a5", stack.url).href);
      await rowOf(page, "scale-web-up").waitFor();
      await page.screenshot({ path: join(dir, "receiver-hooks.png"), fullPage: true });
      await page.emulateMedia({ colorScheme: "dark" });
      await page.screenshot({ path: join(dir, "receiver-hooks-dark.png"), fullPage: true });
      // On a phone each receiver is a card.
      await page.emulateMedia({ colorScheme: "light" });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(dir, "receiver-hooks-phone.png"), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 800 });

      await page.emulateMedia({ colorScheme: "light" });
      await page.goto(new URL("/receivers/new?projectId=1a5", stack.url).href);
      await fillForm(page, { name: "scale-web-on-alert", action: "up", serviceId: "1s1", by: 2, max: 10 });
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur()); // no focus ring
      await page.screenshot({ path: join(dir, "add-receiver.png"), fullPage: true });
    } finally {
      await context.close();
    }
  });
});

/**
 * History with upgrades in it, as the page renders it, laid out by Chromium with the page's own
 * stylesheet: the upgrades need a service's executions, which only the service itself writes, so
 * the component is rendered here rather than reached through a stack.
 */
describe.skipIf(!chromiumAvailable)("History of a push's upgrades in a real Chromium", () => {
  let browser: Browser;
  const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);
  const at = (seconds: number) => T0 + seconds * 1000;
  const record = { id: "r0123456789abcdefghijklmnop", name: "deploy-api" } as ReceiverRecord;
  // A kind of the drivers' registry, whose modules also tell the types every kind's config.
  const driver: keyof typeof DRIVERS = "serviceUpgrade";
  const base = { receiverId: record.id, driver };
  const executions: Execution[] = [
    {
      ...base,
      id: "x2",
      outcome: "queued",
      reason: "upgrading 1s5 (api), 1s6 (worker) to registry.example.com:5000/myorg/backend-api:1.2.0-rc.1",
      at: at(100),
      upgrades: [
        {
          serviceId: "1s5",
          serviceName: "api",
          image: "registry.example.com:5000/myorg/backend-api:1.2.0-rc.1",
          previousImage: "registry.example.com:5000/myorg/backend-api:1.0.0",
          steps: [
            { step: "waiting", at: at(100) },
            { step: "upgrading", at: at(101) },
            { step: "upgraded", at: at(130) },
            { step: "verifying", at: at(131) },
          ],
        },
        {
          serviceId: "1s6",
          serviceName: "worker",
          image: "registry.example.com:5000/myorg/backend-api:1.2.0-rc.1",
          steps: [{ step: "waiting", at: at(100) }],
        },
      ],
    },
    {
      ...base,
      id: "x1",
      outcome: "rolledBack",
      reason: "rolled back 1s5 (api) to registry.example.com:5000/myorg/backend-api:1.0.0",
      at: at(0),
      finished: at(95),
      upgrades: [
        {
          serviceId: "1s5",
          serviceName: "api",
          image: "registry.example.com:5000/myorg/backend-api:1.1.0",
          previousImage: "registry.example.com:5000/myorg/backend-api:1.0.0",
          steps: [
            { step: "upgrading", at: at(1) },
            { step: "upgraded", at: at(20) },
            { step: "verifying", at: at(20) },
            { step: "rolling back", at: at(80) },
            { step: "rolled back", at: at(95) },
          ],
          message:
            "Default-api-1 (1i3) was unhealthy, Default-api-2 (1i4) restarted 3 times, Default-api-3 (1i5) stopped",
        },
      ],
    },
  ];
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/><style>${PAGE_CSS}</style></head>
<body><main>${jsx(History, { projectId: "1a5", record, executions }).toString()}</main></body></html>`;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("fits a laptop's and a phone's window, each upgrade's problems legible in both themes", async () => {
    for (const viewport of WINDOWS) {
      for (const colorScheme of ["light", "dark"] as const) {
        const where = `at ${viewport.width} px, ${colorScheme}`;
        const context = await browser.newContext({ viewport, colorScheme, javaScriptEnabled: false });
        try {
          const page = await context.newPage();
          await page.setContent(html);
          const fit = await howItFits(page);
          expect(fit.problems, where).toEqual([]);
          expect(fit.documentWidth, where).toBeLessThanOrEqual(fit.windowWidth);

          // Each service's steps read in order, the running one's current step marked.
          const running = page.locator('tr[data-execution-id="x2"] li.upgrade').first();
          expect(await running.locator(".steps li .step").allTextContents(), where).toEqual([
            "waiting",
            "upgrading",
            "upgraded",
            "verifying",
          ]);
          expect(await running.locator('[aria-current="step"] .step').textContent(), where).toBe("verifying");
          expect(await running.locator(".now").isVisible(), where).toBe(true);

          // The outcome, the steps that went wrong, the reason and the mark: each against what is
          // behind it (the row's stripe, else the page), at WCAG AA for text.
          for (const selector of [
            "td.outcome-rolledBack",
            'tr[data-execution-id="x1"] .steps li.problem .step',
            'tr[data-execution-id="x1"] .message.problem',
            ".steps .now",
          ]) {
            const element = page.locator(selector).first();
            const colours = await element.evaluate((node) => {
              let behind = "rgba(0, 0, 0, 0)";
              for (let at: Element | null = node; at && /rgba\(.*, 0\)$/.test(behind); at = at.parentElement)
                behind = getComputedStyle(at).backgroundColor;
              return { text: getComputedStyle(node).color, behind };
            });
            expect(
              contrast(colours.text, colours.behind),
              `${selector} ${where}: ${JSON.stringify(colours)}`,
            ).toBeGreaterThanOrEqual(4.5);
          }
          // Shown as a problem: not the colour of the text around it.
          const [problem, plain] = await Promise.all(
            ['tr[data-execution-id="x1"] .message.problem', 'tr[data-execution-id="x1"] .upgrade strong'].map(
              (selector) => page.locator(selector).evaluate((node) => getComputedStyle(node).color),
            ),
          );
          expect(problem, where).not.toBe(plain);
        } finally {
          await context.close();
        }
      }
    }
  });
});

/**
 * A receiver's Notifications view used as a person would: a webhook destination added through the
 * form, its signing secret read once, a test sent and seen delivered, then a real execution told.
 * The destination is a capture server this test runs on loopback, which the service reaches for
 * real (every other request of the service still lands on the emulator).
 */
describe.skipIf(!chromiumAvailable)("a receiver's Notifications in a real Chromium", () => {
  let stack: LocalStack;
  let browser: Browser;
  let capture: Server;
  let captureUrl: string;
  const received: { path: string; headers: Record<string, string>; body: string }[] = [];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    capture = createServer((request, response) => {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const headers = Object.fromEntries(
          Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
        );
        received.push({ path: request.url ?? "", headers, body });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => capture.listen(0, "127.0.0.1", resolve));
    const address = capture.address() as AddressInfo;
    captureUrl = `http://127.0.0.1:${address.port}`;
    stack = await startLocalStack({ reach: [captureUrl] });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.dispose();
    await new Promise((resolve) => capture?.close(resolve));
  });

  beforeEach(async () => {
    expect((await stack.emulator("/_emulator/reset", { method: "POST" })).ok).toBe(true);
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  async function open(options: BrowserContextOptions = {}): Promise<Page> {
    const context = await browser.newContext({
      httpCredentials: { ...DEV, origin: stack.url.origin },
      permissions: ["clipboard-read", "clipboard-write"],
      ...options,
    });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context.newPage();
  }

  async function createReceiver(name: string): Promise<{ id: string; url: string }> {
    const response = await fetch(new URL("/v1-webhooks/receivers?projectId=1a5", stack.url), {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa(`${DEV.username}:${DEV.password}`)}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        name,
        driver: "scaleService",
        scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 20 },
      }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as { id: string; url: string };
  }

  /** The delivery log's rows, newest first, each cell keyed by its column. */
  const deliveryRows = (page: Page) =>
    page
      .locator("#deliveries tbody tr")
      .evaluateAll((rows) =>
        rows.map((row) =>
          Object.fromEntries(
            Array.from(row.querySelectorAll("td")).map((cell) => [
              cell.getAttribute("data-label"),
              (cell.textContent ?? "").replace(/\s+/g, " ").trim(),
            ]),
          ),
        ),
      );

  it("adds a webhook destination, shows its secret once, sends a test and logs it delivered, then tells of an execution", async () => {
    const name = uniqueName("notify-web");
    const receiver = await createReceiver(name);
    const page = await open({ viewport: { width: 1280, height: 800 } });
    await page.goto(new URL("/?projectId=1a5", stack.url).href);
    await rowOf(page, name).getByRole("link", { name: "Notifications" }).click();
    await expect.poll(() => page.locator("h1").textContent()).toBe(`Notifications: ${name}`);
    expect(await page.getByText("No destinations: this receiver tells no one what it did.").isVisible()).toBe(
      true,
    );

    // Add a destination: the default outcomes are checked, the others not.
    const adding = page.locator("fieldset.destination.new");
    await adding.getByLabel("Kind").selectOption({ label: "Webhook (Standard Webhooks)" });
    const hookUrl = `${captureUrl}/hooks/page-e2e`;
    await adding.getByLabel("URL", { exact: true }).fill(hookUrl);
    const checked = await adding
      .locator('input[type="checkbox"]')
      .evaluateAll((boxes) =>
        boxes.filter((box) => (box as HTMLInputElement).checked).map((box) => box.getAttribute("name")),
      );
    expect(checked).toEqual(["new.on.applied", "new.on.failed", "new.on.rolledBack"]);
    await page.getByLabel("Window (seconds)").fill("1");
    await page.getByRole("button", { name: "Save notifications" }).click();

    // The signing secret, this once, with the word that it will not be shown again.
    const secrets = page.locator("section.secrets");
    await secrets.waitFor();
    expect(await secrets.textContent()).toContain("It will not be shown again");
    const secret = ((await secrets.locator("code[id^=secret-]").textContent()) ?? "").trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    await secrets.getByRole("button", { name: "Copy signing secret" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    expect(await page.locator("table").first().textContent()).toContain(urlHint(hookUrl));
    expect(await page.content()).not.toContain(hookUrl);

    // Gone once the page is loaded again.
    await page.goto(new URL(`/receivers/${receiver.id}/notifications?projectId=1a5`, stack.url).href);
    expect(await page.content()).not.toContain(secret);
    expect(await page.locator("section.secrets").count()).toBe(0);

    // Send a test: the answer says delivered, the capture server got it signed with that secret.
    received.length = 0;
    await page.getByRole("button", { name: "Send a test" }).click();
    const results = page.locator("section.test-results");
    await results.waitFor();
    expect((await results.locator("li").textContent())?.replace(/\s+/g, " ")).toMatch(
      /: delivered \(HTTP 204\)$/,
    );
    expect(received).toHaveLength(1);
    const [test] = received;
    expect(test?.path).toBe("/hooks/page-e2e");
    const verified = new Webhook(secret).verify(test?.body ?? "", test?.headers ?? {}) as {
      type: string;
      receiver: { id: string };
    };
    expect(verified.type).toBe("receiver.test");
    expect(verified.receiver.id).toBe(receiver.id);
    const [logged] = await deliveryRows(page);
    expect(logged).toMatchObject({
      Status: "delivered",
      Attempts: "1",
      "Last error": "",
      "Next attempt": "",
    });
    expect(logged?.Destination).toContain("Webhook (Standard Webhooks)");

    // A trigger's execution goes out once its 1 s window closes, and the log shows it delivered.
    received.length = 0;
    expect((await fetch(receiver.url, { method: "POST" })).status).toBe(200);
    await eventually("the execution's message", async () => (received.length > 0 ? true : undefined), 20_000);
    const message = new Webhook(secret).verify(received[0]?.body ?? "", received[0]?.headers ?? {}) as {
      type: string;
      executions: { outcome: string }[];
    };
    expect(message.type).toBe("receiver.executions");
    expect(message.executions.map((execution) => execution.outcome)).toEqual(["applied"]);
    await expect
      .poll(
        async () => {
          await page.goto(new URL(`/receivers/${receiver.id}/notifications?projectId=1a5`, stack.url).href);
          return (await deliveryRows(page)).map((row) => row.Status);
        },
        { timeout: 15_000 },
      )
      .toEqual(["delivered", "delivered"]);
    const [newest] = await deliveryRows(page);
    expect(newest?.Summary).toContain(name);
    expect(newest?.Summary).toContain("applied");
  });

  it.runIf(process.env.SCREENSHOTS === "1")("saves a picture of the view for the docs", async () => {
    const dir = process.env.SCREENSHOTS_DIR ?? "docs";
    mkdirSync(dir, { recursive: true });
    const receiver = await createReceiver("scale-web-up-on-alert");
    const response = await fetch(
      new URL(`/v1-webhooks/receivers/${receiver.id}?action=setNotifications&projectId=1a5`, stack.url),
      {
        method: "POST",
        headers: {
          authorization: `Basic ${btoa(`${DEV.username}:${DEV.password}`)}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          notifications: [
            { kind: "slack", url: `${captureUrl}/services/T0/B0/slack`, on: ["applied", "failed"] },
            { kind: "webhook", url: `${captureUrl}/hooks/deploys`, on: ["failed", "rolledBack"] },
          ],
          notifyWindowSeconds: 1,
        }),
      },
    );
    expect(response.status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await fetch(receiver.url, { method: "POST" })).status).toBe(200);
    const page = await open({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
    const view = new URL(`/receivers/${receiver.id}/notifications?projectId=1a5`, stack.url).href;
    await page.goto(view);
    await page.getByRole("button", { name: "Send a test" }).click();
    await page.locator("section.test-results").waitFor();
    await expect
      .poll(
        async () => {
          await page.goto(view);
          return (await deliveryRows(page)).filter((row) => row.Status === "delivered").length;
        },
        { timeout: 15_000 },
      )
      .toBe(3);
    await page.screenshot({ path: join(dir, "receiver-notifications.png"), fullPage: true });
  });

  it("fits a 1280 px and a 390 px window, a secret's answer and a test's, with statuses legible in both themes", async () => {
    const name = uniqueName("notify-fit-with-a-long-name-for-the-checkout-service-in-production");
    const receiver = await createReceiver(name);
    const view = new URL(`/receivers/${receiver.id}/notifications?projectId=1a5`, stack.url).href;
    // The layout depends on the width alone: each width is checked once, each theme's colours on it.
    for (const [round, viewport] of WINDOWS.entries()) {
      const page = await open({ viewport });
      await page.goto(view);
      // The first round adds the webhook; a new URL for it makes a new secret, shown on the answer.
      const url = `${captureUrl}/hooks/fit-${"long-path-".repeat(6)}${round}`;
      const row = page.locator(round === 0 ? "fieldset.destination.new" : "fieldset.destination").first();
      if (round === 0) await row.getByLabel("Kind").selectOption("webhook");
      await row.getByLabel(round === 0 ? "URL" : "New URL", { exact: true }).fill(url);
      await page.getByRole("button", { name: "Save notifications" }).click();
      await page.locator("section.secrets code[id^=secret-]").waitFor();
      // Laid out with its stylesheet: the answer to a post has its elements before its load event.
      await page.waitForLoadState("load");
      const saved = await howItFits(page);
      expect(saved.problems, `a secret's answer at ${viewport.width} px`).toEqual([]);
      expect(saved.documentWidth, `a secret's answer at ${viewport.width} px`).toBeLessThanOrEqual(
        saved.windowWidth,
      );

      await page.getByRole("button", { name: "Send a test" }).click();
      await page.locator("section.test-results").waitFor();
      await page.waitForLoadState("load");
      const tested = await howItFits(page);
      expect(tested.problems, `a test's answer at ${viewport.width} px`).toEqual([]);
      expect(tested.documentWidth, `a test's answer at ${viewport.width} px`).toBeLessThanOrEqual(
        tested.windowWidth,
      );

      for (const colorScheme of ["light", "dark"] as const) {
        await page.emulateMedia({ colorScheme });
        // The delivered status, in the result and in the log, against what is behind it: WCAG AA.
        for (const selector of [
          "section.test-results .delivery-delivered",
          "#deliveries td.delivery-delivered",
        ]) {
          const colours = await page
            .locator(selector)
            .first()
            .evaluate((node) => {
              let behind = "rgba(0, 0, 0, 0)";
              for (let at: Element | null = node; at && /rgba\(.*, 0\)$/.test(behind); at = at.parentElement)
                behind = getComputedStyle(at).backgroundColor;
              return { text: getComputedStyle(node).color, behind };
            });
          expect(
            contrast(colours.text, colours.behind),
            `${selector} at ${viewport.width} px, ${colorScheme}: ${JSON.stringify(colours)}`,
          ).toBeGreaterThanOrEqual(4.5);
        }
      }
    }
  });
});
