import type { CattleFactory } from "../cattle/client";
import type { Clock } from "../domain/clock";
import type { Delivery } from "../domain/delivery";
import type { Driver } from "../domain/driver";
import type { Execution } from "../domain/execution";
import type { TriggerResult } from "../domain/ports";
import type { LiveReceiver } from "../domain/receiver";
import type { SenderCheck, SenderProof } from "../domain/sender";
import { DRIVER_NAMES, driverOf } from "../drivers";
import type { Executor, ExecutorContext } from "../drivers/definition";
import { migrate } from "../storage/migrations";
import type { ObjectStorage } from "../storage/object-storage";
import { Admission } from "./admission";
import { TargetHistory } from "./history";
import { TARGET_TABLES } from "./schema";

/** What a target needs from its runtime besides storage: time, and a way to reach Cattle. */
export interface TargetDependencies {
  clock: Clock;
  cattle: CattleFactory;
}

/**
 * One per target (for scaleService: one per service), whatever runs it: a Durable Object on
 * Cloudflare, an in-process object on Deno, a test with a fake Cattle and a fake clock. It holds
 * the live version of each of its receivers, so revocation is immediate and global, and it owns
 * everything that must be exact. Admission decides what reaches a driver; the driver's executor
 * decides the rest.
 */
export class TargetCore {
  readonly #admission: Admission;
  readonly #history: TargetHistory;
  readonly #context: ExecutorContext;
  readonly #executors = new Map<Driver, Executor<Driver>>();

  /** Storage calls are synchronous, so the constructor has migrated and loaded everything before any call. */
  constructor(storage: ObjectStorage, dependencies: TargetDependencies) {
    migrate(storage, TARGET_TABLES);
    this.#history = new TargetHistory(storage, dependencies.clock);
    this.#admission = new Admission(storage, dependencies.clock, this.#history);
    this.#context = {
      storage,
      ...dependencies,
      history: this.#history,
      live: (receiverId, version) => this.#admission.live(receiverId, version),
    };
  }

  register(receiver: LiveReceiver): void {
    this.#admission.register(receiver);
  }

  rotate(receiverId: string, senderCheck?: SenderCheck | null): number | null {
    const version = this.#admission.rotate(receiverId, senderCheck);
    if (version !== null) this.#fence(receiverId, "regenerated");
    return version;
  }

  revoke(receiverId: string): void {
    this.#admission.revoke(receiverId);
    this.#fence(receiverId, "deleted");
  }

  #fence(receiverId: string, change: "deleted" | "regenerated"): void {
    for (const driver of DRIVER_NAMES) this.#executor(driver).fence?.(receiverId, change);
  }

  /** The receiver's latest executions, newest first. */
  executions(receiverId: string, limit?: number): Execution[] {
    return this.#history.executions(receiverId, limit);
  }

  /** The receivers of `ids` live here, with their sender checks: what an export and a restore ask. */
  liveReceivers(ids: readonly string[]): LiveReceiver[] {
    return this.#admission.liveOf(ids);
  }

  trigger(
    receiverId: string,
    version: number,
    delivery: Delivery,
    proof?: SenderProof,
  ): Promise<TriggerResult> {
    return this.#admission.admit(receiverId, version, delivery, proof, (receiver, admitted) =>
      this.#executor(receiver.driver).decide(receiver as never, admitted),
    );
  }

  /** Follow-ups the executors scheduled (upgrades): each runs its own. */
  async alarm(): Promise<void> {
    for (const driver of DRIVER_NAMES) await this.#executor(driver).alarm?.();
  }

  #executor(driver: Driver): Executor<Driver> {
    let executor = this.#executors.get(driver);
    if (!executor) {
      executor = driverOf({ driver }).executor(this.#context) as Executor<Driver>;
      this.#executors.set(driver, executor);
    }
    return executor;
  }
}
