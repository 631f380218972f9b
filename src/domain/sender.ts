/**
 * Sender checks: optional proof, beyond the secret URL, that a delivery comes from the sender a
 * receiver was made for (src/senders/verification.ts checks them).
 */
export type SenderScheme = "bearer" | "basic" | "github" | "grafana" | "standardWebhooks";

/** What may be shown of a receiver's sender verification: the scheme and where it looks, no secret. */
export type SenderVerificationView = {
  scheme: SenderScheme;
  header?: string;
  timestampHeader?: string;
};

/** What the target keeps to check deliveries; base64 throughout. */
export type SenderCheck =
  | { scheme: "bearer" | "basic"; salt: string; digest: string }
  | { scheme: "github" | "standardWebhooks"; key: string }
  | { scheme: "grafana"; key: string; header: string; timestampHeader?: string };

/** The parts of a delivery a check may look at. Header names are lower case. */
export interface SenderProof {
  headers: Record<string, string>;
  body: Uint8Array;
}
