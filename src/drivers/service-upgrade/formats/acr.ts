import { pushIdentity } from "./distribution";
import { missing, type PayloadFormatDefinition, tagPushed } from "./format";
import { at, text } from "./json";

/** Azure Container Registry: `request.host` + `/` + `target.repository`, and `target.tag`. */
export const acr: PayloadFormatDefinition = {
  label: "Azure Container Registry",
  payload: "an Azure Container Registry push",
  hint: "In Azure: the registry → Webhooks → Add, action push, the receiver's URL as the service URI.",
  read(body) {
    const action = text(body.action);
    if (action !== undefined && action !== "push")
      return { ok: "ignored", reason: `registry event "${action}" is not a push` };
    const host = text(at(body, "request", "host"));
    if (!host) return missing(this, "request.host");
    const name = text(at(body, "target", "repository"));
    if (!name) return missing(this, "target.repository");
    const tag = text(at(body, "target", "tag"));
    if (!tag) return { ok: "ignored", reason: "the push has no tag (a push by digest)" };
    // Every ACR event has an id of its own, named with what it pushed like a distribution event.
    const repository = `${host}/${name}`;
    const id = text(body.id);
    const digest = text(at(body, "target", "digest"));
    return {
      ok: true,
      pushes: [tagPushed(repository, tag, digest)],
      ...(id ? { identity: pushIdentity(id, repository, digest ?? "", tag) } : {}),
    };
  },
};
