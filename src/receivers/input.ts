import { z } from "zod";
import type { DriverConfig } from "../domain/driver";
import { DRIVER_NAMES, DRIVERS } from "../drivers";
import { type SenderVerificationInput, senderVerificationSchema } from "../senders/verification";
import { lazy } from "../util/lazy";

/** The body of `POST /v1-webhooks/receivers`: a name, a driver and that driver's config (CONTRACT §3). */
export const receiverCreateSchema = lazy(() =>
  z
    .strictObject({
      type: z.literal("receiver").optional(),
      name: z.string().trim().min(1).max(128),
      driver: z.enum(DRIVER_NAMES),
      // Config objects of every driver, so a mismatch is reported as such and not as an unknown field.
      ...Object.fromEntries(DRIVER_NAMES.map((name) => [DRIVERS[name].configField, z.unknown().optional()])),
      senderVerification: senderVerificationSchema.optional(),
    })
    .superRefine((body, ctx) => {
      const expected = DRIVERS[body.driver].configField;
      for (const name of DRIVER_NAMES) {
        const field = DRIVERS[name].configField;
        if (field !== expected && (body as Record<string, unknown>)[field] !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [field],
            message: `${field} does not belong to a ${body.driver} receiver (use ${expected})`,
            params: { code: "InvalidOption" },
          });
        }
      }
    })
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
      return {
        name: body.name,
        driver: body.driver,
        config: parsed.data,
        ...(body.senderVerification ? { senderVerification: body.senderVerification } : {}),
      } as ReceiverCreate;
    }),
);

export type ReceiverCreate = { name: string; senderVerification?: SenderVerificationInput } & DriverConfig;

/** The optional body of `?action=regenerate`: a new sender verification, or `null` to drop it. */
export const regenerateSchema = lazy(() =>
  z.strictObject({
    senderVerification: senderVerificationSchema.nullable().optional(),
  }),
);

export type RegenerateInput = z.output<ReturnType<typeof regenerateSchema>>;
