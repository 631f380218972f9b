import type { DriverConfig } from "./driver";
import type { DestinationView, NotifySettings } from "./notifications";
import type { SenderCheck, SenderVerificationView } from "./sender";

/** A receiver as stored. The token is never stored: it is derived by signing this record. */
export type ReceiverRecord = DriverConfig & {
  id: string;
  projectId: string;
  name: string;
  /** Name of the target object that owns the receiver's live version and its executions. */
  target: string;
  /** Bumped by regenerate; tokens of other versions are refused by the target. */
  version: number;
  created: number;
  /** Which sender verification the receiver asks for; its secret lives only in the target object. */
  senderVerification?: SenderVerificationView;
  /** Where its messages go, as answers show them; the URLs and secrets live only in the target object. */
  notifications?: DestinationView[];
  /** Executions decided within this many seconds go out as one message (docs/notifications.md). */
  notifyWindowSeconds?: number;
  /** The webhook-service generic object the receiver was imported from (docs/migrating.md). */
  importedFrom?: string;
};

/** What a target needs to know of a receiver to decide its triggers. */
export type LiveReceiver = DriverConfig & {
  id: string;
  projectId: string;
  name: string;
  version: number;
  /** How deliveries must prove their sender, when the receiver asks for it. */
  senderCheck?: SenderCheck;
  /** Where its messages go, with the URLs and secrets (docs/notifications.md). */
  notify?: NotifySettings;
};

/** A live receiver of one kind, as the code that serves only that kind sees it. */
export type LiveReceiverOf<D extends DriverConfig["driver"]> = Extract<LiveReceiver, { driver: D }>;

/** Copies the driver and its config as one value, keeping TypeScript's knowledge that they belong together. */
export const driverConfigOf = ({ driver, config }: DriverConfig): DriverConfig =>
  ({ driver, config }) as DriverConfig;
