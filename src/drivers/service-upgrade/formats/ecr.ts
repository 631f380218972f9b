import { pushIdentity } from "./distribution";
import { type PayloadFormatDefinition, tagPushed } from "./format";
import { at, isObject, text } from "./json";

const FORMAT = "an EventBridge ECR Image Action event";

/** The registry host of an account in a region; China's regions live under amazonaws.com.cn. */
const registryHost = (account: string, region: string): string =>
  `${account}.dkr.ecr.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;

/**
 * Amazon ECR, through EventBridge: an API destination posts the whole `ECR Image Action` event.
 * A successful push with an `image-tag` is an upgrade; the event's `id` (which EventBridge's
 * retries keep) names it with the repository, digest and tag.
 */
export const ecr: PayloadFormatDefinition = {
  label: "Amazon ECR (EventBridge)",
  payload: "an EventBridge ECR event",
  hint: "In EventBridge: a rule on ECR Image Action with an API destination to the receiver's URL.",
  read(body) {
    const detailType = text(body["detail-type"]);
    if (!detailType || !isObject(body.detail))
      return { ok: false, message: `the body is not ${FORMAT}: detail-type or detail is missing` };
    if (detailType !== "ECR Image Action")
      return { ok: "ignored", reason: `EventBridge event "${detailType}" is not an ECR Image Action` };
    const action = text(at(body, "detail", "action-type"));
    if (action !== "PUSH") return { ok: "ignored", reason: `ECR action ${action ?? "(none)"} is not a push` };
    const result = text(at(body, "detail", "result"));
    if (result !== "SUCCESS")
      return { ok: "ignored", reason: `the push did not succeed (result ${result ?? "(none)"})` };
    const account = text(body.account);
    const region = text(body.region);
    const name = text(at(body, "detail", "repository-name"));
    if (!account || !region || !name)
      return {
        ok: false,
        message: `the body is not ${FORMAT}: account, region or detail.repository-name is missing`,
      };
    const tag = text(at(body, "detail", "image-tag"));
    if (!tag) return { ok: "ignored", reason: "the push has no tag (a push by digest)" };
    const repository = `${registryHost(account, region)}/${name}`;
    const id = text(body.id);
    const digest = text(at(body, "detail", "image-digest"));
    return {
      ok: true,
      pushes: [tagPushed(repository, tag, digest)],
      ...(id ? { identity: pushIdentity(id, repository, digest ?? "", tag) } : {}),
    };
  },
};
