import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  acrPush,
  alicloudPush,
  dockerHubPush,
  ghcrPackageEvent,
  quayPush,
} from "../../../../test/fixtures/pushes";
import distributionDelete from "../../../../test/fixtures/registries/distribution-delete.json?raw";
import distributionDigestOnly from "../../../../test/fixtures/registries/distribution-digest-only.json?raw";
import distributionLayer from "../../../../test/fixtures/registries/distribution-layer.json?raw";
import distributionPull from "../../../../test/fixtures/registries/distribution-pull.json?raw";
import distributionPush from "../../../../test/fixtures/registries/distribution-push.json?raw";
import distributionTwoTags from "../../../../test/fixtures/registries/distribution-two-tags.json?raw";
import ecrDelete from "../../../../test/fixtures/registries/ecr-delete.json?raw";
import ecrPush from "../../../../test/fixtures/registries/ecr-push.json?raw";
import ecrDigestOnly from "../../../../test/fixtures/registries/ecr-push-digest-only.json?raw";
import ecrFailed from "../../../../test/fixtures/registries/ecr-push-failed.json?raw";
import garDelete from "../../../../test/fixtures/registries/gar-delete-envelope.json?raw";
import garDigestOnly from "../../../../test/fixtures/registries/gar-digest-only-envelope.json?raw";
import garPush from "../../../../test/fixtures/registries/gar-push-envelope.json?raw";
import generic from "../../../../test/fixtures/registries/generic.json?raw";
import harborDelete from "../../../../test/fixtures/registries/harbor-delete.json?raw";
import harborPull from "../../../../test/fixtures/registries/harbor-pull.json?raw";
import harborPush from "../../../../test/fixtures/registries/harbor-push.json?raw";
import harborCloudEvents from "../../../../test/fixtures/registries/harbor-push-cloudevents.json?raw";
import harborDigestOnly from "../../../../test/fixtures/registries/harbor-push-digest-only.json?raw";
import harborTwo from "../../../../test/fixtures/registries/harbor-push-two.json?raw";
import type { Push } from "../../../domain/delivery";
import { digestOf } from "../images";
import { PAYLOAD_FORMAT_NAMES, type PayloadFormat, parsePush } from ".";
import { isDigest, isRepository, isTag, unwantedTag } from "./references";

const read = (format: PayloadFormat, body: string, headers: Record<string, string> = {}) =>
  parsePush(format, "registry", JSON.parse(body), headers);

/** A fixture with some of its fields replaced, at a dotted path. */
function changed(body: string, path: string, value: unknown): unknown {
  const json = JSON.parse(body);
  const keys = path.split(".");
  let node = json;
  for (const key of keys.slice(0, -1)) node = node[key];
  node[keys.at(-1) as string] = value;
  return json;
}

const base64 = (value: unknown) => btoa(JSON.stringify(value));

/** The `1.4.2` image manifest of the fixtures (test/fixtures/registries/README.md). */
const MANIFEST_1_4_2 = "sha256:031a861a5c9ad49005e597b3b9d047efea5fea69e74b1d50b7398dbd2a324982";

describe("distribution notifications", () => {
  it("reads a manifest pushed by tag, named by the event's id with what it pushed", () => {
    expect(read("distribution", distributionPush)).toEqual({
      ok: true,
      pushes: [
        {
          repository: "registry.example.com/team/web",
          tags: ["1.4.2"],
          digests: { "1.4.2": MANIFEST_1_4_2 },
        },
      ],
      identity: `6b1c3f5e-2d4a-4c8b-9e7f-0a1b2c3d4e5f\nregistry.example.com/team/web\nsha256:031a861a5c9ad49005e597b3b9d047efea5fea69e74b1d50b7398dbd2a324982\n1.4.2`,
    });
  });

  it("reads every push of an envelope", () => {
    expect(read("distribution", distributionTwoTags)).toMatchObject({
      ok: true,
      pushes: [
        { repository: "registry.example.com/team/web", tags: ["1.4.2"] },
        { repository: "registry.example.com/team/web", tags: ["1.4"] },
      ],
    });
  });

  it("ignores pulls (even by tag), layers, pushes by digest and deletes, saying which", () => {
    expect(read("distribution", distributionPull)).toEqual({
      ok: "ignored",
      reason: "the event is a pull, not a tagged push",
    });
    expect(read("distribution", distributionLayer)).toEqual({
      ok: "ignored",
      reason: "the event is a layer push, not a tagged push",
    });
    expect(read("distribution", distributionDigestOnly)).toEqual({
      ok: "ignored",
      reason: "the event is a manifest pushed by digest, not a tagged push",
    });
    expect(read("distribution", distributionDelete)).toMatchObject({
      reason: expect.stringContaining("delete"),
    });
    const mixed = {
      events: [
        ...JSON.parse(distributionPull).events,
        ...JSON.parse(distributionLayer).events,
        ...JSON.parse(distributionLayer).events,
      ],
    };
    expect(parsePush("distribution", "registry", mixed)).toEqual({
      ok: "ignored",
      reason: "none of the 3 events is a tagged push: a pull, a layer push (×2)",
    });
    // The pushes of a mixed envelope count; the rest is left out.
    const withPush = { events: [...mixed.events, ...JSON.parse(distributionPush).events] };
    expect(parsePush("distribution", "registry", withPush)).toMatchObject({
      ok: true,
      pushes: [{ tags: ["1.4.2"] }],
    });
  });

  it("refuses an envelope of the wrong shape", () => {
    for (const body of [
      {},
      { events: [] },
      { events: "push" },
      { events: [1] },
      { events: [{ target: { tag: "1" } }] },
      changed(distributionPush, "events.0.request", null),
      changed(distributionPush, "events.0.target.repository", 7),
      JSON.parse(ecrPush),
    ]) {
      expect(parsePush("distribution", "registry", body)).toMatchObject({ ok: false });
    }
  });
});

describe("Harbor webhooks", () => {
  it("reads PUSH_ARTIFACT, the repository from resource_url, named by occur_at and what was pushed", () => {
    expect(read("harbor", harborPush)).toEqual({
      ok: true,
      pushes: [
        { repository: "harbor.example.com/team/web", tags: ["1.4.2"], digests: { "1.4.2": MANIFEST_1_4_2 } },
      ],
      identity:
        "1772446530\nteam/web\nsha256:031a861a5c9ad49005e597b3b9d047efea5fea69e74b1d50b7398dbd2a324982\n1.4.2",
    });
    // A port in Harbor's external URL stays part of the repository.
    expect(
      parsePush(
        "harbor",
        "registry",
        changed(harborPush, "event_data.resources.0.resource_url", "harbor.example.com:8443/team/web:1.4.2"),
      ),
    ).toMatchObject({ pushes: [{ repository: "harbor.example.com:8443/team/web" }] });
  });

  it("reads every resource, and the CloudEvents payload named by its id", () => {
    const two = read("harbor", harborTwo);
    expect(two).toMatchObject({
      ok: true,
      pushes: [{ tags: ["1.4.2"] }, { tags: ["1.4"] }],
    });
    expect(read("harbor", harborCloudEvents)).toMatchObject({
      ok: true,
      pushes: [{ repository: "harbor.example.com/team/web", tags: ["1.4.2"] }],
      identity: expect.stringMatching(/^9b0f3c2e-7d41-4a6b-8e25-3f1c0d9a7b64\n/),
    });
  });

  it("ignores pulls, deletes and untagged artifacts (Harbor writes the digest as the tag)", () => {
    expect(read("harbor", harborPull)).toEqual({
      ok: "ignored",
      reason: "Harbor event PULL_ARTIFACT is not a push",
    });
    expect(read("harbor", harborDelete)).toMatchObject({ ok: "ignored" });
    expect(read("harbor", harborDigestOnly)).toEqual({
      ok: "ignored",
      reason:
        "sha256:7d5810b654d048cafe452349d5cc41cbcbfeefb0454e0e03d32036d10908db1d is a digest, not a tag (a push by digest)",
    });
  });

  it("refuses a body of the wrong shape", () => {
    for (const body of [
      {},
      { type: "PUSH_ARTIFACT" },
      changed(harborPush, "event_data.resources", []),
      changed(harborPush, "event_data.resources.0.resource_url", null),
      changed(harborPush, "event_data.resources.0.tag", "bad tag"),
    ]) {
      expect(parsePush("harbor", "registry", body)).toMatchObject({ ok: false });
    }
  });
});

describe("Amazon ECR through EventBridge", () => {
  it("reads a successful tagged push, named by the event id with what it pushed", () => {
    expect(read("ecr", ecrPush)).toEqual({
      ok: true,
      pushes: [
        {
          repository: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web",
          tags: ["1.4.2"],
          digests: { "1.4.2": MANIFEST_1_4_2 },
        },
      ],
      identity: `4e8c2a51-9f3d-b7e6-0a1c-5d2f8e4b6c93\n123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web\nsha256:031a861a5c9ad49005e597b3b9d047efea5fea69e74b1d50b7398dbd2a324982\n1.4.2`,
    });
    expect(parsePush("ecr", "registry", changed(ecrPush, "region", "cn-north-1"))).toMatchObject({
      pushes: [{ repository: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/web" }],
    });
  });

  it("ignores failed pushes, deletes, pushes by digest and other events", () => {
    expect(read("ecr", ecrFailed)).toEqual({
      ok: "ignored",
      reason: "the push did not succeed (result FAILURE)",
    });
    expect(read("ecr", ecrDelete)).toEqual({ ok: "ignored", reason: "ECR action DELETE is not a push" });
    expect(read("ecr", ecrDigestOnly)).toEqual({
      ok: "ignored",
      reason: "the push has no tag (a push by digest)",
    });
    expect(parsePush("ecr", "registry", changed(ecrPush, "detail-type", "ECR Image Scan"))).toMatchObject({
      ok: "ignored",
    });
  });

  it("refuses a body of the wrong shape", () => {
    for (const body of [
      {},
      changed(ecrPush, "detail", "x"),
      changed(ecrPush, "account", 1),
      JSON.parse(harborPush),
    ]) {
      expect(parsePush("ecr", "registry", body)).toMatchObject({ ok: false });
    }
  });
});

describe("Artifact Registry through a Pub/Sub push subscription", () => {
  it("decodes the message and names it by messageId with what it pushed", () => {
    expect(read("gar", garPush)).toEqual({
      ok: true,
      pushes: [
        {
          repository: "europe-west1-docker.pkg.dev/acme-prod/containers/web",
          tags: ["1.4.2"],
          digests: { "1.4.2": MANIFEST_1_4_2 },
        },
      ],
      identity: `13794823117152361\neurope-west1-docker.pkg.dev/acme-prod/containers/web\nsha256:031a861a5c9ad49005e597b3b9d047efea5fea69e74b1d50b7398dbd2a324982\n1.4.2`,
    });
  });

  it("reads an unwrapped message, named by Pub/Sub's header", () => {
    const data = { action: "INSERT", tag: "us-docker.pkg.dev/acme-prod/containers/team/web:2.0.0" };
    expect(parsePush("gar", "registry", data, { "x-goog-pubsub-message-id": "42" })).toEqual({
      ok: true,
      pushes: [{ repository: "us-docker.pkg.dev/acme-prod/containers/team/web", tags: ["2.0.0"] }],
      identity: "42\nus-docker.pkg.dev/acme-prod/containers/team/web\n\n2.0.0",
    });
  });

  it("ignores deletes and pushes by digest", () => {
    expect(read("gar", garDelete)).toEqual({
      ok: "ignored",
      reason: "Artifact Registry action DELETE is not a push",
    });
    expect(read("gar", garDigestOnly)).toEqual({
      ok: "ignored",
      reason: "the push has no tag (a push by digest)",
    });
  });

  it("refuses a message that is not base64 of an Artifact Registry notification", () => {
    for (const data of [
      "%%%",
      btoa("not json"),
      base64([1]),
      base64({ digest: "x" }),
      base64({ action: "INSERT", tag: "no-tag" }),
    ]) {
      expect(parsePush("gar", "registry", { message: { data, messageId: "1" } })).toMatchObject({
        ok: false,
      });
    }
    expect(parsePush("gar", "registry", { message: {} })).toMatchObject({ ok: false });
    expect(parsePush("gar", "registry", {})).toMatchObject({ ok: false });
  });
});

describe("generic pushes from CI", () => {
  it("reads repository and tag, and names nothing", () => {
    expect(read("generic", generic)).toEqual({
      ok: true,
      pushes: [{ repository: "registry.example.com/team/web", tags: ["1.4.2"] }],
    });
    expect(
      parsePush("generic", "registry", { repository: "registry.local:5000/web", tag: "v2" }),
    ).toMatchObject({
      ok: true,
    });
  });

  it("refuses a repository with a tag or digest, and names that are no names", () => {
    for (const body of [
      { repository: "registry.example.com/team/web:1.4.2", tag: "1.4.2" },
      {
        repository: "team/web@sha256:031a861a5c9ad49005e597b3b9d047efea5fea69e74b1d50b7398dbd2a324982",
        tag: "1",
      },
      { repository: "team web", tag: "1" },
      { repository: "team/web", tag: "1.4.2+build" },
      { repository: "team/web", tag: "-leading-dash" },
      { repository: "team/web", tag: "x".repeat(129) },
      { repository: "team/web" },
      { tag: "1" },
    ]) {
      expect(parsePush("generic", "registry", body)).toMatchObject({ ok: false });
    }
  });

  it("ignores digests and signature artifacts pushed as tags, in any format", () => {
    expect(
      parsePush("generic", "registry", { repository: "team/web", tag: `sha256-${"a".repeat(64)}.sig` }),
    ).toEqual({
      ok: "ignored",
      reason: `sha256-${"a".repeat(64)}.sig is a signature, attestation or SBOM, not an image`,
    });
    expect(
      parsePush("quay", "registry", {
        docker_url: "quay.io/a/b",
        updated_tags: ["1.0", `sha256-${"b".repeat(64)}.att`],
      }),
    ).toEqual({ ok: true, pushes: [{ repository: "quay.io/a/b", tags: ["1.0"] }] });
  });
});

describe("any body, in any format", () => {
  const SAMPLES = [
    distributionPush,
    distributionTwoTags,
    harborPush,
    harborCloudEvents,
    ecrPush,
    garPush,
    generic,
  ];

  /** A sample with one of its values, at any depth, replaced by anything JSON can hold. */
  const mutated = fc
    .tuple(fc.constantFrom(...SAMPLES), fc.nat(), fc.jsonValue())
    .map(([sample, index, value]) => {
      const json = JSON.parse(sample);
      const slots: [Record<string, unknown>, string][] = [];
      const walk = (node: unknown) => {
        if (node && typeof node === "object")
          for (const key of Object.keys(node)) {
            slots.push([node as Record<string, unknown>, key]);
            walk((node as Record<string, unknown>)[key]);
          }
      };
      walk(json);
      const [parent, key] = slots[index % slots.length] as [Record<string, unknown>, string];
      parent[key] = value;
      return json as unknown;
    });

  it("is read without throwing, and every push it yields names a repository and a tag", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PAYLOAD_FORMAT_NAMES),
        fc.oneof(fc.jsonValue(), mutated),
        (format, body) => {
          const result = parsePush(format, "registry", body, { "x-goog-pubsub-message-id": "1" });
          expect([true, false, "ignored"]).toContain(result.ok);
          if (result.ok !== true) return;
          expect(result.pushes.length).toBeGreaterThan(0);
          for (const push of result.pushes) {
            expect(isRepository(push.repository.toLowerCase())).toBe(true);
            for (const tag of push.tags) {
              expect(isTag(tag)).toBe(true);
              expect(unwantedTag(tag)).toBeUndefined();
            }
            // A digest is kept only for a tag of the push, and only if it is one.
            for (const [tag, digest] of Object.entries(push.digests ?? {})) {
              expect(push.tags).toContain(tag);
              expect(isDigest(digest)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("pushes that share an event or message id", () => {
  const otherDigest = `sha256:${"7".repeat(64)}`;
  /** The sample with its id kept and one thing it pushed changed, for each format named by an id. */
  const variants: [PayloadFormat, string, [string, unknown][]][] = [
    [
      "distribution",
      distributionPush,
      [
        ["events.0.target.tag", "1.4.3"],
        ["events.0.target.digest", otherDigest],
        ["events.0.target.repository", "team/api"],
      ],
    ],
    [
      "ecr",
      ecrPush,
      [
        ["detail.image-tag", "1.4.3"],
        ["detail.image-digest", otherDigest],
        ["detail.repository-name", "team/api"],
      ],
    ],
  ];

  it.each(variants)(
    "%s: another tag, digest or repository under the same id is another delivery",
    (format, body, changes) => {
      const named = (value: unknown) =>
        (parsePush(format, "registry", value) as { identity?: string }).identity;
      const original = named(JSON.parse(body));
      expect(original).toBeDefined();
      expect(named(JSON.parse(body))).toBe(original);
      for (const [path, value] of changes) {
        const identity = named(changed(body, path, value));
        expect(identity, path).toBeDefined();
        expect(identity, path).not.toBe(original);
      }
    },
  );

  it("gar: another tag or digest under the same messageId is another delivery", () => {
    const envelope = JSON.parse(garPush);
    const data = JSON.parse(atob(envelope.message.data));
    const named = (value: Record<string, unknown>) =>
      (
        read(
          "gar",
          JSON.stringify({ ...envelope, message: { ...envelope.message, data: base64(value) } }),
        ) as {
          identity?: string;
        }
      ).identity;
    const original = named(data);
    // Re-encoding the sample's own data names it as the sample is named.
    expect(original).toBe((read("gar", garPush) as { identity?: string }).identity);
    const repository = "europe-west1-docker.pkg.dev/acme-prod/containers/web";
    for (const other of [
      { ...data, tag: `${repository}:1.4.3` },
      { ...data, digest: `${repository}@${otherDigest}` },
    ]) {
      expect(named(other)).toMatch(/^13794823117152361\n/);
      expect(named(other)).not.toBe(original);
    }
  });
});

describe("the digest pushed under each tag", () => {
  const INDEX = "sha256:b58a847282dacc9c135fc56ae5775563349d7548d2c7018b485d161a252df485";
  /** Each push's tags with their digests, as `repository:tag@digest` (no `@` without one). */
  const pushed = (result: ReturnType<typeof parsePush>) =>
    result.ok === true
      ? result.pushes.flatMap((push) =>
          push.tags.map((tag) => {
            const digest = digestOf(push, tag);
            return `${push.repository}:${tag}${digest ? `@${digest}` : ""}`;
          }),
        )
      : result;

  it.each([
    ["distribution", distributionPush, `registry.example.com/team/web:1.4.2@${MANIFEST_1_4_2}`],
    ["harbor", harborPush, `harbor.example.com/team/web:1.4.2@${MANIFEST_1_4_2}`],
    ["harbor", harborCloudEvents, `harbor.example.com/team/web:1.4.2@${MANIFEST_1_4_2}`],
    ["ecr", ecrPush, `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:1.4.2@${MANIFEST_1_4_2}`],
    // The message's digest is `…/web@sha256:…`: only the digest is kept.
    ["gar", garPush, `europe-west1-docker.pkg.dev/acme-prod/containers/web:1.4.2@${MANIFEST_1_4_2}`],
  ] as const)("%s: the fixture's manifest digest, for its tag", (format, body, expected) => {
    expect(pushed(read(format, body))).toEqual([expected]);
  });

  it("reads it from every push of an envelope or event, for that push's tag", () => {
    expect(pushed(read("distribution", distributionTwoTags))).toEqual([
      `registry.example.com/team/web:1.4.2@${INDEX}`,
      `registry.example.com/team/web:1.4@${INDEX}`,
    ]);
    expect(pushed(read("harbor", harborTwo))).toEqual([
      `harbor.example.com/team/web:1.4.2@${MANIFEST_1_4_2}`,
      `harbor.example.com/team/web:1.4@${MANIFEST_1_4_2}`,
    ]);
  });

  it("reads Azure's target.digest, Alibaba Cloud's push_data.digest and GitHub's container tag digest", () => {
    expect(pushed(parsePush("acr", "registry", acrPush()))).toEqual([
      "myregistry.azurecr.io/api:1.1.0@sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d",
    ]);
    expect(pushed(parsePush("alicloud", "registry", alicloudPush()))).toEqual([
      "registry.cn-hangzhou.aliyuncs.com/myorg/api:1.1.0@sha256:457f4aa83fc9a6663ab9d1b0a6e2dce25a12a943ed5bf2c1747c58d48bbb4917",
    ]);
    const ghcrDigest = "sha256:5f2b8e1c9d4a7036be21f8c4d9a0e7b63c1f5d82a4e96b0c7d3f18e2a5b94c60";
    expect(pushed(parsePush("ghcr", "registry", ghcrPackageEvent()))).toEqual([
      `ghcr.io/myorg/api:1.1.0@${ghcrDigest}`,
    ]);
    // Without the tag's digest, the container version's name is the digest.
    const event = ghcrPackageEvent();
    const version = event.package.package_version;
    const withoutTagDigest = {
      ...event,
      package: {
        ...event.package,
        package_version: { ...version, container_metadata: { tag: { name: "1.1.0" } } },
      },
    };
    expect(pushed(parsePush("ghcr", "registry", withoutTagDigest))).toEqual([
      `ghcr.io/myorg/api:1.1.0@${ghcrDigest}`,
    ]);
  });

  it("is absent for formats that carry none: Docker Hub, Quay, generic, an unwrapped message without one", () => {
    for (const result of [
      parsePush("dockerhub", "registry", dockerHubPush()),
      parsePush("quay", "registry", quayPush()),
      read("generic", generic),
      parsePush("gar", "registry", { action: "INSERT", tag: "us-docker.pkg.dev/p/r/web:2.0.0" }),
    ]) {
      expect(result.ok).toBe(true);
      for (const push of result.ok === true ? result.pushes : []) expect(push).not.toHaveProperty("digests");
    }
  });

  it("leaves out a digest that is not one, and keeps the push; writes one in lower case", () => {
    for (const bad of ["latest", "sha256:xyz", "sha256:031a", 42, ""]) {
      const result = parsePush(
        "distribution",
        "registry",
        changed(distributionPush, "events.0.target.digest", bad),
      );
      expect(result).toMatchObject({ ok: true, pushes: [{ tags: ["1.4.2"] }] });
      expect(result.ok === true && result.pushes[0]).not.toHaveProperty("digests");
    }
    const upper = parsePush(
      "ecr",
      "registry",
      changed(ecrPush, "detail.image-digest", MANIFEST_1_4_2.toUpperCase()),
    );
    expect(pushed(upper)).toEqual([
      `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:1.4.2@${MANIFEST_1_4_2}`,
    ]);
  });

  it("keeps a tag's digest as the tag's own, whatever the tag is called", () => {
    for (const tag of ["__proto__", "constructor", "toString"]) {
      const result = parsePush(
        "distribution",
        "registry",
        changed(distributionPush, "events.0.target.tag", tag),
      );
      expect(pushed(result)).toEqual([`registry.example.com/team/web:${tag}@${MANIFEST_1_4_2}`]);
      const push = result.ok === true ? result.pushes[0] : undefined;
      expect(Object.keys(push?.digests ?? {})).toEqual([tag]);
    }
    // A tag the push does not name has no digest, even one an object inherits.
    const [push] = (read("distribution", distributionPush) as { pushes: Push[] }).pushes;
    expect(push && digestOf(push, "constructor")).toBeUndefined();
  });
});
