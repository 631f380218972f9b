import { createApp } from "./app";
import { cloudflarePlatform } from "./platform/cloudflare";

export { ProjectObject } from "./objects/project-object";
export { TargetObject } from "./objects/target-object";

/** The Cloudflare Worker: receiver records in KV, targets and environments as Durable Objects. */
export default createApp<Env>(cloudflarePlatform);
