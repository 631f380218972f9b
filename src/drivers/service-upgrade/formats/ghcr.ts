import { missing, type PayloadFormatDefinition, tagPushed } from "./format";
import { at, text } from "./json";

/** GitHub Packages: a `package` event's namespace, name and container tag. */
export const ghcr: PayloadFormatDefinition = {
  label: "GitHub Packages (ghcr.io)",
  payload: "a GitHub Packages (ghcr.io) package event",
  hint: "In GitHub: the organization's or repository's Settings → Webhooks, event Packages, content type JSON.",
  read(body, { headers }) {
    const action = text(body.action);
    if (action !== undefined && action !== "published" && action !== "updated") {
      return { ok: "ignored", reason: `package event "${action}" is not a publish` };
    }
    const namespace = text(at(body, "package", "namespace")) ?? text(at(body, "package", "owner", "login"));
    if (!namespace) return missing(this, "package.namespace");
    const name = text(at(body, "package", "name"));
    if (!name) return missing(this, "package.name");
    const version = at(body, "package", "package_version");
    const tag = text(at(version, "container_metadata", "tag", "name"));
    if (!tag) return { ok: "ignored", reason: "the package version has no tag (an untagged push)" };
    // The tag's manifest digest; a container version is also named by it.
    const digest = text(at(version, "container_metadata", "tag", "digest")) ?? text(at(version, "version"));
    // GitHub names every delivery in a header; a redelivery keeps it.
    const identity = headers["x-github-delivery"]?.trim();
    return {
      ok: true,
      pushes: [tagPushed(`ghcr.io/${namespace}/${name}`, tag, digest)],
      ...(identity ? { identity } : {}),
    };
  },
};
