import { describe, expect, it } from "vitest";
import type { Host } from "../../cattle/types";
import {
  canonicalSelector,
  cloneSourceOf,
  groupOf,
  hostCreateBody,
  hostnamesInUse,
  hostsToRemove,
  nextHostnames,
} from "./hosts";
import { scaleHostTarget } from "./target";

const host = (id: string, hostname: string, created: number, changes: Partial<Host> = {}): Host =>
  ({
    id,
    type: "host",
    hostname,
    state: "active",
    labels: { pool: "workers" },
    driver: "amazonec2",
    amazonec2Config: { region: "us-east-1", instanceType: "t2.micro" },
    createdTS: created,
    ...changes,
  }) as Host;

describe("host groups", () => {
  const hosts = [
    host("1h3", "worker3", 3000),
    host("1h1", "worker1", 1000),
    host("1h2", "worker2", 2000, { state: "reconnecting" }),
    host("1h4", "custom1", 500, { labels: { pool: "custom" }, driver: null }),
    host("1h5", "worker5", 4000, { state: "removing" }),
    host("1h6", "worker6", 5000, { removed: "2026-11-23T10:00:00Z" }),
  ];

  it("selects live hosts with every label, oldest first, leaving out those being evacuated", () => {
    expect(groupOf(hosts, { pool: "workers" }).map((h) => h.id)).toEqual(["1h1", "1h2", "1h3"]);
    expect(groupOf(hosts, { pool: "" }).map((h) => h.id)).toEqual(["1h4", "1h1", "1h2", "1h3"]);
    expect(groupOf(hosts, { pool: "workers" }, new Set(["1h2"])).map((h) => h.id)).toEqual(["1h1", "1h3"]);
    expect(groupOf(hosts, { zone: "" })).toEqual([]);
  });

  it("names one Durable Object per selector, whatever its key order", () => {
    expect(canonicalSelector({ b: "2", a: "" })).toBe(canonicalSelector({ a: "", b: "2" }));
    expect(scaleHostTarget("1a5", { hostSelector: { pool: "workers" } })).toBe("scaleHost:1a5:pool=workers");
  });

  it("clones the oldest machine-driver host, never a custom one", () => {
    expect(cloneSourceOf(groupOf(hosts, { pool: "" }))?.id).toBe("1h1");
    expect(cloneSourceOf(groupOf(hosts, { pool: "custom" }))).toBeUndefined();
  });
});

describe("nextHostnames", () => {
  it("continues after the highest number in use, as numbers", () => {
    expect(nextHostnames([host("a", "worker1", 1), host("b", "worker3", 2)], 2)).toEqual([
      "worker4",
      "worker5",
    ]);
    expect(nextHostnames([host("a", "worker8", 1), host("b", "worker9", 2)], 2)).toEqual([
      "worker10",
      "worker11",
    ]);
    expect(nextHostnames([host("a", "worker10", 1), host("b", "worker9", 2)], 1)).toEqual(["worker11"]);
  });

  it("uses the group's most common prefix and starts at 1 without numbers", () => {
    expect(nextHostnames([host("a", "node-1", 1), host("b", "node-2", 2), host("c", "db1", 3)], 1)).toEqual([
      "node-3",
    ]);
    expect(nextHostnames([host("a", "edge", 1)], 1)).toEqual(["edge1"]);
    expect(nextHostnames([], 1)).toEqual(["host1"]);
  });
});

describe("hostnamesInUse", () => {
  it("keeps the names of hosts still leaving, frees those Cattle removed or purged", () => {
    const hosts = [
      host("1h1", "worker1", 1000),
      host("1h4", "worker4", 4000, { state: "deactivating" }),
      host("1h5", "worker5", 5000, { state: "inactive" }),
      host("1h6", "worker6", 6000, { state: "removing" }),
      host("1h7", "worker7", 7000, { state: "removed", removed: "2026-11-23T10:00:00Z" }),
      host("1h8", "worker8", 8000, { state: "purged", removed: "2026-11-23T10:00:00Z" }),
      host("1h9", "db1", 9000, { labels: { pool: "db" } }),
    ];
    expect([...hostnamesInUse(hosts)].sort()).toEqual(["db1", "worker1", "worker4", "worker5", "worker6"]);
  });

  it("never hands out a name a draining host of the environment still has", () => {
    const all = [
      host("1h1", "worker1", 1000),
      host("1h2", "worker2", 2000),
      host("1h3", "worker3", 3000),
      // Evacuated a moment ago: out of the group, still listed while Cattle drains it.
      host("1h4", "worker4", 4000, { state: "deactivating" }),
      host("1h5", "worker5", 5000, { state: "removed", removed: "2026-11-23T10:00:00Z" }),
    ];
    const group = all.slice(0, 3);
    expect(nextHostnames(group, 2, hostnamesInUse(all))).toEqual(["worker5", "worker6"]);
  });
});

describe("hostCreateBody", () => {
  const source = host("1h1", "worker1", 1, { labels: { pool: "workers", zone: "a" } });
  it("clones the source's driver config and labels", () => {
    expect(hostCreateBody(source, undefined, { pool: "workers" }, "worker4")).toEqual({
      hostname: "worker4",
      labels: { pool: "workers", zone: "a" },
      amazonec2Config: { region: "us-east-1", instanceType: "t2.micro" },
    });
  });
  it("uses the template when there is one, and nothing without either", () => {
    expect(hostCreateBody(undefined, "1ht1", { pool: "workers", any: "" }, "worker4")).toEqual({
      hostname: "worker4",
      labels: { pool: "workers" },
      hostTemplateId: "1ht1",
    });
    expect(hostCreateBody(undefined, undefined, { pool: "workers" }, "worker4")).toBeNull();
  });
});

describe("hostsToRemove", () => {
  const group = [
    host("1h1", "w1", 1000),
    host("1h2", "w2", 2000, { state: "reconnecting" }),
    host("1h3", "w3", 3000),
  ];
  it("takes unhealthy hosts first, then the oldest or the newest", () => {
    expect(hostsToRemove(group, 2, "leastRecent").map((h) => h.id)).toEqual(["1h2", "1h1"]);
    expect(hostsToRemove(group, 2, "mostRecent").map((h) => h.id)).toEqual(["1h2", "1h3"]);
    expect(hostsToRemove(group, 0, "mostRecent")).toEqual([]);
  });
});
