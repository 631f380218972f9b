import { lazy } from "../../util/lazy";
import type { DriverDefinition } from "../definition";
import { configFields } from "../shared/config-fields";
import { countRuleSuffix } from "../shared/describe";
import { describeSelector } from "../shared/selectors";
import { scaleHostConfigSchema } from "./config";
import { ScaleHostExecutor } from "./executor";
import { HOST_STEPS_TABLES } from "./host-steps";
import { LEAVING_HOSTS_TABLES } from "./leaving-hosts";
import { resolveScaleHostTarget, scaleHostTarget } from "./target";

const removesHosts = (action: string, onResolved: string) => action === "down" || onResolved === "reverse";

/** Scale the number of Hosts: each trigger adds or removes `amount` hosts of a labelled group. */
export const scaleHost: DriverDefinition<"scaleHost"> = {
  name: "scaleHost",
  label: "Scale the number of Hosts",
  configField: "scaleHostConfig",
  configSchema: scaleHostConfigSchema,
  fields: lazy(() => configFields(scaleHostConfigSchema())),
  targetName: scaleHostTarget,
  resolveTarget: resolveScaleHostTarget,
  executor: (context) => new ScaleHostExecutor(context),
  tables: [LEAVING_HOSTS_TABLES, HOST_STEPS_TABLES],
  // The schema stores `deleteOption` for every receiver but refuses it from one that only adds hosts.
  asCreateConfig: ({ deleteOption, ...config }) =>
    removesHosts(config.action, config.onResolved) ? { ...config, deleteOption } : config,
  // Rancher's UI sends `deleteOption: null` for a receiver that only adds hosts.
  normalize: ({ deleteOption, ...config }) => (deleteOption === null ? config : { ...config, deleteOption }),
  describe(config) {
    let text = `hosts ${describeSelector(config.hostSelector, ", ")} ${config.action} by ${config.amount} (min ${config.min}, max ${config.max})`;
    if (config.hostTemplateId) text += `, from template ${config.hostTemplateId}`;
    if (removesHosts(config.action, config.onResolved))
      text += `, removing ${config.deleteOption === "mostRecent" ? "newest" : "oldest"} first`;
    return text + countRuleSuffix(config);
  },
  fieldset: {
    rows: [
      ["hostSelector"],
      ["action", "amount", "min", "max"],
      ["deleteOption", "hostTemplateId"],
      ["cooldownSeconds", "onResolved"],
    ],
    sendOnlyWhen: {
      deleteOption: (value) => removesHosts(value("action"), value("onResolved")),
    },
  },
};
