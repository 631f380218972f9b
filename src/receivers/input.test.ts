import { describe, expect, it } from "vitest";
import { ApiError } from "../api/errors";
import { schemaResource } from "../api/schemas";
import { parseOrThrow } from "../api/validation";
import { receiverCreateSchema } from "./input";

const valid = () => ({
  name: "scale-web",
  driver: "scaleService",
  scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1, min: 1, max: 10 },
});

function errorOf(body: unknown) {
  try {
    parseOrThrow(receiverCreateSchema(), body);
  } catch (error) {
    if (error instanceof ApiError) return error.toBody();
    throw error;
  }
  throw new Error("expected a validation error");
}

const withConfig = (changes: Record<string, unknown>) => {
  const body = valid();
  return { ...body, scaleServiceConfig: { ...body.scaleServiceConfig, ...changes } };
};

const without = (field: string) => {
  const body = valid();
  const config: Record<string, unknown> = { ...body.scaleServiceConfig };
  delete config[field];
  return { ...body, scaleServiceConfig: config };
};

describe("receiver create validation", () => {
  it("accepts a valid body and fills defaults", () => {
    const body = valid();
    const { min: _min, max: _max, ...config } = body.scaleServiceConfig;
    expect(parseOrThrow(receiverCreateSchema(), { ...body, scaleServiceConfig: config })).toEqual({
      name: "scale-web",
      driver: "scaleService",
      config: {
        serviceId: "1s1",
        action: "up",
        amount: 1,
        min: 1,
        max: 100,
        cooldownSeconds: 0,
        onResolved: "ignore",
      },
    });
  });

  it("accepts the type fields Rancher clients send", () => {
    const body = valid();
    const parsed = parseOrThrow(receiverCreateSchema(), {
      ...body,
      type: "receiver",
      scaleServiceConfig: { ...body.scaleServiceConfig, type: "scaleServiceConfig" },
    });
    expect(parsed.config).not.toHaveProperty("type");
  });

  it.each([
    ["serviceId", "scaleServiceConfig.serviceId"],
    ["action", "scaleServiceConfig.action"],
    ["amount", "scaleServiceConfig.amount"],
  ])("reports a missing %s as MissingRequired", (field, fieldName) => {
    expect(errorOf(without(field))).toMatchObject({ status: 422, code: "MissingRequired", fieldName });
  });

  it("reports a missing name, driver and config", () => {
    const { name: _name, ...noName } = valid();
    expect(errorOf(noName)).toMatchObject({ code: "MissingRequired", fieldName: "name" });
    const { driver: _driver, ...noDriver } = valid();
    expect(errorOf(noDriver)).toMatchObject({ code: "MissingRequired", fieldName: "driver" });
    const { scaleServiceConfig: _config, ...noConfig } = valid();
    expect(errorOf(noConfig)).toMatchObject({ code: "MissingRequired", fieldName: "scaleServiceConfig" });
  });

  it.each([
    [{ amount: 1.5 }, "scaleServiceConfig.amount"],
    [{ amount: "1" }, "scaleServiceConfig.amount"],
    [{ min: true }, "scaleServiceConfig.min"],
    [{ max: null }, "scaleServiceConfig.max"],
    [{ cooldownSeconds: "10" }, "scaleServiceConfig.cooldownSeconds"],
    [{ serviceId: 15 }, "scaleServiceConfig.serviceId"],
  ])("reports %j as InvalidFormat", (changes, fieldName) => {
    expect(errorOf(withConfig(changes))).toMatchObject({ code: "InvalidFormat", fieldName });
  });

  it("reports a config that is not an object, and a body that is not one", () => {
    expect(errorOf({ ...valid(), scaleServiceConfig: [1] })).toMatchObject({
      code: "InvalidFormat",
      fieldName: "scaleServiceConfig",
    });
    expect(errorOf([valid()])).toMatchObject({ code: "InvalidFormat" });
    expect(errorOf("text")).not.toHaveProperty("fieldName");
  });

  it.each([
    [{ action: "sideways" }, "scaleServiceConfig.action"],
    [{ onResolved: "forget" }, "scaleServiceConfig.onResolved"],
  ])("reports %j as InvalidOption", (changes, fieldName) => {
    expect(errorOf(withConfig(changes))).toMatchObject({ code: "InvalidOption", fieldName });
  });

  it("reports an unknown driver and a config of another driver as InvalidOption", () => {
    expect(errorOf({ ...valid(), driver: "restartService" })).toMatchObject({
      code: "InvalidOption",
      fieldName: "driver",
    });
    expect(errorOf({ ...valid(), scaleHostConfig: { hostSelector: { a: "b" } } })).toMatchObject({
      code: "InvalidOption",
      fieldName: "scaleHostConfig",
    });
  });

  it("reports unknown fields at their path", () => {
    expect(errorOf({ ...valid(), colour: "red" })).toMatchObject({
      code: "InvalidOption",
      fieldName: "colour",
    });
    expect(errorOf(withConfig({ step: 2 }))).toMatchObject({
      code: "InvalidOption",
      fieldName: "scaleServiceConfig.step",
    });
  });

  it.each([
    [{ amount: 0 }, "scaleServiceConfig.amount"],
    [{ min: -1 }, "scaleServiceConfig.min"],
    [{ max: 0, min: 0 }, "scaleServiceConfig.max"],
    [{ cooldownSeconds: -5 }, "scaleServiceConfig.cooldownSeconds"],
  ])("reports %j as MinLimitExceeded", (changes, fieldName) => {
    expect(errorOf(withConfig(changes))).toMatchObject({ code: "MinLimitExceeded", fieldName });
  });

  it("reports max below min as MaxLimitExceeded on max", () => {
    expect(errorOf(withConfig({ min: 5, max: 4 }))).toMatchObject({
      code: "MaxLimitExceeded",
      fieldName: "scaleServiceConfig.max",
    });
  });

  it("bounds the name to 1–128 characters", () => {
    expect(errorOf({ ...valid(), name: "" })).toMatchObject({ code: "MinLimitExceeded", fieldName: "name" });
    expect(errorOf({ ...valid(), name: "n".repeat(129) })).toMatchObject({
      code: "MaxLimitExceeded",
      fieldName: "name",
    });
    expect(parseOrThrow(receiverCreateSchema(), { ...valid(), name: "n".repeat(128) }).name).toHaveLength(
      128,
    );
  });

  it("refuses a serviceId that is not a Rancher id", () => {
    expect(errorOf(withConfig({ serviceId: "../1a7/services/1s9" }))).toMatchObject({
      fieldName: "scaleServiceConfig.serviceId",
    });
  });
});

describe("published schemas", () => {
  it("state the same defaults and limits as validation", () => {
    const schema = schemaResource("http://x", "scaleService");
    const fields = schema?.resourceFields ?? {};
    const parsed = parseOrThrow(receiverCreateSchema(), {
      name: "n",
      driver: "scaleService",
      scaleServiceConfig: { serviceId: "1s1", action: "up", amount: 1 },
    });
    if (parsed.driver !== "scaleService") throw new Error("expected a scaleService receiver");
    const defaults = parsed.config;
    for (const field of ["min", "max", "cooldownSeconds", "onResolved"] as const) {
      expect(fields[field]?.default, field).toBe(defaults[field]);
    }
    for (const [field, minimum] of Object.entries({ amount: 1, min: 0, max: 1, cooldownSeconds: 0 })) {
      expect(fields[field]?.min, field).toBe(minimum);
      expect(errorOf(withConfig({ [field]: minimum - 1, ...(field === "max" ? { min: 0 } : {}) })).code).toBe(
        "MinLimitExceeded",
      );
    }
  });
});

describe("serviceUpgrade validation", () => {
  const upgrade = (config: Record<string, unknown> = {}) => ({
    name: "upgrade-api",
    driver: "serviceUpgrade",
    serviceUpgradeConfig: { serviceSelector: { app: "api" }, tag: "v1.*", ...config },
  });

  it("fills defaults, and keeps addressType only for alicloud", () => {
    expect(parseOrThrow(receiverCreateSchema(), upgrade()).config).toEqual({
      serviceSelector: { app: "api" },
      tag: "v1.*",
      policy: "glob",
      payloadFormat: "dockerhub",
      batchSize: 1,
      intervalMillis: 2000,
      startFirst: false,
      rollbackOnFailure: true,
      healthySeconds: 60,
      healthTimeoutSeconds: 600,
    });
    expect(parseOrThrow(receiverCreateSchema(), upgrade({ payloadFormat: "alicloud" })).config).toMatchObject(
      {
        addressType: "registry",
      },
    );
    // Rancher's UI sends an addressType whatever the format; only alicloud reads it (docs/rancher-ui.md).
    expect(
      parseOrThrow(receiverCreateSchema(), upgrade({ addressType: "registry-vpc" })).config,
    ).not.toHaveProperty("addressType");
  });

  it.each([
    [{ serviceSelector: undefined }, "MissingRequired", "serviceUpgradeConfig.serviceSelector"],
    [{ serviceSelector: {} }, "MissingRequired", "serviceUpgradeConfig.serviceSelector"],
    [{ serviceSelector: { app: 1 } }, "InvalidFormat", "serviceUpgradeConfig.serviceSelector.app"],
    [{ serviceSelector: ["app=api"] }, "InvalidFormat", "serviceUpgradeConfig.serviceSelector"],
    [{ tag: undefined }, "MissingRequired", "serviceUpgradeConfig.tag"],
    [{ tag: "" }, "MinLimitExceeded", "serviceUpgradeConfig.tag"],
    [{ payloadFormat: "gitlab" }, "InvalidOption", "serviceUpgradeConfig.payloadFormat"],
    [{ policy: "newest" }, "InvalidOption", "serviceUpgradeConfig.policy"],
    [{ tag: "", policy: "semver-minor" }, "MinLimitExceeded", "serviceUpgradeConfig.tag"],
    [{ batchSize: 0 }, "MinLimitExceeded", "serviceUpgradeConfig.batchSize"],
    [{ intervalMillis: 99 }, "MinLimitExceeded", "serviceUpgradeConfig.intervalMillis"],
    [{ intervalMillis: 2.5 }, "InvalidFormat", "serviceUpgradeConfig.intervalMillis"],
    [{ startFirst: "yes" }, "InvalidFormat", "serviceUpgradeConfig.startFirst"],
    [{ serviceId: "1s1" }, "InvalidOption", "serviceUpgradeConfig.serviceId"],
  ])("reports %j as %s", (changes, code, fieldName) => {
    expect(errorOf(upgrade(changes))).toMatchObject({ code, fieldName });
  });

  it("refuses a scale config with values on an upgrade receiver (an empty one is ignored)", () => {
    expect(parseOrThrow(receiverCreateSchema(), { ...upgrade(), scaleServiceConfig: {} }).driver).toBe(
      "serviceUpgrade",
    );
    expect(errorOf({ ...upgrade(), scaleServiceConfig: { action: "up" } })).toMatchObject({
      code: "InvalidOption",
      fieldName: "scaleServiceConfig",
    });
  });
});

describe("scaleHost validation", () => {
  const hosts = (config: Record<string, unknown> = {}) => ({
    name: "grow-workers",
    driver: "scaleHost",
    scaleHostConfig: { hostSelector: { pool: "workers" }, action: "up", amount: 1, ...config },
  });

  it("fills defaults, with deleteOption leastRecent", () => {
    expect(parseOrThrow(receiverCreateSchema(), hosts()).config).toEqual({
      hostSelector: { pool: "workers" },
      action: "up",
      amount: 1,
      min: 1,
      max: 100,
      cooldownSeconds: 0,
      onResolved: "ignore",
      deleteOption: "leastRecent",
    });
    expect(
      parseOrThrow(receiverCreateSchema(), hosts({ action: "down", deleteOption: "mostRecent" })).config,
    ).toMatchObject({
      deleteOption: "mostRecent",
    });
  });

  it.each([
    [{ hostSelector: {} }, "MissingRequired", "scaleHostConfig.hostSelector"],
    [{ hostSelector: undefined }, "MissingRequired", "scaleHostConfig.hostSelector"],
    [{ action: "sideways" }, "InvalidOption", "scaleHostConfig.action"],
    [{ amount: 0 }, "MinLimitExceeded", "scaleHostConfig.amount"],
    [{ min: 3, max: 2 }, "MaxLimitExceeded", "scaleHostConfig.max"],
    [{ deleteOption: "mostRecent" }, "InvalidOption", "scaleHostConfig.deleteOption"],
    [{ action: "down", deleteOption: "random" }, "InvalidOption", "scaleHostConfig.deleteOption"],
    [{ hostTemplateId: "../x" }, "InvalidFormat", "scaleHostConfig.hostTemplateId"],
    [{ serviceId: "1s1" }, "InvalidOption", "scaleHostConfig.serviceId"],
  ])("reports %j as %s", (changes, code, fieldName) => {
    expect(errorOf(hosts(changes))).toMatchObject({ code, fieldName });
  });

  it("allows deleteOption on an up receiver that reverses when resolved", () => {
    expect(
      parseOrThrow(receiverCreateSchema(), hosts({ onResolved: "reverse", deleteOption: "mostRecent" }))
        .config,
    ).toMatchObject({ deleteOption: "mostRecent" });
  });
});
