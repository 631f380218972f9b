import type { Clock } from "../domain/clock";
import type { Execution } from "../domain/execution";
import { newId } from "../domain/ids";
import type { DeliveryCount } from "../domain/metrics";
import type {
  DeliveryRecord,
  DeliveryStatus,
  Destination,
  NotificationKind,
  NotificationMessage,
  TestResult,
} from "../domain/notifications";
import type { LiveReceiver } from "../domain/receiver";
import type { TableSet } from "../storage/migrations";
import type { ObjectStorage, SqlLike } from "../storage/object-storage";
import { fromStoredJson, JSON_COLUMNS, toStoredJson } from "../storage/stored-json";
import { logEvent } from "../util/log";
import { urlHint, windowSecondsOf } from "./destinations";
import { renderRequest } from "./formats";
import { clip, summarize, testSummary } from "./summary";

export const NOTIFICATION_TABLES: TableSet = {
  component: "notifications",
  migrations: [
    {
      version: 1,
      description:
        "notification_events (executions waiting for their window), notification_deliveries (the outbox and its log), notification_counts",
      olderCodeCanRun: true,
      up: (sql) =>
        sql.exec(`
          CREATE TABLE IF NOT EXISTS notification_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            receiver_id TEXT NOT NULL,
            at INTEGER NOT NULL,
            execution TEXT NOT NULL
          );
          CREATE INDEX IF NOT EXISTS notification_events_by_receiver ON notification_events (receiver_id, seq);
          CREATE TABLE IF NOT EXISTS notification_deliveries (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL,
            receiver_id TEXT NOT NULL,
            destination_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            url_hint TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            created INTEGER NOT NULL,
            next_attempt INTEGER,
            last_attempt INTEGER,
            last_error TEXT,
            message TEXT NOT NULL,
            UNIQUE (message_id, destination_id)
          );
          CREATE INDEX IF NOT EXISTS notification_deliveries_by_receiver ON notification_deliveries (receiver_id, seq);
          CREATE INDEX IF NOT EXISTS notification_deliveries_due ON notification_deliveries (status, next_attempt);
          CREATE TABLE IF NOT EXISTS notification_counts (
            receiver_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            result TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (receiver_id, kind, result)
          );`),
    },
  ],
};

type EventRow = { seq: number; receiver_id: string; at: number; execution: string };
type DeliveryRow = {
  seq: number;
  message_id: string;
  receiver_id: string;
  destination_id: string;
  kind: string;
  url_hint: string;
  status: string;
  attempts: number;
  created: number;
  next_attempt: number | null;
  last_attempt: number | null;
  last_error: string | null;
  message: string;
};

/** Deliveries kept per receiver for its log; pending ones are never dropped. */
export const DELIVERIES_KEPT = 100;
/** Executions a message carries (the newest); its summary counts them all. */
export const MESSAGE_EXECUTIONS = 100;
/** How long a message is retried before it is given up. */
export const RETRY_FOR_MS = 24 * 60 * 60_000;
/** At most one request a second to a destination (Slack's limit for a webhook). */
export const DESTINATION_SPACING_MS = 1_000;
/** How long one attempt may take before it counts as a network failure. */
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** What the log says of a test whose request was under way when its object stopped. */
const TEST_CUT_SHORT = "no answer: the object restarted while the test was under way";
/** The longest an error text in the log is. */
const ERROR_CHARS = 300;
/**
 * The most of a destination's answer read: enough for an error text. An answer is the destination's
 * to write, and one that never ends must not hold the target's memory or its alarm.
 */
export const ANSWER_BYTES_READ = 4096;

/** The wait before attempt `attempts + 1`: 5 s, doubling, at most 30 minutes. */
export const backoffMs = (attempts: number): number =>
  Math.min(5_000 * 2 ** Math.max(attempts - 1, 0), 30 * 60_000);

/** What the target gives its outbox. */
export interface OutboxDependencies {
  storage: ObjectStorage;
  clock: Clock;
  /** How a request leaves: the runtime's `fetch`, or a test's. */
  fetch: typeof fetch;
  /** Asks for the target's alarm at `at` at the latest. */
  wake(at: number): void;
  /** A receiver live here now, with its destinations. */
  receiver(receiverId: string): LiveReceiver | undefined;
}

/** What one attempt came to. */
type Attempt =
  | { result: "delivered"; httpStatus: number }
  | { result: "retry"; error: string; httpStatus?: number; retryAfterMs?: number }
  | { result: "failed"; error: string; httpStatus?: number };

/**
 * A target's notifications (docs/notifications.md): executions a receiver's destinations want are
 * kept with the execution, in its transaction; when the receiver's window closes they become one
 * message per destination, kept until it is delivered, refused, or 24 hours old. Sending runs from
 * the alarm, after the trigger was answered, and an attempt is stored before its request leaves:
 * a crash or an eviction only sends it again, with the same message id.
 */
export class Outbox {
  readonly #deps: OutboxDependencies;
  readonly #sql: SqlLike;
  /** When each receiver's open window began (its oldest waiting execution). */
  readonly #windows = new Map<string, number>();
  /**
   * The earliest time each destination URL may be sent to again: destinations with one URL (two
   * receivers of a service that tell one channel) share its one request a second.
   */
  readonly #nextSlot = new Map<string, number>();

  constructor(deps: OutboxDependencies) {
    this.#deps = deps;
    this.#sql = deps.storage.sql;
    // A test whose request was under way when the last incarnation died never got its answer.
    this.#sql.exec(
      "UPDATE notification_deliveries SET status = 'failed', last_error = ? WHERE status = 'pending' AND next_attempt IS NULL",
      TEST_CUT_SHORT,
    );
    for (const row of this.#sql.exec<{ receiver_id: string; at: number }>(
      "SELECT receiver_id, MIN(at) AS at FROM notification_events GROUP BY receiver_id",
    )) {
      this.#windows.set(row.receiver_id, row.at);
    }
    for (const row of this.#sql.exec<{ receiver_id: string; destination_id: string; at: number }>(
      `SELECT receiver_id, destination_id, MAX(last_attempt) AS at FROM notification_deliveries
       WHERE last_attempt IS NOT NULL GROUP BY receiver_id, destination_id`,
    )) {
      const key = this.#slotKey(row);
      this.#nextSlot.set(key, Math.max(this.#nextSlot.get(key) ?? 0, row.at + DESTINATION_SPACING_MS));
    }
    // What a crash or an eviction left waiting is due on the next alarm.
    const next = this.#nextWake();
    if (next !== undefined) deps.wake(next);
  }

  /**
   * Keeps the executions some destination of their receiver wants, in the caller's transaction
   * (the one that records or settles them), and asks for the alarm that closes their window.
   */
  gather(executions: readonly Execution[]): void {
    const now = this.#deps.clock.now();
    for (const execution of executions) {
      const settings = this.#deps.receiver(execution.receiverId)?.notify;
      if (!settings?.destinations.some((destination) => destination.on.includes(execution.outcome))) continue;
      this.#sql.exec(
        "INSERT INTO notification_events (receiver_id, at, execution) VALUES (?, ?, ?)",
        execution.receiverId,
        now,
        toStoredJson(JSON_COLUMNS.notificationEvent, execution),
      );
      let opened = this.#windows.get(execution.receiverId);
      if (opened === undefined) {
        opened = now;
        this.#windows.set(execution.receiverId, now);
      }
      this.#deps.wake(opened + windowSecondsOf(settings) * 1000);
    }
  }

  /**
   * Closes the receiver's open window now, with the destinations it has (its destinations are
   * about to change): what was gathered goes to the destinations that wanted it when it was
   * decided, and what comes next is gathered for the new ones.
   */
  close(receiverId: string): void {
    if (!this.#windows.has(receiverId)) return;
    this.#compose(receiverId, this.#deps.clock.now());
    const next = this.#nextWake();
    if (next !== undefined) this.#deps.wake(next);
  }

  /** Closes the windows that are due, then sends what is due, one request per destination. */
  async alarm(): Promise<void> {
    const now = this.#deps.clock.now();
    for (const [receiverId, opened] of [...this.#windows]) {
      const settings = this.#deps.receiver(receiverId)?.notify;
      if (opened + windowSecondsOf(settings) * 1000 <= now) this.#compose(receiverId, now);
    }
    this.#giveUpExpired(now);
    const due: DeliveryRow[] = [];
    const taken = new Set<string>();
    for (const row of this.#heads()) {
      const key = this.#slotKey(row);
      if ((row.next_attempt ?? now) > now || taken.has(key) || (this.#nextSlot.get(key) ?? 0) > now) continue;
      taken.add(key);
      due.push(row);
    }
    await Promise.all(due.map((row) => this.#deliver(row)));
    const next = this.#nextWake();
    if (next !== undefined) this.#deps.wake(next);
  }

  /**
   * Asks again for the alarm a receiver's changed settings need: a window made shorter closes
   * sooner than the alarm asked for when it opened, and a destination given a new URL is sent
   * what waits for it now, rather than when the old URL's backoff (or its `Retry-After`) says.
   */
  settingsChanged(moved: readonly string[] = []): void {
    if (moved.length > 0) {
      this.#sql.exec(
        `UPDATE notification_deliveries SET next_attempt = ?
         WHERE status = 'pending' AND destination_id IN (${moved.map(() => "?").join(", ")})`,
        this.#deps.clock.now(),
        ...moved,
      );
    }
    const next = this.#nextWake();
    if (next !== undefined) this.#deps.wake(next);
  }

  /** The delivery log of a receiver: its latest deliveries, newest first. */
  log(receiverId: string, limit = DELIVERIES_KEPT): DeliveryRecord[] {
    const rows = this.#sql
      .exec<DeliveryRow>(
        "SELECT * FROM notification_deliveries WHERE receiver_id = ? ORDER BY seq DESC LIMIT ?",
        receiverId,
        Math.min(Math.max(limit, 1), DELIVERIES_KEPT),
      )
      .toArray();
    if (!rows.some((row) => row.status === "pending")) return rows.map(recordOf);
    // A message waiting behind its destination's retried one is tried no sooner than that one.
    const heads = new Map(
      this.#heads("destination_id, next_attempt").map((head) => [
        head.destination_id,
        head.next_attempt ?? 0,
      ]),
    );
    return rows.map((row) =>
      recordOf(
        row.status === "pending"
          ? { ...row, next_attempt: Math.max(row.next_attempt ?? 0, heads.get(row.destination_id) ?? 0) }
          : row,
      ),
    );
  }

  /**
   * Sends a test message to each of the receiver's destinations now, once, and answers what each
   * came to; the log keeps them like any delivery. A destination sent to less than a second ago
   * is sent to when its second is over.
   */
  async test(receiver: LiveReceiver): Promise<TestResult[]> {
    const settings = receiver.notify;
    if (!settings) return [];
    const now = this.#deps.clock.now();
    return Promise.all(
      settings.destinations.map(async (destination): Promise<TestResult> => {
        const message = this.#message(receiver, now, { test: true, executions: [] });
        const slot = this.#reserve(destination.url);
        if (slot > now) {
          await this.#deps.clock.sleep(slot - now);
          // A delete of the receiver, or a change that removed the destination, while the test
          // waited for its second: nothing more is sent for it.
          const still = this.#deps
            .receiver(receiver.id)
            ?.notify?.destinations.some((kept) => kept.id === destination.id && kept.url === destination.url);
          if (!still) {
            return {
              destinationId: destination.id,
              kind: destination.kind,
              urlHint: urlHint(destination.url),
              status: "failed",
              error: "not sent: the receiver or this destination was removed before its turn came",
            };
          }
        }
        const at = this.#deps.clock.now();
        // Stored before the request leaves, as every attempt is: should this incarnation die during
        // it, the next one still keeps the destination's second, and the log says it was cut short.
        // Pending without a next attempt: no alarm sends it again.
        this.#deps.storage.transactionSync(() => {
          this.#insert(receiver.id, destination, message, {
            status: "pending",
            attempts: 1,
            lastAttempt: at,
          });
          this.#trim(receiver.id);
        });
        const attempt = await this.#attempt(destination, message, at);
        const status: DeliveryStatus = attempt.result === "delivered" ? "delivered" : "failed";
        const error = attempt.result === "delivered" ? undefined : attempt.error;
        this.#deps.storage.transactionSync(() => {
          const changed = this.#sql
            .exec<{ seq: number }>(
              "UPDATE notification_deliveries SET status = ?, last_error = ? WHERE message_id = ? AND destination_id = ? AND status = 'pending' RETURNING seq",
              status,
              error ?? null,
              message.id,
              destination.id,
            )
            .toArray();
          // A test its receiver's delete dropped meanwhile is counted no more.
          if (changed.length > 0) this.#count(receiver.id, destination.kind, status);
        });
        this.#logAttempt(receiver, destination, message, attempt);
        return {
          destinationId: destination.id,
          kind: destination.kind,
          urlHint: urlHint(destination.url),
          status,
          ...(attempt.httpStatus === undefined ? {} : { httpStatus: attempt.httpStatus }),
          ...(error === undefined ? {} : { error }),
        };
      }),
    );
  }

  /** Deliveries by receiver, destination kind and result, for `rancher_hooks_notifications_total`. */
  counts(): Map<string, DeliveryCount[]> {
    const counts = new Map<string, DeliveryCount[]>();
    for (const row of this.#sql.exec<{ receiver_id: string; kind: string; result: string; count: number }>(
      "SELECT receiver_id, kind, result, count FROM notification_counts",
    )) {
      const list = counts.get(row.receiver_id) ?? [];
      list.push({
        kind: row.kind as NotificationKind,
        result: row.result as DeliveryCount["result"],
        count: row.count,
      });
      counts.set(row.receiver_id, list);
    }
    return counts;
  }

  /** Drops everything kept of a receiver (it was deleted): what it had not sent is not sent. */
  forget(receiverId: string): void {
    for (const table of ["notification_events", "notification_deliveries", "notification_counts"]) {
      this.#sql.exec(`DELETE FROM ${table} WHERE receiver_id = ?`, receiverId);
    }
    this.#windows.delete(receiverId);
  }

  /** One message per destination of the executions gathered in the receiver's window, in one transaction. */
  #compose(receiverId: string, now: number): void {
    const receiver = this.#deps.receiver(receiverId);
    const events = this.#sql
      .exec<EventRow>("SELECT * FROM notification_events WHERE receiver_id = ? ORDER BY seq", receiverId)
      .toArray()
      .map((row) => fromStoredJson<Execution>(JSON_COLUMNS.notificationEvent, row.execution));
    this.#deps.storage.transactionSync(() => {
      for (const destination of receiver?.notify?.destinations ?? []) {
        // An execution recorded and settled within one window (pending, then applied) is told once
        // to a destination, as it ended there: the latest of its outcomes that destination wants.
        const latest = new Map<string, Execution>();
        for (const execution of events) {
          if (!destination.on.includes(execution.outcome)) continue;
          latest.delete(execution.id);
          latest.set(execution.id, execution);
        }
        const wanted = [...latest.values()];
        if (wanted.length === 0 || !receiver) continue;
        const message = this.#message(receiver, now, { test: false, executions: wanted });
        this.#insert(receiverId, destination, message, { status: "pending", attempts: 0, nextAttempt: now });
      }
      this.#sql.exec("DELETE FROM notification_events WHERE receiver_id = ?", receiverId);
      this.#trim(receiverId);
    });
    this.#windows.delete(receiverId);
  }

  #message(
    receiver: LiveReceiver,
    now: number,
    content: { test: boolean; executions: Execution[] },
  ): NotificationMessage {
    const settings = receiver.notify;
    return {
      id: `msg_${newId("", now)}`,
      at: now,
      test: content.test,
      environment: { id: receiver.projectId, name: settings?.environment ?? receiver.projectId },
      receiver: {
        id: receiver.id,
        name: receiver.name,
        driver: receiver.driver,
        projectId: receiver.projectId,
      },
      summary: content.test
        ? testSummary(receiver.name)
        : summarize({
            receiverName: receiver.name,
            ...(settings?.targetLabel ? { targetLabel: settings.targetLabel } : {}),
            executions: content.executions,
          }),
      executions: content.executions.slice(-MESSAGE_EXECUTIONS),
      historyUrl: settings?.historyUrl ?? "",
    };
  }

  #insert(
    receiverId: string,
    destination: Destination,
    message: NotificationMessage,
    state: {
      status: DeliveryStatus;
      attempts: number;
      nextAttempt?: number;
      lastAttempt?: number;
      lastError?: string | null;
    },
  ): void {
    this.#sql.exec(
      `INSERT INTO notification_deliveries
         (message_id, receiver_id, destination_id, kind, url_hint, status, attempts, created, next_attempt, last_attempt, last_error, message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      message.id,
      receiverId,
      destination.id,
      destination.kind,
      urlHint(destination.url),
      state.status,
      state.attempts,
      message.at,
      state.nextAttempt ?? null,
      state.lastAttempt ?? null,
      state.lastError ?? null,
      toStoredJson(JSON_COLUMNS.notificationMessage, message),
    );
  }

  /** One attempt of a pending delivery: stored as made before its request leaves. */
  async #deliver(row: DeliveryRow): Promise<void> {
    const now = this.#deps.clock.now();
    const receiver = this.#deps.receiver(row.receiver_id);
    const destination = receiver?.notify?.destinations.find((d) => d.id === row.destination_id);
    if (!receiver || !destination) {
      // Every message that waits for it goes with it, rather than one an alarm.
      this.#deps.storage.transactionSync(() => {
        const removed = this.#sql
          .exec<{ receiver_id: string; kind: string }>(
            `UPDATE notification_deliveries
               SET status = 'failed', next_attempt = NULL,
                   last_error = 'the destination was removed before the message was delivered'
             WHERE receiver_id = ? AND destination_id = ? AND status = 'pending' RETURNING receiver_id, kind`,
            row.receiver_id,
            row.destination_id,
          )
          .toArray();
        for (const gone of removed) this.#count(gone.receiver_id, gone.kind, "failed");
      });
      return;
    }
    if (now - row.created >= RETRY_FOR_MS) {
      this.#settle(row, "failed", null, `given up after 24 hours: ${row.last_error ?? "not delivered"}`);
      return;
    }
    const attempts = row.attempts + 1;
    this.#reserve(destination.url);
    // Should this incarnation die during the request, the message is due again after the backoff.
    this.#sql.exec(
      "UPDATE notification_deliveries SET attempts = ?, last_attempt = ?, next_attempt = ? WHERE seq = ?",
      attempts,
      now,
      now + backoffMs(attempts),
      row.seq,
    );
    const message = fromStoredJson<NotificationMessage>(JSON_COLUMNS.notificationMessage, row.message);
    const attempt = await this.#attempt(destination, message, now);
    const latest = { ...row, attempts };
    let outcome: Attempt = attempt;
    if (attempt.result === "delivered") {
      this.#settle(latest, "delivered", null, null);
    } else if (attempt.result === "failed") {
      this.#settle(latest, "failed", null, attempt.error);
    } else {
      const after = this.#deps.clock.now();
      const next = after + Math.max(attempt.retryAfterMs ?? 0, backoffMs(attempts), DESTINATION_SPACING_MS);
      if (next - row.created >= RETRY_FOR_MS) {
        // A `Retry-After` past the 24 hours ends the message now: say so, rather than that a day went by.
        const asked = after + (attempt.retryAfterMs ?? 0) - row.created >= RETRY_FOR_MS;
        const why = asked
          ? "given up: the destination asked to wait past 24 hours"
          : "given up after 24 hours";
        // The last attempt: its line says the message failed, as the log and the metrics do.
        outcome = {
          result: "failed",
          error: `${why}: ${attempt.error}`,
          ...(attempt.httpStatus === undefined ? {} : { httpStatus: attempt.httpStatus }),
        };
        this.#settle(latest, "failed", null, `${why}: ${attempt.error}`);
      } else {
        this.#settle(latest, "pending", next, attempt.error);
      }
    }
    this.#logAttempt(receiver, destination, message, outcome);
  }

  #settle(row: DeliveryRow, status: DeliveryStatus, nextAttempt: number | null, error: string | null): void {
    this.#deps.storage.transactionSync(() => {
      const changed = this.#sql
        .exec<{ seq: number }>(
          "UPDATE notification_deliveries SET status = ?, next_attempt = ?, last_error = ? WHERE seq = ? AND status = 'pending' RETURNING seq",
          status,
          nextAttempt,
          error,
          row.seq,
        )
        .toArray();
      // A delivery its receiver's delete dropped meanwhile is counted no more.
      if (changed.length > 0)
        this.#count(row.receiver_id, row.kind, status === "pending" ? "retried" : status);
    });
  }

  #count(receiverId: string, kind: string, result: DeliveryCount["result"]): void {
    this.#sql.exec(
      `INSERT INTO notification_counts (receiver_id, kind, result, count) VALUES (?, ?, ?, 1)
       ON CONFLICT (receiver_id, kind, result) DO UPDATE SET count = count + 1`,
      receiverId,
      kind,
      result,
    );
  }

  /** Takes the URL's next one-second slot: answers when it starts. */
  #reserve(url: string): number {
    const slot = Math.max(this.#deps.clock.now(), this.#nextSlot.get(url) ?? 0);
    this.#nextSlot.set(url, slot + DESTINATION_SPACING_MS);
    return slot;
  }

  /** What a delivery's one-second slots are kept by: its destination's URL, while it has one. */
  #slotKey(row: Pick<DeliveryRow, "receiver_id" | "destination_id">): string {
    const destination = this.#deps
      .receiver(row.receiver_id)
      ?.notify?.destinations.find((candidate) => candidate.id === row.destination_id);
    return destination?.url ?? row.destination_id;
  }

  /** One request; never throws, and no text it answers holds the destination's URL. */
  async #attempt(destination: Destination, message: NotificationMessage, now: number): Promise<Attempt> {
    let request: Awaited<ReturnType<typeof renderRequest>>;
    try {
      request = await renderRequest(destination.kind, message, {
        now,
        ...(destination.secret ? { secret: destination.secret } : {}),
      });
    } catch (error) {
      // A message that cannot be made once cannot be made again: retrying it would only hold up
      // the destination's later messages, which wait behind it.
      const text = error instanceof Error ? error.message : String(error);
      return { result: "failed", error: clipError(`not sent: ${text}`) };
    }
    try {
      const deadline = this.#deadline();
      let response: Response;
      let text: string;
      try {
        response = await this.#deps.fetch(destination.url, {
          method: "POST",
          headers: request.headers,
          body: request.body,
          // A destination that redirects is not followed: the URL given is the one posted to.
          redirect: "manual",
          signal: deadline.signal,
        });
        text = scrub(await answerStart(response), destination.url);
      } finally {
        deadline.done();
      }
      const httpStatus = response.status;
      if (httpStatus >= 200 && httpStatus < 300) return { result: "delivered", httpStatus };
      const error = clipError(`HTTP ${httpStatus}${text.trim() ? `: ${text.trim()}` : ""}`);
      if (httpStatus === 429 || httpStatus >= 500) {
        const retryAfterMs = retryAfter(response.headers.get("retry-after"), this.#deps.clock.now());
        return {
          result: "retry",
          error,
          httpStatus,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        };
      }
      return { result: "failed", error, httpStatus };
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return { result: "retry", error: clipError(`network: ${scrub(text, destination.url)}`) };
    }
  }

  /**
   * A signal that aborts once ATTEMPT_TIMEOUT_MS have passed on the target's clock, not the
   * process's (AbortSignal.timeout counts real time): a test's or the simulator's clock decides
   * when an attempt that gets no answer gives up, as the runtime's clock does in production.
   * `done` drops the timer once the attempt ended, so it wakes nothing later.
   */
  #deadline(): { signal: AbortSignal; done: () => void } {
    const timeout = new AbortController();
    const ended = new AbortController();
    void this.#deps.clock.sleep(ATTEMPT_TIMEOUT_MS, ended.signal).then(() => {
      timeout.abort(new DOMException(`no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`, "TimeoutError"));
    });
    return { signal: timeout.signal, done: () => ended.abort() };
  }

  /** One line per attempt that did not deliver; never the URL, the secret or the signature. */
  #logAttempt(
    receiver: LiveReceiver,
    destination: Destination,
    message: NotificationMessage,
    attempt: Attempt,
  ): void {
    if (attempt.result === "delivered") return;
    logEvent(attempt.result === "failed" ? "error" : "warn", "notification_failed", {
      projectId: receiver.projectId,
      receiverId: receiver.id,
      destinationId: destination.id,
      kind: destination.kind,
      urlHint: urlHint(destination.url),
      messageId: message.id,
      retried: attempt.result === "retry",
      error: attempt.error,
    });
  }

  /**
   * Each destination's oldest pending delivery. A destination's messages go one at a time, in order:
   * while one is retried the others wait behind it, so a destination that is down gets the retries
   * of one message, with its backoff, however many messages pile up meanwhile.
   */
  #heads(columns = "*"): DeliveryRow[] {
    return this.#sql
      .exec<DeliveryRow>(
        `SELECT ${columns} FROM notification_deliveries WHERE seq IN (
           SELECT MIN(seq) FROM notification_deliveries
           WHERE status = 'pending' AND next_attempt IS NOT NULL GROUP BY destination_id)
         ORDER BY seq`,
      )
      .toArray();
  }

  /**
   * Gives up every message 24 hours old without a request, in one statement: those that waited
   * behind a retried one age as it does, and would otherwise take an alarm each.
   */
  #giveUpExpired(now: number): void {
    this.#deps.storage.transactionSync(() => {
      const expired = this.#sql
        .exec<{ receiver_id: string; kind: string }>(
          `UPDATE notification_deliveries
             SET status = 'failed', next_attempt = NULL,
                 last_error = 'given up after 24 hours: ' || COALESCE(last_error, 'not delivered')
           WHERE status = 'pending' AND created <= ? RETURNING receiver_id, kind`,
          now - RETRY_FOR_MS,
        )
        .toArray();
      for (const row of expired) this.#count(row.receiver_id, row.kind, "failed");
    });
  }

  /** Keeps a receiver's latest DELIVERIES_KEPT deliveries, and every pending one. */
  #trim(receiverId: string): void {
    this.#sql.exec(
      `DELETE FROM notification_deliveries WHERE receiver_id = ?1 AND status != 'pending' AND seq <= (
         SELECT seq FROM notification_deliveries WHERE receiver_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)`,
      receiverId,
      DELIVERIES_KEPT,
    );
  }

  /** When the alarm is next needed: the first window to close, or the first delivery due. */
  #nextWake(): number | undefined {
    const times: number[] = [];
    for (const [receiverId, opened] of this.#windows) {
      times.push(opened + windowSecondsOf(this.#deps.receiver(receiverId)?.notify) * 1000);
    }
    for (const row of this.#heads("receiver_id, destination_id, next_attempt")) {
      times.push(Math.max(row.next_attempt ?? 0, this.#nextSlot.get(this.#slotKey(row)) ?? 0));
    }
    return times.length > 0 ? Math.min(...times) : undefined;
  }
}

const recordOf = (row: DeliveryRow): DeliveryRecord => {
  const message = fromStoredJson<NotificationMessage>(JSON_COLUMNS.notificationMessage, row.message);
  return {
    messageId: row.message_id,
    destinationId: row.destination_id,
    kind: row.kind as NotificationKind,
    urlHint: row.url_hint,
    status: row.status as DeliveryStatus,
    summary: message.summary,
    executionIds: message.executions.map((execution) => execution.id),
    test: message.test,
    attempts: row.attempts,
    created: row.created,
    ...(row.last_attempt === null ? {} : { lastAttempt: row.last_attempt }),
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
    ...(row.status === "pending" && row.next_attempt !== null ? { nextAttempt: row.next_attempt } : {}),
  };
};

const clipError = (text: string): string => clip(text, ERROR_CHARS);

/**
 * The text with the destination's URL, and its path, put out of sight: a URL is the secret. A
 * runtime's error may quote the URL as parsed, and a destination's answer the path alone, without
 * the query (a web framework's "Cannot POST /path"), or the query alone: each is hidden, longest first.
 */
export function scrub(text: string, url: string): string {
  let out = text.split(url).join("[destination]");
  try {
    const parsed = new URL(url);
    out = out.split(parsed.href).join("[destination]");
    const parts = [
      `${parsed.pathname}${parsed.search}`,
      parsed.pathname,
      safeDecode(parsed.pathname),
      parsed.search,
    ].filter((part) => part.length > 1);
    for (const part of parts.sort((a, b) => b.length - a.length)) out = out.split(part).join("/[…]");
  } catch {
    // Only valid URLs are kept.
  }
  return out;
}

/**
 * The start of an answer's body as text, at most ANSWER_BYTES_READ bytes of it (a character cut at
 * the end becomes U+FFFD); the rest is not read, and the body is cancelled. Never throws: an answer
 * that breaks off says what it said so far.
 */
export async function answerStart(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const bytes = new Uint8Array(ANSWER_BYTES_READ);
  let size = 0;
  try {
    while (size < ANSWER_BYTES_READ) {
      const { done, value } = await reader.read();
      if (done) break;
      const taken = value.subarray(0, ANSWER_BYTES_READ - size);
      bytes.set(taken, size);
      size += taken.byteLength;
    }
  } catch {
    // Broken off: what came is the answer.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(bytes.subarray(0, size));
}

const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/** `Retry-After` as milliseconds from `now`: seconds, or an HTTP date; undefined when absent or unreadable. */
export function retryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(date - now, 0);
}
