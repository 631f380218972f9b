import { describe, expect, it } from "vitest";
import type { Instance } from "../../cattle/types";
import { judge, newContainers, VERIFY_DEFAULTS, type Watch } from "./verify";

const T0 = 1_800_000_000_000;
const settings = { ...VERIFY_DEFAULTS, healthySeconds: 30, healthTimeoutSeconds: 120 };

const watch = (fields: Partial<Watch> = {}): Watch => ({
  since: T0,
  versions: ["v2"],
  image: "myorg/api:1.1.0",
  starts: {},
  seen: T0,
  ...fields,
});

const container = (id: string, fields: Partial<Instance> = {}): Instance => ({
  id,
  type: "container",
  name: `Default-api-${id.slice(2)}`,
  state: "running",
  healthState: "healthy",
  startCount: 1,
  imageUuid: "docker:myorg/api:1.1.0",
  version: "v2",
  ...fields,
});

describe("judge", () => {
  it("passes once every new container has been running and healthy for healthySeconds", () => {
    const first = judge(watch(), [container("1i1"), container("1i2")], settings, 2, T0 + 1_000);
    expect(first).toMatchObject({ kind: "watching", watch: { healthySince: T0 + 1_000 } });
    if (first.kind !== "watching") throw new Error("expected a watch");
    expect(judge(first.watch, [container("1i1"), container("1i2")], settings, 2, T0 + 30_999)).toMatchObject({
      kind: "watching",
    });
    expect(judge(first.watch, [container("1i1"), container("1i2")], settings, 2, T0 + 31_000)).toEqual({
      kind: "passed",
    });
  });

  it("looks only at the containers of the new version, not the old ones the upgrade stopped", () => {
    const old = container("1i1", { version: "v1", state: "stopped", imageUuid: "docker:myorg/api:1.0.0" });
    expect(newContainers([old, container("1i2")], watch()).map((each) => each.id)).toEqual(["1i2"]);
    expect(judge(watch({ healthySince: T0 }), [old, container("1i2")], settings, 1, T0 + 30_000)).toEqual({
      kind: "passed",
    });
  });

  it("tells new containers by their image where Cattle shows no versions", () => {
    const unversioned = [
      container("1i1", { version: null, imageUuid: "docker:myorg/api:1.0.0" }),
      container("1i2", { version: null }),
    ];
    expect(newContainers(unversioned, watch({ versions: [] })).map((each) => each.id)).toEqual(["1i2"]);
  });

  it("starts the healthy time again when a container stops being healthy for a while", () => {
    const initializing = container("1i1", { healthState: "reinitializing" });
    const verdict = judge(watch({ healthySince: T0 }), [initializing], settings, 1, T0 + 20_000);
    if (verdict.kind !== "watching") throw new Error("expected a watch");
    expect(verdict.watch.healthySince).toBeUndefined();
  });

  it("counts a container without a health check as healthy while it runs", () => {
    const unchecked = container("1i1", { healthState: null });
    expect(judge(watch({ healthySince: T0 }), [unchecked], settings, 1, T0 + 30_000)).toEqual({
      kind: "passed",
    });
  });

  it("fails on an unhealthy container, naming it and what it showed", () => {
    expect(
      judge(watch(), [container("1i1"), container("1i2", { healthState: "unhealthy" })], settings, 2, T0),
    ).toEqual({ kind: "failed", reason: "1i2 (Default-api-2) unhealthy" });
    expect(
      judge(watch(), [container("1i1", { healthState: "updating-unhealthy" })], settings, 1, T0),
    ).toEqual({
      kind: "failed",
      reason: "1i1 (Default-api-1) updating-unhealthy",
    });
  });

  it("fails on a container stopped or in error", () => {
    expect(
      judge(watch(), [container("1i1", { state: "stopped", healthState: null })], settings, 1, T0),
    ).toEqual({
      kind: "failed",
      reason: "1i1 (Default-api-1) stopped",
    });
    const broken = container("1i1", {
      state: "running",
      transitioning: "error",
      transitioningMessage: "Exit code 137",
    });
    expect(judge(watch(), [broken], settings, 1, T0)).toEqual({
      kind: "failed",
      reason: "1i1 (Default-api-1) running: Exit code 137",
    });
  });

  it("fails on a container restarting: its start count up by 2 or more since it was first seen", () => {
    const first = judge(watch(), [container("1i1", { healthState: null, startCount: 2 })], settings, 1, T0);
    if (first.kind !== "watching") throw new Error("expected a watch");
    expect(first.watch.starts).toEqual({ "1i1": 2 });
    const once = judge(
      first.watch,
      [container("1i1", { healthState: null, startCount: 3 })],
      settings,
      1,
      T0 + 1,
    );
    expect(once.kind).toBe("watching");
    expect(
      judge(first.watch, [container("1i1", { healthState: null, startCount: 4 })], settings, 1, T0 + 2),
    ).toEqual({
      kind: "failed",
      reason: "1i1 (Default-api-1) restarting (started 2 more times, start count 2 → 4)",
    });
  });

  it("fails when a container seen before is gone", () => {
    expect(judge(watch({ starts: { "1i1": 1, "1i2": 1 } }), [container("1i2")], settings, 2, T0)).toEqual({
      kind: "failed",
      reason: "1i1 was removed",
    });
  });

  it("fails when the containers are not healthy within healthTimeoutSeconds, saying what each showed", () => {
    const slow = [container("1i1"), container("1i2", { healthState: "initializing" })];
    expect(judge(watch(), slow, settings, 2, T0 + 119_999).kind).toBe("watching");
    expect(judge(watch(), slow, settings, 2, T0 + 120_000)).toEqual({
      kind: "failed",
      reason: "not healthy within 120 s: 1i2 (Default-api-2) running, initializing",
    });
    expect(judge(watch(), [], settings, 2, T0 + 120_000)).toEqual({
      kind: "failed",
      reason: "not healthy within 120 s: no container of myorg/api:1.1.0 appeared",
    });
  });

  it("passes a service scaled to 0, which has no container to wait for", () => {
    expect(judge(watch(), [], { ...settings, healthySeconds: 0 }, 0, T0)).toEqual({ kind: "passed" });
  });
});
