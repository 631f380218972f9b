import type { Delivery } from "../../domain/delivery";
import type { TriggerResult } from "../../domain/ports";
import type { LiveReceiver, LiveReceiverOf } from "../../domain/receiver";
import type { BatchStep } from "../shared/scaling";
import type { ProtocolEvent, ProtocolStep, ServiceTarget } from "./protocol";
import type { StoredStep, WriteLog } from "./write-log";

/** A trigger as the driver keeps it: what storage and the history need, and its sender's answer. */
export interface StepRecord {
  stored: StoredStep;
  /**
   * The receiver as it is now, to record the trigger's execution under; absent once it was deleted
   * (its history went with it, so nothing more is recorded of it).
   */
  receiver?: LiveReceiverOf<"scaleService">;
  delivery: Delivery;
  /** Answers the trigger's sender; absent once answered (or after a restart: nobody waits). */
  answer?: (result: TriggerResult) => void;
}

/** A kept trigger as the protocol knows it; after a restart nobody waits for it. */
export const protocolStep = (stored: StoredStep): Omit<ProtocolStep, "identified"> => ({
  seq: stored.seq,
  receiverId: stored.receiverId,
  version: stored.version,
  rule: stored.rule,
  cooldownSeconds: stored.cooldownSeconds,
  arrived: stored.arrived,
  waiting: false,
  owed: stored.executionId !== undefined,
});

/**
 * What a scaleService target kept before a restart (docs/how-it-works.md, "Crashes and restarts"):
 * the write that may have landed, with its triggers, and the triggers acknowledged `pending`, as the
 * `restored` event for the protocol and the records the driver keeps of them. Every kept trigger
 * comes back, whatever became of its receiver meanwhile: a write already sent is settled by its
 * fate (and nothing is written over it before that fate is known), and the protocol fails the
 * acknowledged triggers of a receiver deleted or regenerated before they were written. `seq` is
 * the highest arrival number kept, so new triggers come after.
 */
export function restoreFrom(
  log: WriteLog,
  receiverOf: (receiverId: string) => LiveReceiver | undefined,
): {
  records: StepRecord[];
  seq: number;
  target: ServiceTarget | undefined;
  event?: Extract<ProtocolEvent, { kind: "restored" }>;
} {
  const records: StepRecord[] = [];
  let seq = 0;
  const write = log.unresolved();
  // A write kept before targets were stored with it names its target only through a receiver.
  let target: ServiceTarget | undefined = write?.target;
  const restored = (stored: StoredStep): ProtocolStep => {
    seq = Math.max(seq, stored.seq);
    const found = receiverOf(stored.receiverId);
    const receiver = found?.driver === "scaleService" ? found : undefined;
    if (receiver) target ??= { projectId: receiver.projectId, serviceId: receiver.config.serviceId };
    records.push({ stored, ...(receiver ? { receiver } : {}), delivery: stored.delivery });
    return { ...protocolStep(stored), identified: stored.delivery.identityKey !== undefined };
  };
  const inWrite = new Set(write?.steps.flatMap(({ step }) => (step.executionId ? [step.executionId] : [])));
  const planned = write?.steps.map(({ step, decision }): [ProtocolStep, BatchStep] => [
    restored(step),
    decision,
  ]);
  const queue = log.pending().flatMap((stored) => {
    if (stored.executionId && inWrite.has(stored.executionId)) {
      seq = Math.max(seq, stored.seq);
      return [];
    }
    return [restored(stored)];
  });
  if (!write && queue.length === 0) return { records, seq, target };
  return {
    records,
    seq,
    target,
    event: {
      kind: "restored",
      ...(target ? { target } : {}),
      queue,
      ...(write && planned
        ? {
            write: {
              from: write.from,
              to: write.to,
              sentAt: write.sentAt,
              planned,
              cooldowns: new Map(write.cooldowns),
            },
          }
        : {}),
    },
  };
}
