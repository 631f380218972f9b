import * as z from "zod";
import { RESOURCE_ID } from "../../domain/ids";

/** Field rules every driver's config is made of. */

export const resourceId = () => z.string().regex(RESOURCE_ID, "must be a Rancher id such as 1a5");

export const count = (minimum: number) => z.int().min(minimum);

/**
 * The config's own type marker, as Rancher clients send it back: the driver's name (Rancher 1.6's
 * UI and webhook-service's types) or the config field's; dropped after validation.
 */
export const configType = (driver: string) => z.enum([driver, `${driver}Config`]).optional();

export const maxTriggersPerMinute = () =>
  count(1)
    .max(100_000)
    .optional()
    .meta({ description: "deliveries a minute before the rest are answered ignored (default 600)" });

/** Labels as selectors name them: every pair must match, an empty value matches any value. */
export const labelSelector = (meta: z.GlobalMeta) =>
  z
    .record(z.string().min(1).max(253), z.string().max(253))
    .refine((selector) => Object.keys(selector).length > 0, {
      message: "must name at least one label",
      params: { code: "MissingRequired", prefixField: true },
    })
    .refine((selector) => Object.keys(selector).length <= 32, {
      message: "may name at most 32 labels",
      params: { code: "MaxLimitExceeded", prefixField: true },
    })
    .meta(meta);

/** How the form names the rule's fields: each kind says it in its own words. */
export interface ScaleRuleWords {
  action: string;
  actionOptions: Record<string, string>;
  amount: string;
  min: string;
  max: string;
  cooldownSeconds: string;
  cooldownHint?: string;
  onResolved: string;
  /** What the empty form offers as the maximum. */
  maxFormValue?: string;
}

const RESOLVED_OPTIONS = { ignore: "do nothing", reverse: "scale the other way" };

/** The rule of drivers that move a count within [min, max]: a service's scale, a host group's size. */
export const scaleRuleFields = (words: ScaleRuleWords) => ({
  action: z.enum(["up", "down"]).meta({ label: words.action, optionLabels: words.actionOptions }),
  amount: count(1).meta({
    label: words.amount,
    description: "By: how much one trigger changes the scale",
    formValue: "1",
  }),
  min: count(0).default(1).meta({ label: words.min, description: "Minimum Scale" }),
  max: count(1)
    .default(100)
    .meta({ label: words.max, description: "Maximum Scale", formValue: words.maxFormValue }),
  cooldownSeconds: count(0).default(0).meta({ label: words.cooldownSeconds, hint: words.cooldownHint }),
  onResolved: z
    .enum(["ignore", "reverse"])
    .default("ignore")
    .meta({ label: words.onResolved, optionLabels: RESOLVED_OPTIONS }),
  maxTriggersPerMinute: maxTriggersPerMinute(),
});

/** `max` below `min` is reported on `max`, where the user has to change something. */
export const maxNotBelowMin = (config: { min: number; max: number }, ctx: z.RefinementCtx) => {
  if (config.max < config.min) {
    ctx.addIssue({
      code: "custom",
      path: ["max"],
      message: `max (${config.max}) must not be below min (${config.min})`,
      params: { code: "MaxLimitExceeded" },
    });
  }
};
