import type { z } from "zod";
import type { CattleApi, CattleFactory } from "../cattle/client";
import type { Service } from "../cattle/types";
import type { Clock } from "../domain/clock";
import type { Delivery } from "../domain/delivery";
import type { ConfigOf, Driver } from "../domain/driver";
import type { Decision, Execution } from "../domain/execution";
import type { TriggerResult } from "../domain/ports";
import type { LiveReceiver, LiveReceiverOf } from "../domain/receiver";
import type { TableSet } from "../storage/migrations";
import type { ObjectStorage } from "../storage/object-storage";
import type { ConfigField } from "./shared/config-fields";

/**
 * Everything one kind of receiver knows, gathered in its folder (src/drivers/<kind>/) and listed
 * once in the registry (src/drivers/index.ts).
 */
export interface DriverDefinition<D extends Driver> {
  readonly name: D;
  /** The UI's name of the kind (README.md). */
  readonly label: string;
  /** The create body's field that carries the config: `scaleServiceConfig`. */
  readonly configField: `${D}Config`;
  /** The config as a client sends it, validated and with its defaults; built on first use. */
  configSchema(): z.ZodType<ConfigOf<D>>;
  /** The config's fields as its Rancher schema and the page's form describe them. */
  fields(): ConfigField[];
  /**
   * Whether the page's select for a field with `control: "service"` offers this service of the
   * environment: one a receiver of this kind can act on, as `resolveTarget` would accept it. A kind
   * without it offers every service.
   */
  offersService?(service: Service): boolean;
  /**
   * A config as older clients send it, brought to this service's rules before validation: the
   * names and values Rancher 1.6's UI and webhook-service's own types used (docs/rancher-ui.md).
   */
  normalize?(config: Record<string, unknown>): Record<string, unknown>;
  /**
   * Why a receiver of this config can have no sender check, when what sends its deliveries can
   * send nothing a check verifies (every delivery would be refused); undefined if it can have one.
   */
  senderCheckRefusal?(config: ConfigOf<D>): string | undefined;
  /** A config as webhook-service stored it, in this service's terms, for an import (docs/migrating.md). */
  fromWebhookService?(config: Record<string, unknown>): Record<string, unknown>;
  /**
   * A stored config as a create body would send it, for an export (docs/backup.md): a default the
   * schema fills in but refuses to be sent is left out, so a restore's validation gives back the
   * very config, and with it the very Trigger URL. Absent, the stored config is sent as it is.
   */
  asCreateConfig?(config: ConfigOf<D>): Record<string, unknown>;
  /** The target object that owns the receivers of this config. */
  targetName(projectId: string, config: ConfigOf<D>): string;
  /**
   * Checks, with the caller's own key, that what a new receiver points at exists and can be acted
   * on, and names the target object that will own it.
   */
  resolveTarget(config: ConfigOf<D>, projectId: string, cattle: CattleApi): Promise<Resolution>;
  /**
   * What a message about this receiver's executions names as acted on (a service's name), read
   * with the caller's key when its notifications are set; undefined when there is no one thing.
   */
  targetLabel?(config: ConfigOf<D>, projectId: string, cattle: CattleApi): Promise<string | undefined>;
  /** What a delivery's body asks of this kind, when the kind reads bodies of its own (registry pushes). */
  readDelivery?(
    config: ConfigOf<D>,
    body: string,
    headers: Readonly<Record<string, string>>,
  ): DeliveryReading;
  /** Decides this kind's triggers inside its target object. */
  executor(context: ExecutorContext): Executor<D>;
  /**
   * The tables its executor keeps in the target object's storage, by component: a change that a
   * rollback must survive is a component of its own (docs/storage.md, "Rolling back a deploy").
   */
  readonly tables?: readonly TableSet[];
  /** One line for lists: what a receiver with this config does. */
  describe(config: ConfigOf<D>, names: ResourceNames): string;
  /** The page's Add Receiver fieldset. */
  readonly fieldset: Fieldset<ConfigOf<D>>;
}

/** Names of the environment's resources, where the caller has them, to describe configs in words. */
export interface ResourceNames {
  services?: ReadonlyMap<string, string>;
}

export type Resolution = { ok: true; target: string } | { ok: false; problem: TargetProblem };

export type TargetProblem =
  /** Cattle could not be asked now. */
  | { kind: "unavailable" }
  /** The config points at something that does not exist or cannot be acted on. */
  | { kind: "invalid"; field: string; message: string }
  /** The key may not look at what the config points at. */
  | { kind: "forbidden"; field: string; message: string };

export type DeliveryReading =
  /** `identity`: what names the delivery in its own payload (a registry's event id), when it does. */
  | { ok: true; delivery: Pick<Delivery, "pushes" | "ignoredBecause">; identity?: string }
  /** The body is not what this receiver's sender sends: the sender's mistake, nothing is recorded. */
  | { ok: false; message: string };

/** The form's layout of a config: rows of fields, each field described by the config's own rules. */
export interface Fieldset<C> {
  rows: (keyof C & string)[][];
  /**
   * Fields sent only when the typed values say they apply: a select always has a value, but the
   * config refuses some fields in some combinations (deleteOption on a receiver that only adds).
   */
  sendOnlyWhen?: Partial<Record<keyof C & string, (values: (field: string) => string) => boolean>>;
}

/** One decided delivery, as it is recorded. */
export interface RecordedDecision {
  receiver: LiveReceiver;
  delivery: Delivery;
  decision: Decision;
}

/** The receiver history a target keeps, as executors use it. */
export interface History {
  /**
   * Records decisions in one transaction before any of them is answered (an acknowledged trigger is
   * never lost), with `within` run inside it for the executor's own rows, and answers each one.
   */
  record(decisions: readonly RecordedDecision[], within?: (executions: Execution[]) => void): TriggerResult[];
  /** When a receiver last applied a change, for its cooldown. */
  appliedAt(receiverId: string): number | undefined;
  /** When each receiver last applied a change: a copy a batch may plan with. */
  cooldowns(): Map<string, number>;
  /** Keeps when receivers applied a change, once it is known to have landed, in storage and in memory. */
  applied(changes: ReadonlyMap<string, number>): void;
  /** Rewrites a recorded execution, for work that went on after the answer; false if it is gone. */
  rewrite(executionId: string, change: (execution: Execution) => Execution): boolean;
}

/** What an executor is given by the target object it works in. Time and Cattle are passed in. */
export interface ExecutorContext {
  storage: ObjectStorage;
  clock: Clock;
  cattle: CattleFactory;
  history: History;
  /** The receiver as it is live now, if it still is at `version` (delete and regenerate fence). */
  live(receiverId: string, version: number): LiveReceiver | undefined;
  /** The receiver as it is live now, at whatever version; undefined once it was deleted. */
  receiver(receiverId: string): LiveReceiver | undefined;
}

/** Decides the triggers of one kind inside a target object. */
export interface Executor<D extends Driver> {
  /** A delivery that admission let through: live, from its sender, within its allowance, not a repeat. */
  decide(receiver: LiveReceiverOf<D>, delivery: Delivery): Promise<TriggerResult>;
  /** Follow-up work the executor scheduled with `storage.setAlarm`. */
  alarm?(): Promise<void>;
  /**
   * The receiver was deleted or regenerated: nothing of its older versions may be applied any more
   * (docs/how-it-works.md), except a write already sent to Cattle. Runs before the delete or regenerate is
   * answered.
   */
  fence?(receiverId: string, change: "deleted" | "regenerated"): void;
}
