import { beforeEach, describe, expect, it } from "vitest";
import { call, json, KEYS, P, reset } from "./emulator-client";

beforeEach(reset);

describe("authentication", () => {
  it("answers 401 with Cattle's Basic challenge when no key is sent", async () => {
    const { status, body, response } = await json(`${P}/services`, { key: null });
    expect(status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      'Basic realm="Enter API access key and secret key as username and password"',
    );
    expect(body).toMatchObject({ type: "error", status: 401, code: "Unauthorized" });
  });

  it("answers 401 for a wrong secret, an unknown key and a malformed header", async () => {
    expect((await call(`${P}/services`, { key: "dev-access:wrong" })).status).toBe(401);
    expect((await call(`${P}/services`, { key: "nobody:dev-secret" })).status).toBe(401);
    const malformed = await call(`${P}/services`, { key: null, headers: { authorization: "Basic %%%" } });
    expect(malformed.status).toBe(401);
    const bearer = await call(`${P}/services`, {
      key: null,
      headers: { authorization: "Bearer dev-access" },
    });
    expect(bearer.status).toBe(401);
  });

  it("leaves the challenge out when asked to with X-API-No-Challenge", async () => {
    const response = await call(`${P}/services`, { key: null, headers: { "x-api-no-challenge": "true" } });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBeNull();
  });

  it("authenticates before deciding a path does not exist", async () => {
    expect((await call("/v2-beta/no-such-thing", { key: null })).status).toBe(401);
    expect((await call("/v2-beta/no-such-thing")).status).toBe(404);
  });
});

describe("project access", () => {
  it("lists only the projects each key belongs to", async () => {
    const owner = await json("/v2-beta/projects");
    expect(owner.status).toBe(200);
    expect(owner.body.data.map((p: { id: string }) => p.id)).toEqual(["1a5"]);
    const readonly = await json("/v2-beta/projects", { key: KEYS.readonly });
    expect(readonly.body.data.map((p: { id: string }) => p.id)).toEqual(["1a5"]);
    const other = await json("/v2-beta/projects", { key: KEYS.other });
    expect(other.body.data.map((p: { id: string; name: string }) => [p.id, p.name])).toEqual([
      ["1a7", "Other"],
    ]);
  });

  it("shows the project to its members", async () => {
    const { status, body } = await json("/v2-beta/projects/1a5", { key: KEYS.readonly });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: "1a5",
      type: "project",
      name: "Default",
      orchestration: "cattle",
      state: "active",
      links: { self: "http://127.0.0.1:8788/v2-beta/projects/1a5" },
    });
  });

  it("hides another project (404) but refuses everything under it with 403, as Cattle's ApiAuthenticator", async () => {
    const project = await json("/v2-beta/projects/1a7");
    expect(project.status).toBe(404);
    expect(project.body).toMatchObject({ type: "error", code: "NotFound" });
    expect((await call("/v2-beta/projects/1a7/")).status).toBe(404);
    const services = await json("/v2-beta/projects/1a7/services");
    expect(services.status).toBe(403);
    expect(services.body).toMatchObject({ type: "error", status: 403, code: "Forbidden" });
    expect(typeof services.body.message).toBe("string");
    expect((await call("/v2-beta/projects/1a7/services/1s9")).status).toBe(403);
    expect((await call("/v2-beta/projects/1a7/schemas/service")).status).toBe(403);
    expect((await call("/v2-beta/projects/1a7/hosts")).status).toBe(403);
    // Refused before routing: unknown paths and wrong methods under the project are 403 too.
    expect((await call("/v2-beta/projects/1a7/no-such-thing")).status).toBe(403);
    expect((await call("/v2-beta/projects/1a7/hosts", { method: "DELETE" })).status).toBe(403);
    expect(
      (await call("/v2-beta/projects/1a7/services/1s9", { method: "PUT", body: { scale: 5 } })).status,
    ).toBe(403);
    expect((await call("/v2-beta/projects/1a5/services", { key: KEYS.other })).status).toBe(403);
    // A project that does not exist is refused the same way.
    expect((await call("/v2-beta/projects/1a99/services")).status).toBe(403);
    expect((await json("/v2-beta/projects/1a7/services/1s9", { key: KEYS.other })).body.scale).toBe(1);
  });

  it("still answers 401 before 403 for a missing key", async () => {
    expect((await call("/v2-beta/projects/1a7/services", { key: null })).status).toBe(401);
  });

  it("does not show a service of another project through the caller's own project", async () => {
    expect((await call(`${P}/services/1s9`)).status).toBe(404);
    const other = await json("/v2-beta/projects/1a7/services/1s9", { key: KEYS.other });
    expect(other.status).toBe(200);
    expect(other.body).toMatchObject({ id: "1s9", name: "api", accountId: "1a7" });
  });

  it("answers a read-only member's writes with 405, as its schemas list only GET, and changes nothing", async () => {
    const put = await json(`${P}/services/1s1`, { method: "PUT", key: KEYS.readonly, body: { scale: 4 } });
    expect(put.status).toBe(405);
    expect(put.body).toMatchObject({ type: "error", status: 405, code: "MethodNotAllowed" });
    const post = await json(`${P}/services`, { method: "POST", key: KEYS.readonly, body: { name: "x" } });
    expect(post.status).toBe(405);
    expect(post.body).toMatchObject({ type: "error", status: 405, code: "MethodNotAllowed" });
    expect((await call(`${P}/loadbalancerservices`, { method: "POST", key: KEYS.readonly })).status).toBe(
      405,
    );
    expect((await call(`${P}/services/1s1`, { method: "DELETE", key: KEYS.readonly })).status).toBe(405);
    // The method check comes before the lookup, as gdapi's ValidationHandler does it.
    expect((await call(`${P}/services/1s404`, { method: "PUT", key: KEYS.readonly, body: {} })).status).toBe(
      405,
    );
    expect(
      (await call("/v2-beta/services/1s1", { method: "PUT", key: KEYS.readonly, body: {} })).status,
    ).toBe(405);
    const services = await json(`${P}/services`);
    expect(services.body.data.map((s: { name: string }) => s.name)).not.toContain("x");
    const web = await json(`${P}/services/1s1`);
    expect(web.body).toMatchObject({ scale: 1, state: "active" });
  });

  it("answers a read-only member's actions with 422 InvalidAction: its schemas offer none", async () => {
    const restart = await json(`${P}/services/1s1?action=restart`, { method: "POST", key: KEYS.readonly });
    expect(restart.status).toBe(422);
    expect(restart.body).toMatchObject({ type: "error", code: "InvalidAction", fieldName: "action" });
    const upgrade = await call(`${P}/services/1s1?action=upgrade`, {
      method: "POST",
      key: KEYS.readonly,
      body: { inServiceStrategy: {} },
    });
    expect(upgrade.status).toBe(422);
    expect((await json(`${P}/services/1s1`)).body.state).toBe("active");
  });

  it("parses the body before refusing a read-only write, as Cattle does", async () => {
    const bad = await json(`${P}/services/1s1`, { method: "PUT", key: KEYS.readonly, rawBody: "{" });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("InvalidBodyContent");
  });

  it("lets a read-only member read, without any actions on the resources", async () => {
    const { status, body } = await json(`${P}/services/1s1`, { key: KEYS.readonly });
    expect(status).toBe(200);
    expect(body.actions).toEqual({});
    const owner = await json(`${P}/services/1s1`);
    expect(Object.keys(owner.body.actions)).toContain("upgrade");
  });

  it("takes the project from X-API-Project-Id on un-scoped routes", async () => {
    const scoped = await json("/v2-beta/services/1s9", {
      key: KEYS.other,
      headers: { "x-api-project-id": "1a7" },
    });
    expect(scoped.status).toBe(200);
    expect(scoped.body.links.self).toBe("http://127.0.0.1:8788/v2-beta/services/1s9");
    const defaulted = await json("/v2-beta/services/1s1");
    expect(defaulted.status).toBe(200);
    const denied = await json("/v2-beta/services/1s9", { headers: { "x-api-project-id": "1a7" } });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ type: "error", code: "Forbidden" });
    // The header is checked on every route, as Cattle's ApiAuthenticator does.
    expect((await call("/v2-beta/projects", { headers: { "x-api-project-id": "1a7" } })).status).toBe(403);
    // Under /projects/{pid}/… the path names the project, whatever the header says.
    const pathWins = await call(`${P}/services/1s1`, { headers: { "x-api-project-id": "1a7" } });
    expect(pathWins.status).toBe(200);
  });
});

describe("API root", () => {
  it("answers GET /v2-beta with the schemas URL in X-API-Schemas, as go-rancher expects", async () => {
    const { status, body, response } = await json("/v2-beta");
    expect(status).toBe(200);
    expect(body).toMatchObject({ type: "apiVersion", id: "v2-beta" });
    expect(response.headers.get("x-api-schemas")).toBe("http://127.0.0.1:8788/v2-beta/schemas");
    const scoped = await call(`${P}/schemas`);
    expect(scoped.headers.get("x-api-schemas")).toBe("http://127.0.0.1:8788/v2-beta/projects/1a5/schemas");
  });

  it("builds links from X-Forwarded-Proto and X-Forwarded-Host", async () => {
    const { body } = await json(`${P}/services/1s1`, {
      headers: { "x-forwarded-proto": "https", "x-forwarded-host": "rancher.example.com" },
    });
    expect(body.links.self).toBe("https://rancher.example.com/v2-beta/projects/1a5/services/1s1");
  });
});

describe("Rancher sessions", () => {
  const bearer = (token: string) => ({ key: null, headers: { authorization: `Bearer ${token}` } });
  const cookie = (value: string) => ({ key: null, headers: { cookie: value } });

  it("accepts a session token as a Bearer header or as the token cookie, on every route", async () => {
    for (const options of [
      bearer("dev-session"),
      cookie("token=dev-session"),
      cookie("CSRF=AB12; token=dev-session"),
    ]) {
      expect((await call("/v2-beta", options)).status).toBe(200);
      const projects = await json("/v2-beta/projects", options);
      expect(projects.body.data.map((p: { id: string }) => p.id)).toEqual(["1a5"]);
      expect((await call(`${P}/schemas/service`, options)).status).toBe(200);
      expect((await call(`${P}/hosts`, options)).status).toBe(200);
      expect((await call(`${P}/genericobjects`, options)).status).toBe(200);
    }
    const put = await json(`${P}/services/1s1`, {
      ...cookie("token=dev-session"),
      method: "PUT",
      body: { scale: 2 },
    });
    expect([put.status, put.body.scale]).toEqual([200, 2]);
  });

  it("gives each session the rights of its key", async () => {
    const schema = await json(`${P}/schemas/service`, bearer("readonly-session"));
    expect(schema.body.resourceMethods).toEqual(["GET"]);
    const put = await json(`${P}/services/1s1`, {
      ...bearer("readonly-session"),
      method: "PUT",
      body: { scale: 3 },
    });
    expect([put.status, put.body.code]).toEqual([405, "MethodNotAllowed"]);
    expect((await call(`${P}/services`, cookie("token=other-session"))).status).toBe(403);
    const other = await json("/v2-beta/projects/1a7/services/1s9", cookie("token=other-session"));
    expect([other.status, other.body.name]).toEqual([200, "api"]);
    expect((await json("/v2-beta/projects", bearer("other-session"))).body.data[0].id).toBe("1a7");
  });

  it("answers a wrong session token with 401, as a wrong key, with the challenge unless told not to", async () => {
    for (const options of [bearer("nobody-session"), cookie("token=nobody-session"), bearer("dev-access")]) {
      const refused = await json(`${P}/services`, options);
      expect([refused.status, refused.body.code]).toEqual([401, "Unauthorized"]);
      expect(refused.response.headers.get("www-authenticate")).not.toBeNull();
    }
    const quiet = await call(`${P}/services`, {
      key: null,
      headers: { cookie: "token=nobody-session", "x-api-no-challenge": "true" },
    });
    expect(quiet.status).toBe(401);
    expect(quiet.headers.get("www-authenticate")).toBeNull();
    // As in Cattle, a non-blank token cookie decides before the Authorization header.
    const both = await call(`${P}/services`, {
      key: null,
      headers: { cookie: "token=nobody-session", authorization: "Bearer dev-session" },
    });
    expect(both.status).toBe(401);
    expect(
      (
        await call(`${P}/services`, {
          key: null,
          headers: { cookie: "token=", authorization: "Bearer dev-session" },
        })
      ).status,
    ).toBe(200);
    // An API key in Basic wins over a cookie, as before.
    expect((await call(`${P}/services`, { headers: { cookie: "token=nobody-session" } })).status).toBe(200);
  });
});
