import type { PayloadFormatDefinition } from "./format";
import { text } from "./json";

const FORMAT = 'a push of the form {"repository":"registry.example.com/team/web","tag":"1.4.2"}';

/**
 * What any CI job can send after it pushed an image: the repository (without tag or digest) and
 * the tag. It names no delivery; an `Idempotency-Key` header does, as for any trigger.
 */
export const generic: PayloadFormatDefinition = {
  label: "Generic (CI job)",
  payload: "a generic push",
  hint: 'From a CI job, after docker push: POST {"repository":…,"tag":…} to the receiver\'s URL.',
  read(body) {
    const repository = text(body.repository);
    const tag = text(body.tag);
    if (!repository || !tag)
      return { ok: false, message: `the body is not ${FORMAT}: repository or tag is missing or not text` };
    if (repository.includes("@") || /:[^/]*$/.test(repository.replace(/^[^/]*\//, "")))
      return {
        ok: false,
        message: `repository ${repository} holds a tag or digest: send the repository alone and the tag in tag`,
      };
    return { ok: true, pushes: [{ repository, tags: [tag] }] };
  },
};
