import { missing, type PayloadFormatDefinition } from "./format";
import { at, text } from "./json";

/** Docker Hub: `repository.repo_name` and `push_data.tag`. */
export const dockerhub: PayloadFormatDefinition = {
  label: "Docker Hub",
  payload: "a Docker Hub push",
  read(body) {
    const repository = text(at(body, "repository", "repo_name"));
    if (!repository) return missing(this, "repository.repo_name");
    const tag = text(at(body, "push_data", "tag"));
    if (!tag) return missing(this, "push_data.tag");
    return { ok: true, push: { repository, tags: [tag] } };
  },
};
