import { lazy } from "../../util/lazy";
import type { DriverDefinition } from "../definition";
import { configFields } from "../shared/config-fields";
import { describeSelector } from "../shared/selectors";
import { serviceUpgradeConfigSchema } from "./config";
import { ServiceUpgradeExecutor } from "./executor";
import { PAYLOAD_FORMATS, parsePush } from "./formats";
import type { Policy } from "./policy";
import { resolveServiceUpgradeTarget, serviceUpgradeTarget } from "./target";
import { UPGRADES_TABLES } from "./upgrade-queue";
import { type VerifySettings, verifySettings } from "./verify";

const describeTags = ({ tag, policy }: { tag?: string; policy: Policy }): string =>
  policy === "glob" ? `tag ${tag}` : `newer versions (${policy})${tag ? ` matching ${tag}` : ""}`;

const describeChecks = (checks: VerifySettings): string =>
  `${checks.rollbackOnFailure ? "rolled back" : "finished all the same"} unless the new containers stay healthy for ${checks.healthySeconds} s`;

/** Upgrade a Service: on a registry push, the matching services are upgraded to the pushed image. */
export const serviceUpgrade: DriverDefinition<"serviceUpgrade"> = {
  name: "serviceUpgrade",
  label: "Upgrade a Service",
  configField: "serviceUpgradeConfig",
  configSchema: serviceUpgradeConfigSchema,
  fields: lazy(() => configFields(serviceUpgradeConfigSchema())),
  targetName: (projectId) => serviceUpgradeTarget(projectId),
  resolveTarget: resolveServiceUpgradeTarget,
  /**
   * The format comes from the signed token, so a body cannot choose how it is read. A body of the
   * wrong shape is the sender's mistake: refused, nothing recorded.
   */
  readDelivery(config, body, headers) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const result = parsePush(config.payloadFormat, config.addressType ?? "registry", json, headers);
    if (result.ok === false) return { ok: false, message: result.message };
    if (result.ok === "ignored") return { ok: true, delivery: { ignoredBecause: result.reason } };
    return {
      ok: true,
      delivery: { pushes: result.pushes },
      ...(result.identity ? { identity: result.identity } : {}),
    };
  },
  senderCheckRefusal: (config) => PAYLOAD_FORMATS[config.payloadFormat].noSenderCheck,
  executor: (context) => new ServiceUpgradeExecutor(context),
  tables: [UPGRADES_TABLES],
  // webhook-service took intervalMillis in seconds and multiplied them by 1000.
  fromWebhookService: (config) =>
    typeof config.intervalMillis === "number"
      ? { ...config, intervalMillis: config.intervalMillis * 1000 }
      : config,
  normalize(config) {
    // webhook-service called Azure Container Registry `azure`; Rancher's UI always sends an
    // addressType, which only the Alibaba format reads.
    const { addressType, ...rest } = config;
    const payloadFormat = rest.payloadFormat === "azure" ? "acr" : rest.payloadFormat;
    return {
      ...rest,
      ...(payloadFormat === undefined ? {} : { payloadFormat }),
      ...(payloadFormat === "alicloud" && addressType !== undefined ? { addressType } : {}),
    };
  },
  describe: (config) =>
    `services ${describeSelector(config.serviceSelector, ", ")} on ${PAYLOAD_FORMATS[config.payloadFormat].label} pushes of ${describeTags(config)}, ${config.batchSize} at a time every ${config.intervalMillis} ms, ${describeChecks(verifySettings(config))}`,
  fieldset: {
    rows: [
      ["serviceSelector"],
      ["payloadFormat", "addressType"],
      ["policy", "tag"],
      ["batchSize", "intervalMillis", "startFirst"],
      ["rollbackOnFailure", "healthySeconds", "healthTimeoutSeconds"],
    ],
    sendOnlyWhen: { addressType: (value) => value("payloadFormat") === "alicloud" },
  },
};
