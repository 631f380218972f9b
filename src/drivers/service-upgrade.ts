import type { LaunchConfig, Service } from "../cattle/types";
import { describeSelector, selectorMatches } from "./selectors";

export type PayloadFormat = "dockerhub" | "quay" | "acr" | "alicloud" | "ghcr";
export type AddressType = "registry" | "registry-internal" | "registry-vpc";

/** What a registry says was pushed: one repository, one or more tags. */
export interface Push {
  repository: string;
  tags: string[];
}

export type PushResult =
  | { ok: true; push: Push }
  | { ok: false; message: string }
  | { ok: "ignored"; reason: string };

export const PULL_IMAGE_LABEL = "io.rancher.container.pull_image";

/** The Durable Object that serialises the upgrades of one environment. */
export const serviceUpgradeTarget = (projectId: string): string => `serviceUpgrade:${projectId}`;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
const at = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((current, key) => (isObject(current) ? current[key] : undefined), value);

const FORMAT_NAMES: Record<PayloadFormat, string> = {
  dockerhub: "a Docker Hub push",
  quay: "a Quay push",
  acr: "an Azure Container Registry push",
  alicloud: "an Alibaba Cloud Container Registry push",
  ghcr: "a GitHub Packages (ghcr.io) package event",
};

/**
 * Reads a registry's push webhook. The body comes from the internet: every field is checked,
 * and a body of the wrong shape is described, not trusted.
 */
export function parsePush(format: PayloadFormat, addressType: AddressType, body: unknown): PushResult {
  const wrong = (missing: string): PushResult => ({
    ok: false,
    message: `the body is not ${FORMAT_NAMES[format]} payload: ${missing} is missing or not text`,
  });
  if (!isObject(body))
    return { ok: false, message: `the body is not ${FORMAT_NAMES[format]} payload: expected a JSON object` };
  switch (format) {
    case "dockerhub": {
      const repository = text(at(body, "repository", "repo_name"));
      if (!repository) return wrong("repository.repo_name");
      const tag = text(at(body, "push_data", "tag"));
      if (!tag) return wrong("push_data.tag");
      return { ok: true, push: { repository, tags: [tag] } };
    }
    case "quay": {
      const repository = text(body.docker_url);
      if (!repository) return wrong("docker_url");
      const updated = body.updated_tags;
      const tags = Array.isArray(updated)
        ? updated.map(text).filter((tag): tag is string => tag !== undefined)
        : isObject(updated)
          ? Object.keys(updated)
          : undefined;
      if (!tags || tags.length === 0) return wrong("updated_tags");
      return { ok: true, push: { repository, tags } };
    }
    case "acr": {
      const action = text(body.action);
      if (action !== undefined && action !== "push")
        return { ok: "ignored", reason: `registry event "${action}" is not a push` };
      const host = text(at(body, "request", "host"));
      if (!host) return wrong("request.host");
      const name = text(at(body, "target", "repository"));
      if (!name) return wrong("target.repository");
      const tag = text(at(body, "target", "tag"));
      if (!tag) return { ok: "ignored", reason: "the push has no tag (a push by digest)" };
      return { ok: true, push: { repository: `${host}/${name}`, tags: [tag] } };
    }
    case "alicloud": {
      const region = text(at(body, "repository", "region"));
      if (!region) return wrong("repository.region");
      const fullName = text(at(body, "repository", "repo_full_name"));
      if (!fullName) return wrong("repository.repo_full_name");
      const tag = text(at(body, "push_data", "tag"));
      if (!tag) return wrong("push_data.tag");
      return {
        ok: true,
        push: { repository: `${addressType}.${region}.aliyuncs.com/${fullName}`, tags: [tag] },
      };
    }
    case "ghcr": {
      const action = text(body.action);
      if (action !== undefined && action !== "published" && action !== "updated") {
        return { ok: "ignored", reason: `package event "${action}" is not a publish` };
      }
      const namespace = text(at(body, "package", "namespace")) ?? text(at(body, "package", "owner", "login"));
      if (!namespace) return wrong("package.namespace");
      const name = text(at(body, "package", "name"));
      if (!name) return wrong("package.name");
      const tag = text(at(body, "package", "package_version", "container_metadata", "tag", "name"));
      if (!tag) return { ok: "ignored", reason: "the package version has no tag (an untagged push)" };
      return { ok: true, push: { repository: `ghcr.io/${namespace}/${name}`, tags: [tag] } };
    }
  }
}

/** `*` matches any run of characters and `?` one; everything else matches itself. */
export function tagMatches(pattern: string, tag: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`).test(tag);
}

const DOCKER_HUB_PREFIXES = ["docker.io/", "index.docker.io/", "registry-1.docker.io/"];

/**
 * One spelling per repository: Docker Hub's host and its `library/` namespace are implied, and
 * registry names are case-insensitive, so `docker.io/library/nginx` and `nginx` are the same.
 */
export function normalizeRepository(repository: string): string {
  let name = repository.trim().toLowerCase();
  for (const prefix of DOCKER_HUB_PREFIXES) {
    if (name.startsWith(prefix)) name = name.slice(prefix.length);
  }
  if (name.startsWith("library/") && name.split("/").length === 2) name = name.slice("library/".length);
  return name;
}

/** `docker:myorg/web:1.2@sha256:…` → repository `myorg/web`, tag `1.2`. Null for non-docker images. */
export function parseImage(imageUuid: string | undefined): { repository: string; tag?: string } | null {
  if (!imageUuid?.startsWith("docker:")) return null;
  const reference = imageUuid.slice("docker:".length).split("@")[0] ?? "";
  const slash = reference.lastIndexOf("/");
  const colon = reference.lastIndexOf(":");
  if (colon > slash) return { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return reference ? { repository: reference } : null;
}

const sameRepository = (config: LaunchConfig | null | undefined, repository: string): boolean => {
  const image = parseImage(config?.imageUuid);
  return image !== null && normalizeRepository(image.repository) === normalizeRepository(repository);
};

const upgraded = (config: LaunchConfig, repository: string, tag: string): LaunchConfig => ({
  ...config,
  imageUuid: `docker:${repository}:${tag}`,
  labels: { ...(config.labels ?? {}), [PULL_IMAGE_LABEL]: "always" },
});

export interface UpgradeSettings {
  serviceSelector: Record<string, string>;
  batchSize: number;
  intervalMillis: number;
  startFirst: boolean;
}

/** The body of Cattle's `upgrade` action for one service. */
export interface UpgradeRequest {
  inServiceStrategy: {
    launchConfig?: LaunchConfig;
    secondaryLaunchConfigs?: LaunchConfig[];
    batchSize: number;
    intervalMillis: number;
    startFirst: boolean;
  };
}

/**
 * What upgrading `service` to `repository:tag` means, or null if the service is not concerned:
 * its labels must match the selector and at least one of its launch configs (the primary or a
 * sidekick) must run an image of the pushed repository. Only those configs change; the image keeps
 * the spelling the registry used, and `pull_image=always` makes the hosts fetch the new layers.
 */
export function planServiceUpgrade(
  service: Service,
  repository: string,
  tag: string,
  settings: UpgradeSettings,
): UpgradeRequest | null {
  if (service.removed || !selectorMatches(settings.serviceSelector, service.launchConfig?.labels))
    return null;
  const primary =
    service.launchConfig && sameRepository(service.launchConfig, repository) ? service.launchConfig : null;
  const sidekicks = (service.secondaryLaunchConfigs ?? []).filter((config) =>
    sameRepository(config, repository),
  );
  if (!primary && sidekicks.length === 0) return null;
  return {
    inServiceStrategy: {
      ...(primary ? { launchConfig: upgraded(primary, repository, tag) } : {}),
      ...(sidekicks.length > 0
        ? { secondaryLaunchConfigs: sidekicks.map((config) => upgraded(config, repository, tag)) }
        : {}),
      batchSize: settings.batchSize,
      intervalMillis: settings.intervalMillis,
      startFirst: settings.startFirst,
    },
  };
}

export const noMatchReason = (selector: Record<string, string>, repository: string): string =>
  `no service matches ${describeSelector(selector)} with an image of ${repository}`;
