import { beforeAll, describe, expect, it } from "vitest";
import { call, createReceiver, resetEmulator } from "../helpers";

/**
 * A sweep of malformed requests over every route: whatever arrives, the answer is a documented
 * success or a well-formed Rancher error envelope, and never a 5xx.
 */
describe("malformed requests", () => {
  let receiver: Record<string, any>;
  beforeAll(async () => {
    await resetEmulator();
    receiver = await createReceiver();
  });

  const paths = () => [
    "/v1-webhooks",
    "/v1-webhooks?projectId=1a5",
    "/v1-webhooks?projectId=../../1a7",
    "/v1-webhooks/schemas",
    "/v1-webhooks/schemas/%00",
    "/v1-webhooks/receivers?projectId=1a5&limit=-1&marker=%ff",
    "/v1-webhooks/receivers?projectId=1a5&projectId=1a7",
    `/v1-webhooks/receivers/${receiver.id}?projectId=1a5&action=%3Cscript%3E`,
    `/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`,
    "/v1-webhooks/receivers/%2e%2e%2f%2e%2e?projectId=1a5",
    "/v1-webhooks/endpoint",
    "/v1-webhooks/endpoint?token=a.b.c",
    "/v1-webhooks/endpoint?token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    `${new URL(receiver.url).pathname}${new URL(receiver.url).search}&projectId=`,
    "/?projectId=%00",
    "/receivers/new?projectId=1a5&clone=nothing",
    "/receivers/xyz/history?projectId=1a5",
    "/receivers/xyz/delete?projectId=1a5",
    "/nothing/here",
  ];
  const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
  const bodies: (string | undefined)[] = [
    undefined,
    "{",
    "null",
    '{"name":{"$gt":""},"driver":["scaleService"],"scaleServiceConfig":"x"}',
    `${"[".repeat(2000)}${"]".repeat(2000)}`,
    "\u0000\uffff\ud800",
    "name=%ZZ&kind=serviceUpgrade&serviceSelector==&tag=*",
  ];
  const auths = [null, "dev-access:dev-secret", "readonly-access:readonly-secret", ":", "x".repeat(5000)];

  it("never answers 5xx, and every error is the envelope", async () => {
    const failures: string[] = [];
    for (const path of paths()) {
      for (const method of methods) {
        for (const [i, body] of bodies.entries()) {
          const key = auths[(i + method.length) % auths.length] ?? null;
          const response = await call(path, {
            method,
            key,
            rawBody: method === "GET" ? undefined : body,
            headers: { "content-type": i % 2 ? "application/x-www-form-urlencoded" : "application/json" },
          });
          const text = await response.text();
          const where = `${method} ${path} body#${i}`;
          if (response.status >= 500) failures.push(`${where}: ${response.status} ${text.slice(0, 120)}`);
          if (response.status >= 400) {
            let envelope: Record<string, unknown> | undefined;
            try {
              envelope = JSON.parse(text);
            } catch {
              failures.push(`${where}: ${response.status} not JSON`);
              continue;
            }
            if (
              envelope?.type !== "error" ||
              envelope.status !== response.status ||
              typeof envelope.code !== "string"
            ) {
              failures.push(`${where}: ${response.status} not an envelope: ${text.slice(0, 120)}`);
            }
            if (/at .*\.(ts|js):\d+/.test(text)) failures.push(`${where}: stack trace in the answer`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers 400 to a form whose body does not match its multipart Content-Type", async () => {
    for (const contentType of ["multipart/form-data", "multipart/form-data; boundary=x"]) {
      const response = await call("/receivers?projectId=1a5", {
        method: "POST",
        rawBody: "name=x&kind=scaleService",
        headers: { "content-type": contentType },
      });
      expect(response.status, contentType).toBe(400);
      expect(await response.json()).toMatchObject({ type: "error", status: 400, code: "InvalidFormat" });
    }
  });
});
