import { missing, type PayloadFormatDefinition } from "./format";
import { at, text } from "./json";

/** Docker Hub: `repository.repo_name` and `push_data.tag`; a push is named by `callback_url` and `push_data.pushed_at`. */
export const dockerhub: PayloadFormatDefinition = {
  label: "Docker Hub",
  payload: "a Docker Hub push",
  hint: "In Docker Hub: the repository → Webhooks, with the receiver's URL.",
  read(body) {
    const repository = text(at(body, "repository", "repo_name"));
    if (!repository) return missing(this, "repository.repo_name");
    const tag = text(at(body, "push_data", "tag"));
    if (!tag) return missing(this, "push_data.tag");
    // Docker Hub names a push by its webhook's callback URL and the push's time.
    const callback = text(body.callback_url);
    const pushedAt = at(body, "push_data", "pushed_at");
    const identity =
      callback && pushedAt !== undefined ? `${callback}\n${String(pushedAt)}\n${tag}` : undefined;
    return { ok: true, pushes: [{ repository, tags: [tag] }], ...(identity ? { identity } : {}) };
  },
};
