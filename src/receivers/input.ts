import * as z from "zod";
import type { DriverConfig } from "../domain/driver";
import type { DestinationInput } from "../domain/notifications";
import { DRIVER_NAMES, DRIVERS, driverNamed, driverOf } from "../drivers";
import { notificationFields } from "../notifications/destinations";
import { type SenderVerificationInput, senderVerificationSchema } from "../senders/verification";
import { lazy } from "../util/lazy";

/**
 * Fields a receiver answer carries that a client may send back as it last saw them (Rancher's UI
 * clones a receiver that way, and a Go client posts what it fetched): they are the service's to set,
 * so they are ignored in a create body (docs/rancher-ui.md).
 */
export const READ_ONLY_FIELDS = new Set([
  "id",
  "links",
  "actions",
  "actionLinks",
  "state",
  "url",
  "projectId",
  "created",
  "createdTS",
  "uuid",
  "baseType",
  "importedFrom",
  "transitioning",
  "transitioningMessage",
  "transitioningProgress",
]);

/** The config of webhook-service's Rancher Pipeline driver, which this service does not have. */
const FORWARD_POST_CONFIG = "forwardPostConfig";

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isEmpty = (value: unknown) => value === null || (isObject(value) && Object.keys(value).length === 0);

/**
 * A create body as Rancher 1.6's clients send it, brought to this API's own shape: read-only fields
 * dropped, the other drivers' configs dropped where they are `null` or `{}` (with values they are
 * still refused), and the driver's own config normalized by the driver.
 */
function normalized(body: unknown): unknown {
  if (!isObject(body)) return body;
  const definition = driverNamed(body.driver);
  const out: Json = {};
  for (const [key, value] of Object.entries(body)) {
    if (READ_ONLY_FIELDS.has(key)) continue;
    const ownConfig = definition?.configField === key;
    const otherConfig =
      !ownConfig &&
      (key === FORWARD_POST_CONFIG || DRIVER_NAMES.some((name) => DRIVERS[name].configField === key));
    if (otherConfig && isEmpty(value)) continue;
    out[key] = ownConfig && isObject(value) && definition.normalize ? definition.normalize(value) : value;
  }
  return out;
}

/** The body of `POST /v1-webhooks/receivers`: a name, a driver and that driver's config (docs/api.md, docs/rancher-ui.md). */
/**
 * Why a receiver of `receiver`'s kind can have no sender check (its sender cannot send anything a
 * check verifies, so every delivery would be refused), or undefined if it can have one.
 */
export function senderCheckRefusal(receiver: DriverConfig): string | undefined {
  return driverOf(receiver).senderCheckRefusal?.(receiver.config as never);
}

export const receiverCreateSchema = lazy(() =>
  z
    .unknown()
    .superRefine((body, ctx) => {
      if (isObject(body) && body.driver === "forwardPost") {
        ctx.addIssue({
          code: "custom",
          path: ["driver"],
          message: "forwardPost (webhook-service's Rancher Pipeline driver) is not supported by this service",
          params: { code: "InvalidOption" },
        });
      }
    })
    .pipe(z.preprocess(normalized, bodySchema()))
    .transform((body, ctx) => {
      const definition = DRIVERS[body.driver];
      const parsed = definition
        .configSchema()
        .safeParse((body as Record<string, unknown>)[definition.configField], { reportInput: true });
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          ctx.addIssue({ ...issue, path: [definition.configField, ...issue.path] } as z.core.$ZodRawIssue);
        }
        return z.NEVER;
      }
      const refusal = body.senderVerification
        ? senderCheckRefusal({ driver: body.driver, config: parsed.data } as DriverConfig)
        : undefined;
      if (refusal) {
        ctx.addIssue({
          code: "custom",
          path: ["senderVerification", "scheme"],
          message: refusal,
          params: { code: "InvalidOption" },
        });
        return z.NEVER;
      }
      // A create's destinations are all new, whatever ids a client copied from another receiver: each needs its URL.
      const missing = body.notifications?.findIndex((destination) => destination.url === undefined) ?? -1;
      if (missing >= 0) {
        ctx.addIssue({
          code: "custom",
          path: ["notifications", missing, "url"],
          message: "is required: a create makes every destination new",
          params: { code: "MissingRequired" },
        });
        return z.NEVER;
      }
      return {
        name: body.name,
        driver: body.driver,
        config: parsed.data,
        ...(body.senderVerification ? { senderVerification: body.senderVerification } : {}),
        ...(body.notifications == null
          ? {}
          : { notifications: body.notifications.map(({ kind, url, on }) => ({ kind, url, on })) }),
        ...(body.notifyWindowSeconds == null ? {} : { notifyWindowSeconds: body.notifyWindowSeconds }),
      } as ReceiverCreate;
    }),
);

const bodySchema = () =>
  z
    .strictObject({
      type: z.literal("receiver").optional(),
      name: z.string().trim().min(1).max(128),
      driver: z.enum(DRIVER_NAMES),
      // Config objects of every driver, so a mismatch is reported as such and not as an unknown field.
      ...Object.fromEntries(DRIVER_NAMES.map((name) => [DRIVERS[name].configField, z.unknown().optional()])),
      [FORWARD_POST_CONFIG]: z.unknown().optional(),
      senderVerification: senderVerificationSchema().optional(),
      ...notificationFields(),
    })
    .superRefine((body, ctx) => {
      const expected = DRIVERS[body.driver].configField;
      for (const field of [...DRIVER_NAMES.map((name) => DRIVERS[name].configField), FORWARD_POST_CONFIG]) {
        if (field !== expected && (body as Record<string, unknown>)[field] !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [field],
            message: `${field} does not belong to a ${body.driver} receiver (use ${expected})`,
            params: { code: "InvalidOption" },
          });
        }
      }
    });

export type ReceiverCreate = {
  name: string;
  senderVerification?: SenderVerificationInput;
  /** A create's destinations are all new: none names an id. */
  notifications?: DestinationInput[];
  notifyWindowSeconds?: number;
} & DriverConfig;

/** The optional body of `?action=regenerate`: a new sender verification, or `null` to drop it. */
export const regenerateSchema = lazy(() =>
  z.strictObject({
    senderVerification: senderVerificationSchema().nullable().optional(),
  }),
);

export type RegenerateInput = z.output<ReturnType<typeof regenerateSchema>>;
