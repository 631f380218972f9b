import type { Clock } from "../domain/clock";
import type { Delivery } from "../domain/delivery";
import type { Decision, Execution } from "../domain/execution";
import type { ReceiverState, TriggerResult } from "../domain/ports";
import type { LiveReceiver } from "../domain/receiver";
import type { SenderCheck, SenderProof } from "../domain/sender";
import { importSenderKey, verifySender } from "../senders/verification";
import type { TableSet } from "../storage/migrations";
import type { ObjectStorage, SqlLike } from "../storage/object-storage";
import { fromStoredJson, JSON_COLUMNS, toStoredJson } from "../storage/stored-json";
import { sha256Hex } from "../util/sha256";
import { FloodGuard } from "./flood-guard";
import type { TargetHistory } from "./history";

/** A live receiver of this target at its current version; `record` is the LiveReceiver as JSON. */
export type ReceiverRow = { id: string; record: string };

export const RECEIVERS_TABLES: TableSet = {
  component: "receivers",
  migrations: [
    {
      version: 1,
      description: "receivers: the live version of each receiver of this target",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec("CREATE TABLE IF NOT EXISTS receivers (id TEXT PRIMARY KEY, record TEXT NOT NULL)"),
    },
  ],
};

/**
 * A component of its own, not a step of `receivers`: a release that predates it leaves its table
 * alone and runs on (it only forgets that a deleted receiver may not come back, docs/storage.md).
 */
export const REVOCATIONS_TABLES: TableSet = {
  component: "revocations",
  migrations: [
    {
      version: 1,
      description: "revoked_receivers: receivers deleted here, which nothing makes live again",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(
          "CREATE TABLE IF NOT EXISTS revoked_receivers (id TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL)",
        ),
    },
  ],
};

/** A receiver deleted here (a tombstone), and when. */
export type RevokedReceiverRow = { id: string; revoked_at: number };

/** Deliveries a minute a receiver takes before the rest are ignored, unless it sets its own. */
export const DEFAULT_TRIGGERS_PER_MINUTE = 600;

/**
 * What a delivery must pass before a driver decides it: its receiver live at the token's version,
 * its sender proven (when the receiver asks), its flood allowance, and not a repeat of a delivery
 * already decided (a repeat is answered like the first, and a concurrent one waits for it).
 */
export class Admission {
  readonly #storage: ObjectStorage;
  readonly #sql: SqlLike;
  readonly #clock: Clock;
  readonly #history: TargetHistory;
  readonly #receivers = new Map<string, LiveReceiver>();
  /** Deliveries being decided, by receiver and identity, so a concurrent repeat waits for the first. */
  readonly #inFlight = new Map<string, Promise<TriggerResult>>();
  /** Flood protection, per receiver, kept in storage. */
  readonly #floodGuard: FloodGuard;
  readonly #senderKeys = new WeakMap<SenderCheck, Promise<CryptoKey>>();

  constructor(storage: ObjectStorage, clock: Clock, history: TargetHistory) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#clock = clock;
    this.#floodGuard = new FloodGuard(storage.sql, clock);
    this.#history = history;
    for (const row of this.#sql.exec<ReceiverRow>("SELECT id, record FROM receivers")) {
      this.#receivers.set(row.id, fromStoredJson<LiveReceiver>(JSON_COLUMNS.receiverRecord, row.record));
    }
  }

  /**
   * Makes a receiver live at its version (create, restore), replacing any earlier version; false,
   * changing nothing, for a receiver revoked here: a deleted receiver never comes back.
   */
  register(receiver: LiveReceiver): boolean {
    if (this.wasRevoked(receiver.id)) return false;
    this.#put(receiver);
    return true;
  }

  #put(receiver: LiveReceiver): void {
    this.#sql.exec(
      "INSERT INTO receivers (id, record) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record",
      receiver.id,
      toStoredJson(JSON_COLUMNS.receiverRecord, receiver),
    );
    this.#receivers.set(receiver.id, receiver);
  }

  /** Replaces what a receiver live here keeps (its notifications), at the version it has. */
  replace(receiver: LiveReceiver): void {
    this.#put(receiver);
  }

  /**
   * Moves a receiver to a new version (regenerate): tokens of the old one stop working now. Answers
   * the receiver as it is live from now on, or null if it is not live here.
   */
  rotate(receiverId: string, senderCheck?: SenderCheck | null): LiveReceiver | null {
    const receiver = this.#receivers.get(receiverId);
    if (!receiver) return null;
    const { senderCheck: current, ...rest } = receiver;
    const check = senderCheck === undefined ? current : (senderCheck ?? undefined);
    const next = { ...rest, version: receiver.version + 1, ...(check ? { senderCheck: check } : {}) };
    this.#put(next);
    return next;
  }

  /**
   * Removes a receiver and all it left here (delete), and remembers it, so that nothing registers
   * it again: its tokens stop working now and for good. False if it was revoked already: of two
   * deletes, the first is the one that deleted it.
   */
  revoke(receiverId: string, now = Date.now()): boolean {
    if (this.wasRevoked(receiverId)) return false;
    this.#storage.transactionSync(() => {
      this.#history.forget(receiverId);
      this.#sql.exec("DELETE FROM receivers WHERE id = ?", receiverId);
      this.#sql.exec("INSERT INTO revoked_receivers (id, revoked_at) VALUES (?, ?)", receiverId, now);
      this.#floodGuard.forget(receiverId);
    });
    this.#receivers.delete(receiverId);
    return true;
  }

  /**
   * Takes back a register that its create or restore could not finish: the receiver was never
   * shown live, so it is not remembered as deleted, and a restore run again may register it.
   */
  unregister(receiverId: string): void {
    this.#storage.transactionSync(() => {
      this.#history.forget(receiverId);
      this.#sql.exec("DELETE FROM receivers WHERE id = ?", receiverId);
      this.#floodGuard.forget(receiverId);
    });
    this.#receivers.delete(receiverId);
  }

  wasRevoked(receiverId: string): boolean {
    return this.#sql.exec("SELECT 1 FROM revoked_receivers WHERE id = ?", receiverId).toArray().length > 0;
  }

  state(receiverId: string): ReceiverState {
    const receiver = this.#receivers.get(receiverId);
    if (receiver) return { kind: "live", receiver };
    return this.wasRevoked(receiverId) ? { kind: "revoked" } : { kind: "unknown" };
  }

  /** The receiver as it is live now, at whatever version. */
  receiver(receiverId: string): LiveReceiver | undefined {
    return this.#receivers.get(receiverId);
  }

  /** The receivers of `ids` that are live here, at their current version. */
  liveOf(ids: readonly string[]): LiveReceiver[] {
    return ids.flatMap((id) => {
      const receiver = this.receiver(id);
      return receiver ? [receiver] : [];
    });
  }

  live(receiverId: string, version: number): LiveReceiver | undefined {
    const receiver = this.#receivers.get(receiverId);
    return receiver && receiver.version === version ? receiver : undefined;
  }

  /** Lets a delivery through to `decide`, or answers it here. */
  async admit(
    receiverId: string,
    version: number,
    sent: Delivery,
    proof: SenderProof | undefined,
    decide: (receiver: LiveReceiver, delivery: Delivery) => Promise<TriggerResult>,
  ): Promise<TriggerResult> {
    const receiver = this.live(receiverId, version);
    if (!receiver) return { kind: "revoked" };
    let delivery = sent;
    if (receiver.senderCheck) {
      // Before anything else: a delivery that cannot prove its sender must not spend the flood
      // allowance, claim a delivery identity, or appear in the history.
      const verdict = await verifySender(
        receiver.senderCheck,
        proof ?? { headers: {}, body: new Uint8Array() },
        this.#clock.now(),
        (check) => this.#senderKey(check),
      );
      if (!verdict.ok) return { kind: "unverified", reason: verdict.reason, challenge: verdict.challenge };
      // A signed delivery is named only by what its signature covers: a replay with a fresh
      // Idempotency-Key is the same delivery.
      if (verdict.identity)
        delivery = { ...delivery, identityKey: await sha256Hex(`signed\n${verdict.identity}`) };
      // The check awaited: the receiver may have been revoked or regenerated meanwhile.
      if (!this.live(receiverId, version)) return { kind: "revoked" };
    }
    const limit = receiver.config.maxTriggersPerMinute ?? DEFAULT_TRIGGERS_PER_MINUTE;
    if (!this.#floodGuard.admit(receiverId, limit)) {
      // A flood is answered 200 `ignored` without touching Cattle: monitoring senders would
      // retry a 5xx and drop a 429, and neither helps.
      const reason = `rate limit: more than ${limit} deliveries a minute to this receiver`;
      return this.#recordOne(receiver, delivery, { outcome: "ignored", reason });
    }
    const identity = delivery.identityKey;
    if (identity === undefined) return decide(receiver, delivery);

    const first = this.#history.remembered(receiverId, identity);
    if (first) return this.#recordOne(receiver, delivery, repeatOf(first));
    const slot = `${receiverId}\n${identity}`;
    const inFlight = this.#inFlight.get(slot);
    if (inFlight) {
      // The same delivery is being decided right now (an HA pair, a quick retry): answer like it.
      return inFlight.then((result) =>
        result.kind === "decided" ? this.#recordOne(receiver, delivery, repeatOf(result.execution)) : result,
      );
    }
    const decided = decide(receiver, delivery);
    this.#inFlight.set(slot, decided);
    void decided.finally(() => this.#inFlight.delete(slot));
    return decided;
  }

  #recordOne(receiver: LiveReceiver, delivery: Delivery, decision: Decision): TriggerResult {
    return this.#history.record([{ receiver, delivery, decision }])[0] as TriggerResult;
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
}

/** A repeat of a decided delivery: it changes nothing and says what the first one did. */
const repeatOf = (first: Execution): Decision => ({
  outcome: "deduplicated",
  reason: first.reason,
  ...(first.from === undefined ? {} : { from: first.from }),
  ...(first.to === undefined ? {} : { to: first.to }),
});
