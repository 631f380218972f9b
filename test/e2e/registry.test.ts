import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, freePort, type LocalStack, startLocalStack, stopChild } from "./local-stack";

/**
 * A real Docker registry (Debian's docker-registry, CNCF Distribution 2.8) sends its notifications
 * to a trigger URL served by the worker, for images pushed to it over the registry API. CI installs
 * it; elsewhere the test is skipped when the binary is missing, and fails if CI is set.
 */
const REGISTRY = process.env.DOCKER_REGISTRY_BIN ?? "/usr/bin/docker-registry";
const available = existsSync(REGISTRY);
if (!available && process.env.CI)
  throw new Error(`${REGISTRY} is not installed (CI installs docker-registry)`);

const DEV_KEY = `Basic ${btoa("dev-access:dev-secret")}`;

/** docs/registries.md's `notifications:` block for config.yml, as a user copies it. */
const README_NOTIFICATIONS = (() => {
  const readme = readFileSync("docs/registries.md", "utf8");
  const start = readme.indexOf("```yaml\nnotifications:");
  return readme.slice(start + "```yaml\n".length, readme.indexOf("```", start + 3));
})();
const README_URL = "https://hooks.example.com/v1-webhooks/endpoint?token=eyJ…";
const TOKEN = "3f9c2d7e8a1b4c6d9e0f1a2b3c4d5e6f";

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

describe.skipIf(!available)("with a real Docker registry", () => {
  let stack: LocalStack;
  let registry: ChildProcess;
  let registryUrl: string;
  let host: string;
  let dir: string;
  let log = "";
  let serviceId: string;
  let receiver: { id: string; url: string };

  /** What `docker push host/team/web:tag` does over the registry API: two blobs, then the manifest by tag. */
  async function push(tag: string) {
    const upload = async (bytes: Uint8Array<ArrayBuffer>) => {
      const digest = sha256(bytes);
      const started = await fetch(`${registryUrl}/v2/team/web/blobs/uploads/`, { method: "POST" });
      expect(started.status).toBe(202);
      const location = new URL(started.headers.get("location") ?? "", registryUrl);
      location.searchParams.set("digest", digest);
      const finished = await fetch(location, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream" },
        body: bytes,
      });
      expect(finished.status).toBe(201);
      return { digest, size: bytes.length };
    };
    const layer = await upload(new TextEncoder().encode(`layer of ${tag}`));
    const config = await upload(
      new TextEncoder().encode(
        JSON.stringify({
          architecture: "amd64",
          os: "linux",
          rootfs: { type: "layers", diff_ids: [layer.digest] },
        }),
      ),
    );
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: { mediaType: "application/vnd.docker.container.image.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", ...layer }],
    };
    const put = await fetch(`${registryUrl}/v2/team/web/manifests/${tag}`, {
      method: "PUT",
      headers: { "content-type": manifest.mediaType },
      body: JSON.stringify(manifest),
    });
    expect(put.status).toBe(201);
  }

  const executions = async () => {
    const response = await fetch(
      new URL(`/v1-webhooks/receivers/${receiver.id}/executions?projectId=1a5`, stack.url),
      { headers: { authorization: DEV_KEY } },
    );
    return ((await response.json()) as { data: { outcome: string; reason: string }[] }).data;
  };

  const image = async () => {
    const response = await stack.emulator(`/v2-beta/projects/1a5/services/${serviceId}`, {
      headers: { authorization: DEV_KEY },
    });
    return ((await response.json()) as { launchConfig: { imageUuid: string } }).launchConfig.imageUuid;
  };

  beforeAll(async () => {
    stack = await startLocalStack();
    await stack.emulator("/_emulator/reset", { method: "POST" });
    const port = await freePort();
    registryUrl = `http://127.0.0.1:${port}`;
    host = `127.0.0.1:${port}`;

    const created = await stack.emulator("/v2-beta/projects/1a5/services", {
      method: "POST",
      headers: { authorization: DEV_KEY, "content-type": "application/json" },
      body: JSON.stringify({
        name: "site",
        scale: 1,
        launchConfig: { imageUuid: `docker:${host}/team/web:1.4.1`, labels: { app: "site" } },
      }),
    });
    serviceId = ((await created.json()) as { id: string }).id;
    const response = await fetch(new URL("/v1-webhooks/receivers?projectId=1a5", stack.url), {
      method: "POST",
      headers: { authorization: DEV_KEY, "content-type": "application/json" },
      body: JSON.stringify({
        name: "registry-push",
        driver: "serviceUpgrade",
        serviceUpgradeConfig: {
          serviceSelector: { app: "site" },
          payloadFormat: "distribution",
          policy: "semver-minor",
          intervalMillis: 100,
          healthySeconds: 1,
        },
        senderVerification: { scheme: "bearer", token: TOKEN },
      }),
    });
    expect(response.status).toBe(201);
    receiver = (await response.json()) as { id: string; url: string };

    expect(README_NOTIFICATIONS).toContain(README_URL);
    expect(README_NOTIFICATIONS).toContain(`Bearer ${TOKEN}`);
    dir = mkdtempSync(join(tmpdir(), "registry-"));
    writeFileSync(
      join(dir, "config.yml"),
      [
        "version: 0.1",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${join(dir, "data")}`,
        "http:",
        `  addr: 127.0.0.1:${port}`,
        // The README's endpoint, with this receiver's URL in place of the example's.
        README_NOTIFICATIONS.replace(README_URL, receiver.url),
      ].join("\n"),
    );
    registry = spawn(REGISTRY, ["serve", join(dir, "config.yml")], { stdio: ["ignore", "pipe", "pipe"] });
    registry.stdout?.on("data", (chunk) => (log += chunk));
    registry.stderr?.on("data", (chunk) => (log += chunk));
    await eventually("the registry to listen", async () => {
      const ready = await fetch(`${registryUrl}/v2/`).catch(() => undefined);
      return ready?.ok ? true : undefined;
    });
  }, 60_000);

  afterAll(async () => {
    await stopChild(registry);
    await stack?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("upgrades the service on a push by tag, and never to an older one pushed later", async () => {
    await push("1.4.2");
    const applied = await eventually("the push to be applied", async () => {
      const list = await executions();
      return list.find((execution) => execution.outcome === "applied");
    }).catch((error) => {
      throw new Error(`${error.message}\n${log.slice(-2000)}`);
    });
    expect(applied.reason).toBe(`upgraded ${serviceId} (site) to ${host}/team/web:1.4.2`);
    expect(await image()).toBe(`docker:${host}/team/web:1.4.2`);

    // A late push of an older release, and a pull by tag (filtered by the registry's `ignore`).
    await push("1.4.0");
    const pulled = await fetch(`${registryUrl}/v2/team/web/manifests/1.4.2`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(pulled.status).toBe(200);
    const refused = await eventually("the older push to be decided", async () =>
      (await executions()).find((execution) => execution.outcome === "ignored"),
    );
    expect(refused.reason).toBe(
      `${serviceId} (site): 1.4.0 is not newer than the running 1.4.2: a policy never downgrades`,
    );
    expect(await image()).toBe(`docker:${host}/team/web:1.4.2`);
    expect((await executions()).length).toBe(2);
  });
});
