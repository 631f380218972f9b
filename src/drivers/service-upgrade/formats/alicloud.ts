import { missing, type PayloadFormatDefinition, tagPushed } from "./format";
import { at, text } from "./json";

/**
 * Alibaba Cloud Container Registry: the repository's address is built from the receiver's
 * `addressType` (public, internal or VPC endpoint), the region and the full name.
 */
export const alicloud: PayloadFormatDefinition = {
  label: "Alibaba Cloud Container Registry",
  payload: "an Alibaba Cloud Container Registry push",
  hint: "In Alibaba Cloud Container Registry: the repository → Triggers, with the receiver's URL.",
  read(body, { addressType }) {
    const region = text(at(body, "repository", "region"));
    if (!region) return missing(this, "repository.region");
    const fullName = text(at(body, "repository", "repo_full_name"));
    if (!fullName) return missing(this, "repository.repo_full_name");
    const tag = text(at(body, "push_data", "tag"));
    if (!tag) return missing(this, "push_data.tag");
    // A push is named by what was pushed and when.
    const pushedAt = text(at(body, "push_data", "pushed_at"));
    const digest = text(at(body, "push_data", "digest"));
    const identity = pushedAt ? `${fullName}\n${tag}\n${digest ?? ""}\n${pushedAt}` : undefined;
    return {
      ok: true,
      pushes: [tagPushed(`${addressType}.${region}.aliyuncs.com/${fullName}`, tag, digest)],
      ...(identity ? { identity } : {}),
    };
  },
};
