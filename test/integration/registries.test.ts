import { afterEach, beforeEach, describe, expect, it } from "vitest";
import distributionPull from "../fixtures/registries/distribution-pull.json?raw";
import distributionPush from "../fixtures/registries/distribution-push.json?raw";
import distributionTwoTags from "../fixtures/registries/distribution-two-tags.json?raw";
import ecrPush from "../fixtures/registries/ecr-push.json?raw";
import ecrFailed from "../fixtures/registries/ecr-push-failed.json?raw";
import garDelete from "../fixtures/registries/gar-delete-envelope.json?raw";
import garPush from "../fixtures/registries/gar-push-envelope.json?raw";
import generic from "../fixtures/registries/generic.json?raw";
import harborPush from "../fixtures/registries/harbor-push.json?raw";
import harborDigestOnly from "../fixtures/registries/harbor-push-digest-only.json?raw";
import {
  call,
  createService,
  imageOf,
  json,
  resetEmulator,
  settledExecution,
  trigger,
  uniqueName,
} from "../helpers";

beforeEach(async () => {
  await resetEmulator();
});

/** Receivers made by the running test: their upgrades end before the next test resets Cattle. */
const made: string[] = [];

afterEach(async () => {
  for (const id of made.splice(0)) {
    const list = await json(await call(`/v1-webhooks/receivers/${id}/executions?projectId=1a5`));
    for (const execution of list.data) await settledExecution(id, execution.id);
  }
});

async function upgradeReceiver(config: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const response = await call("/v1-webhooks/receivers?projectId=1a5", {
    method: "POST",
    body: {
      name: uniqueName("registry"),
      driver: "serviceUpgrade",
      serviceUpgradeConfig: {
        serviceSelector: { app: "web" },
        intervalMillis: 100,
        healthySeconds: 1,
        ...config,
      },
      ...extra,
    },
  });
  expect(response.status).toBe(201);
  const receiver = await json(response);
  made.push(receiver.id);
  return receiver;
}

const deliver = (url: string, body: string, headers: Record<string, string> = {}) =>
  trigger(url, { body, headers: { "content-type": "application/json", ...headers } });

/** Each format's sample push, the repository it names, and the headers its sender sets. */
const FORMATS = [
  {
    format: "distribution",
    body: distributionPush,
    repository: "registry.example.com/team/web",
    headers: { "content-type": "application/vnd.docker.distribution.events.v2+json" },
  },
  { format: "harbor", body: harborPush, repository: "harbor.example.com/team/web", headers: {} },
  {
    format: "ecr",
    body: ecrPush,
    repository: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web",
    headers: {
      "content-type": "application/json; charset=utf-8",
      "user-agent": "Amazon/EventBridge/ApiDestinations",
    },
  },
  {
    format: "gar",
    body: garPush,
    repository: "europe-west1-docker.pkg.dev/acme-prod/containers/web",
    headers: { "user-agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)" },
  },
  { format: "generic", body: generic, repository: "registry.example.com/team/web", headers: {} },
] as const;

describe("registry formats", () => {
  it.each(FORMATS)(
    "$format: the sample push upgrades the service that runs the repository",
    async (sample) => {
      const id = await createService("site", `${sample.repository}:1.4.1`, { app: "web" });
      const receiver = await upgradeReceiver({ tag: "1.*", payloadFormat: sample.format });
      const response = await deliver(receiver.url, sample.body, sample.headers);
      expect(response.status).toBe(202);
      const queued = await json(response);
      expect(queued.reason).toBe(`upgrading ${id} (site) to ${sample.repository}:1.4.2`);
      expect(await settledExecution(receiver.id, queued.id)).toMatchObject({ outcome: "applied" });
      expect(await imageOf(id)).toBe(`${sample.repository}:1.4.2`);

      // The sender delivers the same push again: formats that name their pushes are de-duplicated.
      const again = await json(await deliver(receiver.url, sample.body, sample.headers));
      expect(again.outcome).toBe(sample.format === "generic" ? "queued" : "deduplicated");
    },
  );

  /** A sample push that keeps its event or message id but pushed another image under another tag. */
  function anotherPushSameId(format: string, body: string, tag: string, digest: string): string {
    const json = JSON.parse(body);
    if (format === "distribution") Object.assign(json.events[0].target, { tag, digest });
    if (format === "ecr") Object.assign(json.detail, { "image-tag": tag, "image-digest": digest });
    if (format === "gar") {
      const data = JSON.parse(atob(json.message.data));
      const repository = data.tag.slice(0, data.tag.lastIndexOf(":"));
      json.message.data = btoa(
        JSON.stringify({ ...data, tag: `${repository}:${tag}`, digest: `${repository}@${digest}` }),
      );
    }
    return JSON.stringify(json);
  }

  it.each(FORMATS.filter((sample) => ["distribution", "ecr", "gar"].includes(sample.format)))(
    "$format: another push that reuses an event id is a push of its own, not a replay",
    async (sample) => {
      const id = await createService("site", `${sample.repository}:1.4.1`, { app: "web" });
      const receiver = await upgradeReceiver({ tag: "1.*", payloadFormat: sample.format });
      const first = await json(await deliver(receiver.url, sample.body, sample.headers));
      expect(first.outcome).toBe("queued");
      expect(await settledExecution(receiver.id, first.id)).toMatchObject({ outcome: "applied" });

      const digest = `sha256:${"7".repeat(64)}`;
      const second = await deliver(
        receiver.url,
        anotherPushSameId(sample.format, sample.body, "1.4.3", digest),
        sample.headers,
      );
      expect(second.status).toBe(202);
      const queued = await json(second);
      expect(queued).toMatchObject({
        outcome: "queued",
        reason: `upgrading ${id} (site) to ${sample.repository}:1.4.3`,
      });
      expect(await settledExecution(receiver.id, queued.id)).toMatchObject({ outcome: "applied" });
      expect(await imageOf(id)).toBe(`${sample.repository}:1.4.3`);
    },
  );

  it.each([
    ["distribution", distributionPull, "the event is a pull, not a tagged push"],
    ["harbor", harborDigestOnly, "is a digest, not a tag (a push by digest)"],
    ["ecr", ecrFailed, "the push did not succeed (result FAILURE)"],
    ["gar", garDelete, "Artifact Registry action DELETE is not a push"],
  ])(
    "%s: what is not a tagged push is ignored with the reason, and changes nothing",
    async (format, body, reason) => {
      const id = await createService("site", "registry.example.com/team/web:1.4.1", { app: "web" });
      const receiver = await upgradeReceiver({ tag: "*", payloadFormat: format });
      const response = await deliver(receiver.url, body);
      expect(response.status).toBe(200);
      const ignored = await json(response);
      expect(ignored.outcome).toBe("ignored");
      expect(ignored.reason).toContain(reason);
      expect(await imageOf(id)).toBe("registry.example.com/team/web:1.4.1");
    },
  );

  it("answers 400 InvalidFormat to another format's body, and records nothing", async () => {
    const receiver = await upgradeReceiver({ tag: "*", payloadFormat: "harbor" });
    for (const body of [ecrPush, garPush, distributionPush, "[]", "{}"]) {
      const response = await deliver(receiver.url, body);
      expect(response.status).toBe(400);
      expect(await json(response)).toMatchObject({ type: "error", code: "InvalidFormat" });
    }
    const executions = await json(
      await call(`/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`),
    );
    expect(executions.data).toEqual([]);
  });

  it("takes Harbor's auth header and an EventBridge Basic connection as sender checks", async () => {
    await createService("site", "harbor.example.com/team/web:1.4.1", { app: "web" });
    const token = "3f9c2d7e8a1b4c6d9e0f1a2b3c4d5e6f";
    const harbor = await upgradeReceiver(
      { tag: "*", payloadFormat: "harbor" },
      { senderVerification: { scheme: "bearer", token } },
    );
    expect((await deliver(harbor.url, harborPush)).status).toBe(401);
    expect((await deliver(harbor.url, harborPush, { authorization: `Bearer ${token}` })).status).toBe(202);

    const ecr = await upgradeReceiver(
      { tag: "*", payloadFormat: "ecr" },
      {
        senderVerification: { scheme: "basic", username: "eventbridge", password: "a-long-enough-password" },
      },
    );
    const basic = `Basic ${btoa("eventbridge:a-long-enough-password")}`;
    expect(
      (await deliver(ecr.url, ecrPush, { authorization: `Basic ${btoa("eventbridge:wrong")}` })).status,
    ).toBe(401);
    expect((await deliver(ecr.url, ecrPush, { authorization: basic })).status).toBe(200);
  });

  it("refuses any sender check on a gar receiver, which Pub/Sub push could never satisfy", async () => {
    const before = await json(await call("/v1-webhooks/receivers?projectId=1a5"));
    for (const senderVerification of [
      { scheme: "bearer", token: "3f9c2d7e8a1b4c6d9e0f1a2b3c4d5e6f" },
      { scheme: "basic", username: "pubsub", password: "a-long-enough-password" },
      { scheme: "standardWebhooks", secret: `whsec_${btoa("a-thirty-two-byte-secret-value!!")}` },
    ]) {
      const response = await call("/v1-webhooks/receivers?projectId=1a5", {
        method: "POST",
        body: {
          name: uniqueName("gar"),
          driver: "serviceUpgrade",
          serviceUpgradeConfig: { serviceSelector: { app: "web" }, tag: "*", payloadFormat: "gar" },
          senderVerification,
        },
      });
      expect(response.status).toBe(422);
      expect(await json(response)).toMatchObject({
        type: "error",
        code: "InvalidOption",
        fieldName: "senderVerification.scheme",
        message: expect.stringContaining("Pub/Sub push sends no fixed token"),
      });
    }
    expect((await json(await call("/v1-webhooks/receivers?projectId=1a5"))).data).toEqual(before.data);

    // Nor can one be added by regenerate: the receiver keeps its URL, unchecked.
    const receiver = await upgradeReceiver({ tag: "*", payloadFormat: "gar" });
    const regenerate = await call(`/v1-webhooks/receivers/${receiver.id}?action=regenerate&projectId=1a5`, {
      method: "POST",
      body: { senderVerification: { scheme: "bearer", token: "3f9c2d7e8a1b4c6d9e0f1a2b3c4d5e6f" } },
    });
    expect(regenerate.status).toBe(422);
    expect(await json(regenerate)).toMatchObject({
      code: "InvalidOption",
      fieldName: "senderVerification.scheme",
    });
    const after = await json(await call(`/v1-webhooks/receivers/${receiver.id}?projectId=1a5`));
    expect(after.url).toBe(receiver.url);
    expect(after.senderVerification).toBeUndefined();
    expect((await deliver(receiver.url, garDelete)).status).toBe(200);
  });

  it("matches every push of an envelope, in one execution", async () => {
    const web = await createService("site", "registry.example.com/team/web:1.4.1", { app: "web" });
    const api = await createService("gateway", "registry.example.com/team/api:2.0.0", { app: "web" });
    const envelope = JSON.parse(distributionTwoTags);
    const apiEvent = structuredClone(envelope.events[0]);
    apiEvent.id = "7c2d4e6f-0a1b-4c3d-8e5f-6a7b8c9d0e1f";
    apiEvent.target.repository = "team/api";
    apiEvent.target.tag = "2.1.0";
    envelope.events.push(apiEvent);
    const receiver = await upgradeReceiver({ tag: "*", payloadFormat: "distribution" });
    const queued = await json(await deliver(receiver.url, JSON.stringify(envelope)));
    // Under glob the first matching tag of a repository is taken: 1.4.2 before 1.4.
    expect(queued.reason).toBe(
      `upgrading ${web} (site) to registry.example.com/team/web:1.4.2; ${api} (gateway) to registry.example.com/team/api:2.1.0`,
    );
    expect(await settledExecution(receiver.id, queued.id)).toMatchObject({ outcome: "applied" });
    expect(await imageOf(web)).toBe("registry.example.com/team/web:1.4.2");
    expect(await imageOf(api)).toBe("registry.example.com/team/api:2.1.0");
  });
});

describe("version policies", () => {
  const push = (url: string, tag: string) =>
    deliver(url, JSON.stringify({ repository: "registry.example.com/team/web", tag }));

  it("needs a tag only under glob, and knows its policies", async () => {
    const missing = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        name: uniqueName(),
        driver: "serviceUpgrade",
        serviceUpgradeConfig: { serviceSelector: { app: "web" } },
      },
    });
    expect(missing.status).toBe(422);
    expect(await json(missing)).toMatchObject({
      code: "MissingRequired",
      fieldName: "serviceUpgradeConfig.tag",
      message:
        "serviceUpgradeConfig.tag is required unless policy is semver-major, semver-minor or semver-patch",
    });
    const unknown = await call("/v1-webhooks/receivers?projectId=1a5", {
      method: "POST",
      body: {
        name: uniqueName(),
        driver: "serviceUpgrade",
        serviceUpgradeConfig: { serviceSelector: { app: "web" }, policy: "newest" },
      },
    });
    expect(await json(unknown)).toMatchObject({
      code: "InvalidOption",
      fieldName: "serviceUpgradeConfig.policy",
    });
    const created = await upgradeReceiver({ policy: "semver-patch", payloadFormat: "generic" });
    expect(created.serviceUpgradeConfig).toMatchObject({ policy: "semver-patch" });
    expect(created.serviceUpgradeConfig.tag).toBeUndefined();
  });

  it("semver-minor upgrades within the major version and never downgrades", async () => {
    const id = await createService("site", "registry.example.com/team/web:1.4.1", { app: "web" });
    const receiver = await upgradeReceiver({ policy: "semver-minor", payloadFormat: "generic" });
    const newer = await json(await push(receiver.url, "1.5.0"));
    expect(newer.outcome).toBe("queued");
    // Whether or not the upgrade to 1.5.0 has ended, nothing older follows it.
    const older = await json(await push(receiver.url, "1.4.9"));
    expect(older).toMatchObject({ outcome: "ignored", reason: expect.stringContaining("never downgrades") });
    expect(await json(await push(receiver.url, "2.0.0"))).toMatchObject({
      outcome: "ignored",
      // Cattle shows the new image as soon as an upgrade starts.
      reason: expect.stringMatching(
        new RegExp(
          `^${id} \\(site\\): 2\\.0\\.0 leaves the major version of the running 1\\.(4\\.1|5\\.0) \\(policy semver-minor\\)$`,
        ),
      ),
    });
    expect(await json(await push(receiver.url, "1.6.0-rc.1"))).toMatchObject({
      outcome: "ignored",
      reason: expect.stringMatching(/1\.6\.0-rc\.1 is a pre-release and the running 1\.(4\.1|5\.0) is not$/),
    });
    expect(await json(await push(receiver.url, "latest"))).toMatchObject({
      outcome: "ignored",
      reason: "pushed tag latest is not a semantic version (policy semver-minor)",
    });
    expect(await settledExecution(receiver.id, newer.id)).toMatchObject({ outcome: "applied" });
    expect(await imageOf(id)).toBe("registry.example.com/team/web:1.5.0");
    expect(await json(await push(receiver.url, "1.5.0"))).toMatchObject({
      outcome: "ignored",
      reason: `${id} (site): 1.5.0 is not newer than the running 1.5.0: a policy never downgrades`,
    });
  });

  it("ends on the newest version whatever order concurrent pushes arrive in", async () => {
    const id = await createService("site", "registry.example.com/team/web:1.4.1", { app: "web" });
    const receiver = await upgradeReceiver({ policy: "semver-patch", payloadFormat: "generic" });
    const answers = await Promise.all(
      ["1.4.4", "1.4.2", "1.4.5", "1.4.3"].map((tag) => push(receiver.url, tag)),
    );
    const results = await Promise.all(answers.map((answer) => json(answer)));
    const queued = results.filter((result) => result.outcome === "queued");
    for (const result of queued) await settledExecution(receiver.id, result.id);
    expect(await imageOf(id)).toBe("registry.example.com/team/web:1.4.5");
    // Each upgrade that was queued went higher than the one before it.
    const executions = (
      await json(await call(`/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`))
    ).data
      .filter((execution: { outcome: string }) => execution.outcome === "applied")
      .reverse()
      .map((execution: { reason: string }) => execution.reason.replace(/.*:/, ""));
    expect(executions).toEqual([...executions].sort());
    expect(executions.at(-1)).toBe("1.4.5");
  });

  it("takes the newest admitted tag of a push that names several", async () => {
    const id = await createService("site", "registry.example.com/team/web:1.3.0", { app: "web" });
    const receiver = await upgradeReceiver({ policy: "semver-minor", payloadFormat: "distribution" });
    const queued = await json(await deliver(receiver.url, distributionTwoTags));
    expect(queued.reason).toBe(`upgrading ${id} (site) to registry.example.com/team/web:1.4.2`);
    await settledExecution(receiver.id, queued.id);
    expect(await imageOf(id)).toBe("registry.example.com/team/web:1.4.2");
  });
});
