import { beforeEach, describe, expect, it } from "vitest";
import { call, json, P, reset } from "./emulator-client";

beforeEach(reset);

describe("error envelopes", () => {
  it("answers an unknown path with 404 NotFound in Cattle's shape", async () => {
    const { status, body, response } = await json("/v2-beta/projects/1a5/widgets");
    expect(status).toBe(404);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: "error",
      links: {},
      actions: {},
      status: 404,
      code: "NotFound",
      message: expect.any(String),
      detail: null,
    });
    expect((await call("/nothing/here")).status).toBe(404);
  });

  it("answers a wrong method on a known path with 405 MethodNotAllowed", async () => {
    for (const [method, path] of [
      ["DELETE", `${P}/services`],
      ["PUT", `${P}/services`],
      ["PATCH", `${P}/services/1s1`],
      ["POST", `${P}/services/1s1`],
      ["POST", "/v2-beta/projects"],
      ["DELETE", `${P}/schemas/service`],
    ] as const) {
      const { status, body } = await json(path, { method });
      expect([method, path, status, body.code]).toEqual([method, path, 405, "MethodNotAllowed"]);
    }
  });

  it("answers a body that is not JSON with 400 InvalidBodyContent", async () => {
    const { status, body } = await json(`${P}/services`, { method: "POST", rawBody: "{name:" });
    expect(status).toBe(400);
    expect(body).toMatchObject({ type: "error", code: "InvalidBodyContent" });
  });

  it("answers a body over 1 MiB with 413 TooLarge", async () => {
    const { status, body } = await json(`${P}/services`, {
      method: "POST",
      rawBody: JSON.stringify({ name: "big", description: "x".repeat(1_100_000) }),
    });
    expect(status).toBe(413);
    expect(body.code).toBe("TooLarge");
  });

  it("treats JSON that is not an object as no fields", async () => {
    const { status, body } = await json(`${P}/services`, { method: "POST", rawBody: "[1,2,3]" });
    expect(status).toBe(422);
    expect(body).toMatchObject({ code: "MissingRequired", fieldName: "name" });
  });

  it("survives odd input without a stack trace", async () => {
    const odd = [
      `${P}/services?limit=-5&marker=m99999999999&sort=__proto__`,
      `${P}/services?name_like=%25%25%25((&scale_gt=abc`,
      `${P}/services/__proto__`,
      `${P}/schemas/constructor`,
    ];
    for (const path of odd) {
      const response = await call(path);
      const text = await response.text();
      expect(response.status).toBeLessThan(500);
      expect(text).not.toMatch(/at .*\.js:\d+/);
    }
    const proto = await json(`${P}/services`, {
      method: "POST",
      rawBody: '{"name":"p","__proto__":{"scale":5}}',
    });
    expect(proto.status).toBe(201);
    expect(proto.body.scale).toBe(1);
  });
});
