import { describe, expect, it } from "vitest";
import {
  alertmanagerNotification,
  grafanaNotification,
  legacyGrafanaNotification,
} from "../../test/fixtures/alerts";
import { readDelivery } from "./facts";

const read = (body: unknown, headers: Record<string, string> = {}) =>
  readDelivery(new Headers(headers), typeof body === "string" ? body : JSON.stringify(body));

describe("readDelivery", () => {
  it("reads an Alertmanager notification", () => {
    expect(read(alertmanagerNotification("firing"))).toMatchObject({
      signal: "firing",
      alertName: "HighRequestLatency",
      alertStatus: "firing",
      format: "alertmanager",
      identity: { source: "alert" },
    });
    expect(read(alertmanagerNotification("resolved")).signal).toBe("resolved");
  });

  it("accepts older versions and unknown fields", () => {
    const older = { ...alertmanagerNotification("firing"), version: "3", somethingNew: { a: 1 } };
    expect(read(older)).toMatchObject({ signal: "firing", format: "alertmanager" });
    const minimal = { status: "firing", alerts: [{ labels: { alertname: "X" } }] };
    expect(read(minimal)).toMatchObject({ signal: "firing", alertName: "X" });
  });

  it("reads Grafana unified and legacy alerting", () => {
    expect(read(grafanaNotification("firing"))).toMatchObject({
      signal: "firing",
      format: "grafana",
      alertName: "CPU high",
    });
    expect(read(grafanaNotification("resolved")).signal).toBe("resolved");
    expect(read(legacyGrafanaNotification("alerting"))).toMatchObject({
      signal: "firing",
      format: "grafana-legacy",
      alertName: "CPU high",
      alertStatus: "alerting",
    });
    expect(read(legacyGrafanaNotification("ok")).signal).toBe("resolved");
    expect(read(legacyGrafanaNotification("no_data")).signal).toBe("plain");
  });

  it("treats anything else as a plain trigger, without throwing", () => {
    for (const body of [
      "",
      "null",
      "[1,2]",
      "{not json",
      '"text"',
      "42",
      '{"status":"firing"}',
      '{"status":"ok","alerts":[]}',
    ]) {
      expect(read(body), body).toEqual({ signal: "plain" });
    }
    expect(read({ status: "firing", alerts: "many" }).signal).toBe("plain");
  });

  it("survives hostile shapes", () => {
    const hostile = {
      status: "firing",
      alerts: [null, 1, "x", { labels: null, fingerprint: 5 }],
      commonLabels: [],
      groupKey: 7,
    };
    expect(read(hostile)).toEqual({ signal: "firing", alertStatus: "firing", format: "alertmanager" });
    const long = { ...alertmanagerNotification("firing", { alertname: "n".repeat(5000) }) };
    expect(read(long).alertName).toHaveLength(200);
  });

  it("takes identity from Idempotency-Key, X-GitHub-Delivery or webhook-id first", () => {
    expect(read("", { "idempotency-key": "abc" }).identity).toEqual({
      source: "header",
      value: "idempotency-key:abc",
    });
    expect(read("", { "x-github-delivery": "d-1" }).identity).toEqual({
      source: "header",
      value: "x-github-delivery:d-1",
    });
    expect(read("", { "webhook-id": "msg_1" }).identity).toEqual({
      source: "header",
      value: "webhook-id:msg_1",
    });
    expect(read(alertmanagerNotification("firing"), { "idempotency-key": "k" }).identity?.source).toBe(
      "header",
    );
    expect(read("").identity).toBeUndefined();
    expect(read("", { "idempotency-key": "   " }).identity).toBeUndefined();
  });

  it("identifies an alert notification by group, status, fingerprints and starts", () => {
    const identity = (body: unknown) => read(body).identity?.value;
    const base = identity(alertmanagerNotification("firing", { fingerprints: ["a", "b"] }));
    expect(identity(alertmanagerNotification("firing", { fingerprints: ["b", "a"] }))).toBe(base);
    expect(identity(alertmanagerNotification("resolved", { fingerprints: ["a", "b"] }))).not.toBe(base);
    expect(identity(alertmanagerNotification("firing", { fingerprints: ["a", "b", "c"] }))).not.toBe(base);
    expect(
      identity(
        alertmanagerNotification("firing", { fingerprints: ["a", "b"], startsAt: "2026-11-23T11:00:00Z" }),
      ),
    ).not.toBe(base);
    expect(
      identity(alertmanagerNotification("firing", { fingerprints: ["a", "b"], groupKey: "other" })),
    ).not.toBe(base);
    expect(identity(legacyGrafanaNotification("alerting"))).not.toBe(
      identity(legacyGrafanaNotification("ok")),
    );
  });
});
