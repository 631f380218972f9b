import type { CattleResult, Service } from "../../cattle/types";
import type { Decision } from "../../domain/execution";
import type { BatchStep, ScaleRule } from "../shared/scaling";

/**
 * The vocabulary of the scaleService write protocol (protocol.ts, docs/how-it-works.md, "The write
 * protocol"): its timings, the events it is handed, the effects it answers with, and the world it
 * is shown with each event.
 */

/** How long a trigger's sender waits for its answer: then it is acknowledged `pending`, or told 503. */
export const TRIGGER_DEADLINE_MS = 6_000;
/**
 * How long after it was sent a write whose answer never came may still be applied by Cattle (which
 * holds a write up to about 3 s for a lock before it runs it): a read after that which does not
 * show the write means it was not applied.
 */
export const WRITE_FATE_WINDOW_MS = 10_000;
/** Triggers acknowledged `pending` that still cannot be written after this long are failed, with the reason. */
export const PENDING_GIVE_UP_MS = 30 * 60_000;
/** How long a write's answer is waited for before its fate is read back from the service instead. */
export const READ_BACK_MS = 1_000;
/** Pause between looks at a busy service or at Cattle after a failure: doubled each time, up to the maximum. */
export const PAUSE_MIN_MS = 150;
export const PAUSE_MAX_MS = 2_000;
/** When the alarm looks again at acknowledged work, should the object have been idle meanwhile. */
export const ALARM_MS = 5_000;

/** A trigger as the protocol knows it; `seq` (arrival order) names it in events and effects. */
export interface ProtocolStep {
  seq: number;
  receiverId: string;
  version: number;
  rule: ScaleRule;
  cooldownSeconds: number;
  arrived: number;
  /** Whether its delivery has an identity: a retry of it is then told from a new trigger. */
  identified: boolean;
  /** Its sender still waits for the answer. */
  waiting: boolean;
  /** It was acknowledged `pending`: its execution is owed an outcome. */
  owed: boolean;
}

/** The one write Cattle may or may not have applied. */
export interface ProtocolWrite {
  /** Names the write in `send` and `written`: an answer to an older write is told apart. */
  id: number;
  from: number;
  to: number;
  sentAt: number;
  planned: [ProtocolStep, BatchStep][];
  /** The cooldowns the write starts, kept if it lands. */
  cooldowns: Map<string, number>;
  /** Whether the next read tells its fate: Cattle answered (or it never left), so it is done with it. */
  settled: boolean;
  /** Its answer is still awaited. */
  inFlight: boolean;
}

export type Timer = "deadline" | "readBack" | "pause";

/** What the protocol asks of the target each time it is called: the time, cooldowns, liveness. */
export interface World {
  now: number;
  /** When each receiver last applied a change. */
  cooldowns(): Map<string, number>;
  /** Whether the receiver is live at this version (delete and regenerate fence). */
  live(receiverId: string, version: number): boolean;
}

export type ProtocolEvent =
  | { kind: "arrived"; step: Omit<ProtocolStep, "waiting" | "owed">; target: ServiceTarget }
  /** What storage kept before a restart: the unresolved write and the acknowledged triggers. */
  | {
      kind: "restored";
      /** Unknown only when nothing kept names it: no live receiver, and a write kept without it. */
      target?: ServiceTarget;
      write?: Omit<ProtocolWrite, "id" | "settled" | "inFlight">;
      queue: ProtocolStep[];
    }
  | { kind: "alarm" }
  | { kind: "fence"; receiverId: string; change: "deleted" | "regenerated" }
  | { kind: "timer"; timer: Timer; token: number }
  | { kind: "read"; result: CattleResult<Service> }
  | { kind: "written"; write: number; result: CattleResult<Service> }
  /** An effect could not be carried out (a bug, not Cattle): nothing of it may be taken as done. */
  | { kind: "broke" };

export interface ServiceTarget {
  projectId: string;
  serviceId: string;
}

/**
 * One change of what storage keeps. A `persist` effect's changes are made in one transaction, in
 * this order: the executions of `record` (and, for a `pending` one, its kept trigger), then the
 * others as listed. Only after it commits are the senders of the recorded triggers answered.
 */
export type Change =
  /** New executions, one per trigger; `pending` ones are kept as owed. */
  | { kind: "record"; steps: [seq: number, decision: Decision][] }
  /** Owed triggers end: their `pending` executions are rewritten and they are no longer kept. */
  | { kind: "settle"; steps: [seq: number, decision: Decision][] }
  /** An owed trigger is no longer kept, and its execution left as it is (its receiver was deleted). */
  | { kind: "drop"; seq: number }
  /** Cooldowns that start now that a change is known to have landed. */
  | { kind: "cooldowns"; changes: Map<string, number> }
  /** The unresolved write as it stands, with its triggers (kept before it is sent). */
  | { kind: "keepWrite"; write: ProtocolWrite }
  | { kind: "resolveWrite" };

export type Effect =
  | { kind: "read" }
  | { kind: "send"; write: number; to: number }
  | { kind: "persist"; changes: Change[] }
  /** Answers a sender without recording anything: nothing of its trigger was written. */
  | { kind: "answer"; seq: number; result: { kind: "revoked" } | { kind: "unavailable"; message: string } }
  | { kind: "arm"; timer: Timer; token: number; ms: number }
  | { kind: "disarm"; timer: Timer }
  | { kind: "alarm"; ms: number };
