import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import {
  call,
  createReceiver,
  json,
  KEYS,
  ORIGIN,
  resetEmulator,
  scaleServiceBody,
  trigger,
  uniqueName,
} from "../helpers";

const RECEIVERS = "/v1-webhooks/receivers?projectId=1a5";

beforeEach(async () => {
  await resetEmulator();
});

describe("API root and schemas", () => {
  it("describes the API version with links", async () => {
    const response = await call("/v1-webhooks?projectId=1a5");
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({
      type: "apiVersion",
      links: {
        self: `${ORIGIN}/v1-webhooks?projectId=1a5`,
        receivers: `${ORIGIN}/v1-webhooks/receivers?projectId=1a5`,
        schemas: `${ORIGIN}/v1-webhooks/schemas`,
      },
    });
  });

  it("serves the schemas without a key or projectId", async () => {
    const response = await call("/v1-webhooks/schemas", { key: null });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.type).toBe("collection");
    expect(body.data.map((schema: { id: string }) => schema.id)).toEqual(
      expect.arrayContaining(["receiver", "execution", "scaleService", "scaleHost", "serviceUpgrade"]),
    );
    const single = await json(await call("/v1-webhooks/schemas/receiver", { key: null }));
    expect(single.resourceFields.name).toMatchObject({ type: "string", required: true, maxLength: 128 });
    expect((await call("/v1-webhooks/schemas/nothing", { key: null })).status).toBe(404);
  });
});

describe("authentication and isolation", () => {
  it("asks for a key with 401 and WWW-Authenticate", async () => {
    for (const key of [null, KEYS.wrong]) {
      const response = await call(RECEIVERS, { key });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Basic realm="Rancher API key"');
      expect(await json(response)).toMatchObject({ type: "error", status: 401, code: "Unauthorized" });
    }
    const malformed = await call(RECEIVERS, { key: null, headers: { authorization: "Basic !!!" } });
    expect(malformed.status).toBe(401);
  });

  it("needs projectId on every management route", async () => {
    const response = await call("/v1-webhooks/receivers");
    expect(response.status).toBe(422);
    expect(await json(response)).toMatchObject({ code: "MissingRequired", fieldName: "projectId" });
  });

  it("refuses a key in an environment it cannot reach", async () => {
    const response = await call(RECEIVERS, { key: KEYS.other });
    expect(response.status).toBe(403);
    expect(await json(response)).toMatchObject({ code: "Forbidden" });
    expect((await call("/v1-webhooks/receivers?projectId=1a7", { key: KEYS.dev })).status).toBe(403);
    expect((await call("/v1-webhooks/receivers?projectId=1a999")).status).toBe(403);
  });

  it("never shows or changes another environment's receivers", async () => {
    const receiver = await createReceiver();
    const path = `/v1-webhooks/receivers/${receiver.id}`;
    // The other environment's owner asks for this receiver under its own environment.
    expect((await call(`${path}?projectId=1a7`, { key: KEYS.other })).status).toBe(404);
    expect((await call(`${path}?projectId=1a7`, { key: KEYS.other, method: "DELETE" })).status).toBe(404);
    expect(
      (await call(`${path}?projectId=1a7&action=regenerate`, { key: KEYS.other, method: "POST" })).status,
    ).toBe(404);
    // Headers cannot move a request to another environment either.
    const sneaky = await call(`${path}?projectId=1a7`, {
      key: KEYS.other,
      headers: { "x-api-project-id": "1a5" },
    });
    expect(sneaky.status).toBe(404);
    const list = await json(await call("/v1-webhooks/receivers?projectId=1a7", { key: KEYS.other }));
    expect(list.data).toEqual([]);
    expect((await call(`${path}?projectId=1a5`)).status).toBe(200);
  });

  it("lets a read-only key list and get without URLs, but not write", async () => {
    const receiver = await createReceiver();
    const list = await json(await call(RECEIVERS, { key: KEYS.readonly }));
    const listed = list.data.find((item: { id: string }) => item.id === receiver.id);
    expect(listed).toBeDefined();
    expect(listed).not.toHaveProperty("url");
    expect(listed.actions).toEqual({});
    const single = await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`, { key: KEYS.readonly });
    expect(single.status).toBe(200);
    expect(await json(single)).not.toHaveProperty("url");

    const create = await call(RECEIVERS, { key: KEYS.readonly, method: "POST", body: scaleServiceBody() });
    expect(create.status).toBe(403);
    const path = `/v1-webhooks/receivers/${receiver.id}?projectId=1a5`;
    expect((await call(path, { key: KEYS.readonly, method: "DELETE" })).status).toBe(403);
    expect((await call(`${path}&action=regenerate`, { key: KEYS.readonly, method: "POST" })).status).toBe(
      403,
    );
    // Nothing changed: the original URL still triggers.
    expect((await trigger(receiver.url)).status).toBe(200);
  });
});

describe("create", () => {
  it("creates a receiver with an absolute trigger URL and defaults filled", async () => {
    const body = scaleServiceBody({ min: undefined, max: undefined });
    const response = await call(RECEIVERS, { method: "POST", body });
    expect(response.status).toBe(201);
    const receiver = await json(response);
    expect(receiver).toMatchObject({
      type: "receiver",
      name: body.name,
      driver: "scaleService",
      state: "active",
      scaleServiceConfig: {
        type: "scaleService",
        serviceId: "1s1",
        action: "up",
        amount: 1,
        min: 1,
        max: 100,
        cooldownSeconds: 0,
        onResolved: "ignore",
      },
    });
    expect(receiver.url).toMatch(
      /^http:\/\/hooks\.test\/v1-webhooks\/endpoint\?token=[\w-]+\.[\w-]+\.[\w-]+$/,
    );
    expect(receiver.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(receiver.created)).toBe(Math.floor(receiver.createdTS / 1000) * 1000);
    expect(receiver.links.self).toBe(`${ORIGIN}/v1-webhooks/receivers/${receiver.id}?projectId=1a5`);
    expect(receiver.actions.regenerate).toContain("action=regenerate");
  });

  it("builds the URL from X-Forwarded-Proto and -Host", async () => {
    const response = await call(RECEIVERS, {
      method: "POST",
      body: scaleServiceBody(),
      headers: { "x-forwarded-proto": "https", "x-forwarded-host": "hooks.example.com" },
    });
    expect((await json(response)).url).toMatch(
      /^https:\/\/hooks\.example\.com\/v1-webhooks\/endpoint\?token=/,
    );
    const bad = await call(RECEIVERS, {
      method: "POST",
      body: scaleServiceBody(),
      headers: { "x-forwarded-proto": "javascript", "x-forwarded-host": "evil.com/<script>" },
    });
    expect((await json(bad)).url).toMatch(/^http:\/\/hooks\.test\//);
  });

  it("accepts JSON with a charset, and JSON sent as curl's default form type", async () => {
    for (const type of [
      "application/json; charset=utf-8",
      "application/x-www-form-urlencoded",
      "text/plain",
    ]) {
      const response = await call(RECEIVERS, {
        method: "POST",
        rawBody: JSON.stringify(scaleServiceBody()),
        headers: { "content-type": type },
      });
      expect(response.status, type).toBe(201);
    }
  });

  it("refuses a body that is not JSON, empty, or too large", async () => {
    for (const rawBody of ["{nope", "", "name=x&driver=scaleService"]) {
      const response = await call(RECEIVERS, {
        method: "POST",
        rawBody,
        headers: { "content-type": "application/json" },
      });
      expect(response.status).toBe(422);
      const body = await json(response);
      expect(body).toMatchObject({ type: "error", code: "InvalidFormat" });
      expect(body).not.toHaveProperty("fieldName");
    }
    const large = await call(RECEIVERS, {
      method: "POST",
      body: { ...scaleServiceBody(), padding: "x".repeat(70_000) },
    });
    expect(large.status).toBe(413);
    expect(await json(large)).toMatchObject({ code: "TooLarge" });
  });

  it("reports validation errors with fieldName in the envelope", async () => {
    const response = await call(RECEIVERS, { method: "POST", body: scaleServiceBody({ amount: 0 }) });
    expect(response.status).toBe(422);
    expect(await json(response)).toEqual({
      type: "error",
      status: 422,
      code: "MinLimitExceeded",
      message: "scaleServiceConfig.amount must be at least 1",
      fieldName: "scaleServiceConfig.amount",
    });
  });

  it.each([
    ["1s99", "does not exist"],
    ["1s3", "cannot be scaled"],
    ["1s4", "global"],
    ["1s9", "does not exist"],
  ])("refuses service %s as InvalidReference", async (serviceId, words) => {
    const response = await call(RECEIVERS, { method: "POST", body: scaleServiceBody({ serviceId }) });
    expect(response.status).toBe(422);
    const body = await json(response);
    expect(body).toMatchObject({ code: "InvalidReference", fieldName: "scaleServiceConfig.serviceId" });
    expect(body.message).toContain(words);
  });

  it("accepts a load balancer service", async () => {
    const response = await call(RECEIVERS, { method: "POST", body: scaleServiceBody({ serviceId: "1s2" }) });
    expect(response.status).toBe(201);
  });

  it("keeps names unique per environment", async () => {
    const name = uniqueName("unique");
    expect((await call(RECEIVERS, { method: "POST", body: scaleServiceBody({}, name) })).status).toBe(201);
    const again = await call(RECEIVERS, {
      method: "POST",
      body: scaleServiceBody({ serviceId: "1s2" }, name),
    });
    expect(again.status).toBe(422);
    expect(await json(again)).toMatchObject({ code: "NotUnique", fieldName: "name" });
    // Another environment may use the same name.
    const elsewhere = await call("/v1-webhooks/receivers?projectId=1a7", {
      key: KEYS.other,
      method: "POST",
      body: scaleServiceBody({ serviceId: "1s9" }, name),
    });
    expect(elsewhere.status).toBe(201);
  });

  it("keeps names unique under concurrent creates", async () => {
    const name = uniqueName("race");
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => call(RECEIVERS, { method: "POST", body: scaleServiceBody({}, name) })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 422)).toHaveLength(11);
    const list = await json(await call(`${RECEIVERS}&limit=1000`));
    expect(list.data.filter((item: { name: string }) => item.name === name)).toHaveLength(1);
  });
});

describe("get, list, delete, regenerate", () => {
  it("gets a receiver by id, 404 for unknown or malformed ids", async () => {
    const receiver = await createReceiver();
    const response = await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`);
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual(receiver);
    for (const id of ["r00000000000000000000000000", "nothing", "%2e%2e%2fx"]) {
      const missing = await call(`/v1-webhooks/receivers/${id}?projectId=1a5`);
      expect(missing.status).toBe(404);
      expect(await json(missing)).toMatchObject({ type: "error", code: "NotFound" });
    }
  });

  it("lists receivers in creation order, paginated with limit and marker", async () => {
    // Environment 1a7 holds only what this test creates there.
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await call("/v1-webhooks/receivers?projectId=1a7", {
        key: KEYS.other,
        method: "POST",
        body: scaleServiceBody({ serviceId: "1s9" }),
      });
      ids.push((await json(response)).id);
    }
    const seen: string[] = [];
    let next: string | null = `/v1-webhooks/receivers?projectId=1a7&limit=2`;
    let pages = 0;
    while (next) {
      const page: Record<string, any> = await json(await call(next, { key: KEYS.other }));
      expect(page).toMatchObject({ type: "collection", resourceType: "receiver" });
      expect(page.data.length).toBeLessThanOrEqual(2);
      expect(page.pagination.limit).toBe(2);
      expect(page.pagination.partial).toBe(page.pagination.next !== null);
      seen.push(...page.data.map((item: { id: string }) => item.id));
      next = page.pagination.next
        ? new URL(page.pagination.next).pathname + new URL(page.pagination.next).search
        : null;
      pages++;
    }
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("refuses a marker from another environment's listing", async () => {
    for (let i = 0; i < 3; i++) await createReceiver({ serviceId: "1s9" }, "1a7", KEYS.other);
    const page = await json(await call("/v1-webhooks/receivers?projectId=1a7&limit=1", { key: KEYS.other }));
    const marker = new URL(page.pagination.next).searchParams.get("marker");
    const response = await call(
      `/v1-webhooks/receivers?projectId=1a5&limit=1&marker=${encodeURIComponent(marker ?? "")}`,
    );
    expect(response.status).toBe(422);
    expect(await json(response)).toMatchObject({ code: "InvalidFormat", fieldName: "marker" });
  });

  it("validates limit and marker", async () => {
    for (const limit of ["abc", "1001", "2.5"]) {
      const response = await call(`${RECEIVERS}&limit=${limit}`);
      expect(response.status, limit).toBe(422);
      expect(await json(response)).toMatchObject({ fieldName: "limit" });
    }
    // Cattle's "no limit" (Rancher's UI lists with limit=-1): the largest page.
    for (const limit of ["0", "-1"]) {
      const response = await call(`${RECEIVERS}&limit=${limit}`);
      expect(response.status, limit).toBe(200);
      expect((await json(response)).pagination.limit).toBe(1000);
    }
    const marker = await call(`${RECEIVERS}&marker=not-a-marker`);
    expect(marker.status).toBe(422);
    expect(await json(marker)).toMatchObject({ fieldName: "marker" });
  });

  it("deletes: 204, gone from get and list, URL refused at once, name free again", async () => {
    const receiver = await createReceiver();
    const path = `/v1-webhooks/receivers/${receiver.id}?projectId=1a5`;
    const response = await call(path, { method: "DELETE" });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    expect((await call(path)).status).toBe(404);
    const list = await json(await call(`${RECEIVERS}&limit=1000`));
    expect(list.data.some((item: { id: string }) => item.id === receiver.id)).toBe(false);
    const refused = await trigger(receiver.url);
    expect(refused.status).toBe(403);
    expect(await json(refused)).toMatchObject({ code: "Forbidden" });
    expect((await call(path, { method: "DELETE" })).status).toBe(404);
    const again = await call(RECEIVERS, { method: "POST", body: scaleServiceBody({}, receiver.name) });
    expect(again.status).toBe(201);
  });

  it("regenerates: a new URL works, the old one is refused at once", async () => {
    const receiver = await createReceiver();
    const response = await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5&action=regenerate`, {
      method: "POST",
    });
    expect(response.status).toBe(200);
    const regenerated = await json(response);
    expect(regenerated.id).toBe(receiver.id);
    expect(regenerated.url).not.toBe(receiver.url);
    expect((await trigger(receiver.url)).status).toBe(403);
    expect((await trigger(regenerated.url)).status).toBe(200);
    const fetched = await json(await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`));
    expect(fetched.url).toBe(regenerated.url);
  });

  it("a delete and a regenerate a few ms apart: whatever the order, the receiver is gone for good", async () => {
    for (let round = 0; round < 6; round++) {
      const receiver = await createReceiver();
      const path = `/v1-webhooks/receivers/${receiver.id}?projectId=1a5`;
      const regenerating = call(`${path}&action=regenerate`, { method: "POST" });
      await new Promise((resolve) => setTimeout(resolve, round));
      const deleted = await call(path, { method: "DELETE" });
      const regenerated = await regenerating;
      expect(deleted.status).toBe(204);
      // Serially either regenerate then delete (200), or delete then regenerate (404).
      expect([200, 404]).toContain(regenerated.status);
      const urls = [receiver.url];
      if (regenerated.status === 200) urls.push((await json(regenerated)).url);
      else expect(await json(regenerated)).toMatchObject({ code: "NotFound" });
      expect((await call(path)).status).toBe(404);
      const list = await json(await call(`${RECEIVERS}&limit=1000`));
      expect(list.data.some((item: { id: string }) => item.id === receiver.id)).toBe(false);
      for (const url of urls) expect((await trigger(url)).status).toBe(403);
      const again = await call(RECEIVERS, { method: "POST", body: scaleServiceBody({}, receiver.name) });
      expect(again.status).toBe(201);
    }
  });

  it("a record a racing regenerate wrote to KV after the delete does not bring the receiver back", async () => {
    const receiver = await createReceiver();
    const path = `/v1-webhooks/receivers/${receiver.id}?projectId=1a5`;
    const key = `receiver:1a5:${receiver.id}`;
    const { value, metadata } = await env.RECEIVERS.getWithMetadata(key);
    expect((await call(path, { method: "DELETE" })).status).toBe(204);
    // The write of a regenerate that read the record before the delete, landing after it.
    const late = JSON.stringify({ ...JSON.parse(value ?? "{}"), version: 2 });
    await env.RECEIVERS.put(key, late, { metadata });
    expect((await call(`${path}&action=regenerate`, { method: "POST" })).status).toBe(404);
    expect((await call(path)).status).toBe(404);
    expect(await env.RECEIVERS.get(key)).toBeNull();
    const list = await json(await call(`${RECEIVERS}&limit=1000`));
    expect(list.data.some((item: { id: string }) => item.id === receiver.id)).toBe(false);
    expect((await trigger(receiver.url)).status).toBe(403);
    const again = await call(RECEIVERS, { method: "POST", body: scaleServiceBody({}, receiver.name) });
    expect(again.status).toBe(201);
  });

  it("two deletes at once: one answers 204, the other 404", async () => {
    const receiver = await createReceiver();
    const path = `/v1-webhooks/receivers/${receiver.id}?projectId=1a5`;
    const answers = await Promise.all([call(path, { method: "DELETE" }), call(path, { method: "DELETE" })]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([204, 404]);
  });

  it("answers unknown actions and action-less POSTs on a receiver", async () => {
    const receiver = await createReceiver();
    const path = `/v1-webhooks/receivers/${receiver.id}?projectId=1a5`;
    expect((await call(`${path}&action=explode`, { method: "POST" })).status).toBe(422);
    expect((await call(path, { method: "POST" })).status).toBe(405);
  });

  it("lists executions newest first", async () => {
    const receiver = await createReceiver({ max: 3 });
    for (let i = 0; i < 3; i++) expect((await trigger(receiver.url)).status).toBe(200);
    const response = await call(`/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`);
    expect(response.status).toBe(200);
    const executions = await json(response);
    expect(executions).toMatchObject({ type: "collection", resourceType: "execution" });
    expect(
      executions.data.map((execution: { outcome: string; from: number; to: number }) => [
        execution.outcome,
        execution.from,
        execution.to,
      ]),
    ).toEqual([
      ["noop", 3, 3],
      ["applied", 2, 3],
      ["applied", 1, 2],
    ]);
    expect(executions.data[0]).toMatchObject({
      type: "execution",
      receiverId: receiver.id,
      driver: "scaleService",
    });
  });
});

describe("envelopes for every mistake", () => {
  it("answers unknown paths with 404 and wrong methods with 405", async () => {
    const unknown = await call("/v1-webhooks/nothing-here?projectId=1a5");
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ type: "error", status: 404, code: "NotFound" });
    const wrong = await call(RECEIVERS, { method: "PATCH" });
    expect(wrong.status).toBe(405);
    expect(await json(wrong)).toMatchObject({ type: "error", status: 405, code: "MethodNotAllowed" });
    expect(wrong.headers.get("allow")).toContain("GET");
    const endpoint = await call("/v1-webhooks/endpoint?token=x", { method: "GET" });
    expect(endpoint.status).toBe(405);
    expect(endpoint.headers.get("allow")).toBe("POST");
  });
});
