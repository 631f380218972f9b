import { env, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Execution } from "../../src/domain/execution";
import { newId } from "../../src/domain/ids";
import { serviceUpgradeTarget } from "../../src/drivers/service-upgrade/target";
import { urlHint } from "../../src/notifications/destinations";
import { identityOf, Layout } from "../../src/page/layout";
import { JSON_COLUMNS, toStoredJson } from "../../src/storage/stored-json";
import { dockerHubPush } from "../fixtures/pushes";
import { hex, hmac } from "../fixtures/signatures";
import {
  call,
  createReceiver,
  json,
  KEYS,
  resetEmulator,
  scaleServiceBody,
  setFaults,
  settledExecution,
  trigger,
  uniqueName,
} from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

const form = (fields: Record<string, string>) => ({
  method: "POST",
  rawBody: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" },
});

/** The worker answers 303 See Other; the runtime's fetch follows it, so check where it led. */
const expectRedirectTo = (response: Response, fragment: string) => {
  expect(response.redirected).toBe(true);
  expect(response.status).toBe(200);
  expect(response.url).toContain(fragment);
};

const validFields = (name = uniqueName("page")): { name: string } & Record<string, string> => ({
  name,
  driver: "scaleService",
  "scaleServiceConfig.action": "up",
  "scaleServiceConfig.serviceId": "1s1",
  "scaleServiceConfig.amount": "2",
  "scaleServiceConfig.min": "1",
  "scaleServiceConfig.max": "10",
  "scaleServiceConfig.cooldownSeconds": "0",
  "scaleServiceConfig.onResolved": "ignore",
});

describe("the Receiver Hooks page", () => {
  it("asks the browser for a Rancher API key", async () => {
    const response = await call("/", { key: null });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Basic realm="Rancher API key"');
    expect((await call("/", { key: KEYS.wrong })).status).toBe(401);
  });

  it("lists the key's environments, defaulting to the first", async () => {
    const response = await call("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await response.text();
    expect(html).toContain("<h1>Receiver Hooks</h1>");
    expect(html).toMatch(/<option value="1a5" selected="">Default<\/option>/);
    expect(html).not.toContain("1a7");
    expect(html).toContain("No receiver hooks yet");
    const other = await (await call("/", { key: KEYS.other })).text();
    expect(other).toMatch(/<option value="1a7" selected="">/);
  });

  it("creates a receiver from the form and lists it with its Trigger URL", async () => {
    const fields = validFields();
    const response = await call("/receivers?projectId=1a5", form(fields));
    expectRedirectTo(response, "/?projectId=1a5&done=created");
    const html = await response.text();
    expect(html).toContain(`Receiver “${fields.name}” created.`);
    expect(html).toContain("web up by 2 (min 1, max 10)");
    const url = html.match(/<code id="url-[^"]+"[^>]*>([^<]+)<\/code>/)?.[1]?.replace(/&amp;/g, "&");
    expect(url).toMatch(/\/v1-webhooks\/endpoint\?token=/);
    expect((await trigger(url ?? "")).status).toBe(200);
  });

  it("shows every validation error next to its field and keeps the values", async () => {
    const response = await call(
      "/receivers?projectId=1a5",
      form({
        ...validFields(""),
        "scaleServiceConfig.amount": "0",
        "scaleServiceConfig.max": "abc",
        "scaleServiceConfig.serviceId": "",
      }),
    );
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toContain('<p class="field-error" id="error-name">Name must not be empty</p>');
    expect(html).toContain(
      '<p class="field-error" id="error-scaleServiceConfig.amount">By must be at least 1</p>',
    );
    expect(html).toContain('id="error-scaleServiceConfig.max">Maximum Scale must be a number</p>');
    expect(html).toContain('id="error-scaleServiceConfig.serviceId">Target Service is required</p>');
    expect(html).toMatch(
      /<input id="scaleServiceConfig.amount"[^>]*value="0"[^>]*aria-describedby="error-scaleServiceConfig.amount"/,
    );
    expect(html).toMatch(/<input id="scaleServiceConfig.max"[^>]*value="abc"/);
  });

  it("adds a sender check from the form, and shows a bad secret next to Sender secret without echoing it", async () => {
    const short = await call(
      "/receivers?projectId=1a5",
      form({
        ...validFields(),
        "senderVerification.scheme": "bearer",
        "senderVerification.secret": "too-short",
      }),
    );
    expect(short.status).toBe(422);
    const html = await short.text();
    expect(html).toContain(
      'id="error-senderVerification.secret">Sender secret must be at least 16 characters long</p>',
    );
    expect(html).not.toContain("too-short");

    const basic = await call(
      "/receivers?projectId=1a5",
      form({
        ...validFields(),
        "senderVerification.scheme": "basic",
        "senderVerification.username": "",
        "senderVerification.secret": "page-basic-password-0123",
      }),
    );
    expect(await basic.text()).toContain(
      'id="error-senderVerification.username">Sender user must not be empty</p>',
    );

    const secret = "page-form-bearer-token-0123";
    const fields = {
      ...validFields(),
      "senderVerification.scheme": "bearer",
      "senderVerification.secret": secret,
    };
    const created = await call("/receivers?projectId=1a5", form(fields));
    expectRedirectTo(created, "done=created");
    const listed = await created.text();
    expect(listed).toContain("Sender check: bearer token");
    expect(listed).not.toContain(secret);
    const receivers = await json(await call("/v1-webhooks/receivers?projectId=1a5&limit=1000"));
    const { url } = receivers.data.find((receiver: { name: string }) => receiver.name === fields.name);
    expect((await trigger(url ?? "")).status).toBe(401);
    expect((await trigger(url ?? "", { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
  });

  it("reports a taken name from the create step next to Name", async () => {
    const fields = validFields();
    expectRedirectTo(await call("/receivers?projectId=1a5", form(fields)), "done=created");
    const again = await call("/receivers?projectId=1a5", form(fields));
    expect(again.status).toBe(422);
    // A sentence, not the API's message with its field's name swapped for "Name" ("a receiver Named").
    expect(await again.text()).toContain(
      `id="error-name">A receiver named &quot;${fields.name}&quot; already exists in this environment</p>`,
    );
  });

  it("offers only scalable services as Target Service", async () => {
    const html = await (await call("/receivers/new?projectId=1a5")).text();
    expect(html).toContain('<option value="1s1">web</option>');
    expect(html).toContain('<option value="1s2">lb</option>');
    expect(html).not.toContain('value="1s3"');
    expect(html).not.toContain('value="1s4"');
    for (const label of [
      "Name",
      "Kind",
      "Action",
      "Target Service",
      "By",
      "Minimum Scale",
      "Maximum Scale",
    ]) {
      expect(html).toContain(`>${label}</label>`);
    }
  });

  it("pre-fills the form to clone a receiver", async () => {
    const receiver = await createReceiver({ amount: 3, max: 7 });
    const html = await (await call(`/receivers/new?projectId=1a5&clone=${receiver.id}`)).text();
    expect(html).toContain(`value="${receiver.name}-copy"`);
    expect(html).toMatch(/<input id="scaleServiceConfig.amount"[^>]*value="3"/);
    expect(html).toMatch(/<input id="scaleServiceConfig.max"[^>]*value="7"/);
    expect(html).toContain('<option value="1s1" selected="">web</option>');
  });

  it("regenerates and deletes through the page, with a confirmation page without JavaScript", async () => {
    const receiver = await createReceiver();
    const regenerated = await call(`/receivers/${receiver.id}/regenerate?projectId=1a5`, { method: "POST" });
    expectRedirectTo(regenerated, "done=regenerated");
    expect((await trigger(receiver.url)).status).toBe(403);

    const confirm = await call(`/receivers/${receiver.id}/delete?projectId=1a5`);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain(`<h1>Delete ${receiver.name}?</h1>`);
    const deleted = await call(`/receivers/${receiver.id}/delete?projectId=1a5`, { method: "POST" });
    expectRedirectTo(deleted, "done=deleted");
    expect((await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`)).status).toBe(404);
  });

  it("names a receiver's sender check, never its secret, and keeps it when the page regenerates", async () => {
    const secret = "page-bearer-token-0123456789";
    const created = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: { ...scaleServiceBody(), senderVerification: { scheme: "bearer", token: secret } },
    });
    const receiver = await json(created);
    const page = await (await call("/?projectId=1a5")).text();
    expect(page).toContain("Sender check: bearer token");
    expect(page).not.toContain(secret);
    await call(`/receivers/${receiver.id}/regenerate?projectId=1a5`, { method: "POST" });
    const fetched = await json(await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`));
    expect(fetched.senderVerification).toEqual({ type: "senderVerification", scheme: "bearer" });
    expect((await trigger(fetched.url)).status).toBe(401);
    expect((await trigger(fetched.url, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
  });

  it("shows the history of a receiver", async () => {
    const receiver = await createReceiver();
    const empty = await (await call(`/receivers/${receiver.id}/history?projectId=1a5`)).text();
    expect(empty).toContain("No executions yet");
    await trigger(receiver.url, { headers: { "user-agent": "curl/8.5" } });
    const html = await (await call(`/receivers/${receiver.id}/history?projectId=1a5`)).text();
    expect(html).toMatch(/<td class="outcome-applied"[^>]*>applied<\/td>/);
    expect(html).toMatch(/<td[^>]*><span>curl\/8.5<\/span><\/td>/);
    expect((await call(`/receivers/r00000000000000000000000000/history?projectId=1a5`)).status).toBe(404);
  });

  it("shows a read-only key the list without URLs or write controls, and refuses its writes", async () => {
    const receiver = await createReceiver();
    const html = await (await call("/?projectId=1a5", { key: KEYS.readonly })).text();
    expect(html).toContain(receiver.name);
    expect(html).not.toContain("/v1-webhooks/endpoint");
    for (const control of ["Add Receiver", "Regenerate URL", ">Clone<", ">Delete<"])
      expect(html).not.toContain(control);
    expect(html).toContain(">History<");
    const write = await call("/receivers?projectId=1a5", { ...form(validFields()), key: KEYS.readonly });
    expect(write.status).toBe(403);
    expect((await call("/receivers/new?projectId=1a5", { key: KEYS.readonly })).status).toBe(403);
  });

  it("refuses changes posted from another site, for the page and the API alike", async () => {
    const receiver = await createReceiver();
    const crossSite = { origin: "https://evil.example", "sec-fetch-site": "cross-site" };
    const page = await call("/receivers?projectId=1a5", {
      ...form(validFields()),
      headers: { ...form({}).headers, ...crossSite },
    });
    expect(page.status).toBe(403);
    const api = await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, {
      method: "DELETE",
      headers: crossSite,
    });
    expect(api.status).toBe(403);
    expect((await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`)).status).toBe(200);
    // The page's own form posts: same-origin by fetch metadata, Origin null under no-referrer.
    const sameOrigin = await call(`/receivers/${receiver.id}/regenerate?projectId=1a5`, {
      method: "POST",
      headers: { origin: "null", "sec-fetch-site": "same-origin" },
    });
    expectRedirectTo(sameOrigin, "done=regenerated");
    // Trigger URLs stay callable from anywhere.
    expect(
      (
        await trigger(
          (
            await (await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`)).json<{ url: string }>()
          ).url,
          { headers: crossSite },
        )
      ).status,
    ).toBe(200);
  });

  it("serves its stylesheet and script", async () => {
    const css = await call("/assets/page.css", { key: null });
    expect(css.headers.get("content-type")).toContain("text/css");
    expect(await css.text()).toContain("prefers-color-scheme: dark");
    const js = await call("/assets/page.js", { key: null });
    expect(js.headers.get("content-type")).toContain("javascript");
  });
});

describe("the Upgrade a Service form", () => {
  it("creates an upgrade receiver from the form and describes it in the list", async () => {
    const name = uniqueName("page-upgrade");
    const response = await call(
      "/receivers?projectId=1a5",
      form({
        name,
        driver: "serviceUpgrade",
        "serviceUpgradeConfig.serviceSelector": "tier=backend\napp",
        "serviceUpgradeConfig.tag": "v1.*",
        "serviceUpgradeConfig.payloadFormat": "ghcr",
        "serviceUpgradeConfig.addressType": "registry",
        "serviceUpgradeConfig.batchSize": "2",
        "serviceUpgradeConfig.intervalMillis": "500",
        "serviceUpgradeConfig.startFirst": "on",
        "serviceUpgradeConfig.rollbackOnFailure": "on",
        "serviceUpgradeConfig.healthySeconds": "30",
        "serviceUpgradeConfig.healthTimeoutSeconds": "300",
        // Fields of the other kind, as a browser without JavaScript sends them, are ignored.
        "scaleServiceConfig.action": "up",
        "scaleServiceConfig.amount": "1",
      }),
    );
    expectRedirectTo(response, "done=created");
    const html = await response.text();
    expect(html).toContain("Upgrade a Service");
    expect(html).toContain(
      "services tier=backend, app on GitHub Packages (ghcr.io) pushes of tag v1.*, 2 at a time every 500 ms, rolled back unless the new containers stay healthy for 30 s",
    );
    const list = await json(await call("/v1-webhooks/receivers?projectId=1a5&limit=1000"));
    const created = list.data.find((receiver: { name: string }) => receiver.name === name);
    expect(created.serviceUpgradeConfig).toMatchObject({
      serviceSelector: { tier: "backend", app: "" },
      tag: "v1.*",
      payloadFormat: "ghcr",
      batchSize: 2,
      intervalMillis: 500,
      startFirst: true,
      rollbackOnFailure: true,
      healthySeconds: 30,
      healthTimeoutSeconds: 300,
    });
    expect(created.serviceUpgradeConfig).not.toHaveProperty("addressType");
  });

  it("offers the health checks checked and filled with their defaults; an unchecked box turns rollback off", async () => {
    const page = await (
      await call("/receivers/new?projectId=1a5", { headers: { accept: "text/html" } })
    ).text();
    expect(page).toMatch(/<input type="checkbox" id="serviceUpgradeConfig.rollbackOnFailure"[^>]* checked/);
    expect(page).toMatch(/id="serviceUpgradeConfig.healthySeconds"[^>]*value="60"/);
    expect(page).toMatch(/id="serviceUpgradeConfig.healthTimeoutSeconds"[^>]*value="600"/);
    const name = uniqueName("page-no-rollback");
    const response = await call(
      "/receivers?projectId=1a5",
      form({
        name,
        driver: "serviceUpgrade",
        "serviceUpgradeConfig.serviceSelector": "app=api",
        "serviceUpgradeConfig.tag": "1.*",
        "serviceUpgradeConfig.healthySeconds": "60",
        "serviceUpgradeConfig.healthTimeoutSeconds": "600",
      }),
    );
    expectRedirectTo(response, "done=created");
    const list = await json(await call("/v1-webhooks/receivers?projectId=1a5&limit=1000"));
    const created = list.data.find((receiver: { name: string }) => receiver.name === name);
    expect(created.serviceUpgradeConfig).toMatchObject({ rollbackOnFailure: false });
  });

  it("shows the upgrade fields' errors next to them", async () => {
    const response = await call(
      "/receivers?projectId=1a5",
      form({
        name: uniqueName(),
        driver: "serviceUpgrade",
        "serviceUpgradeConfig.serviceSelector": "",
        "serviceUpgradeConfig.tag": "",
        "serviceUpgradeConfig.intervalMillis": "50",
      }),
    );
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toMatch(
      /id="error-serviceUpgradeConfig.serviceSelector">Service labels must name at least one label/,
    );
    expect(html).toMatch(
      /id="error-serviceUpgradeConfig.tag">Tag is required unless policy is semver-major, semver-minor or semver-patch/,
    );
    expect(html).toMatch(
      /id="error-serviceUpgradeConfig.intervalMillis">Batch interval \(ms\) must be at least 100/,
    );
  });
});

describe("the Upgrade a Service form's sender check for Artifact Registry", () => {
  it("refuses a sender check for gar next to Sender check, and creates nothing", async () => {
    const name = uniqueName("gar");
    const response = await call(
      "/receivers?projectId=1a5",
      form({
        name,
        driver: "serviceUpgrade",
        "serviceUpgradeConfig.serviceSelector": "app=web",
        "serviceUpgradeConfig.tag": "*",
        "serviceUpgradeConfig.payloadFormat": "gar",
        "senderVerification.scheme": "bearer",
        "senderVerification.secret": "3f9c2d7e8a1b4c6d9e0f1a2b3c4d5e6f",
      }),
    );
    expect(response.status).toBe(422);
    expect(await response.text()).toMatch(
      /id="error-senderVerification.scheme">A gar receiver takes no sender check: Pub\/Sub push sends no fixed token/,
    );
    const listed = await json(await call("/v1-webhooks/receivers?projectId=1a5"));
    expect(listed.data.some((receiver: { name: string }) => receiver.name === name)).toBe(false);
  });
});

describe("the Upgrade a Service form's registries and policies", () => {
  it("lists every registry with where its sender is configured, and every policy", async () => {
    const html = await (await call("/receivers/new?projectId=1a5")).text();
    for (const [format, words] of [
      ["distribution", "gitlab.rb"],
      ["harbor", "Webhooks → New Webhook"],
      ["ecr", "API destination"],
      ["gar", "Pub/Sub push subscription"],
      ["generic", "From a CI job"],
      ["dockerhub", "In Docker Hub"],
    ]) {
      expect(html).toMatch(new RegExp(`<option value="${format}"`));
      expect(html).toMatch(new RegExp(`<li data-option="${format}"><strong>[^<]+</strong>: [^<]*${words}`));
    }
    expect(html).toMatch(/<option value="semver-minor"[^>]*>Newer versions, same major<\/option>/);
  });

  it("creates a receiver with a version policy and no tag", async () => {
    const name = uniqueName("page-policy");
    const response = await call(
      "/receivers?projectId=1a5",
      form({
        name,
        driver: "serviceUpgrade",
        "serviceUpgradeConfig.serviceSelector": "app=web",
        "serviceUpgradeConfig.payloadFormat": "harbor",
        "serviceUpgradeConfig.policy": "semver-minor",
        "serviceUpgradeConfig.tag": "",
        "serviceUpgradeConfig.batchSize": "1",
        "serviceUpgradeConfig.intervalMillis": "2000",
      }),
    );
    expectRedirectTo(response, "done=created");
    expect(await response.text()).toContain(
      "services app=web on Harbor pushes of newer versions (semver-minor)",
    );
    const list = await json(await call("/v1-webhooks/receivers?projectId=1a5&limit=1000"));
    const created = list.data.find((receiver: { name: string }) => receiver.name === name);
    expect(created.serviceUpgradeConfig).toMatchObject({ policy: "semver-minor", payloadFormat: "harbor" });
    expect(created.serviceUpgradeConfig).not.toHaveProperty("tag");
  });
});

describe("the Scale the number of Hosts form", () => {
  it("creates a host receiver from the form and describes it in the list", async () => {
    const name = uniqueName("page-hosts");
    const response = await call(
      "/receivers?projectId=1a5",
      form({
        name,
        driver: "scaleHost",
        "scaleHostConfig.hostSelector": "pool=workers",
        "scaleHostConfig.action": "down",
        "scaleHostConfig.amount": "2",
        "scaleHostConfig.min": "1",
        "scaleHostConfig.max": "8",
        "scaleHostConfig.deleteOption": "mostRecent",
        "scaleHostConfig.hostTemplateId": "",
        "scaleHostConfig.cooldownSeconds": "60",
        "scaleHostConfig.onResolved": "ignore",
      }),
    );
    expectRedirectTo(response, "done=created");
    const html = await response.text();
    expect(html).toContain("Scale the number of Hosts");
    expect(html).toContain(
      "hosts pool=workers down by 2 (min 1, max 8), removing newest first, cooldown 60 s",
    );
  });

  it("shows the host fields' errors next to them", async () => {
    const response = await call(
      "/receivers?projectId=1a5",
      form({
        name: uniqueName(),
        driver: "scaleHost",
        "scaleHostConfig.hostSelector": "",
        "scaleHostConfig.action": "up",
        "scaleHostConfig.amount": "0",
        "scaleHostConfig.max": "10",
      }),
    );
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toMatch(/id="error-scaleHostConfig.hostSelector">Host labels must name at least one label/);
    expect(html).toMatch(/id="error-scaleHostConfig.amount">Hosts at a time must be at least 1/);
  });
});

/** What a browser sends with every navigation and form post. */
const BROWSER_ACCEPT = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

describe("the page's documents", () => {
  it("are standards-mode HTML", async () => {
    for (const path of ["/?projectId=1a5", "/receivers/new?projectId=1a5"]) {
      expect((await (await call(path)).text()).startsWith("<!DOCTYPE html>"), path).toBe(true);
    }
  });

  it("are titled once by the page's name", async () => {
    const receiver = await createReceiver();
    const titles: [string, string][] = [
      ["/?projectId=1a5", "Receiver Hooks"],
      ["/receivers/new?projectId=1a5", "Add Receiver · Receiver Hooks"],
      [`/receivers/${receiver.id}/history?projectId=1a5`, `History of ${receiver.name} · Receiver Hooks`],
      [`/receivers/${receiver.id}/delete?projectId=1a5`, `Delete ${receiver.name} · Receiver Hooks`],
    ];
    for (const [path, title] of titles) {
      expect(await (await call(path)).text(), path).toContain(`<title>${title}</title>`);
    }
  });
});

describe("the page's errors", () => {
  /** The error page's parts: status, heading, message, the link back, the document's title. */
  async function errorPage(path: string, init: Parameters<typeof call>[1] = {}) {
    const response = await call(path, { ...init, headers: { ...BROWSER_ACCEPT, ...init.headers } });
    const html = await response.text();
    return {
      response,
      html,
      title: html.match(/<title>([^<]*)<\/title>/)?.[1],
      heading: html.match(/<h1>([^<]*)<\/h1>/)?.[1],
      message: html.match(/<p class="alert">([^<]*)<\/p>/)?.[1],
    };
  }

  it("are pages in the page's layout for a browser: a read-only key's Add Receiver and form post", async () => {
    for (const [path, init] of [
      ["/receivers/new?projectId=1a5", { key: KEYS.readonly }],
      ["/receivers?projectId=1a5", { ...form(validFields()), key: KEYS.readonly }],
    ] as const) {
      const { response, html, title, heading, message } = await errorPage(path, init);
      expect(response.status, path).toBe(403);
      expect(response.headers.get("content-type"), path).toContain("text/html");
      expect(response.headers.get("content-security-policy"), path).toContain("default-src 'none'");
      expect(html.startsWith("<!DOCTYPE html>"), path).toBe(true);
      expect(title).toBe("Not allowed · Receiver Hooks");
      expect(heading).toBe("Not allowed");
      expect(message).toBe(
        "This API key can see the receivers of environment Default but not change them: adding, changing or deleting a receiver needs a key that can change the environment&#39;s services.",
      );
      expect(html).toContain('<a href="/?projectId=1a5">← Receiver Hooks</a>');
    }
  });

  it("are pages for an unknown receiver or path, and for a post from another site", async () => {
    const history = await errorPage("/receivers/r00000000000000000000000000/history?projectId=1a5");
    expect([history.response.status, history.heading]).toEqual([404, "Not found"]);
    expect(history.message).toBe("This environment has no such receiver: it may have been deleted.");
    expect(history.html).toContain('href="/?projectId=1a5"');

    const nowhere = await errorPage("/nothing/here");
    expect([nowhere.response.status, nowhere.heading]).toEqual([404, "Not found"]);
    expect(nowhere.response.headers.get("content-type")).toContain("text/html");
    expect(nowhere.response.headers.get("content-security-policy")).toContain("default-src 'none'");

    const crossSite = await errorPage("/receivers?projectId=1a5", {
      ...form(validFields()),
      headers: { ...form({}).headers, origin: "https://evil.example", "sec-fetch-site": "cross-site" },
    });
    expect([crossSite.response.status, crossSite.heading]).toEqual([403, "Not allowed"]);
  });

  it("are a page with Retry-After and a way to try again when Rancher cannot be reached", async () => {
    await setFaults({ status: 503, count: 1000 });
    const { response, heading, html } = await errorPage("/?projectId=1a5");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(heading).toBe("Rancher cannot be reached");
    expect(html).toContain('<a class="button primary" href="/?projectId=1a5">Try again</a>');
  });

  it("ask a browser without a key to sign in, with the Basic challenge", async () => {
    const { response, heading } = await errorPage("/?projectId=1a5", { key: null });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Basic realm="Rancher API key"');
    expect(heading).toBe("Sign in with a Rancher API key");
  });

  it("stay the Rancher envelope for the API, and for clients that do not ask for HTML", async () => {
    const api = await call("/v1-webhooks/receivers/r00000000000000000000000000?projectId=1a5", {
      headers: BROWSER_ACCEPT,
    });
    expect(api.status).toBe(404);
    expect(await json(api)).toMatchObject({ type: "error", status: 404, code: "NotFound" });
    const script = await call("/receivers/new?projectId=1a5", { key: KEYS.readonly });
    expect(script.status).toBe(403);
    expect(await json(script)).toMatchObject({ type: "error", status: 403, code: "Forbidden" });
  });
});

describe("the Add Receiver form without JavaScript", () => {
  /** The kinds whose fieldsets the form shows (those without the hidden attribute). */
  const shownKinds = (html: string) =>
    [...html.matchAll(/<fieldset data-kind="(\w+)"( hidden="")?>/g)]
      .filter((match) => !match[2])
      .map((match) => match[1]);

  it("shows only the chosen kind's fields, the first kind by default or the one a link names", async () => {
    expect(shownKinds(await (await call("/receivers/new?projectId=1a5")).text())).toEqual(["scaleService"]);
    const hosts = await (await call("/receivers/new?projectId=1a5&driver=scaleHost")).text();
    expect(shownKinds(hosts)).toEqual(["scaleHost"]);
    expect(hosts).toContain('<option value="scaleHost" selected="">');
    expect(shownKinds(await (await call("/receivers/new?projectId=1a5&driver=nope")).text())).toEqual([
      "scaleService",
    ]);
  });

  it("switches kind with a button, keeping what was typed and creating nothing", async () => {
    const name = uniqueName("page-switch");
    const switched = await call(
      "/receivers?projectId=1a5",
      form({
        name,
        driver: "serviceUpgrade",
        shownKind: "scaleService",
        show: "fields",
        "scaleServiceConfig.amount": "4",
        "senderVerification.scheme": "grafana",
        "senderVerification.header": "X-Custom-Signature",
      }),
    );
    expect(switched.status).toBe(200);
    const html = await switched.text();
    expect(shownKinds(html)).toEqual(["serviceUpgrade"]);
    expect(html).toContain(`value="${name}"`);
    expect(html).toMatch(/<input id="scaleServiceConfig.amount"[^>]*value="4"/);
    expect(html).toMatch(/<input id="senderVerification.header"[^>]*value="X-Custom-Signature"/);
    expect(html).toContain("Fill in the fields of Upgrade a Service, then Create.");
    expect(html).not.toContain('class="field-error"');

    // Create pressed after choosing another kind, without showing its fields: shown, not created.
    const unseen = await call(
      "/receivers?projectId=1a5",
      form({ ...validFields(name), driver: "scaleHost", shownKind: "scaleService" }),
    );
    expect(unseen.status).toBe(200);
    expect(shownKinds(await unseen.text())).toEqual(["scaleHost"]);
    const list = await json(await call("/v1-webhooks/receivers?projectId=1a5&limit=1000"));
    expect(list.data.map((receiver: { name: string }) => receiver.name)).not.toContain(name);

    // The kind it showed: created.
    const created = await call(
      "/receivers?projectId=1a5",
      form({ ...validFields(name), shownKind: "scaleService" }),
    );
    expectRedirectTo(created, "done=created");
  });
});

describe("the form's Grafana sender check", () => {
  it("sets the signature header Grafana signs in", async () => {
    const page = await (await call("/receivers/new?projectId=1a5")).text();
    expect(page).toContain('<label for="senderVerification.header">Signature header</label>');

    const secret = "page-grafana-secret-0123456789";
    const fields = {
      ...validFields(),
      "senderVerification.scheme": "grafana",
      "senderVerification.secret": secret,
      "senderVerification.header": "X-Custom-Signature",
    };
    const created = await call("/receivers?projectId=1a5", form(fields));
    expectRedirectTo(created, "done=created");
    expect(await created.text()).toContain("Sender check: Grafana signature (X-Custom-Signature)");
    const list = await json(await call("/v1-webhooks/receivers?projectId=1a5&limit=1000"));
    const receiver = list.data.find((candidate: { name: string }) => candidate.name === fields.name);
    expect(receiver.senderVerification).toMatchObject({ scheme: "grafana", header: "X-Custom-Signature" });

    const body = JSON.stringify({ status: "firing", alerts: [] });
    const signature = hex(await hmac(secret, body));
    const inDefault = await trigger(receiver.url, {
      body,
      headers: { "content-type": "application/json", "x-grafana-alerting-signature": signature },
    });
    expect(inDefault.status).toBe(401);
    const inCustom = await trigger(receiver.url, {
      body,
      headers: { "content-type": "application/json", "x-custom-signature": signature },
    });
    expect(inCustom.status).toBe(200);
  });

  it("shows a bad header name next to Signature header", async () => {
    const response = await call(
      "/receivers?projectId=1a5",
      form({
        ...validFields(),
        "senderVerification.scheme": "grafana",
        "senderVerification.secret": "page-grafana-secret-0123456789",
        "senderVerification.header": "X Custom",
      }),
    );
    expect(response.status).toBe(422);
    expect(await response.text()).toContain(
      'id="error-senderVerification.header">Signature header is not valid: must be an HTTP header name (letters, digits and dashes)</p>',
    );
  });
});

describe("the page as a new user finds it", () => {
  const historyOf = (id: string, query = "") => call(`/receivers/${id}/history?projectId=1a5${query}`);

  it("asks before regenerating a Trigger URL: a link to a confirmation page, which changes nothing", async () => {
    const receiver = await createReceiver();
    const list = await (await call("/?projectId=1a5")).text();
    const link = list.match(
      new RegExp(
        `<a class="button" href="(/receivers/${receiver.id}/regenerate[^"]*)" data-confirm="([^"]*)"`,
      ),
    );
    expect(link?.[1]).toBe(`/receivers/${receiver.id}/regenerate?projectId=1a5`);
    expect(link?.[2]).toContain("The old URL stops working at once.");
    // Nothing on the list posts a regeneration straight away.
    expect(list).not.toMatch(/<form method="post" action="[^"]*\/regenerate/);

    const confirm = await call(`/receivers/${receiver.id}/regenerate?projectId=1a5`);
    expect(confirm.status).toBe(200);
    const html = await confirm.text();
    expect(html).toContain(`<h1>Regenerate the Trigger URL of ${receiver.name}?</h1>`);
    expect(html).toContain("The old Trigger URL stops working at once");
    expect(html).toContain(
      `<form class="actions" method="post" action="/receivers/${receiver.id}/regenerate?projectId=1a5"><button class="primary danger" type="submit">Regenerate URL</button>`,
    );
    expect(html).toContain(`<title>Regenerate the Trigger URL of ${receiver.name} · Receiver Hooks</title>`);
    // Asking changed nothing: the URL still works until the button is pressed.
    expect((await trigger(receiver.url)).status).toBe(200);

    expect(
      (await call(`/receivers/${receiver.id}/regenerate?projectId=1a5`, { key: KEYS.readonly })).status,
    ).toBe(403);
    expect((await call("/receivers/r00000000000000000000000000/regenerate?projectId=1a5")).status).toBe(404);
  });

  it("puts Delete's confirmation and Cancel in one row of spaced actions", async () => {
    const receiver = await createReceiver();
    const html = await (await call(`/receivers/${receiver.id}/delete?projectId=1a5`)).text();
    expect(html).toContain(
      `<form class="actions" method="post" action="/receivers/${receiver.id}/delete?projectId=1a5"><button class="primary danger" type="submit">Delete</button><a href="/?projectId=1a5">Cancel</a></form>`,
    );
    const css = await (await call("/assets/page.css", { key: null })).text();
    // The filled danger button takes its own text colour, in each theme.
    expect(css).toMatch(
      /button\.primary\.danger[^{]*\{[^}]*background: var\(--danger\); color: var\(--danger-fg\)/,
    );
    expect(css.match(/--danger-fg: #[0-9a-f]+/g)).toHaveLength(2);
  });

  it("filters History by outcome, without JavaScript too, and refuses an unknown outcome", async () => {
    const receiver = await createReceiver({ max: 2 });
    expect((await json(await trigger(receiver.url))).outcome).toBe("applied");
    expect((await json(await trigger(receiver.url))).outcome).toBe("noop");
    const outcomes = (html: string) =>
      [...html.matchAll(/<td class="outcome-(\w+)"/g)].map((match) => match[1]);

    expect(outcomes(await (await historyOf(receiver.id)).text()).sort()).toEqual(["applied", "noop"]);
    // "All outcomes" posts an empty choice.
    expect(outcomes(await (await historyOf(receiver.id, "&outcome=")).text()).sort()).toEqual([
      "applied",
      "noop",
    ]);
    const noop = await (await historyOf(receiver.id, "&outcome=noop")).text();
    expect(outcomes(noop)).toEqual(["noop"]);
    expect(noop).toContain('<option value="noop" selected="">noop</option>');
    expect(noop).toContain(`<form class="filter" method="get" action="/receivers/${receiver.id}/history">`);
    expect(noop).toContain('<input type="hidden" name="projectId" value="1a5"/>');
    const failed = await (await historyOf(receiver.id, "&outcome=failed")).text();
    expect(outcomes(failed)).toEqual([]);
    expect(failed).toContain("No executions with the outcome failed.");

    const bogus = await historyOf(receiver.id, "&outcome=bogus");
    expect(bogus.status).toBe(422);
    expect(await json(bogus)).toMatchObject({
      type: "error",
      status: 422,
      code: "InvalidOption",
      fieldName: "outcome",
    });
    const page = await call(`/receivers/${receiver.id}/history?projectId=1a5&outcome=bogus`, {
      headers: { accept: "text/html" },
    });
    expect(page.status).toBe(422);
    expect(await page.text()).toContain("Outcome must be one of: applied, noop");
  });

  it("refreshes History while an execution it shows is queued or pending, and only then", async () => {
    const created = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        name: uniqueName("page-upgrade"),
        driver: "serviceUpgrade",
        serviceUpgradeConfig: {
          serviceSelector: { tier: "backend" },
          tag: "1.*",
          intervalMillis: 100,
          healthySeconds: 0,
        },
      },
    });
    const receiver = await json(created);
    const live = /<section id="history" aria-label="Executions" data-refresh-ms="5000">/;
    const metaRefresh = '<noscript><meta http-equiv="refresh" content="5"/></noscript>';

    const before = await (await historyOf(receiver.id)).text();
    expect(before).not.toMatch(live);
    expect(before).not.toContain(metaRefresh);

    const pushed = await trigger(receiver.url, {
      body: JSON.stringify(dockerHubPush("myorg/api", "1.1.0")),
      headers: { "content-type": "application/json" },
    });
    const queued = await json(pushed);
    expect(queued.outcome).toBe("queued");
    // The upgrade goes on for a while (each service's upgrade takes the emulator's transitions).
    const during = await (await historyOf(receiver.id)).text();
    expect(during).toContain('class="outcome-queued"');
    expect(during).toMatch(live);
    expect(during).toContain(metaRefresh);
    expect(during).toContain("refreshes every 5");
    // A filter that shows no unfinished execution does not refresh.
    const applied = await (await historyOf(receiver.id, "&outcome=applied")).text();
    expect(applied).not.toMatch(live);
    expect(applied).not.toContain(metaRefresh);
    await settledExecution(receiver.id, queued.id);
    const after = await (await historyOf(receiver.id)).text();
    expect(after).not.toContain('class="outcome-queued"');
    expect(after).not.toMatch(live);
    expect(after).not.toContain(metaRefresh);
  });

  it("names the sender by its User-Agent's first product, the whole one in the title", async () => {
    const receiver = await createReceiver();
    const userAgent = "Alertmanager/0.25.0 (+https://github.com/prometheus/alertmanager) Go-http-client/1.1";
    await trigger(receiver.url, { headers: { "user-agent": userAgent } });
    const html = await (await historyOf(receiver.id)).text();
    expect(html).toContain(
      `<td class="free" data-label="Sender"><span title="${userAgent}">Alertmanager/0.25.0</span></td>`,
    );
    expect(html.split(userAgent)).toHaveLength(2); // in the title only
  });

  it("shows which key is signed in, never its secret", async () => {
    const html = await (await call("/?projectId=1a5")).text();
    expect(html).toMatch(/<span class="signed-in"[^>]*>Key <code>dev-access<\/code><\/span>/);
    expect(html).not.toContain("dev-secret");
    const readonly = await (await call("/?projectId=1a5", { key: KEYS.readonly })).text();
    expect(readonly).toContain("Key <code>readonly-access</code>");
    expect(readonly).not.toContain("readonly-secret");
  });

  it("says a Rancher session is signed in without naming its token", async () => {
    const token = "token-abcde:secretsecretsecretsecret";
    const identity = identityOf({ session: token });
    expect(identity).toEqual({ session: true });
    const html = String(await Layout({ identity, children: "" }));
    expect(html).toContain('<span class="signed-in">Signed in with a Rancher session</span>');
    expect(html).not.toContain("token-abcde");
    expect(identityOf({ accessKey: "dev-access", secretKey: "dev-secret" })).toEqual({
      accessKey: "dev-access",
    });
  });

  it("serves an icon, named by every page and at /favicon.ico, cached like the page's assets", async () => {
    for (const path of ["/favicon.ico", "/assets/favicon.svg"]) {
      const icon = await call(path, { key: null });
      expect(icon.status, path).toBe(200);
      expect(icon.headers.get("content-type"), path).toBe("image/svg+xml");
      expect(icon.headers.get("cache-control"), path).toBe("public, max-age=3600");
      expect(await icon.text(), path).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    }
    const html = await (await call("/?projectId=1a5")).text();
    expect(html).toContain('<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml"/>');
  });

  it("gives a select with long options its row's width, and leaves a registry's aside to its line", async () => {
    const html = await (await call("/receivers/new?projectId=1a5&driver=serviceUpgrade")).text();
    const fieldOf = (id: string) =>
      html.match(new RegExp(`<div class="([^"]*)"[^>]*><label for="${id.replace(".", "\\.")}">`))?.[1];
    expect(fieldOf("serviceUpgradeConfig.payloadFormat")).toBe("field wide");
    expect(fieldOf("serviceUpgradeConfig.policy")).toBe("field wide");
    expect(fieldOf("serviceUpgradeConfig.batchSize")).toBe("field");
    expect(html).toContain('<option value="ecr">Amazon ECR</option>');
    expect(html).toContain("<strong>Amazon ECR (EventBridge)</strong>");
    expect(html).toContain('<option value="distribution">Docker registry / GitLab</option>');
    // The checkbox comes before its words, in its label.
    expect(html).toContain(
      '<label><input type="checkbox" id="serviceUpgradeConfig.startFirst" name="serviceUpgradeConfig.startFirst"/><span>Start new containers first</span></label>',
    );
  });
});

describe("what a request may make the service read and repeat", () => {
  /** A body of `total` bytes that is produced only as it is read, counting what was pulled. */
  function countedBody(total: number, chunk = 16 * 1024) {
    const pulled = { bytes: 0 };
    const piece = new TextEncoder().encode("a".repeat(chunk));
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (pulled.bytes >= total) return controller.close();
          pulled.bytes += piece.byteLength;
          controller.enqueue(piece);
        },
      },
      { highWaterMark: 0 },
    );
    return { stream, pulled };
  }

  it("refuses a 30 MB form post with a small 413 page, reading no more than the cap of it", async () => {
    for (const key of [KEYS.dev, null]) {
      const { stream, pulled } = countedBody(30 * 1024 * 1024);
      const response = await call("/receivers?projectId=1a5", {
        method: "POST",
        rawBody: stream,
        key,
        headers: { ...BROWSER_ACCEPT, "content-type": "application/x-www-form-urlencoded" },
      });
      const html = await response.text();
      expect(response.status).toBe(413);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(html).toContain("The form is too large");
      expect(html).toContain("The request body is larger than 64 KiB.");
      expect(html.length).toBeLessThan(8 * 1024);
      // The cap, and at most the one chunk that crossed it.
      expect(pulled.bytes).toBeLessThanOrEqual(64 * 1024 + 16 * 1024);
    }
    // A declared length over the cap is refused unread: only the chunk the runtime takes as the
    // request is made has left the stream.
    const { stream, pulled } = countedBody(30 * 1024 * 1024);
    const declared = await call("/receivers?projectId=1a5", {
      method: "POST",
      rawBody: stream,
      headers: {
        ...BROWSER_ACCEPT,
        "content-type": "application/x-www-form-urlencoded",
        "content-length": String(30 * 1024 * 1024),
      },
    });
    expect(declared.status).toBe(413);
    await declared.text();
    expect(pulled.bytes).toBeLessThanOrEqual(16 * 1024);
  });

  it("never shows a 60 KiB value back in the 422 page, and asks for it again", async () => {
    const huge = "q7".repeat(30 * 1024);
    for (const field of ["name", "scaleServiceConfig.amount", "serviceUpgradeConfig.serviceSelector"]) {
      const response = await call(
        "/receivers?projectId=1a5",
        form({ ...validFields(), [field]: huge, "senderVerification.scheme": "bearer" }),
      );
      expect(response.status, field).toBe(422);
      const html = await response.text();
      // At most 1 KiB of it: here none, since a value cut short could be posted back as if whole.
      expect(html.split("q7").length - 1, field).toBeLessThanOrEqual(1024 / 2);
      expect(html, field).not.toContain("q7");
      expect(html.length, field).toBeLessThan(64 * 1024);
      expect(html, field).toMatch(new RegExp(`id="error-${field.replace(".", "\\.")}">[^<]+</p>`));
    }
    // A field whose only problem is its length is asked for again, saying why.
    const selector = await call(
      "/receivers?projectId=1a5",
      form({
        ...validFields(),
        "serviceUpgradeConfig.serviceSelector": "app=web\n".repeat(200),
        "senderVerification.scheme": "bearer",
      }),
    );
    expect(await selector.text()).toContain(
      'id="error-serviceUpgradeConfig.serviceSelector">This was 1600 characters long, too long to show again: enter it again</p>',
    );
    const listed = await json(await call("/v1-webhooks/receivers?projectId=1a5"));
    expect(listed.data.some((receiver: { name: string }) => receiver.name.startsWith("q7"))).toBe(false);
  });

  it("repeats at most 1 KiB of a path, or of a registry's body, in an error or a reason", async () => {
    const long = "z9".repeat(4 * 1024);
    const notFound = await call(`/v1-webhooks/${long}`);
    expect(notFound.status).toBe(404);
    const error = await json(notFound);
    expect(error).toMatchObject({ type: "error", code: "NotFound" });
    expect(error.message.split("z9").length - 1).toBeLessThanOrEqual(1024 / 2);
    expect(error.message).toMatch(/z…\(\d{4} characters\)$/);

    const receiver = await json(
      await call("/v1-webhooks/receivers?projectId=1a5", {
        method: "POST",
        body: {
          name: uniqueName("echo"),
          driver: "serviceUpgrade",
          serviceUpgradeConfig: { serviceSelector: { app: "web" }, tag: "9.*", payloadFormat: "gar" },
        },
      }),
    );
    const bad = await trigger(receiver.url, {
      body: JSON.stringify({ action: "INSERT", tag: `${"y8".repeat(20 * 1024)}` }),
      headers: { "content-type": "application/json" },
    });
    expect(bad.status).toBe(400);
    const refusal = await json(bad);
    expect(refusal.code).toBe("InvalidFormat");
    expect(refusal.message.split("y8").length - 1).toBeLessThanOrEqual(1024 / 2);

    // Hundreds of tags that do not match: the reason lists them, cut to 1 KiB in the answer and the history.
    const tags = Array.from({ length: 400 }, (_, i) => `t${String(i).padStart(5, "0")}`);
    const events = tags.map((tag, i) => ({
      id: `event-${i}`,
      action: "push",
      target: { repository: "team/web", tag },
      request: { host: "registry.example.com" },
    }));
    const distribution = await json(
      await call("/v1-webhooks/receivers?projectId=1a5", {
        method: "POST",
        body: {
          name: uniqueName("echo"),
          driver: "serviceUpgrade",
          serviceUpgradeConfig: {
            serviceSelector: { app: "web" },
            tag: "9.*",
            payloadFormat: "distribution",
          },
        },
      }),
    );
    const ignoredResponse = await trigger(distribution.url, {
      body: JSON.stringify({ events }),
      headers: { "content-type": "application/json" },
    });
    expect(ignoredResponse.status).toBe(200);
    const ignored = await json(ignoredResponse);
    expect(ignored.outcome).toBe("ignored");
    expect(ignored.reason).toMatch(/^pushed tag t00000, t00001, /);
    expect(ignored.reason.length).toBeLessThanOrEqual(1024 + 32);
    const history = await json(
      await call(`/v1-webhooks/receivers/${distribution.id}/executions?projectId=1a5`),
    );
    expect(history.data[0].reason).toBe(ignored.reason);
  });
});

describe("History of a push's upgrades", () => {
  /** Executions put in a receiver's history as its target object records them, oldest first. */
  const storeExecutions = (target: string, executions: Execution[]) =>
    runInDurableObject(env.TARGETS.getByName(target), (_, state) => {
      for (const execution of executions)
        state.storage.sql.exec(
          "INSERT INTO executions (receiver_id, execution_id, body) VALUES (?, ?, ?)",
          execution.receiverId,
          execution.id,
          toStoredJson(JSON_COLUMNS.executionBody, execution),
        );
    });

  /** One execution's row of the History, and its text as a reader sees it (tags out, spaces folded). */
  const rowOf = (html: string, id: string) => {
    const row = html.match(new RegExp(`<tr data-execution-id="${id}">([\\s\\S]*?)</tr>`))?.[1] ?? "";
    return {
      row,
      text: row
        .replace(/<[^>]+>/g, " ")
        .replace(/\s+/g, " ")
        .trim(),
    };
  };

  const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);
  const second = (n: number) => T0 + n * 1000;

  it("shows each service's images, steps with their times, where a running one is, and why one rolled back", async () => {
    const receiver = await json(
      await call("/v1-webhooks/receivers?projectId=1a5", {
        method: "POST",
        body: {
          name: uniqueName("page-rollback"),
          driver: "serviceUpgrade",
          serviceUpgradeConfig: { serviceSelector: { tier: "backend" }, tag: "1.*" },
        },
      }),
    );
    const base = { receiverId: receiver.id, driver: "serviceUpgrade" as const };
    const rolledBack: Execution = {
      ...base,
      id: newId("x", second(0)),
      outcome: "rolledBack",
      reason: "rolled back 1s5 (api) to myorg/api:1.0.0",
      at: second(0),
      finished: second(95),
      upgrades: [
        {
          serviceId: "1s5",
          serviceName: "api",
          image: "myorg/api:1.1.0",
          previousImage: "myorg/api:1.0.0",
          steps: [
            { step: "upgrading", at: second(1) },
            { step: "upgraded", at: second(20) },
            { step: "verifying", at: second(20) },
            { step: "rolling back", at: second(80) },
            { step: "rolled back", at: second(95) },
          ],
          message: "Default-api-1 (1i3) was unhealthy; Default-api-2 (1i4) started 3 times",
        },
      ],
    };
    const running: Execution = {
      ...base,
      id: newId("x", second(100)),
      outcome: "queued",
      reason: "upgrading 1s5 (api), 1s6 (worker) to myorg/api:1.2.0",
      at: second(100),
      upgrades: [
        {
          serviceId: "1s5",
          serviceName: "api",
          image: "myorg/api:1.2.0",
          previousImage: "myorg/api:1.0.0",
          steps: [
            { step: "upgrading", at: second(101) },
            { step: "upgraded", at: second(130) },
            { step: "verifying", at: second(131) },
          ],
        },
        {
          serviceId: "1s6",
          serviceName: "worker",
          image: "myorg/api:1.2.0",
          steps: [{ step: "waiting", at: second(100) }],
        },
      ],
    };
    await storeExecutions(serviceUpgradeTarget("1a5"), [rolledBack, running]);
    const history = (query = "") => call(`/receivers/${receiver.id}/history?projectId=1a5${query}`);
    const html = await (await history()).text();

    // The running upgrade: where each service is, the step it is at now marked; the page refreshes.
    const now = rowOf(html, running.id);
    expect(now.row).toContain('<td class="outcome-queued" data-label="Outcome">queued</td>');
    expect(now.text).toContain(
      "api (1s5) myorg/api:1.0.0 → myorg/api:1.2.0 " +
        "upgrading 2026-12-06 10:01:41 UTC upgraded 2026-12-06 10:02:10 UTC verifying 2026-12-06 10:02:11 UTC now",
    );
    expect(now.text).toContain("worker (1s6) → myorg/api:1.2.0 waiting 2026-12-06 10:01:40 UTC now");
    expect(now.row.match(/aria-current="step"/g)).toHaveLength(2);
    expect(now.row).toMatch(/<li class="current" aria-current="step"><span class="step">verifying<\/span>/);
    expect(html).toContain('<section id="history" aria-label="Executions" data-refresh-ms="5000">');

    // The rolled-back one: a problem, each step with its time, no step marked, and the reason.
    const ended = rowOf(html, rolledBack.id);
    expect(ended.row).toContain('<td class="outcome-rolledBack" data-label="Outcome">rolledBack</td>');
    expect(ended.text).toContain(
      "api (1s5) myorg/api:1.0.0 → myorg/api:1.1.0 upgrading 2026-12-06 10:00:01 UTC upgraded 2026-12-06 10:00:20 UTC " +
        "verifying 2026-12-06 10:00:20 UTC rolling back 2026-12-06 10:01:20 UTC rolled back 2026-12-06 10:01:35 UTC " +
        "Default-api-1 (1i3) was unhealthy; Default-api-2 (1i4) started 3 times",
    );
    expect(ended.row).not.toContain("aria-current");
    expect(ended.row).not.toContain(">now<");
    expect(ended.row).toContain('<li class="problem"><span class="step">rolled back</span>');
    expect(ended.row).toContain(
      '<p class="message problem">Default-api-1 (1i3) was unhealthy; Default-api-2 (1i4) started 3 times</p>',
    );
    // Newest first.
    expect(html.indexOf(running.id)).toBeLessThan(html.indexOf(rolledBack.id));

    // The filter offers rolledBack, and shows those alone.
    expect(html).toContain('<option value="rolledBack">rolledBack</option>');
    const filtered = await (await history("&outcome=rolledBack")).text();
    expect(filtered).toContain('<option value="rolledBack" selected="">rolledBack</option>');
    expect(rowOf(filtered, rolledBack.id).row).not.toBe("");
    expect(filtered).not.toContain(running.id);
    expect(filtered).not.toContain("data-refresh-ms");

    // rolledBack is a problem in both themes: the danger colour, which each theme sets.
    const css = await (await call("/assets/page.css", { key: null })).text();
    expect(css).toMatch(/\.outcome-rolledBack\b[^{]*\{ color: var\(--danger\); \}/);
    expect(css).toMatch(/\.upgrade \.problem \{ color: var\(--danger\); \}/);
  });
});

describe("a receiver's Notifications on the page", () => {
  const HOOK_URL = "http://127.0.0.1:9/hooks/page-notify-a1b2";
  const OTHER_HOOK_URL = "http://127.0.0.1:9/hooks/other-e5f6";
  const SLACK_URL = "https://hooks.slack.example/services/T000/B000/page-secret-c3d4";

  /** A receiver with a Slack destination (applied, failed) and a 30 s window, made through the API. */
  async function receiverWithSlack() {
    const created = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        ...scaleServiceBody(),
        notifications: [{ kind: "slack", url: SLACK_URL, on: ["applied", "failed"] }],
        notifyWindowSeconds: 30,
      },
    });
    expect(created.status).toBe(201);
    return json(created);
  }

  const view = (id: string, key?: string) =>
    call(`/receivers/${id}/notifications?projectId=1a5`, key ? { key } : {});

  const save = (id: string, fields: Record<string, string>, key?: string) =>
    call(`/receivers/${id}/notifications?projectId=1a5`, { ...form(fields), ...(key ? { key } : {}) });

  const apiReceiver = async (id: string) => json(await call(`/v1-webhooks/receivers/${id}?projectId=1a5`));

  /** The text of an element's markup as a reader sees it (tags out, spaces folded). */
  const text = (html: string) =>
    html
      .replace(/<[^>]+>/g, " ")
      .replace(/\s+/g, " ")
      .trim();

  it("is linked from the list and from History, and shows the destinations, window and an empty log", async () => {
    const receiver = await receiverWithSlack();
    const list = await (await call("/?projectId=1a5")).text();
    expect(list).toContain(`href="/receivers/${receiver.id}/notifications?projectId=1a5"`);
    const history = await (await call(`/receivers/${receiver.id}/history?projectId=1a5`)).text();
    expect(history).toContain(`href="/receivers/${receiver.id}/notifications?projectId=1a5"`);

    const response = await view(receiver.id);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(`<h1>Notifications: ${receiver.name}</h1>`);
    expect(html).toContain(`<title>Notifications of ${receiver.name} · Receiver Hooks</title>`);
    const [slack] = receiver.notifications;
    const row = html.match(new RegExp(`<tr data-destination-id="${slack.id}">([\\s\\S]*?)</tr>`))?.[1] ?? "";
    expect(text(row)).toBe(`Slack ${urlHint(SLACK_URL)} applied, failed`);
    expect(html).toContain("Executions decided within 30 seconds go out as one message to each destination.");
    expect(html).toContain("No deliveries yet.");
    // The URL is a secret: never in the page, not even in the form, whose URL input is empty.
    expect(html).not.toContain("page-secret");
    expect(html).toMatch(
      /<input id="destinations\.0\.url" name="destinations\.0\.url" type="url"[^>]*value=""/,
    );
    expect(html).toContain(`<input type="hidden" name="destinations.0.id" value="${slack.id}"`);
    expect(html).toMatch(/<input type="checkbox" name="destinations\.0\.on\.applied" checked=""/);
    expect(html).toMatch(/<input type="checkbox" name="destinations\.0\.on\.rolledBack"\/?>/);
    // The row to add one starts with the default outcomes checked.
    for (const outcome of ["applied", "failed", "rolledBack"]) {
      expect(html).toMatch(new RegExp(`<input type="checkbox" name="new\\.on\\.${outcome}" checked=""`));
    }
    expect(html).toMatch(/<input type="checkbox" name="new\.on\.noop"\/?>/);
    expect(html).toMatch(/<input id="notifyWindowSeconds"[^>]*value="30"/);
    expect(html).toContain(">Send a test</button>");

    // A receiver without notifications says so, with the default window in the form.
    const plain = await createReceiver();
    const none = await (await view(plain.id)).text();
    expect(none).toContain("No destinations: this receiver tells no one what it did.");
    expect(none).not.toContain(">Send a test</button>");
    expect(none).toMatch(/<input id="notifyWindowSeconds"[^>]*value="10"/);
    expect((await view("r00000000000000000000000000")).status).toBe(404);
  });

  it("adds a webhook, keeps the Slack one by its id with new outcomes, and shows the signing secret once", async () => {
    const receiver = await receiverWithSlack();
    const [slack] = receiver.notifications;
    const response = await save(receiver.id, {
      openedOn: slack.id,
      "destinations.0.id": slack.id,
      "destinations.0.kind": "slack",
      "destinations.0.url": "",
      "destinations.0.on.failed": "on",
      "destinations.0.on.rolledBack": "on",
      "new.kind": "webhook",
      "new.url": HOOK_URL,
      "new.on.applied": "on",
      "new.on.failed": "on",
      notifyWindowSeconds: "5",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const html = await response.text();
    expect(html).toContain('<p role="status">Notifications saved.</p>');
    expect(html).toContain("It will not be shown again");
    const secret = html.match(/<code id="secret-(d[0-9a-z]{26})">(whsec_[^<]+)<\/code>/);
    expect(secret).not.toBeNull();
    const [, webhookId, value] = secret ?? [];

    const saved = await apiReceiver(receiver.id);
    expect(saved.url).toBe(receiver.url); // the Trigger URL is unchanged
    expect(saved.notifyWindowSeconds).toBe(5);
    expect(saved.notifications).toEqual([
      {
        type: "notificationDestination",
        id: slack.id,
        kind: "slack",
        urlHint: slack.urlHint,
        on: ["failed", "rolledBack"],
      },
      {
        type: "notificationDestination",
        id: webhookId,
        kind: "webhook",
        urlHint: urlHint(HOOK_URL),
        on: ["applied", "failed"],
      },
    ]);
    expect(JSON.stringify(saved)).not.toContain(value);

    // Shown once: the view, and a save that keeps the webhook, never show it again.
    const again = await (await view(receiver.id)).text();
    expect(again).not.toContain(value);
    expect(again).not.toContain("Signing secrets");
    const kept = await save(receiver.id, {
      openedOn: `${slack.id} ${webhookId}`,
      "destinations.0.id": slack.id,
      "destinations.0.kind": "slack",
      "destinations.0.on.failed": "on",
      "destinations.1.id": webhookId ?? "",
      "destinations.1.kind": "webhook",
      "destinations.1.on.applied": "on",
      notifyWindowSeconds: "5",
    });
    expectRedirectTo(kept, `/receivers/${receiver.id}/notifications?projectId=1a5&done=saved`);
    const keptHtml = await kept.text();
    expect(keptHtml).toContain('<p role="status">Notifications saved.</p>');
    expect(keptHtml).not.toContain(value);
    expect((await apiReceiver(receiver.id)).notifications.map((d: { on: string[] }) => d.on)).toEqual([
      ["failed"],
      ["applied"],
    ]);

    // Remove the Slack one; a new URL for the webhook makes a new secret, shown on that answer.
    const replaced = await save(receiver.id, {
      openedOn: `${slack.id} ${webhookId}`,
      "destinations.0.id": slack.id,
      "destinations.0.kind": "slack",
      "destinations.0.on.failed": "on",
      "destinations.0.remove": "on",
      "destinations.1.id": webhookId ?? "",
      "destinations.1.kind": "webhook",
      "destinations.1.url": OTHER_HOOK_URL,
      "destinations.1.on.applied": "on",
      notifyWindowSeconds: "5",
    });
    expect(replaced.status).toBe(200);
    const newSecret = (await replaced.text()).match(/<code id="secret-[^"]+">(whsec_[^<]+)<\/code>/)?.[1];
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(value);
    expect((await apiReceiver(receiver.id)).notifications).toEqual([
      {
        type: "notificationDestination",
        id: webhookId,
        kind: "webhook",
        urlHint: urlHint(OTHER_HOOK_URL),
        on: ["applied"],
      },
    ]);
  });

  it("shows each problem next to its field and saves nothing", async () => {
    const receiver = await receiverWithSlack();
    const [slack] = receiver.notifications;
    const before = await apiReceiver(receiver.id);
    const response = await save(receiver.id, {
      openedOn: slack.id,
      "destinations.0.id": slack.id,
      "destinations.0.kind": "slack",
      "destinations.0.url": "http://hooks.slack.example/services/plain-http",
      "destinations.0.on.failed": "on",
      "new.kind": "discord",
      "new.url": "ftp://discord.example/webhook",
      notifyWindowSeconds: "301",
    });
    expect(response.status).toBe(422);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const html = await response.text();
    expect(html).toContain('<p class="alert">Nothing was saved: correct what is marked below.</p>');
    expect(html).toContain(
      '<p class="field-error" id="error-destinations.0.url">URL must be https: (http: is taken only for a loopback address, for development)</p>',
    );
    expect(html).toContain('<p class="field-error" id="error-new.url">URL must be an https: URL</p>');
    expect(html).toContain('<p class="field-error" id="error-new.on">Choose at least one outcome</p>');
    expect(html).toContain(
      '<p class="field-error" id="error-notifyWindowSeconds">Window must be at most 300</p>',
    );
    expect(html).toMatch(
      /<input id="new\.url"[^>]*value="ftp:\/\/discord\.example\/webhook"[^>]*aria-invalid="true"/,
    );
    expect(html).toContain('<option value="discord" selected="">Discord</option>');
    expect(html).toMatch(/<input id="notifyWindowSeconds"[^>]*value="301"/);
    expect(await apiReceiver(receiver.id)).toEqual(before);

    // A destination removed meanwhile (another tab's save) is named in its row; nothing is saved.
    const gone = await save(receiver.id, {
      openedOn: slack.id,
      "destinations.0.id": "d00000000000000000000000000",
      "destinations.0.kind": "slack",
      "destinations.0.on.failed": "on",
    });
    expect(gone.status).toBe(422);
    expect(await gone.text()).toContain(
      '<p class="field-error">This destination is not one of this receiver&#39;s destinations</p>',
    );
    expect(await apiReceiver(receiver.id)).toEqual(before);

    // A sixth destination is refused for the whole form.
    const five = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [
        [`destinations.${i}.id`, slack.id],
        [`destinations.${i}.kind`, "slack"],
        [`destinations.${i}.on.failed`, "on"],
      ]).flat(),
    );
    const many = await save(receiver.id, {
      ...five,
      openedOn: slack.id,
      "new.kind": "slack",
      "new.url": SLACK_URL,
      "new.on.failed": "on",
    });
    expect(many.status).toBe(422);
    expect(await many.text()).toContain(
      '<p class="alert">A receiver has at most 5 destinations: remove one to add another</p>',
    );
    expect(await apiReceiver(receiver.id)).toEqual(before);
  });

  it("refuses a form opened before another change, such as its answer's form sent again, and saves nothing", async () => {
    const receiver = await receiverWithSlack();
    const [slack] = receiver.notifications;
    const fields = {
      openedOn: slack.id,
      "destinations.0.id": slack.id,
      "destinations.0.kind": "slack",
      "destinations.0.on.failed": "on",
      "new.kind": "webhook",
      "new.url": HOOK_URL,
      "new.on.failed": "on",
    };
    const first = await save(receiver.id, fields);
    expect(first.status).toBe(200);
    const secret = (await first.text()).match(/<code id="secret-[^"]+">(whsec_[^<]+)<\/code>/)?.[1];
    expect(secret).toMatch(/^whsec_/);
    const saved = await apiReceiver(receiver.id);
    expect(saved.notifications).toHaveLength(2);

    // The same post again (a reload of the answer): it would drop the webhook just made for another.
    const again = await save(receiver.id, fields);
    expect(again.status).toBe(409);
    expect(again.headers.get("cache-control")).toBe("no-store");
    const html = await again.text();
    expect(html).toContain(
      '<p class="alert">Nothing was saved: these notifications were changed after this form was opened (in another tab, or by this form sent again). Here they are as they are now.</p>',
    );
    expect(html).not.toContain(secret);
    // The form shown is the receiver's as it is now, opened on both destinations.
    const [, webhook] = saved.notifications;
    expect(html).toContain(`<input type="hidden" name="openedOn" value="${slack.id} ${webhook.id}"/>`);
    expect(html).toContain(`<input type="hidden" name="destinations.1.id" value="${webhook.id}"/>`);
    expect(await apiReceiver(receiver.id)).toEqual(saved);
  });

  it("sends a test to each destination and shows what it came to, in the answer and the log", async () => {
    const receiver = await receiverWithSlack();
    // Every outbound request of the worker under test lands on the emulator, which has no such path.
    const response = await call(`/receivers/${receiver.id}/notifications/test?projectId=1a5`, {
      method: "POST",
    });
    expect(response.status).toBe(200);
    const html = await response.text();
    const [slack] = receiver.notifications;
    const result =
      html.match(new RegExp(`<li data-destination-id="${slack.id}">([\\s\\S]*?)</li>`))?.[1] ?? "";
    expect(text(result).startsWith(`Slack ${urlHint(SLACK_URL)} : failed (HTTP 404) `)).toBe(true);
    const delivery =
      html.match(/<tr data-message-id="[^"]+" data-destination-id="[^"]+">([\s\S]*?)<\/tr>/)?.[1] ?? "";
    expect(delivery).toContain('<td class="delivery-failed" data-label="Status">failed</td>');
    expect(delivery).toContain('<td data-label="Attempts">1</td>');
    expect(delivery).toContain('data-label="Last error">');
    expect(html).not.toContain("page-secret");
    expect(html).not.toContain("data-refresh-ms");
  });

  it("lists deliveries newest first, and refreshes the log from the view while one is pending", async () => {
    const receiver = await receiverWithSlack();
    const [slack] = receiver.notifications;
    const now = Date.now();
    const message = (id: string, summary: string) =>
      toStoredJson(JSON_COLUMNS.notificationMessage, {
        id,
        at: now,
        test: false,
        environment: { id: "1a5", name: "Default" },
        receiver: { id: receiver.id, name: receiver.name, driver: "scaleService", projectId: "1a5" },
        summary,
        executions: [],
        historyUrl: "",
      });
    await runInDurableObject(env.TARGETS.getByName("scaleService:1a5:1s1"), (_, state) => {
      const insert = (
        id: string,
        status: string,
        summary: string,
        next: number | null,
        error: string | null,
      ) =>
        state.storage.sql.exec(
          `INSERT INTO notification_deliveries (message_id, receiver_id, destination_id, kind, url_hint, status,
             attempts, created, next_attempt, last_attempt, last_error, message) VALUES (?, ?, ?, 'slack', ?, ?, ?, ?, ?, ?, ?, ?)`,
          id,
          receiver.id,
          slack.id,
          slack.urlHint,
          status,
          status === "pending" ? 2 : 1,
          now,
          next,
          now,
          error,
          message(id, summary),
        );
      insert("m-older", "delivered", "older-summary: 1 applied", null, null);
      insert("m-newer", "pending", "newer-summary: 2 applied", now + 3_600_000, "HTTP 503: try later");
    });
    const html = await (await view(receiver.id)).text();
    expect(html.indexOf("newer-summary")).toBeGreaterThan(0);
    expect(html.indexOf("newer-summary")).toBeLessThan(html.indexOf("older-summary"));
    const pending = html.match(/<tr data-message-id="m-newer"[^>]*>([\s\S]*?)<\/tr>/)?.[1] ?? "";
    expect(pending).toContain('<td class="delivery-pending" data-label="Status">pending</td>');
    expect(pending).toContain('<td data-label="Attempts">2</td>');
    expect(pending).toContain("HTTP 503: try later");
    expect(pending).toContain(
      `datetime="${new Date(now + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z")}"`,
    );
    expect(html).toContain(
      `data-refresh-ms="5000" data-refresh-from="/receivers/${receiver.id}/notifications?projectId=1a5"`,
    );
    const delivered = html.match(/<tr data-message-id="m-older"[^>]*>([\s\S]*?)<\/tr>/)?.[1] ?? "";
    expect(delivered).toContain('<td class="delivery-delivered" data-label="Status">delivered</td>');
    expect(delivered).toContain('<td class="nowrap" data-label="Next attempt"></td>');
  });

  it("shows a read-only key the notifications without write controls, and refuses its writes and other sites'", async () => {
    const receiver = await receiverWithSlack();
    const before = await apiReceiver(receiver.id);
    const html = await (await view(receiver.id, KEYS.readonly)).text();
    expect(html).toContain(urlHint(SLACK_URL));
    expect(html).toContain("Read-only: this API key can see notifications but not change or test them.");
    for (const control of ["Send a test", "Save notifications", '<form class="receiver notifications"'])
      expect(html).not.toContain(control);
    const fields = { "new.kind": "slack", "new.url": SLACK_URL, "new.on.failed": "on" };
    expect((await save(receiver.id, fields, KEYS.readonly)).status).toBe(403);
    const test = await call(`/receivers/${receiver.id}/notifications/test?projectId=1a5`, {
      method: "POST",
      key: KEYS.readonly,
    });
    expect(test.status).toBe(403);
    const crossSite = await call(`/receivers/${receiver.id}/notifications?projectId=1a5`, {
      ...form(fields),
      headers: { ...form({}).headers, origin: "https://evil.example", "sec-fetch-site": "cross-site" },
    });
    expect(crossSite.status).toBe(403);
    expect(await apiReceiver(receiver.id)).toEqual(before);
    const log = await json(await call(`/v1-webhooks/receivers/${receiver.id}/notifications?projectId=1a5`));
    expect(log.data).toEqual([]);
  });
});
