import { DurableObject } from "cloudflare:workers";
import { newId } from "../api/ids";
import { CattleClient, TRIGGER_RETRY } from "../cattle/client";
import type { CattleFailure } from "../cattle/types";
import { unscalableReason } from "../drivers/scale-service";
import { planSequence, type ScaleStep } from "../drivers/scaling";
import type { Delivery, Execution, LiveReceiver, TriggerResult } from "./target-types";

/** History kept per receiver. */
export const EXECUTIONS_KEPT = 100;
/**
 * How long a batch may keep retrying its read-modify-write before it is answered 503. Senders
 * such as Alertmanager time out around 10 s and retry 5xx themselves, so give up well before.
 */
const CYCLE_DEADLINE_MS = 6_000;
const CYCLE_BACKOFF_MS = 150;
const RETRY_AFTER_SECONDS = 5;

interface Pending {
  receiver: LiveReceiver;
  delivery: Delivery;
  resolve: (result: TriggerResult) => void;
}

type Decision = { outcome: Execution["outcome"]; reason: string; from?: number; to?: number };

/** A scale write whose answer never came: Cattle may or may not have applied it. */
interface UncertainWrite {
  to: number;
  steps: ScaleStep[];
}

const failed = (reason: string): Decision => ({ outcome: "failed", reason });

/**
 * One per target (for scaleService: one per service). It holds the live version of each of its
 * receivers, so revocation is immediate and global, and it owns the read-modify-write against
 * Cattle: triggers are queued and applied in arrival order, and all triggers that arrive while a
 * Cattle exchange is in flight are combined into the next single read-and-update.
 */
export class TargetObject extends DurableObject<Env> {
  readonly #sql: SqlStorage;
  readonly #receivers = new Map<string, LiveReceiver>();
  #pending: Pending[] = [];
  #draining = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      this.#sql.exec(`
        CREATE TABLE IF NOT EXISTS receivers (id TEXT PRIMARY KEY, record TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS executions (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          receiver_id TEXT NOT NULL,
          body TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS executions_by_receiver ON executions (receiver_id, seq);
      `);
      for (const row of this.#sql.exec<{ record: string }>("SELECT record FROM receivers")) {
        const receiver = JSON.parse(row.record) as LiveReceiver;
        this.#receivers.set(receiver.id, receiver);
      }
    });
  }

  /** Makes a receiver live at its version (create), replacing any earlier version. */
  register(receiver: LiveReceiver): void {
    this.#sql.exec(
      "INSERT INTO receivers (id, record) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record",
      receiver.id,
      JSON.stringify(receiver),
    );
    this.#receivers.set(receiver.id, receiver);
  }

  /** Moves a receiver to a new version (regenerate): tokens of the old one stop working now. */
  rotate(receiverId: string): number | null {
    const receiver = this.#receivers.get(receiverId);
    if (!receiver) return null;
    const next = { ...receiver, version: receiver.version + 1 };
    this.register(next);
    return next.version;
  }

  /** Removes a receiver and its history (delete): its tokens stop working now. */
  revoke(receiverId: string): void {
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM receivers WHERE id = ?", receiverId);
      this.#sql.exec("DELETE FROM executions WHERE receiver_id = ?", receiverId);
    });
    this.#receivers.delete(receiverId);
  }

  /** The receiver's latest executions, newest first. */
  executions(receiverId: string, limit = EXECUTIONS_KEPT): Execution[] {
    return this.#sql
      .exec<{ body: string }>(
        "SELECT body FROM executions WHERE receiver_id = ? ORDER BY seq DESC LIMIT ?",
        receiverId,
        Math.min(Math.max(limit, 1), EXECUTIONS_KEPT),
      )
      .toArray()
      .map((row) => JSON.parse(row.body) as Execution);
  }

  trigger(receiverId: string, version: number, delivery: Delivery): Promise<TriggerResult> {
    const receiver = this.#live(receiverId, version);
    if (!receiver) return Promise.resolve({ kind: "revoked" });
    return new Promise((resolve) => {
      this.#pending.push({ receiver, delivery, resolve });
      void this.#drain();
    });
  }

  #live(receiverId: string, version: number): LiveReceiver | undefined {
    const receiver = this.#receivers.get(receiverId);
    return receiver && receiver.version === version ? receiver : undefined;
  }

  /**
   * Runs one batch at a time. Requests delivered while a batch waits on Cattle (the input gate is
   * open during fetch) only append to #pending, so every batch sees a stable prefix of arrivals.
   */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        try {
          await this.#applyScaleBatch(batch);
        } catch (error) {
          console.error("trigger batch failed", error instanceof Error ? error.message : "unknown error");
          for (const item of batch) {
            item.resolve({
              kind: "unavailable",
              message: "internal error",
              retryAfterSeconds: RETRY_AFTER_SECONDS,
            });
          }
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #applyScaleBatch(initial: Pending[]): Promise<void> {
    const deadline = Date.now() + CYCLE_DEADLINE_MS;
    const cattle = new CattleClient({
      baseUrl: this.env.CATTLE_URL,
      credentials: { accessKey: this.env.CATTLE_ACCESS_KEY, secretKey: this.env.CATTLE_SECRET_KEY },
      retry: TRIGGER_RETRY,
      deadline,
    });
    const [first] = initial as [Pending, ...Pending[]];
    const { projectId } = first.receiver;
    const { serviceId } = first.receiver.config;
    let batch = initial;
    let settled: [Pending, Decision][] = [];
    let uncertain: UncertainWrite | undefined;
    let failure: CattleFailure | undefined;

    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) {
        const pause = CYCLE_BACKOFF_MS * Math.min(2 ** (attempt - 2), 8);
        if (Date.now() + pause >= deadline) break;
        await sleep(pause);
        // Nothing of this batch has been applied, so triggers that arrived meanwhile can join it.
        batch = [...batch, ...this.#pending];
        this.#pending = [];
      }
      const read = await cattle.getService(projectId, serviceId);
      if (!read.ok) {
        if (read.failure.kind === "notFound") {
          const reason = `service ${serviceId} was not found in environment ${projectId}`;
          return this.#record([
            ...settled,
            ...batch.map((item): [Pending, Decision] => [item, failed(reason)]),
          ]);
        }
        failure = read.failure;
        continue;
      }
      const service = read.value;
      const current = service.scale ?? 0;
      if (uncertain) {
        // A write whose answer was lost may still have been applied. If Cattle now shows exactly
        // what it wrote, its triggers are done: applying them again would count them twice.
        if (current === uncertain.to) {
          settled = [
            ...settled,
            ...batch
              .slice(0, uncertain.steps.length)
              .map((item, i): [Pending, Decision] => [item, uncertain?.steps[i] as ScaleStep]),
          ];
          batch = batch.slice(uncertain.steps.length);
        }
        uncertain = undefined;
        if (batch.length === 0) return this.#record(settled);
      }
      const unscalable = unscalableReason(service);
      if (unscalable) {
        return this.#record([
          ...settled,
          ...batch.map((item): [Pending, Decision] => [item, failed(unscalable)]),
        ]);
      }
      const { steps, final } = planSequence(
        current,
        batch.map((item) => item.receiver.config),
      );
      if (final !== current) {
        const write = await cattle.updateService(projectId, serviceId, { scale: final });
        if (!write.ok) {
          if (write.failure.kind === "rejected") {
            const reason = "Cattle refused the new scale";
            return this.#record([
              ...settled,
              ...batch.map((item): [Pending, Decision] => [item, failed(reason)]),
            ]);
          }
          if (write.failure.kind === "unavailable") uncertain = { to: final, steps };
          failure = write.failure;
          continue;
        }
      }
      return this.#record([
        ...settled,
        ...batch.map((item, i): [Pending, Decision] => [item, steps[i] as ScaleStep]),
      ]);
    }
    const message = failure ? describeFailure(failure) : "Cattle is unavailable";
    // Triggers settled by a write that did land are answered as applied; only the rest are retried.
    if (settled.length > 0) this.#record(settled);
    for (const item of batch)
      item.resolve({ kind: "unavailable", message, retryAfterSeconds: RETRY_AFTER_SECONDS });
  }

  /** Records every decision before any is answered: an acknowledged trigger is never lost. */
  #record(decisions: [Pending, Decision][]): void {
    const now = Date.now();
    const executions = decisions.map(([item, decision]): [Pending, Execution] => [
      item,
      {
        id: newId("x", now),
        receiverId: item.receiver.id,
        driver: item.receiver.driver,
        ...decision,
        at: now,
        ...(item.delivery.userAgent ? { sender: item.delivery.userAgent } : {}),
      },
    ]);
    this.ctx.storage.transactionSync(() => {
      const touched = new Set<string>();
      for (const [, execution] of executions) {
        this.#sql.exec(
          "INSERT INTO executions (receiver_id, body) VALUES (?, ?)",
          execution.receiverId,
          JSON.stringify(execution),
        );
        touched.add(execution.receiverId);
      }
      for (const receiverId of touched) {
        this.#sql.exec(
          `DELETE FROM executions WHERE receiver_id = ?1 AND seq <= (
             SELECT seq FROM executions WHERE receiver_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)`,
          receiverId,
          EXECUTIONS_KEPT,
        );
      }
    });
    for (const [item, execution] of executions) item.resolve({ kind: "decided", execution });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function describeFailure(failure: CattleFailure): string {
  switch (failure.kind) {
    case "unauthorized":
    case "forbidden":
      return "Cattle refused the service's credentials (check CATTLE_ACCESS_KEY and CATTLE_SECRET_KEY)";
    case "conflict":
      return "the service stayed busy in Cattle; try again";
    default:
      return "Cattle is unavailable; try again";
  }
}
