import { beforeEach, describe, expect, it } from "vitest";
import { call, EMULATOR, type Json, json, KEYS, P, reset, sleep } from "./emulator-client";

beforeEach(reset);

const ids = (body: Json): string[] => body.data.map((item: { id: string }) => item.id);

const hook = (path: string, body?: unknown) =>
  fetch(`${EMULATOR}/_emulator${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const TRANSITION_MS = 60;
const fastTransitions = async (hostProvisionMs = 100) => {
  expect((await hook("/config", { transitionMs: TRANSITION_MS, hostProvisionMs })).status).toBe(200);
};

/**
 * Polls a host (or event) until `done` holds, and returns the states it was seen in, each once, in
 * order. Polling may miss a short state on a busy machine, so callers check the order of what was seen
 * and the states that last long enough to be seen for sure.
 */
async function walk(path: string, done: (body: Json) => boolean, timeoutMs = 5000) {
  const states: string[] = [];
  const started = Date.now();
  for (;;) {
    const { body } = await json(path);
    if (states.at(-1) !== body.state) states.push(body.state);
    if (done(body)) return { states, last: body as Json };
    if (Date.now() - started > timeoutMs) throw new Error(`${path} stayed ${body.state}`);
    await sleep(10);
  }
}

/** `seen` lists only states of `expected`, in that order. */
function inOrder(seen: string[], expected: string[]): boolean {
  let at = 0;
  for (const state of seen) {
    const next = expected.indexOf(state, at);
    if (next < 0) return false;
    at = next;
  }
  return true;
}

const ec2 = { region: "us-east-1", instanceType: "t2.micro", ami: "ami-1" };

describe("hosts", () => {
  it("lists the seeded workers with their machine-driver config and the custom host", async () => {
    const { status, body } = await json(`${P}/hosts`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      type: "collection",
      resourceType: "host",
      createTypes: { host: "http://127.0.0.1:8788/v2-beta/projects/1a5/hosts" },
    });
    expect(ids(body)).toEqual(["1h1", "1h2", "1h3", "1h4"]);
    const [first] = body.data;
    expect(first).toMatchObject({
      id: "1h1",
      type: "host",
      hostname: "worker1",
      state: "active",
      driver: "amazonec2",
      labels: { pool: "workers" },
      amazonec2Config: { type: "amazonec2Config", region: "us-east-1", instanceType: "t2.micro" },
      digitaloceanConfig: null,
      hostTemplateId: null,
      accountId: "1a5",
      links: { self: "http://127.0.0.1:8788/v2-beta/projects/1a5/hosts/1h1" },
    });
    expect(body.data[3]).toMatchObject({
      id: "1h4",
      hostname: "custom1",
      driver: null,
      amazonec2Config: null,
      labels: { pool: "custom" },
      state: "active",
    });
    const created = body.data.map((host: { createdTS: number }) => host.createdTS);
    expect(new Set(created).size).toBe(4);
    expect(created).toEqual([...created].sort((a: number, b: number) => a - b));
    expect((await json(`${P}/hosts`, { key: KEYS.readonly })).body.createTypes).toEqual({});
  });

  it("filters and sorts as the webhook driver asks", async () => {
    expect(ids((await json(`${P}/hosts?sort=created&order=desc`)).body)).toEqual([
      "1h4",
      "1h3",
      "1h2",
      "1h1",
    ]);
    expect(ids((await json(`${P}/hosts?hostname=worker2`)).body)).toEqual(["1h2"]);
    expect(ids((await json(`${P}/hosts?hostname_like=worker%25&limit=2`)).body)).toEqual(["1h1", "1h2"]);
    expect(ids((await json(`${P}/hosts?state=active&driver=amazonec2`)).body)).toEqual(["1h1", "1h2", "1h3"]);
    expect(ids((await json(`${P}/hosts?created_gt=2026-01-04T08:30:00Z`)).body)).toEqual([
      "1h2",
      "1h3",
      "1h4",
    ]);
    expect(ids((await json(`${P}/hosts?limit=1000&removed_null=true`)).body)).toEqual([
      "1h1",
      "1h2",
      "1h3",
      "1h4",
    ]);
    expect(ids((await json(`${P}/hosts?driver_null=true`)).body)).toEqual(["1h4"]);
    await hook("/hosts/1h2/state", { state: "reconnecting" });
    expect(ids((await json(`${P}/hosts?state_ne=active`)).body)).toEqual(["1h2"]);
    expect(ids((await json(`${P}/hosts?state=reconnecting`)).body)).toEqual(["1h2"]);
  });

  it("gets one host, 404s unknown ones and refuses other projects' keys", async () => {
    expect((await json(`${P}/hosts/1h2`)).body).toMatchObject({ id: "1h2", hostname: "worker2" });
    expect((await call(`${P}/hosts/1h9`)).status).toBe(404);
    expect((await call("/v2-beta/projects/1a7/hosts", { key: KEYS.other })).status).toBe(200);
    expect(ids((await json("/v2-beta/projects/1a7/hosts", { key: KEYS.other })).body)).toEqual([]);
    expect((await call(`${P}/hosts/1h1`, { key: KEYS.other })).status).toBe(403);
    expect((await call("/v2-beta/hosts/1h1", { key: KEYS.other })).status).toBe(404);
  });

  it("creates a host from a driver config (201) that registers, provisions, then becomes active", async () => {
    await fastTransitions(300);
    const { status, body } = await json(`${P}/hosts`, {
      method: "POST",
      body: {
        hostname: "worker4",
        labels: { pool: "workers" },
        engineInstallUrl: "https://releases.rancher.com/install-docker/1.12.sh",
        amazonec2Config: ec2,
        unknownField: "dropped",
      },
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      id: "1h5",
      type: "host",
      hostname: "worker4",
      labels: { pool: "workers" },
      driver: "amazonec2",
      amazonec2Config: { type: "amazonec2Config", ...ec2 },
      engineInstallUrl: "https://releases.rancher.com/install-docker/1.12.sh",
      hostTemplateId: null,
      state: "registering",
      transitioning: "yes",
      agentState: null,
    });
    expect("unknownField" in body).toBe(false);
    expect(body.createdTS).toBeGreaterThan(Date.parse("2026-01-05T00:00:00Z"));
    const { states, last } = await walk(`${P}/hosts/1h5`, (host) => host.state === "active");
    // Provisioning lasts hostProvisionMs (300 ms), long enough to be seen whatever the load.
    expect(states).toContain("provisioning");
    expect(inOrder(states, ["registering", "provisioning", "active"])).toBe(true);
    expect(last).toMatchObject({ state: "active", transitioning: "no", agentState: "active" });
    const next = await json(`${P}/hosts`, {
      method: "POST",
      body: { hostname: "drop1", digitaloceanConfig: { region: "ams3", size: "1gb" } },
    });
    expect(next.body).toMatchObject({
      id: "1h6",
      driver: "digitalocean",
      digitaloceanConfig: { region: "ams3" },
    });
  });

  it("keeps a new host provisioning for hostProvisionMs", async () => {
    expect((await hook("/config", { transitionMs: 30, hostProvisionMs: 700 })).status).toBe(200);
    const created = await json(`${P}/hosts`, {
      method: "POST",
      body: { hostname: "slow", amazonec2Config: ec2 },
    });
    await sleep(250);
    expect((await json(`${P}/hosts/${created.body.id}`)).body).toMatchObject({
      state: "provisioning",
      transitioning: "yes",
      agentState: null,
    });
    const { last } = await walk(`${P}/hosts/${created.body.id}`, (host) => host.state === "active");
    expect(last.agentState).toBe("active");
  });

  it("ends the next hostFailures hosts in error, with the machine driver's message", async () => {
    await fastTransitions();
    await hook("/faults", { hostFailures: 2 });
    const made: string[] = [];
    for (const hostname of ["bad1", "bad2", "good"]) {
      const created = await json(`${P}/hosts`, { method: "POST", body: { hostname, amazonec2Config: ec2 } });
      expect(created.status).toBe(201);
      made.push(created.body.id);
    }
    // A refused create does not take one.
    expect((await json(`${P}/hosts`, { method: "POST", body: { hostname: "x" } })).status).toBe(422);
    expect(await (await hook("/faults")).json()).toMatchObject({ hostFailures: 0 });
    for (const id of made.slice(0, 2)) {
      const { states, last } = await walk(`${P}/hosts/${id}`, (host) => host.state === "error");
      expect(inOrder(states, ["registering", "provisioning", "error"])).toBe(true);
      expect(last).toMatchObject({ transitioning: "error", agentState: null, removed: null });
      expect(last.transitioningMessage).toMatch(/^Error creating machine: /);
    }
    const { last } = await walk(`${P}/hosts/${made[2]}`, (host) => host.state === "active");
    expect(last).toMatchObject({ transitioning: "no", transitioningMessage: null });
    expect(ids((await json(`${P}/hosts?state=error`)).body)).toEqual(made.slice(0, 2));
  });

  it("creates a host from a template", async () => {
    const { status, body } = await json(`${P}/hosts`, {
      method: "POST",
      body: { hostname: "worker4", labels: { pool: "workers" }, hostTemplateId: "1ht1" },
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      id: "1h5",
      hostTemplateId: "1ht1",
      driver: "amazonec2",
      amazonec2Config: null,
      links: { hostTemplate: "http://127.0.0.1:8788/v2-beta/projects/1a5/hosttemplates/1ht1" },
    });
  });

  it("validates a create as Cattle does", async () => {
    const cases: [unknown, number, string, string | null][] = [
      [{ labels: { pool: "workers" }, amazonec2Config: ec2 }, 422, "MissingRequired", "hostname"],
      [{ hostname: "w" }, 422, "DriverConfigExactlyOneRequired", null],
      [{ hostname: "w", amazonec2Config: null }, 422, "DriverConfigExactlyOneRequired", null],
      [
        { hostname: "w", amazonec2Config: ec2, digitaloceanConfig: {} },
        422,
        "DriverConfigExactlyOneRequired",
        null,
      ],
      [{ hostname: "w", hostTemplateId: "1ht9" }, 422, "InvalidReference", "hostTemplateId"],
      [{ hostname: "w", amazonec2Config: "x" }, 422, "InvalidFormat", "amazonec2Config"],
    ];
    for (const [body, status, code, fieldName] of cases) {
      const result = await json(`${P}/hosts`, { method: "POST", body });
      expect({
        body,
        status: result.status,
        code: result.body.code,
        fieldName: result.body.fieldName ?? null,
      }).toEqual({
        body,
        status,
        code,
        fieldName,
      });
    }
    // A template of another project is no reference either; nothing was created.
    expect(ids((await json(`${P}/hosts`)).body)).toEqual(["1h1", "1h2", "1h3", "1h4"]);
  });

  it("accepts a hostname a live host already has, and notes it", async () => {
    const { status, body } = await json(`${P}/hosts`, {
      method: "POST",
      body: { hostname: "worker1", amazonec2Config: ec2 },
    });
    expect(status).toBe(201);
    expect(body.id).toBe("1h5");
    const notes = await (await hook("/hosts/duplicates")).json();
    expect(notes).toMatchObject({ data: [{ hostname: "worker1", hostId: "1h5", existingIds: ["1h1"] }] });
    await reset();
    expect(await (await hook("/hosts/duplicates")).json()).toEqual({ data: [] });
  });

  it("updates labels, name and description with PUT; hostname and driver stay", async () => {
    const { status, body } = await json(`${P}/hosts/1h1`, {
      method: "PUT",
      body: { labels: { pool: "drain" }, name: "w1", description: "old", hostname: "x", driver: "y" },
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      labels: { pool: "drain" },
      name: "w1",
      description: "old",
      hostname: "worker1",
      driver: "amazonec2",
      state: "active",
    });
    expect((await call(`${P}/hosts/1h9`, { method: "PUT", body: {} })).status).toBe(404);
  });

  it("refuses writes for a read-only key (405) and DELETE for everyone", async () => {
    const readonly = { key: KEYS.readonly };
    const create = await json(`${P}/hosts`, {
      ...readonly,
      method: "POST",
      body: { hostname: "x", amazonec2Config: ec2 },
    });
    expect([create.status, create.body.code]).toEqual([405, "MethodNotAllowed"]);
    expect((await call(`${P}/hosts/1h1`, { ...readonly, method: "PUT", body: { labels: {} } })).status).toBe(
      405,
    );
    const event = { eventType: "host.evacuate", hostId: "1h2", deleteHost: true };
    expect((await call(`${P}/externalhostevents`, { ...readonly, method: "POST", body: event })).status).toBe(
      405,
    );
    const template = { name: "t", driver: "amazonec2", publicValues: { amazonec2Config: {} } };
    expect((await call(`${P}/hosttemplates`, { ...readonly, method: "POST", body: template })).status).toBe(
      405,
    );
    expect((await call(`${P}/hosts/1h1`, { method: "DELETE" })).status).toBe(405);
    expect((await json(`${P}/hosts/1h2`)).body.state).toBe("active");
  });

  it("counts host requests in the stats like every /v2-beta request", async () => {
    await call(`${P}/hosts?limit=1000`);
    await call(`${P}/hosts`, { method: "POST", body: { hostname: "w", amazonec2Config: ec2 } });
    await call(`${P}/externalhostevents`, {
      method: "POST",
      body: { eventType: "host.evacuate", hostId: "1h5" },
    });
    const stats = (await (await hook("/stats")).json()) as { byPath: Record<string, unknown> };
    expect(stats.byPath[`${P}/hosts`]).toEqual({ GET: 1, POST: 1 });
    expect(stats.byPath[`${P}/externalhostevents`]).toEqual({ POST: 1 });
  });
});

describe("the host state hook", () => {
  it("sets a host's state directly, and back", async () => {
    const set = await hook("/hosts/1h2/state", { state: "reconnecting" });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ id: "1h2", state: "reconnecting", agentState: "reconnecting" });
    expect((await json(`${P}/hosts/1h2`)).body).toMatchObject({ state: "reconnecting", transitioning: "no" });
    await hook("/hosts/1h2/state", { state: "active" });
    expect((await json(`${P}/hosts/1h2`)).body.state).toBe("active");
  });

  it("refuses unknown hosts and states", async () => {
    expect((await hook("/hosts/1h99/state", { state: "reconnecting" })).status).toBe(404);
    const bad = await hook("/hosts/1h1/state", { state: "sleepy" });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { code: string }).code).toBe("InvalidOption");
    expect((await hook("/hosts/1h1/state", {})).status).toBe(422);
    expect((await fetch(`${EMULATOR}/_emulator/hosts/1h1/state`)).status).toBe(405);
  });
});

describe("external host events", () => {
  it("evacuates and deletes a host: deactivating, inactive while it drains, removing, removed, purged", async () => {
    await fastTransitions();
    const { status, body } = await json(`${P}/externalhostevents`, {
      method: "POST",
      body: { eventType: "host.evacuate", hostId: "1h2", deleteHost: true },
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      id: "1ee1",
      type: "externalHostEvent",
      baseType: "externalHostEvent",
      kind: "externalHostEvent",
      eventType: "host.evacuate",
      hostId: "1h2",
      hostLabel: null,
      deleteHost: true,
      state: "creating",
      accountId: "1a5",
      links: {
        self: "http://127.0.0.1:8788/v2-beta/projects/1a5/externalhostevents/1ee1",
        host: "http://127.0.0.1:8788/v2-beta/projects/1a5/hosts/1h2",
      },
    });
    const seen: Json[] = [];
    const { states, last } = await walk(`${P}/hosts/1h2`, (host) => {
      seen.push(host);
      return host.state === "purged";
    });
    expect(inOrder(states, ["deactivating", "inactive", "removing", "removed", "purging", "purged"])).toBe(
      true,
    );
    // While it drains and once removed, the host rests (transitioning "no"); removed is set from removed on.
    // Every state the walk passed through was seen at least once (inOrder above), so each row holds.
    const expected: [state: string, fields: Json][] = [
      ["deactivating", { removed: null }],
      ["inactive", { transitioning: "no", removed: null }],
      ["removing", { removed: null }],
      ["removed", { transitioning: "no", removed: expect.anything() }],
      ["purging", { removed: expect.anything() }],
    ];
    for (const [state, fields] of expected) {
      const hosts = seen.filter((host) => host.state === state);
      expect(hosts, state).not.toHaveLength(0);
      expect(hosts, state).toEqual(hosts.map(() => expect.objectContaining(fields)));
    }
    expect(last).toMatchObject({ state: "purged", transitioning: "no", agentState: null });
    expect(last.removed).not.toBeNull();
    expect((await json(`${P}/externalhostevents/1ee1`)).body.state).toBe("created");
    expect(ids((await json(`${P}/hosts?removed_null=true`)).body)).toEqual(["1h1", "1h3", "1h4"]);
    expect(ids((await json(`${P}/externalhostevents`)).body)).toEqual(["1ee1"]);
    // A removed host is no longer a reference.
    const again = await json(`${P}/externalhostevents`, {
      method: "POST",
      body: { eventType: "host.evacuate", hostId: "1h2", deleteHost: true },
    });
    expect([again.status, again.body.code]).toEqual([422, "InvalidReference"]);
  });

  it("keeps the event creating while its host drains", async () => {
    expect((await hook("/config", { transitionMs: 400 })).status).toBe(200);
    await json(`${P}/externalhostevents`, {
      method: "POST",
      body: { eventType: "host.evacuate", hostId: "1h1", deleteHost: true },
    });
    // Deactivation and drain take two transitions: after the first the event is still creating.
    await sleep(450);
    expect((await json(`${P}/hosts/1h1`)).body.state).toBe("inactive");
    expect((await json(`${P}/externalhostevents/1ee1`)).body.state).toBe("creating");
    const { last } = await walk(`${P}/externalhostevents/1ee1`, (event) => event.state === "created");
    expect(last.transitioning).toBe("no");
    expect(["removing", "removed", "purging", "purged"]).toContain((await json(`${P}/hosts/1h1`)).body.state);
  });

  it("evacuates an unhealthy host, and without deleteHost only deactivates and drains", async () => {
    await fastTransitions();
    await hook("/hosts/1h3/state", { state: "reconnecting" });
    await json(`${P}/externalhostevents`, {
      method: "POST",
      body: { eventType: "host.evacuate", hostId: "1h3", deleteHost: true },
    });
    await json(`${P}/externalhostevents`, {
      method: "POST",
      body: { eventType: "host.evacuate", hostId: "1h1" },
    });
    const { last } = await walk(`${P}/hosts/1h3`, (host) => host.state === "purged");
    expect(last.removed).not.toBeNull();
    const { last: kept } = await walk(`${P}/hosts/1h1`, (host) => host.state === "inactive");
    expect(kept).toMatchObject({ state: "inactive", removed: null });
    await sleep(5 * TRANSITION_MS);
    expect((await json(`${P}/hosts/1h1`)).body).toMatchObject({ state: "inactive", removed: null });
  });

  it("adds the deletion to a host already being evacuated, and leaves a host on its way out alone", async () => {
    await fastTransitions();
    await json(`${P}/externalhostevents`, {
      method: "POST",
      body: { eventType: "host.evacuate", hostId: "1h1" },
    });
    await json(`${P}/externalhostevents`, {
      method: "POST",
      body: { eventType: "host.evacuate", hostId: "1h1", deleteHost: true },
    });
    const { states } = await walk(`${P}/hosts/1h1`, (host) => host.state === "purged");
    expect(inOrder(states, ["deactivating", "inactive", "removing", "removed", "purging", "purged"])).toBe(
      true,
    );
    // A host in error cannot be deactivated: it goes straight to removing.
    await hook("/faults", { hostFailures: 1 });
    const failed = await json(`${P}/hosts`, {
      method: "POST",
      body: { hostname: "bad", amazonec2Config: ec2 },
    });
    await walk(`${P}/hosts/${failed.body.id}`, (host) => host.state === "error");
    await json(`${P}/externalhostevents`, {
      method: "POST",
      body: { eventType: "host.evacuate", hostId: failed.body.id, deleteHost: true },
    });
    const removal = await walk(`${P}/hosts/${failed.body.id}`, (host) => host.state === "purged");
    expect(inOrder(removal.states, ["error", "removing", "removed", "purging", "purged"])).toBe(true);
  });

  it("validates events", async () => {
    const cases: [unknown, string, string][] = [
      [{ hostId: "1h2", deleteHost: true }, "MissingRequired", "eventType"],
      [{ eventType: "host.evacuate", hostId: "1h99", deleteHost: true }, "InvalidReference", "hostId"],
      [{ eventType: "host.evacuate", hostId: "1h1", deleteHost: "maybe" }, "InvalidFormat", "deleteHost"],
    ];
    for (const [body, code, fieldName] of cases) {
      const result = await json(`${P}/externalhostevents`, { method: "POST", body });
      expect([result.status, result.body.code, result.body.fieldName]).toEqual([422, code, fieldName]);
    }
    const otherProject = await json("/v2-beta/projects/1a7/externalhostevents", {
      key: KEYS.other,
      method: "POST",
      body: { eventType: "host.evacuate", hostId: "1h1" },
    });
    expect([otherProject.status, otherProject.body.code]).toEqual([422, "InvalidReference"]);
    expect((await json(`${P}/hosts/1h1`)).body.state).toBe("active");
    expect((await call(`${P}/externalhostevents/1ee9`)).status).toBe(404);
  });
});

describe("host templates", () => {
  it("lists and gets the seed template, never showing its secret values", async () => {
    for (const segment of ["hosttemplates", "hostTemplates"]) {
      const { status, body } = await json(`${P}/${segment}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ resourceType: "hostTemplate" });
      expect(ids(body)).toEqual(["1ht1"]);
    }
    const { body } = await json(`${P}/hosttemplates/1ht1`);
    expect(body).toMatchObject({
      id: "1ht1",
      type: "hostTemplate",
      name: "small-ec2",
      driver: "amazonec2",
      state: "active",
      publicValues: { amazonec2Config: { region: "us-east-1", instanceType: "t2.small" } },
      secretValues: null,
      links: { self: "http://127.0.0.1:8788/v2-beta/projects/1a5/hosttemplates/1ht1" },
    });
    expect((await call(`${P}/hosttemplates/1ht9`)).status).toBe(404);
    expect((await call("/v2-beta/projects/1a7/hosttemplates/1ht1", { key: KEYS.other })).status).toBe(404);
  });

  it("creates templates and validates them as Cattle's HostTemplateValidationFilter", async () => {
    const { status, body } = await json(`${P}/hosttemplates`, {
      method: "POST",
      body: {
        name: "big-do",
        driver: "digitalocean",
        publicValues: { digitaloceanConfig: { size: "4gb" } },
        secretValues: { digitaloceanConfig: { accessToken: "t" } },
      },
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({ id: "1ht2", name: "big-do", driver: "digitalocean", secretValues: null });
    const host = await json(`${P}/hosts`, {
      method: "POST",
      body: { hostname: "do1", hostTemplateId: "1ht2" },
    });
    expect(host.body).toMatchObject({ driver: "digitalocean", hostTemplateId: "1ht2" });

    const cases: [unknown, string, string | null][] = [
      [{ name: "t", publicValues: { amazonec2Config: {} } }, "MissingRequired", "driver"],
      [{ name: "t", driver: "", publicValues: { amazonec2Config: {} } }, "StringFieldEmpty", "driver"],
      [
        { name: "t", driver: " amazonec2", publicValues: { amazonec2Config: {} } },
        "StringFieldIllFormed",
        "driver",
      ],
      [
        { name: "t", driver: "amazonec2", publicValues: { region: "x" } },
        "DriverConfigExactlyOneRequired",
        null,
      ],
      [
        {
          name: "t",
          driver: "amazonec2",
          publicValues: { amazonec2Config: {} },
          secretValues: { azureConfig: {} },
        },
        "DriverConfigExactlyOneRequired",
        null,
      ],
      [
        { name: "t", driver: "amazonec2", publicValues: { azureConfig: {} } },
        "DriverConfigForWrongDriver",
        null,
      ],
    ];
    for (const [input, code, fieldName] of cases) {
      const result = await json(`${P}/hosttemplates`, { method: "POST", body: input });
      expect([input, result.status, result.body.code, result.body.fieldName ?? null]).toEqual([
        input,
        422,
        code,
        fieldName,
      ]);
    }
    expect(ids((await json(`${P}/hosttemplates`)).body)).toEqual(["1ht1", "1ht2"]);
  });
});

describe("stacks", () => {
  it("lists the seed stack", async () => {
    const { body } = await json(`${P}/stacks`);
    expect(ids(body)).toEqual(["1st1"]);
    expect((await json(`${P}/stacks/1st1`)).body).toMatchObject({ type: "stack", name: "Default" });
  });
});
