import type { LaunchConfig, Service } from "../../cattle/types";
import type { Push } from "../../domain/delivery";
import { own } from "../../util/own";
import { describeSelector, selectorMatches } from "../shared/selectors";
import type { Policy } from "./policy";

export const PULL_IMAGE_LABEL = "io.rancher.container.pull_image";

/** Comparisons `tagMatches` made in this isolate, so a test can bound the work a pattern costs. */
export const globWork = { steps: 0 };

/**
 * `*` matches any run of characters and `?` one; everything else matches itself. The pattern is
 * the receiver's, so it is never made into a regular expression: a backtracking engine takes
 * exponential time on patterns such as `*a*a*a*a*a*a*a*a` against a long tag that fails at its end.
 * This walks the tag once, remembering only the last `*` seen and where in the tag it was tried:
 * on a mismatch the tag resumes one character after that point and the pattern just after the
 * `*`. An earlier `*` never needs to be retried (the last one can absorb anything it could). Each
 * `*` is passed once, the resume point only moves forward (at most n fallbacks for a tag of n
 * characters), and between fallbacks at most the pattern's m characters match: at most
 * nm + 2n + m steps, under (n + 1) × (m + 2), whatever the input.
 */
export function tagMatches(pattern: string, tag: string): boolean {
  let p = 0;
  let t = 0;
  /** Just after the last `*` seen, and the tag position it currently ends at; -1: none yet. */
  let star = -1;
  let resume = 0;
  while (t < tag.length) {
    globWork.steps++;
    const wanted = pattern[p];
    if (wanted === "*") {
      star = ++p;
      resume = t;
    } else if (p < pattern.length && (wanted === "?" || wanted === tag[t])) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star;
      t = ++resume;
    } else return false;
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
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

/** The config with its image moved to `tag`: the repository keeps the service's own spelling. */
const upgraded = (config: LaunchConfig, repository: string, tag: string): LaunchConfig => ({
  ...config,
  imageUuid: `docker:${parseImage(config.imageUuid)?.repository ?? repository}:${tag}`,
  labels: { ...(config.labels ?? {}), [PULL_IMAGE_LABEL]: "always" },
});

/** The launch configs of a service, primary first, that run an image of `repository`. */
export const configsOf = (service: Service, repository: string): LaunchConfig[] =>
  [service.launchConfig, ...(service.secondaryLaunchConfigs ?? [])].filter(
    (config): config is LaunchConfig => config !== undefined && sameRepository(config, repository),
  );

/** The tag the service runs of `repository` (its primary's, else its first sidekick's), if any. */
export const runningTag = (service: Service, repository: string): string | undefined =>
  parseImage(configsOf(service, repository)[0]?.imageUuid)?.tag;

/** Whether every config of the service that runs `repository` runs it at `tag` already. */
export const runsTag = (service: Service, repository: string, tag: string): boolean => {
  const configs = configsOf(service, repository);
  return configs.length > 0 && configs.every((config) => parseImage(config.imageUuid)?.tag === tag);
};

/**
 * The manifest digest pushed under `tag`, if the registry's payload said (docs/registries.md). Own
 * keys only: a tag may be spelled `constructor`.
 */
export const digestOf = (push: Pick<Push, "digests">, tag: string): string | undefined =>
  push.digests ? own(push.digests, tag) : undefined;

/**
 * The digests of two pushes of one repository taken as one, per tag: where both name a tag the
 * later push's digest wins, as that is what the registry holds under the tag now. Undefined when
 * neither carries any, so a merged push of a format without digests has none either.
 */
export function mergeDigests(
  earlier: Readonly<Record<string, string>> | undefined,
  later: Readonly<Record<string, string>> | undefined,
): Record<string, string> | undefined {
  // Object spread defines own properties, so a tag spelled `__proto__` stays a key like any other.
  const merged = { ...earlier, ...later };
  return Object.keys(merged).length > 0 ? merged : undefined;
}

/** The same repository, whichever way each side spells it. */
export const sameRepositoryName = (a: string, b: string): boolean =>
  normalizeRepository(a) === normalizeRepository(b);

export interface UpgradeSettings {
  serviceSelector: Record<string, string>;
  batchSize: number;
  intervalMillis: number;
  startFirst: boolean;
  /** Absent in upgrades queued before policies existed: glob. */
  policy?: Policy;
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
 * sidekick) must run an image of the pushed repository. Only those configs change, only in their
 * tag (the repository keeps the service's spelling), and `pull_image=always` makes the hosts fetch
 * the new layers.
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
