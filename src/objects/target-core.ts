import { newId } from "../api/ids";
import { CattleClient, TRIGGER_RETRY } from "../cattle/client";
import type { CattleFailure, Host } from "../cattle/types";
import { cloneSourceOf, groupOf, hostCreateBody, hostsToRemove, nextHostnames } from "../drivers/scale-host";
import { unscalableReason } from "../drivers/scale-service";
import {
  type BatchStep,
  cooldownReason,
  opposite,
  type PlannedTrigger,
  planBatch,
  type ScaleRule,
} from "../drivers/scaling";
import { noMatchReason, planServiceUpgrade, tagMatches } from "../drivers/service-upgrade";
import type { Settings } from "../platform/types";
import { importSenderKey, type SenderCheck, type SenderProof, verifySender } from "../senders/verification";
import type { ObjectStorage, SqlLike } from "./storage";
import type { Delivery, Execution, LiveReceiver, TriggerResult } from "./target-types";
import { advance, isOpen, UPGRADES_SCHEMA, type UpgradeJob, UpgradeQueue } from "./upgrades";

/** History kept per receiver. */
export const EXECUTIONS_KEPT = 100;
/** A receiver's history is cut back to EXECUTIONS_KEPT every this many executions. */
const TRIM_EVERY = 16;
/** How often expired delivery identities are deleted. */
const EXPIRY_SWEEP_MS = 60_000;
/** How long a delivery identity is remembered: a repeat within it is answered, not applied. */
export const DEDUPLICATION_WINDOW_MS = 10 * 60_000;
/**
 * How long a batch may keep retrying its read-modify-write before it is answered 503. Senders
 * such as Alertmanager time out around 10 s and retry 5xx themselves, so give up well before.
 */
const CYCLE_DEADLINE_MS = 6_000;
const CYCLE_BACKOFF_MS = 150;
const RETRY_AFTER_SECONDS = 5;
/** Deliveries a minute a receiver takes before the rest are ignored, unless it sets its own. */
export const DEFAULT_TRIGGERS_PER_MINUTE = 600;
/** How long at most an evacuated host is left out of its group while Cattle removes it. */
const LEAVING_REMEMBERED_MS = 10 * 60_000;

/** A receiver of each kind, as the code paths that serve only that kind see it. */
type ScaleReceiver = Extract<LiveReceiver, { driver: "scaleService" }>;
type HostReceiver = Extract<LiveReceiver, { driver: "scaleHost" }>;
/** Receivers that move a count within [min, max]: a service's scale, or a host group's size. */
type CountReceiver = ScaleReceiver | HostReceiver;
type UpgradeReceiver = Extract<LiveReceiver, { driver: "serviceUpgrade" }>;

/** How often a running upgrade is looked at, at most and at least. */
const UPGRADE_POLL_MIN_MS = 250;
const UPGRADE_POLL_MAX_MS = 5_000;

interface Pending {
  receiver: CountReceiver;
  delivery: Delivery;
  rule: ScaleRule;
  resolve: (result: TriggerResult) => void;
}

type Decision = Pick<Execution, "outcome" | "reason" | "from" | "to">;

/** A scale write whose answer never came: Cattle may or may not have applied it. */
interface UncertainWrite {
  to: number;
  steps: BatchStep[];
  lastApplied: Map<string, number>;
}

const failed = (reason: string): Decision => ({ outcome: "failed", reason });

/**
 * One per target (for scaleService: one per service). It holds the live version of each of its
 * receivers, so revocation is immediate and global, and it owns everything that must be exact:
 * de-duplication, cooldowns, and the read-modify-write against Cattle. Triggers are applied in
 * arrival order, and all triggers that arrive while a Cattle exchange is in flight are combined
 * into the next single read-and-update.
 */
export class TargetCore {
  readonly #storage: ObjectStorage;
  readonly #settings: Settings;
  readonly #sql: SqlLike;
  readonly #receivers = new Map<string, LiveReceiver>();
  /** When each receiver last scaled (epoch ms), for cooldowns; mirrors the `cooldowns` table. */
  readonly #lastApplied = new Map<string, number>();
  /** Deliveries being decided, by receiver and identity, so a concurrent repeat waits for the first. */
  readonly #inFlight = new Map<string, Promise<TriggerResult>>();
  /** Flood protection, per receiver; kept in memory: an eviction only forgives a flood early. */
  readonly #buckets = new Map<string, { tokens: number; updated: number }>();
  readonly #senderKeys = new WeakMap<SenderCheck, Promise<CryptoKey>>();
  /** Executions recorded per receiver since its history was last trimmed (absent: trim next time). */
  readonly #untrimmed = new Map<string, number>();
  #nextExpirySweep = 0;
  #pending: Pending[] = [];
  #draining = false;
  readonly #upgrades: UpgradeQueue;

  /** Storage calls are synchronous, so the constructor has loaded everything before any call. */
  constructor(storage: ObjectStorage, settings: Settings) {
    this.#storage = storage;
    this.#settings = settings;
    this.#sql = storage.sql;
    this.#upgrades = new UpgradeQueue(this.#sql);
    this.#sql.exec(UPGRADES_SCHEMA);
    this.#sql.exec(`
        CREATE TABLE IF NOT EXISTS receivers (id TEXT PRIMARY KEY, record TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS executions (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          receiver_id TEXT NOT NULL,
          body TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS executions_by_receiver ON executions (receiver_id, seq);
        CREATE TABLE IF NOT EXISTS deliveries (
          receiver_id TEXT NOT NULL,
          identity TEXT NOT NULL,
          execution TEXT NOT NULL,
          expires INTEGER NOT NULL,
          PRIMARY KEY (receiver_id, identity)
        );
        CREATE INDEX IF NOT EXISTS deliveries_by_expiry ON deliveries (expires);
        CREATE TABLE IF NOT EXISTS cooldowns (receiver_id TEXT PRIMARY KEY, last_applied INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS leaving_hosts (host_id TEXT PRIMARY KEY, since INTEGER NOT NULL);
      `);
    for (const row of this.#sql.exec<{ record: string }>("SELECT record FROM receivers")) {
      const receiver = JSON.parse(row.record) as LiveReceiver;
      this.#receivers.set(receiver.id, receiver);
    }
    for (const row of this.#sql.exec<{ receiver_id: string; last_applied: number }>(
      "SELECT * FROM cooldowns",
    )) {
      this.#lastApplied.set(row.receiver_id, row.last_applied);
    }
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
  rotate(receiverId: string, senderCheck?: SenderCheck | null): number | null {
    const receiver = this.#receivers.get(receiverId);
    if (!receiver) return null;
    const { senderCheck: current, ...rest } = receiver;
    const check = senderCheck === undefined ? current : (senderCheck ?? undefined);
    const next = { ...rest, version: receiver.version + 1, ...(check ? { senderCheck: check } : {}) };
    this.register(next);
    return next.version;
  }

  /** Removes a receiver and all it left here (delete): its tokens stop working now. */
  revoke(receiverId: string): void {
    this.#storage.transactionSync(() => {
      for (const table of ["executions", "deliveries", "cooldowns"]) {
        this.#sql.exec(`DELETE FROM ${table} WHERE receiver_id = ?`, receiverId);
      }
      this.#sql.exec("DELETE FROM receivers WHERE id = ?", receiverId);
    });
    this.#receivers.delete(receiverId);
    this.#lastApplied.delete(receiverId);
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

  async trigger(
    receiverId: string,
    version: number,
    delivery: Delivery,
    proof?: SenderProof,
  ): Promise<TriggerResult> {
    const receiver = this.#live(receiverId, version);
    if (!receiver) return { kind: "revoked" };
    if (receiver.senderCheck) {
      // Before anything else: a delivery that cannot prove its sender must not spend the flood
      // allowance, claim a delivery identity, or appear in the history.
      const verdict = await verifySender(
        receiver.senderCheck,
        proof ?? { headers: {}, body: new Uint8Array() },
        Date.now(),
        (check) => this.#senderKey(check),
      );
      if (!verdict.ok) return { kind: "unverified", reason: verdict.reason, challenge: verdict.challenge };
      // The check awaited: the receiver may have been revoked or regenerated meanwhile.
      if (!this.#live(receiverId, version)) return { kind: "revoked" };
    }
    const limit = receiver.config.maxTriggersPerMinute ?? DEFAULT_TRIGGERS_PER_MINUTE;
    if (!this.#admit(receiverId, limit)) {
      // A flood is answered 200 `ignored` without touching Cattle: monitoring senders would
      // retry a 5xx and drop a 429, and neither helps.
      const reason = `rate limit: more than ${limit} deliveries a minute to this receiver`;
      return this.#record([[receiver, delivery, { outcome: "ignored", reason }]])[0] as TriggerResult;
    }
    const identity = delivery.identityKey;
    if (identity === undefined) return this.#decide(receiver, delivery);

    const first = this.#remembered(receiverId, identity);
    if (first) return this.#record([[receiver, delivery, repeatOf(first)]])[0] as TriggerResult;
    const slot = `${receiverId}\n${identity}`;
    const inFlight = this.#inFlight.get(slot);
    if (inFlight) {
      // The same delivery is being decided right now (an HA pair, a quick retry): answer like it.
      return inFlight.then((result) =>
        result.kind === "decided"
          ? (this.#record([[receiver, delivery, repeatOf(result.execution)]])[0] as TriggerResult)
          : result,
      );
    }
    const decided = this.#decide(receiver, delivery);
    this.#inFlight.set(slot, decided);
    void decided.finally(() => this.#inFlight.delete(slot));
    return decided;
  }

  /** Imported once per receiver version: the check object is replaced when the receiver changes. */
  #senderKey(check: SenderCheck): Promise<CryptoKey> {
    let key = this.#senderKeys.get(check);
    if (!key) {
      key = importSenderKey(check);
      this.#senderKeys.set(check, key);
    }
    return key;
  }

  /** A token bucket per receiver: `limit` deliveries at once, refilled at `limit` a minute. */
  #admit(receiverId: string, limit: number): boolean {
    const now = Date.now();
    const bucket = this.#buckets.get(receiverId) ?? { tokens: limit, updated: now };
    bucket.tokens = Math.min(limit, bucket.tokens + ((now - bucket.updated) * limit) / 60_000);
    bucket.updated = now;
    this.#buckets.set(receiverId, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  #live(receiverId: string, version: number): LiveReceiver | undefined {
    const receiver = this.#receivers.get(receiverId);
    return receiver && receiver.version === version ? receiver : undefined;
  }

  #remembered(receiverId: string, identity: string): Execution | undefined {
    const [row] = this.#sql
      .exec<{ execution: string }>(
        "SELECT execution FROM deliveries WHERE receiver_id = ? AND identity = ? AND expires > ?",
        receiverId,
        identity,
        Date.now(),
      )
      .toArray();
    return row ? (JSON.parse(row.execution) as Execution) : undefined;
  }

  #decide(receiver: LiveReceiver, delivery: Delivery): Promise<TriggerResult> {
    return receiver.driver === "serviceUpgrade"
      ? this.#decideUpgrade(receiver, delivery)
      : this.#decideScale(receiver, delivery);
  }

  /** Decides what needs no Cattle call at once; queues the rest for the next batch. */
  #decideScale(receiver: CountReceiver, delivery: Delivery): Promise<TriggerResult> {
    const { config } = receiver;
    let action = config.action;
    if (delivery.signal === "resolved") {
      if (config.onResolved === "ignore") {
        return Promise.resolve(
          this.#record([
            [receiver, delivery, { outcome: "ignored", reason: "alert resolved; onResolved is ignore" }],
          ])[0] as TriggerResult,
        );
      }
      action = opposite(action);
    }
    const cooling = cooldownReason(config.cooldownSeconds, this.#lastApplied.get(receiver.id), Date.now());
    if (cooling) {
      return Promise.resolve(
        this.#record([[receiver, delivery, { outcome: "cooldown", reason: cooling }]])[0] as TriggerResult,
      );
    }
    const rule: ScaleRule = { action, amount: config.amount, min: config.min, max: config.max };
    return new Promise((resolve) => {
      this.#pending.push({ receiver, delivery, rule, resolve });
      void this.#drain();
    });
  }

  /**
   * A registry push: decide now what is ignored; otherwise find the services it concerns, queue
   * one upgrade per service and answer `queued`. The alarm does the rest.
   */
  async #decideUpgrade(receiver: UpgradeReceiver, delivery: Delivery): Promise<TriggerResult> {
    const { config } = receiver;
    const ignore = (reason: string) =>
      this.#record([[receiver, delivery, { outcome: "ignored", reason }]])[0] as TriggerResult;
    if (delivery.ignoredBecause) return ignore(delivery.ignoredBecause);
    const push = delivery.push;
    if (!push) return ignore("the delivery is not a registry push");
    const tag = push.tags.find((candidate) => tagMatches(config.tag, candidate));
    if (tag === undefined) {
      return ignore(`pushed tag ${push.tags.join(", ")} does not match ${config.tag}`);
    }
    const listed = await this.#cattle(Date.now() + CYCLE_DEADLINE_MS).listServices(receiver.projectId);
    if (!listed.ok) {
      return {
        kind: "unavailable",
        message: describeFailure(listed.failure),
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      };
    }
    const concerned = listed.value.data.filter(
      (service) => planServiceUpgrade(service, push.repository, tag, config) !== null,
    );
    if (concerned.length === 0) return ignore(noMatchReason(config.serviceSelector, push.repository));

    const names = concerned.map((service) => `${service.id} (${service.name})`).join(", ");
    const now = Date.now();
    const [result] = this.#record(
      [
        [
          receiver,
          delivery,
          { outcome: "queued", reason: `upgrading ${names} to ${push.repository}:${tag}` },
        ],
      ],
      ([execution]) => {
        for (const service of concerned) {
          this.#upgrades.add({
            executionId: execution?.id ?? "",
            receiverId: receiver.id,
            projectId: receiver.projectId,
            serviceId: service.id,
            serviceName: service.name,
            repository: push.repository,
            tag,
            settings: config,
            phase: "waiting",
            progressed: now,
          });
        }
      },
    );
    await this.#storage.setAlarm(now);
    return result as TriggerResult;
  }

  /** Advances every running upgrade one step and comes back while any is still open. */
  async alarm(): Promise<void> {
    const now = Date.now();
    const cattle = this.#cattle(now + CYCLE_DEADLINE_MS);
    const heads = this.#upgrades.heads();
    for (const job of heads) {
      const next = await advance(job, cattle, now);
      if (next.phase === job.phase && next.progressed === job.progressed) continue;
      this.#storage.transactionSync(() => {
        this.#upgrades.save(next);
        if (!isOpen(next)) this.#closeExecution(next.executionId);
      });
    }
    this.#upgrades.prune(now);
    if (this.#upgrades.hasOpen()) {
      const interval = Math.min(
        ...this.#upgrades.heads().map((job) => job.settings.intervalMillis),
        UPGRADE_POLL_MAX_MS,
      );
      await this.#storage.setAlarm(Date.now() + Math.max(UPGRADE_POLL_MIN_MS, Math.round(interval / 2)));
    }
  }

  /** Once every upgrade of a push has ended, its execution says how: applied, or failed and why. */
  #closeExecution(executionId: string): void {
    const jobs = this.#upgrades.ofExecution(executionId);
    if (jobs.some(isOpen)) return;
    const [row] = this.#sql
      .exec<{ seq: number; body: string }>(
        "SELECT seq, body FROM executions WHERE json_extract(body, '$.id') = ?",
        executionId,
      )
      .toArray();
    if (!row) return;
    const execution = JSON.parse(row.body) as Execution;
    const failures = jobs.filter((job) => job.phase === "failed");
    const first = jobs[0] as UpgradeJob;
    const target = `${first.repository}:${first.tag}`;
    const closed: Execution =
      failures.length === 0
        ? {
            ...execution,
            outcome: "applied",
            reason: `upgraded ${jobs.map((job) => `${job.serviceId} (${job.serviceName})`).join(", ")} to ${target}`,
          }
        : {
            ...execution,
            outcome: "failed",
            reason: failures
              .map(
                (job) =>
                  `upgrade of ${job.serviceId} (${job.serviceName}) to ${target} failed: ${job.message}`,
              )
              .join("; "),
          };
    this.#sql.exec(
      "UPDATE executions SET body = ? WHERE seq = ?",
      JSON.stringify({ ...closed, finished: Date.now() } satisfies Execution),
      row.seq,
    );
  }

  #cattle(deadline: number): CattleClient {
    return new CattleClient({
      baseUrl: this.#settings.CATTLE_URL,
      credentials: {
        accessKey: this.#settings.CATTLE_ACCESS_KEY,
        secretKey: this.#settings.CATTLE_SECRET_KEY,
      },
      retry: TRIGGER_RETRY,
      deadline,
    });
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
          // One object serves one kind of target, so a batch is all services or all host groups.
          if (batch[0]?.receiver.driver === "scaleHost") {
            for (const item of batch) await this.#applyHostTrigger(item);
          } else {
            await this.#applyScaleBatch(batch);
          }
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
    const cattle = this.#cattle(deadline);
    const [first] = initial as [Pending, ...Pending[]];
    const { projectId } = first.receiver;
    const serviceId = first.receiver.driver === "scaleService" ? first.receiver.config.serviceId : "";
    let batch = initial;
    let settled: [Pending, Decision][] = [];
    let uncertain: UncertainWrite | undefined;
    let failure: CattleFailure | undefined;
    const finish = (decided: [Pending, Decision][]) => this.#settle([...settled, ...decided]);

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
          return finish(batch.map((item) => [item, failed(reason)]));
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
          const count = uncertain.steps.length;
          const steps = uncertain.steps;
          settled = [
            ...settled,
            ...batch.slice(0, count).map((item, i): [Pending, Decision] => [item, steps[i] as BatchStep]),
          ];
          batch = batch.slice(count);
          for (const [receiverId, at] of uncertain.lastApplied) this.#lastApplied.set(receiverId, at);
        }
        uncertain = undefined;
        if (batch.length === 0) return finish([]);
      }
      const unscalable = unscalableReason(service);
      if (unscalable) return finish(batch.map((item) => [item, failed(unscalable)]));

      const lastApplied = new Map(this.#lastApplied);
      const { steps, final } = planBatch(current, batch.map(plannedTrigger), lastApplied, Date.now());
      if (final !== current) {
        const write = await cattle.updateService(projectId, serviceId, { scale: final });
        if (!write.ok) {
          if (write.failure.kind === "rejected") {
            return finish(batch.map((item) => [item, failed("Cattle refused the new scale")]));
          }
          if (write.failure.kind === "unavailable") uncertain = { to: final, steps, lastApplied };
          failure = write.failure;
          continue;
        }
      }
      for (const [receiverId, at] of lastApplied) this.#lastApplied.set(receiverId, at);
      return finish(batch.map((item, i) => [item, steps[i] as BatchStep]));
    }
    const message = failure ? describeFailure(failure) : "Cattle is unavailable";
    // Triggers settled by a write that did land are answered; only the rest are retried by senders.
    if (settled.length > 0) this.#settle(settled);
    for (const item of batch)
      item.resolve({ kind: "unavailable", message, retryAfterSeconds: RETRY_AFTER_SECONDS });
  }

  /**
   * One trigger on a host group: read the group, plan the step, then create or evacuate hosts one
   * by one. Host changes are slow and rare, so triggers are applied one at a time, each exact.
   * A step that Cattle carries out only in part is recorded as far as it went.
   */
  async #applyHostTrigger(item: Pending): Promise<void> {
    if (item.receiver.driver !== "scaleHost") return;
    const { receiver } = item;
    const { config, projectId } = receiver;
    const cattle = this.#cattle(Date.now() + CYCLE_DEADLINE_MS);
    const listed = await cattle.listHosts(projectId);
    if (!listed.ok) {
      item.resolve({
        kind: "unavailable",
        message: describeFailure(listed.failure),
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
      return;
    }
    const now = Date.now();
    const leaving = this.#leavingHosts(listed.value.data, now);
    const group = groupOf(listed.value.data, config.hostSelector, leaving);
    const lastApplied = new Map(this.#lastApplied);
    const [step] = planBatch(group.length, [plannedTrigger(item)], lastApplied, now).steps as [BatchStep];
    if (step.outcome !== "applied") return this.#settle([[item, step]]);

    const wanted = step.to - step.from;
    const changed: string[] = [];
    let problem: CattleFailure | string | undefined;
    if (wanted > 0) {
      const source = cloneSourceOf(group);
      for (const hostname of nextHostnames(group, wanted)) {
        const body = hostCreateBody(source, config.hostTemplateId, config.hostSelector, hostname);
        if (!body) {
          problem = "the group has no machine-driver host to clone and the receiver no host template";
          break;
        }
        const created = await cattle.createHost(projectId, body);
        if (!created.ok) {
          problem = created.failure;
          break;
        }
        changed.push(hostname);
      }
    } else {
      for (const host of hostsToRemove(group, -wanted, config.deleteOption)) {
        const evacuated = await cattle.evacuateHost(projectId, host.id);
        if (!evacuated.ok) {
          problem = evacuated.failure;
          break;
        }
        // Until Cattle shows it removing, the host must not count, or the next trigger removes it again.
        this.#sql.exec("INSERT OR REPLACE INTO leaving_hosts (host_id, since) VALUES (?, ?)", host.id, now);
        changed.push(host.hostname ?? host.id);
      }
    }
    const why = typeof problem === "string" ? problem : problem ? describeFailure(problem) : "";
    if (changed.length === 0) {
      if (typeof problem === "object" && (problem.kind === "unavailable" || problem.kind === "conflict")) {
        item.resolve({ kind: "unavailable", message: why, retryAfterSeconds: RETRY_AFTER_SECONDS });
        return;
      }
      return this.#settle([
        [
          item,
          { outcome: "failed", reason: why || "Cattle refused the change", from: step.from, to: step.from },
        ],
      ]);
    }
    const verb = wanted > 0 ? "added" : "removed";
    const to = step.from + Math.sign(wanted) * changed.length;
    const reason =
      changed.length === Math.abs(wanted)
        ? `${step.reason}: ${verb} ${changed.join(", ")}`
        : `${verb} ${changed.length} of ${Math.abs(wanted)} hosts (${changed.join(", ")}), then: ${why}`;
    this.#lastApplied.set(receiver.id, now);
    this.#settle([[item, { outcome: "applied", reason, from: step.from, to }]]);
  }

  /**
   * Hosts this object evacuated that Cattle still lists as live: left out of their group so the
   * next trigger does not remove them again. Forgotten once Cattle shows them gone, or after a while.
   */
  #leavingHosts(hosts: Host[], now: number): Set<string> {
    const listed = new Map(hosts.map((host) => [host.id, host]));
    const leaving = new Set<string>();
    for (const { host_id: id, since } of this.#sql.exec<{ host_id: string; since: number }>(
      "SELECT * FROM leaving_hosts",
    )) {
      const host = listed.get(id);
      const gone =
        !host || host.removed || ["removing", "removed", "purging", "purged"].includes(host.state ?? "");
      if (gone || since < now - LEAVING_REMEMBERED_MS)
        this.#sql.exec("DELETE FROM leaving_hosts WHERE host_id = ?", id);
      else leaving.add(id);
    }
    return leaving;
  }

  #settle(decided: [Pending, Decision][]): void {
    const results = this.#record(decided.map(([item, decision]) => [item.receiver, item.delivery, decision]));
    decided.forEach(([item], i) => {
      item.resolve(results[i] as TriggerResult);
    });
  }

  /**
   * Records decisions in one transaction before any of them is answered, so an acknowledged
   * trigger is never lost: its execution, the identity that de-duplicates its repeats, and the
   * cooldown it started.
   */
  #record(
    decisions: [LiveReceiver, Delivery, Decision][],
    within?: (executions: Execution[]) => void,
  ): TriggerResult[] {
    const now = Date.now();
    const executions = decisions.map(
      ([receiver, delivery, decision]): Execution => ({
        id: newId("x", now),
        receiverId: receiver.id,
        driver: receiver.driver,
        ...decision,
        at: now,
        ...(delivery.userAgent ? { sender: delivery.userAgent } : {}),
        ...(delivery.alertName ? { alertName: delivery.alertName } : {}),
        ...(delivery.alertStatus ? { alertStatus: delivery.alertStatus } : {}),
      }),
    );
    this.#storage.transactionSync(() => {
      const touched = new Map<string, number>();
      executions.forEach((execution, i) => {
        const [, delivery] = decisions[i] as [LiveReceiver, Delivery, Decision];
        this.#sql.exec(
          "INSERT INTO executions (receiver_id, body) VALUES (?, ?)",
          execution.receiverId,
          JSON.stringify(execution),
        );
        touched.set(execution.receiverId, (touched.get(execution.receiverId) ?? 0) + 1);
        if (delivery.identityKey !== undefined && execution.outcome !== "deduplicated") {
          this.#sql.exec(
            "INSERT OR REPLACE INTO deliveries (receiver_id, identity, execution, expires) VALUES (?, ?, ?, ?)",
            execution.receiverId,
            delivery.identityKey,
            JSON.stringify(execution),
            now + DEDUPLICATION_WINDOW_MS,
          );
        }
        if (execution.outcome === "applied") {
          this.#sql.exec(
            "INSERT OR REPLACE INTO cooldowns (receiver_id, last_applied) VALUES (?, ?)",
            execution.receiverId,
            this.#lastApplied.get(execution.receiverId) ?? now,
          );
        }
      });
      // Housekeeping runs now and then, not on every trigger: reads never look past the newest
      // EXECUTIONS_KEPT rows or at expired identities, so the extra rows are only storage.
      for (const [receiverId, added] of touched) {
        const untrimmed = (this.#untrimmed.get(receiverId) ?? TRIM_EVERY) + added;
        if (untrimmed < TRIM_EVERY) {
          this.#untrimmed.set(receiverId, untrimmed);
          continue;
        }
        this.#untrimmed.set(receiverId, 0);
        this.#sql.exec(
          `DELETE FROM executions WHERE receiver_id = ?1 AND seq <= (
             SELECT seq FROM executions WHERE receiver_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)`,
          receiverId,
          EXECUTIONS_KEPT,
        );
      }
      if (now >= this.#nextExpirySweep) {
        this.#nextExpirySweep = now + EXPIRY_SWEEP_MS;
        this.#sql.exec("DELETE FROM deliveries WHERE expires <= ?", now);
      }
      within?.(executions);
    });
    return executions.map((execution) => ({ kind: "decided", execution }));
  }
}

const plannedTrigger = (item: Pending): PlannedTrigger => ({
  receiverId: item.receiver.id,
  rule: item.rule,
  cooldownSeconds: item.receiver.config.cooldownSeconds,
});

/** A repeat of a decided delivery: it changes nothing and says what the first one did. */
const repeatOf = (first: Execution): Decision => ({
  outcome: "deduplicated",
  reason: first.reason,
  ...(first.from === undefined ? {} : { from: first.from }),
  ...(first.to === undefined ? {} : { to: first.to }),
});

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
