import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  acrPush,
  alicloudPush,
  dockerHubPush,
  ghcrPackageEvent,
  quayPush,
} from "../../../test/fixtures/pushes";
import type { Service } from "../../cattle/types";
import { selectorMatches } from "../shared/selectors";
import { parsePush } from "./formats";
import {
  digestOf,
  globWork,
  mergeDigests,
  normalizeRepository,
  parseImage,
  planServiceUpgrade,
  tagMatches,
  type UpgradeSettings,
} from "./images";

describe("parsePush", () => {
  it("reads each registry's payload", () => {
    expect(parsePush("dockerhub", "registry", dockerHubPush())).toEqual({
      ok: true,
      pushes: [{ repository: "myorg/api", tags: ["1.1.0"] }],
      identity: "https://registry.hub.docker.com/u/myorg/api/hook/abc/\n1795428000\n1.1.0",
    });
    expect(parsePush("quay", "registry", quayPush())).toEqual({
      ok: true,
      pushes: [{ repository: "quay.io/myorg/api", tags: ["1.1.0", "latest"] }],
    });
    expect(parsePush("quay", "registry", quayPush({ "2.0": {}, stable: {} }))).toMatchObject({
      pushes: [{ tags: ["2.0", "stable"] }],
    });
    expect(parsePush("acr", "registry", acrPush())).toEqual({
      ok: true,
      pushes: [
        {
          repository: "myregistry.azurecr.io/api",
          tags: ["1.1.0"],
          digests: { "1.1.0": "sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d" },
        },
      ],
      identity:
        "cb8c3971-9adc-488b-xxxx-43cbb4974ff5\nmyregistry.azurecr.io/api\nsha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d\n1.1.0",
    });
    expect(parsePush("alicloud", "registry-vpc", alicloudPush())).toMatchObject({
      ok: true,
      pushes: [{ repository: "registry-vpc.cn-hangzhou.aliyuncs.com/myorg/api", tags: ["1.1.0"] }],
      identity: expect.stringContaining("2026-11-23 10:00:00"),
    });
    expect(parsePush("ghcr", "registry", ghcrPackageEvent())).toEqual({
      ok: true,
      pushes: [
        {
          repository: "ghcr.io/myorg/api",
          tags: ["1.1.0"],
          digests: { "1.1.0": "sha256:5f2b8e1c9d4a7036be21f8c4d9a0e7b63c1f5d82a4e96b0c7d3f18e2a5b94c60" },
        },
      ],
    });
    // GitHub names the delivery in a header; the package event has no name of its own.
    expect(parsePush("ghcr", "registry", ghcrPackageEvent(), { "x-github-delivery": "d-1" })).toMatchObject({
      identity: "d-1",
    });
  });

  it("ignores events that are not tagged pushes, with the reason", () => {
    expect(parsePush("acr", "registry", acrPush("1", "delete"))).toEqual({
      ok: "ignored",
      reason: 'registry event "delete" is not a push',
    });
    expect(parsePush("acr", "registry", acrPush(null))).toMatchObject({ ok: "ignored" });
    expect(parsePush("ghcr", "registry", ghcrPackageEvent(null))).toMatchObject({ ok: "ignored" });
    expect(parsePush("ghcr", "registry", ghcrPackageEvent("1", "deleted"))).toMatchObject({ ok: "ignored" });
  });

  it("describes a body of the wrong shape instead of trusting it", () => {
    expect(parsePush("dockerhub", "registry", undefined)).toEqual({
      ok: false,
      message: "the body is not a Docker Hub push payload: expected a JSON object",
    });
    expect(
      parsePush("dockerhub", "registry", { repository: { repo_name: 5 }, push_data: { tag: "x" } }),
    ).toMatchObject({
      ok: false,
      message: expect.stringContaining("repository.repo_name"),
    });
    expect(parsePush("dockerhub", "registry", quayPush())).toMatchObject({ ok: false });
    expect(parsePush("quay", "registry", { docker_url: "quay.io/a/b", updated_tags: [] })).toMatchObject({
      ok: false,
    });
    expect(parsePush("alicloud", "registry", dockerHubPush())).toMatchObject({ ok: false });
    expect(parsePush("ghcr", "registry", [1, 2])).toMatchObject({ ok: false });
    expect(parsePush("acr", "registry", { action: "push", target: null, request: "x" })).toMatchObject({
      ok: false,
    });
  });
});

describe("tagMatches", () => {
  it.each([
    ["1.1.0", "1.1.0", true],
    ["1.1.0", "1.1.1", false],
    ["v1.*", "v1.2.3", true],
    ["v1.*", "v2.0", false],
    ["*", "anything", true],
    ["1.?", "1.5", true],
    ["1.?", "1.55", false],
    ["1.1.0", "1x1x0", false],
    ["release-(1)", "release-(1)", true],
  ])("%s against %s is %s", (pattern, tag, expected) => {
    expect(tagMatches(pattern, tag)).toBe(expected);
  });
});

describe("tagMatches does bounded work", () => {
  /** Steps one match takes; the bound images.ts documents is (tag + 1) × (pattern + 2). */
  const stepsOf = (pattern: string, tag: string): number => {
    const before = globWork.steps;
    tagMatches(pattern, tag);
    return globWork.steps - before;
  };
  const bound = (pattern: string, tag: string) => (tag.length + 1) * (pattern.length + 2);

  it("settles a pattern that makes a backtracking expression take seconds within the documented bound", () => {
    const pattern = "*a*a*a*a*a*a*a*a";
    const tag = `${"a".repeat(61)}b`;
    expect(tagMatches(pattern, tag)).toBe(false);
    expect(tagMatches(pattern, `${tag}a`)).toBe(true);
    expect(stepsOf(pattern, tag)).toBeLessThanOrEqual(bound(pattern, tag));
  });

  it.each([
    ["*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", `${"a".repeat(127)}b`],
    [`${"*?".repeat(63)}b`, "a".repeat(128)],
    [`${"?*".repeat(40)}x*y*z`, `${"xy".repeat(60)}z-`],
    [`*${"ab*".repeat(40)}c`, `${"ab".repeat(63)}b`],
    [`${"*".repeat(127)}b`, "a".repeat(128)],
    [`a*${"?".repeat(60)}*b`, `a${"c".repeat(126)}`],
    ["*.*.*.*.*.*.*.*.*.*.*.*-*-*-*-*", `${"1.".repeat(60)}1-`],
  ])("%s against a %#th adversarial tag stays within the bound", (pattern, tag) => {
    expect(tagMatches(pattern, tag)).toBe(false);
    expect(stepsOf(pattern, tag)).toBeLessThanOrEqual(bound(pattern, tag));
  });

  /** What tagMatches was before it stopped building expressions: the reference for small inputs. */
  const byExpression = (pattern: string, tag: string): boolean =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
    ).test(tag);

  it("answers as the expression did, on random patterns and tags", () => {
    // fast-check names the seed and path of a failing case in its message, to replay it with.
    // A registry's tags are words, dots and dashes (formats/references.ts); patterns may hold
    // anything, so they also draw the characters an expression would treat specially.
    const tag = fc.string({ unit: fc.constantFrom("a", "b", "1", ".", "-", "_"), maxLength: 12 });
    const pattern = fc.string({
      unit: fc.constantFrom(
        "a",
        "b",
        "1",
        ".",
        "-",
        "*",
        "*",
        "?",
        "(",
        ")",
        "+",
        "[",
        "]",
        "\\",
        "$",
        "^",
        "|",
      ),
      maxLength: 10,
    });
    fc.assert(
      fc.property(pattern, tag, (p, t) => {
        expect(tagMatches(p, t)).toBe(byExpression(p, t));
        expect(stepsOf(p, t)).toBeLessThanOrEqual(bound(p, t));
      }),
      { numRuns: 5_000 },
    );
    // Patterns built from the tags themselves, so that matches are common and not only refusals.
    fc.assert(
      fc.property(
        tag,
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.constantFrom("*", "?"),
        (t, cuts, wildcard) => {
          let p = t;
          for (const cut of cuts) {
            const at = cut % (p.length + 1);
            p = `${p.slice(0, at)}${wildcard}${p.slice(at + (wildcard === "?" ? 1 : 0))}`;
          }
          expect(tagMatches(p, t)).toBe(byExpression(p, t));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("images and repositories", () => {
  it("parses Cattle image references", () => {
    expect(parseImage("docker:myorg/api:1.0.0")).toEqual({ repository: "myorg/api", tag: "1.0.0" });
    expect(parseImage("docker:registry.local:5000/api")).toEqual({ repository: "registry.local:5000/api" });
    expect(parseImage("docker:registry.local:5000/api:2@sha256:abc")).toEqual({
      repository: "registry.local:5000/api",
      tag: "2",
    });
    expect(parseImage("docker:nginx")).toEqual({ repository: "nginx" });
    expect(parseImage("rancher/none")).toBeNull();
    expect(parseImage(undefined)).toBeNull();
  });

  it("spells Docker Hub repositories one way", () => {
    expect(normalizeRepository("docker.io/library/nginx")).toBe("nginx");
    expect(normalizeRepository("index.docker.io/MyOrg/Api")).toBe("myorg/api");
    expect(normalizeRepository("quay.io/myorg/api")).toBe("quay.io/myorg/api");
    expect(normalizeRepository("library/a/b")).toBe("library/a/b");
  });
});

describe("selectorMatches", () => {
  it("needs every pair, and an empty value needs only the label", () => {
    expect(selectorMatches({ app: "api" }, { app: "api", tier: "backend" })).toBe(true);
    expect(selectorMatches({ app: "api", tier: "" }, { app: "api", tier: "x" })).toBe(true);
    expect(selectorMatches({ tier: "" }, { app: "api" })).toBe(false);
    expect(selectorMatches({ app: "api" }, { app: "web" })).toBe(false);
    expect(selectorMatches({ app: "api" }, null)).toBe(false);
  });
});

describe("planServiceUpgrade", () => {
  const settings: UpgradeSettings = {
    serviceSelector: { app: "api" },
    batchSize: 2,
    intervalMillis: 500,
    startFirst: true,
  };
  const service = (changes: Partial<Service> = {}): Service => ({
    id: "1s5",
    type: "service",
    name: "api",
    kind: "service",
    launchConfig: { imageUuid: "docker:myorg/api:1.0.0", labels: { app: "api" }, ports: ["80:80"] },
    secondaryLaunchConfigs: [
      { name: "api-sidecar", imageUuid: "docker:myorg/sidecar:2.1", labels: { app: "api" } },
    ],
    ...changes,
  });

  it("upgrades the primary config whose image is of the pushed repository", () => {
    expect(planServiceUpgrade(service(), "myorg/api", "1.1.0", settings)).toEqual({
      inServiceStrategy: {
        launchConfig: {
          imageUuid: "docker:myorg/api:1.1.0",
          labels: { app: "api", "io.rancher.container.pull_image": "always" },
          ports: ["80:80"],
        },
        batchSize: 2,
        intervalMillis: 500,
        startFirst: true,
      },
    });
  });

  it("upgrades only a sidekick when only its image is of the pushed repository", () => {
    const plan = planServiceUpgrade(service(), "docker.io/myorg/sidecar", "2.2", settings);
    expect(plan?.inServiceStrategy.launchConfig).toBeUndefined();
    expect(plan?.inServiceStrategy.secondaryLaunchConfigs).toEqual([
      {
        name: "api-sidecar",
        // The service's own spelling of the repository stays; only the tag moves.
        imageUuid: "docker:myorg/sidecar:2.2",
        labels: { app: "api", "io.rancher.container.pull_image": "always" },
      },
    ]);
  });

  it("leaves services alone whose labels or images do not match", () => {
    expect(planServiceUpgrade(service(), "myorg/web", "1", settings)).toBeNull();
    expect(
      planServiceUpgrade(
        service({ launchConfig: { imageUuid: "docker:myorg/api:1", labels: { app: "worker" } } }),
        "myorg/api",
        "2",
        settings,
      ),
    ).toBeNull();
    expect(
      planServiceUpgrade(service({ removed: "2026-11-23T10:00:00Z" }), "myorg/api", "2", settings),
    ).toBeNull();
  });
});

describe("mergeDigests", () => {
  const a = `sha256:${"a".repeat(64)}`;
  const b = `sha256:${"b".repeat(64)}`;

  it("merges two pushes' digests per tag, the later push's winning for a tag both name", () => {
    expect(mergeDigests({ "1.4.2": a }, { "1.4": b })).toEqual({ "1.4.2": a, "1.4": b });
    expect(mergeDigests({ "1.4.2": a, "1.4": a }, { "1.4": b })).toEqual({ "1.4.2": a, "1.4": b });
    expect(mergeDigests(undefined, { "1.4": b })).toEqual({ "1.4": b });
    expect(mergeDigests({ "1.4.2": a }, undefined)).toEqual({ "1.4.2": a });
  });

  it("gives none when neither push carries any, and leaves its inputs alone", () => {
    expect(mergeDigests(undefined, undefined)).toBeUndefined();
    expect(mergeDigests({}, {})).toBeUndefined();
    const earlier = { "1.4.2": a };
    mergeDigests(earlier, { "1.4.2": b });
    expect(earlier).toEqual({ "1.4.2": a });
  });

  it("keeps a tag spelled like an object's own property a tag, and reads only own tags", () => {
    const earlier = JSON.parse(`{"__proto__":"${a}"}`) as Record<string, string>;
    const merged = mergeDigests(earlier, { constructor: b });
    expect(Object.keys(merged ?? {}).sort()).toEqual(["__proto__", "constructor"]);
    expect(digestOf({ digests: merged }, "__proto__")).toBe(a);
    expect(digestOf({ digests: merged }, "constructor")).toBe(b);
    expect(digestOf({ digests: { "1.4.2": a } }, "toString")).toBeUndefined();
    expect(digestOf({}, "1.4.2")).toBeUndefined();
  });
});
