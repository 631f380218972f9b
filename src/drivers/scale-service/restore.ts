import type { Delivery } from "../../domain/delivery";
import type { TriggerResult } from "../../domain/ports";
import type { LiveReceiver, LiveReceiverOf } from "../../domain/receiver";
import type { BatchStep } from "../shared/scaling";
import type { ProtocolEvent, ProtocolStep, ServiceTarget } from "./protocol";
import type { StoredStep, WriteLog } from "./write-log";

/** A trigger as the driver keeps it: what storage and the history need, and its sender's answer. */
export interface StepRecord {
  stored: StoredStep;
  receiver: LiveReceiverOf<"scaleService">;
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
 * `restored` event for the protocol and the records the driver keeps of them. Triggers of receivers
 * no longer live at their version are left out: their URL is refused, and the write's fate settles
 * the rest. `seq` is the highest arrival number kept, so new triggers come after.
 */
export function restoreFrom(
  log: WriteLog,
  live: (receiverId: string, version: number) => LiveReceiver | undefined,
): {
  records: StepRecord[];
  seq: number;
  target: ServiceTarget | undefined;
  event?: Extract<ProtocolEvent, { kind: "restored" }>;
} {
  const records: StepRecord[] = [];
  let seq = 0;
  let target: ServiceTarget | undefined;
  const restored = (stored: StoredStep): ProtocolStep | undefined => {
    seq = Math.max(seq, stored.seq);
    const receiver = live(stored.receiverId, stored.version);
    if (receiver?.driver !== "scaleService") return undefined;
    target ??= { projectId: receiver.projectId, serviceId: receiver.config.serviceId };
    records.push({ stored, receiver, delivery: stored.delivery });
    return { ...protocolStep(stored), identified: stored.delivery.identityKey !== undefined };
  };
  const write = log.unresolved();
  const inWrite = new Set(write?.steps.flatMap(({ step }) => (step.executionId ? [step.executionId] : [])));
  const planned = write?.steps.flatMap(({ step: stored, decision }): [ProtocolStep, BatchStep][] => {
    const step = restored(stored);
    return step ? [[step, decision]] : [];
  });
  const queue = log.pending().flatMap((stored) => {
    if (stored.executionId && inWrite.has(stored.executionId)) {
      seq = Math.max(seq, stored.seq);
      return [];
    }
    const step = restored(stored);
    return step ? [step] : [];
  });
  if (!target || (!write && queue.length === 0)) return { records, seq, target };
  return {
    records,
    seq,
    target,
    event: {
      kind: "restored",
      target,
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
