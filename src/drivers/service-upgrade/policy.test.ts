import { describe, expect, it } from "vitest";
import readme from "../../../docs/upgrades.md?raw";
import { admits, compareVersions, newestAdmitted, parseVersion, type Version } from "./policy";

const version = (tag: string) => parseVersion(tag) as Version;

describe("parseVersion", () => {
  it("reads major.minor[.patch] with an optional v and suffix", () => {
    expect(parseVersion("1.4.2")).toEqual({ core: [1, 4, 2], prerelease: [], variant: "" });
    expect(parseVersion("v1.4.2")).toEqual({ core: [1, 4, 2], prerelease: [], variant: "" });
    expect(parseVersion("1.4")).toEqual({ core: [1, 4, 0], prerelease: [], variant: "" });
    expect(parseVersion("2026.03.02")).toEqual({ core: [2026, 3, 2], prerelease: [], variant: "" });
  });

  it("tells pre-releases from variants", () => {
    expect(parseVersion("1.4.2-rc.1")).toMatchObject({ prerelease: ["rc", "1"], variant: "" });
    expect(parseVersion("1.4.2-beta2")).toMatchObject({ prerelease: ["beta2"], variant: "" });
    expect(parseVersion("1.4.2-1")).toMatchObject({ prerelease: ["1"], variant: "" });
    expect(parseVersion("1.4.2-alpine")).toMatchObject({ prerelease: [], variant: "alpine" });
    expect(parseVersion("1.4.2-alpine3.19")).toMatchObject({ prerelease: [], variant: "alpine3.19" });
    expect(parseVersion("1.4.2-slim-bookworm")).toMatchObject({ prerelease: [], variant: "slim-bookworm" });
  });

  it("reads no version in other tags", () => {
    for (const tag of ["latest", "1", "20240302", "V1.4.2", "1.4.2.1", "1.4.2_abc", "main-3f2a", "1.4.x"]) {
      expect(parseVersion(tag)).toBeNull();
    }
  });
});

describe("leading zeros", () => {
  it("reads no version in a tag whose numbers SemVer forbids, except a calendar version's month and day", () => {
    for (const tag of [
      "01.2.1",
      "v01.2.1",
      "1.02.3",
      "1.2.03",
      "00.1",
      "1.4.2-rc.01",
      "1.4.2-01",
      "0999.01.02",
    ]) {
      expect(parseVersion(tag), tag).toBeNull();
    }
    expect(parseVersion("0.1.0")).toEqual({ core: [0, 1, 0], prerelease: [], variant: "" });
    expect(parseVersion("1.0.0-rc.0")).toMatchObject({ prerelease: ["rc", "0"] });
    expect(parseVersion("1.4.2-rc01")).toMatchObject({ prerelease: ["rc01"], variant: "" });
    expect(parseVersion("2026.03.02")).toEqual({ core: [2026, 3, 2], prerelease: [], variant: "" });
  });

  it("never upgrades to a zero-padded spelling of a version", () => {
    expect(admits("semver-major", "1.2.0", "01.2.1")).toEqual({
      ok: false,
      reason: "01.2.1 is not a semantic version (policy semver-major)",
    });
    expect(newestAdmitted("semver-patch", "1.2.0", ["1.2.01", "1.2.1"])).toEqual({ ok: true, tag: "1.2.1" });
  });
});

describe("compareVersions", () => {
  it("orders by SemVer precedence", () => {
    const ordered = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
      "1.0.1",
      "1.2",
      "1.10.0",
      "2.0.0",
    ];
    for (let index = 1; index < ordered.length; index++) {
      const older = version(ordered[index - 1] as string);
      const newer = version(ordered[index] as string);
      expect(compareVersions(older, newer)).toBeLessThan(0);
      expect(compareVersions(newer, older)).toBeGreaterThan(0);
    }
    expect(compareVersions(version("v1.4"), version("1.4.0"))).toBe(0);
  });
});

describe("admits", () => {
  // running, pushed, patch, minor, major
  it.each([
    ["1.4.2", "1.4.3", true, true, true],
    ["1.4.2", "v1.4.3", true, true, true],
    ["v1.4.2", "1.5.0", false, true, true],
    ["1.4.2", "2.0.0", false, false, true],
    ["1.4", "1.4.1", true, true, true],
    ["1.4.2", "1.4.2", false, false, false],
    ["1.4.3", "1.4.2", false, false, false],
    ["2.0.0", "1.9.9", false, false, false],
    ["1.4.2", "1.4.3-rc.1", false, false, false],
    ["1.4.2-rc.1", "1.4.2-rc.2", true, true, true],
    ["1.4.2-rc.2", "1.4.2", true, true, true],
    ["1.4.2-rc.2", "1.4.2-rc.1", false, false, false],
    ["1.4.2-alpine", "1.4.3-alpine", true, true, true],
    ["1.4.2-alpine", "1.4.3", false, false, false],
    ["1.4.2", "1.4.3-alpine", false, false, false],
    ["1.4.2-alpine", "1.4.3-slim", false, false, false],
    ["latest", "1.4.3", true, true, true],
    ["latest", "0.1.0", true, true, true],
    ["latest", "1.4.3-rc.1", false, false, false],
    ["latest", "1.4.3-alpine", false, false, false],
    ["alpine", "1.4.3-alpine", true, true, true],
    [undefined, "1.4.3", true, true, true],
    ["1.4.2", "latest", false, false, false],
  ])("running %s, pushed %s: patch %s, minor %s, major %s", (running, pushed, patch, minor, major) => {
    expect(admits("semver-patch", running, pushed).ok).toBe(patch);
    expect(admits("semver-minor", running, pushed).ok).toBe(minor);
    expect(admits("semver-major", running, pushed).ok).toBe(major);
  });

  it("decides as docs/upgrades.md's table of policies says", () => {
    const section = readme.slice(readme.indexOf("## Version policies"));
    const rows = section
      .slice(section.indexOf("| running"), section.indexOf("\n\n", section.indexOf("| running")))
      .split("\n")
      .slice(2)
      .map((line) =>
        line
          .split("|")
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const [running, pushed, ...verdicts] of rows) {
      const tag = (cell = "") => cell.replace(/`/g, "");
      const policies = ["semver-patch", "semver-minor", "semver-major"] as const;
      policies.forEach((policy, index) => {
        expect(admits(policy, tag(running), tag(pushed)).ok, `${running} → ${pushed} under ${policy}`).toBe(
          verdicts[index]?.startsWith("✓"),
        );
      });
    }
  });

  it("says why, and never goes below what is already queued", () => {
    expect(admits("semver-minor", "1.4.3", "1.4.2")).toEqual({
      ok: false,
      reason: "1.4.2 is not newer than the running 1.4.3: a policy never downgrades",
    });
    expect(admits("semver-patch", "1.4.2", "1.5.0")).toEqual({
      ok: false,
      reason: "1.5.0 leaves the minor version of the running 1.4.2 (policy semver-patch)",
    });
    expect(admits("semver-major", "1.4.1", "1.4.2", ["1.4.3"])).toEqual({
      ok: false,
      reason: "1.4.2 is not newer than 1.4.3, already queued: a policy never downgrades",
    });
    expect(admits("semver-major", "1.4.1", "1.4.4", ["1.4.3"]).ok).toBe(true);
  });

  it("picks the newest admitted of several pushed tags", () => {
    expect(newestAdmitted("semver-minor", "1.4.2", ["1.4", "1.5.1", "2.0.0", "1.5.0", "latest"])).toEqual({
      ok: true,
      tag: "1.5.1",
    });
    expect(newestAdmitted("semver-patch", "1.4.2", ["1.4", "1.3.9"])).toMatchObject({ ok: false });
  });
});
