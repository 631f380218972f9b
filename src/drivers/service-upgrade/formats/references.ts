/**
 * What a registry may call a repository and a tag, after the reference grammar of the OCI
 * distribution spec: a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, so it never holds `+`, `/` or `:`.
 */
const TAG = /^\w[\w.-]{0,127}$/;

/** `host[:port]/path` or `path`, path components lower-case words joined by `.`, `_`, `__` or `-`s. */
const REPOSITORY =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** `sha256:…` and any other `algorithm:hex` digest, which some registries put where a tag goes. */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-f0-9]{32,}$/i;

/** The tags cosign and SBOM tools push beside an image: `sha256-<digest>.sig`, `.att`, `.sbom`. */
const ARTIFACT = /^sha256-[a-f0-9]{64}\.(?:sig|att|sbom)$/;

export const isRepository = (value: string): boolean => value.length <= 255 && REPOSITORY.test(value);

/**
 * Why a pushed tag is no upgrade although it arrived as one, or undefined if it is a tag to
 * consider. A digest is a push by digest (a platform manifest of a multi-arch push); signatures,
 * attestations and SBOMs are tags of artifacts that no service runs.
 */
export function unwantedTag(tag: string): string | undefined {
  if (DIGEST.test(tag)) return `${tag} is a digest, not a tag (a push by digest)`;
  if (ARTIFACT.test(tag)) return `${tag} is a signature, attestation or SBOM, not an image`;
  return undefined;
}

export const isTag = (value: string): boolean => TAG.test(value);

/** `sha256:<hex>` or another `algorithm:hex`: what a payload may give as the digest of a pushed tag. */
export const isDigest = (value: string): boolean => DIGEST.test(value);
