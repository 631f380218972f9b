/** What a delivery asks for: firing and plain deliveries run the receiver's action; resolved ones follow `onResolved`. */
export type Signal = "firing" | "resolved" | "plain";

/** What a registry says was pushed: one repository, one or more tags. */
export interface Push {
  repository: string;
  tags: string[];
  /**
   * Tag → the manifest digest (`sha256:…`) pushed under it, for the formats whose payload carries
   * one (docs/registries.md): it tells a re-push of a tag with new content from a repeat of the
   * same image. Absent when the format carries none; read it with `digestOf`.
   */
  digests?: Record<string, string>;
}

/** Facts about one delivery to a trigger URL, as the Worker read them. */
export interface Delivery {
  userAgent?: string;
  signal?: Signal;
  /** SHA-256 of the delivery's identity, when it has one: the de-duplication key. */
  identityKey?: string;
  alertName?: string;
  alertStatus?: string;
  /** For serviceUpgrade: what the registry says was pushed (an event list may hold several), read by the Worker. */
  pushes?: Push[];
  /** For serviceUpgrade: why the payload asks for nothing (an event other than a push, say). */
  ignoredBecause?: string;
}
