import { DatabaseSync } from "node:sqlite";
import type { Destination } from "../../src/domain/notifications";
import {
  InvalidMarker,
  type NotificationsResult,
  type Platform,
  type Project,
  type ReceiverPage,
  type ReceiverStore,
  type Target,
} from "../../src/domain/ports";
import type { LiveReceiver, ReceiverRecord } from "../../src/domain/receiver";
import { ProjectCore } from "../../src/project/core";
import { hasOwnTables } from "../../src/storage/migrations";
import type { ObjectStorage } from "../../src/storage/object-storage";
import { SqliteObjectStorage } from "../../src/storage/sqlite";
import { TargetCore } from "../../src/targets/core";
import { methodsOf } from "../../src/util/async-port";
import type { SimCattle } from "./cattle";
import type { SentRequest, SimDestinations } from "./destinations";
import type { Owner, Scheduler } from "./scheduler";

/** How long a call takes from the Worker to an object, or to KV, and back (each way). */
export const HOP_MS = 2;
/** How long a failed alarm waits before the runtime tries it again. */
const ALARM_RETRY_MS = 1_000;

interface Incarnation {
  owner: Owner;
  core: TargetCore | ProjectCore;
  /** Calls into this incarnation not answered yet: they fail when it dies. */
  outstanding: Set<(error: Error) => void>;
}

/** A Durable Object: storage that outlives its incarnations, and at most one incarnation at a time. */
export interface SimObject {
  kind: "target" | "project";
  name: string;
  db: DatabaseSync;
  storage: ObjectStorage;
  incarnation: Incarnation | undefined;
  incarnations: number;
  alarmAt: number | undefined;
  /** Bumped with every alarm scheduled, so an older timer for the same object does not fire it. */
  alarmToken: number;
}

/** A receiver's destinations as its target took them, from `at` on (none: it is gone). */
export interface NotifySettingsAt {
  at: number;
  receiverId: string;
  destinations: Destination[];
}

/** An object's database as the checker and the hooks read it. */
export interface Rows {
  prepare(query: string): { all(...values: (string | number)[]): unknown[] };
}

/** What the hooks of an object's calls note, whichever deployment runs the objects. */
export interface Notes {
  readonly forgotten: string[];
  readonly notifyLog: NotifySettingsAt[];
  readonly urlOwner: Map<string, { receiverId: string; destinationId: string }>;
}

/**
 * The delivery the object stored as being attempted now for the destination of `url`: the
 * outbox stores each attempt before its request leaves, so this is the message the request
 * carries (a test message is stored only once answered: none).
 */
export function storedAttempt(
  db: Rows,
  urlOwner: Notes["urlOwner"],
  now: number,
  url: string,
): SentRequest["stored"] {
  const owner = urlOwner.get(url);
  if (!owner) return undefined;
  const found = db
    .prepare(
      "SELECT message_id, message FROM notification_deliveries WHERE destination_id = ? AND status = 'pending' AND last_attempt = ?",
    )
    .all(owner.destinationId, now) as { message_id: string; message: string }[];
  const [row] = found;
  if (found.length !== 1 || !row) return undefined;
  return { messageId: row.message_id, destinationId: owner.destinationId, message: row.message };
}

/** Before a revoke: what a delete takes with it, so the checker still knows what it did. */
export function noteForgotten(notes: Notes, db: Rows, [receiverId]: unknown[]): void {
  for (const row of db
    .prepare("SELECT body FROM executions WHERE receiver_id = ? ORDER BY seq")
    .all(receiverId as string) as { body: string }[]) {
    notes.forgotten.push(row.body);
  }
}

/** Notes a receiver's destinations as its target now holds them. */
function noteSettings(notes: Notes, now: number, receiverId: string, destinations: Destination[]): void {
  notes.notifyLog.push({ at: now, receiverId, destinations: structuredClone(destinations) });
  for (const destination of destinations) {
    notes.urlOwner.set(destination.url, { receiverId, destinationId: destination.id });
  }
}

/** After a target's call: what each receiver's destinations were from when on, for the checker (synchronous calls). */
export function noteResult(
  notes: Notes,
  now: number,
  method: string,
  args: unknown[],
  result: unknown,
): void {
  if (method === "register" && result === true) {
    const receiver = args[0] as LiveReceiver;
    noteSettings(notes, now, receiver.id, receiver.notify?.destinations ?? []);
  } else if (method === "setNotifications" && (result as NotificationsResult).kind === "live") {
    const { receiver } = result as Extract<NotificationsResult, { kind: "live" }>;
    noteSettings(notes, now, receiver.id, receiver.notify?.destinations ?? []);
  } else if ((method === "revoke" || method === "unregister" || method === "withdraw") && result !== false) {
    noteSettings(notes, now, args[0] as string, []);
  }
}

/** The Durable Object was reset while a call waited on it: what the Worker's stub throws. */
export class ObjectReset extends Error {}

/**
 * The objects and KV of the simulated deployment, as one Platform: every call crosses a hop of
 * simulated time (so management operations and triggers interleave at their awaits), objects run
 * the real cores over node:sqlite, and an object can be crashed: its incarnation's awaits never
 * resume, calls waiting on it fail, its storage stays, and a new incarnation takes over.
 */
export class World implements Notes {
  readonly objects = new Map<string, SimObject>();
  /** Executions of receivers as they were when a delete made their target forget them. */
  readonly forgotten: string[] = [];
  /** Every change of a receiver's destinations, as its target made it, in order. */
  readonly notifyLog: NotifySettingsAt[] = [];
  /** The broken world of a test: a target that never hears of a delete, which management believes done. */
  ignoresRevoke = false;
  /** Which receiver's destination each URL is. */
  readonly urlOwner = new Map<string, { receiverId: string; destinationId: string }>();
  readonly kv: SimKv;
  readonly platform: Platform;

  constructor(
    readonly scheduler: Scheduler,
    readonly cattle: SimCattle,
    readonly log: (line: string) => void,
    kvLagMs: number,
    readonly destinations: SimDestinations,
  ) {
    this.kv = new SimKv(scheduler, kvLagMs);
    this.platform = {
      receivers: this.kv,
      target: (name) => this.#targetStub(name),
      project: (projectId) => this.#projectStub(projectId),
    };
  }

  object(kind: "target" | "project", name: string): SimObject {
    const key = `${kind}:${name}`;
    let object = this.objects.get(key);
    if (!object) {
      const db = new DatabaseSync(":memory:");
      const sqlite = new SqliteObjectStorage(db);
      const created: SimObject = {
        kind,
        name,
        db,
        storage: {
          sql: sqlite.sql,
          transactionSync: (closure) => sqlite.transactionSync(closure),
          setAlarm: async (at) => this.#setAlarm(created, at),
        },
        incarnation: undefined,
        incarnations: 0,
        alarmAt: undefined,
        alarmToken: 0,
      };
      object = created;
      this.objects.set(key, object);
    }
    return object;
  }

  /** The object's live incarnation, started over its storage if it has none (as a Durable Object is on a call). */
  #incarnation(object: SimObject): Incarnation {
    if (object.incarnation) return object.incarnation;
    const owner: Owner = { label: `${object.kind}:${object.name}#${++object.incarnations}`, alive: true };
    const core =
      object.kind === "target"
        ? new TargetCore(object.storage, {
            clock: this.scheduler.clockFor(owner),
            cattle: (deadline) => this.cattle.session(owner, deadline),
            fetch: this.destinations.fetchFor(owner, `${object.kind}:${object.name}`, (url) =>
              this.#attempting(object, url),
            ),
          })
        : new ProjectCore(object.storage);
    object.incarnation = { owner, core, outstanding: new Set() };
    return object.incarnation;
  }

  /** One call of the Worker into an object: a hop there, the call, a hop back; fails if the object dies first. */
  async call<T>(object: SimObject, run: (core: never) => T | Promise<T>): Promise<T> {
    await this.scheduler.sleep(HOP_MS);
    const incarnation = this.#incarnation(object);
    return new Promise<T>((resolve, reject) => {
      const fail = (error: Error) => reject(error);
      incarnation.outstanding.add(fail);
      const back = (settle: () => void) => {
        if (!incarnation.owner.alive) return;
        incarnation.outstanding.delete(fail);
        this.scheduler.after(HOP_MS, settle);
      };
      let result: T | Promise<T>;
      try {
        result = run(incarnation.core as never);
      } catch (error) {
        back(() => reject(error));
        return;
      }
      Promise.resolve(result).then(
        (value) => back(() => resolve(value)),
        (error: unknown) => back(() => reject(error)),
      );
    });
  }

  /** Drops the object's memory: its awaits never resume, its callers are told it was reset. */
  crash(object: SimObject, restartMs: number): void {
    const incarnation = object.incarnation;
    if (!incarnation) return;
    this.log(`crash ${incarnation.owner.label}`);
    incarnation.owner.alive = false;
    object.incarnation = undefined;
    for (const fail of incarnation.outstanding) {
      this.scheduler.after(HOP_MS, () => fail(new ObjectReset("Durable Object reset")));
    }
    incarnation.outstanding.clear();
    // A Durable Object comes back for its alarm: a new core over the same storage runs it. A call
    // may have started one already; the alarm the crash cut short is still owed, and runs there.
    this.scheduler.after(restartMs, () => {
      if (object.alarmAt === undefined) return;
      if (object.incarnation) {
        this.log(`${object.kind}:${object.name}#${object.incarnations} runs the alarm the crash cut short`);
      } else {
        this.#incarnation(object);
        this.log(`restart ${object.kind}:${object.name}#${object.incarnations} for its alarm`);
      }
      this.#schedule(object, object.alarmAt);
    });
  }

  /** Crashes the object whose live incarnation is `owner`, if it still is. */
  crashOwner(owner: Owner, restartMs: number): void {
    for (const object of this.objects.values()) {
      if (object.incarnation?.owner === owner) this.crash(object, restartMs);
    }
  }

  #setAlarm(object: SimObject, at: number): void {
    object.alarmAt = at;
    this.#schedule(object, at);
  }

  #schedule(object: SimObject, at: number): void {
    const token = ++object.alarmToken;
    this.scheduler.at(at, () => {
      if (object.alarmToken !== token || object.alarmAt !== at) return;
      this.#runAlarm(object, at, 0);
    });
  }

  /** As Durable Objects do: the alarm counts as delivered once alarm() returned; a failure is retried. */
  #runAlarm(object: SimObject, at: number, attempt: number): void {
    const incarnation = this.#incarnation(object);
    const core = incarnation.core;
    if (!(core instanceof TargetCore)) {
      object.alarmAt = undefined;
      return;
    }
    core.alarm().then(
      () => {
        if (!incarnation.owner.alive) return;
        if (object.alarmAt === at) object.alarmAt = undefined;
      },
      () => {
        if (!incarnation.owner.alive || object.alarmAt !== at || attempt >= 5) return;
        const retry = this.scheduler.now + ALARM_RETRY_MS * 2 ** attempt;
        object.alarmAt = retry;
        const token = ++object.alarmToken;
        this.scheduler.at(retry, () => {
          if (object.alarmToken === token && object.alarmAt === retry)
            this.#runAlarm(object, retry, attempt + 1);
        });
      },
    );
  }

  #attempting(object: SimObject, url: string): SentRequest["stored"] {
    if (!World.hasTables(object)) return undefined;
    return storedAttempt(object.db, this.urlOwner, this.scheduler.now, url);
  }

  /** Whether the object keeps any table of the service's own: the check the cores make. */
  static hasTables(object: { storage: Pick<ObjectStorage, "sql"> }): boolean {
    return hasOwnTables(object.storage.sql);
  }

  /**
   * The object's port as a runtime offers it: every call of its core (the calls are read from the
   * core's class, so a call added there is here too), each through `call`, which takes simulated
   * time and dies with the incarnation.
   */
  #stub<Core extends object>(
    object: SimObject,
    prototype: Core,
    before?: (method: string, args: unknown[]) => void,
    after?: (method: string, args: unknown[], result: unknown) => void,
  ) {
    const port: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const [name, method] of methodsOf(prototype)) {
      port[name] = (...args) =>
        this.call(object, ((core: Core) => {
          if (this.ignoresRevoke && name === "revoke") return true;
          before?.(name, args);
          const result = method.apply(core, args);
          after?.(name, args, result);
          return result;
        }) as (core: never) => unknown);
    }
    return port;
  }

  #targetStub(name: string): Target {
    const object = this.object("target", name);
    return this.#stub(
      object,
      TargetCore.prototype,
      (method, args) => {
        if (method === "revoke" && World.hasTables(object)) noteForgotten(this, object.db, args);
      },
      (method, args, result) => noteResult(this, this.scheduler.now, method, args, result),
    ) as unknown as Target;
  }

  #projectStub(projectId: string): Project {
    return this.#stub(this.object("project", projectId), ProjectCore.prototype) as unknown as Project;
  }
}

/**
 * KV as management sees it: a get sees the latest write, a list sees the store as it was `lagMs`
 * ago (Workers KV lists lag behind writes), and every call takes a hop of simulated time.
 */
export class SimKv implements ReceiverStore {
  /** Every value each key had, with when it was written (null: deleted). */
  readonly #versions = new Map<string, { at: number; value: ReceiverRecord | null }[]>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly lagMs: number,
  ) {}

  #key(projectId: string, id: string): string {
    return `${projectId}/${id}`;
  }

  #set(key: string, value: ReceiverRecord | null): void {
    const versions = this.#versions.get(key) ?? [];
    versions.push({ at: this.scheduler.now, value: value ? structuredClone(value) : null });
    this.#versions.set(key, versions);
  }

  /** The value now, without a hop: for the checker. */
  current(projectId: string, id: string): ReceiverRecord | null {
    return this.#versions.get(this.#key(projectId, id))?.at(-1)?.value ?? null;
  }

  /** Every key that ever had a value. */
  keys(): string[] {
    return [...this.#versions.keys()];
  }

  /** The records a list shows at `at`. */
  listedAt(projectId: string, at: number): ReceiverRecord[] {
    const records: ReceiverRecord[] = [];
    for (const [key, versions] of [...this.#versions].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!key.startsWith(`${projectId}/`)) continue;
      const seen = versions.filter((version) => version.at <= at).at(-1)?.value;
      if (seen) records.push(structuredClone(seen));
    }
    return records;
  }

  async get(projectId: string, id: string): Promise<ReceiverRecord | null> {
    await this.scheduler.sleep(HOP_MS);
    const value = this.current(projectId, id);
    await this.scheduler.sleep(HOP_MS);
    return value ? structuredClone(value) : null;
  }

  async put(record: ReceiverRecord): Promise<void> {
    await this.scheduler.sleep(HOP_MS);
    this.#set(this.#key(record.projectId, record.id), record);
    await this.scheduler.sleep(HOP_MS);
  }

  async delete(projectId: string, id: string): Promise<void> {
    await this.scheduler.sleep(HOP_MS);
    this.#set(this.#key(projectId, id), null);
    await this.scheduler.sleep(HOP_MS);
  }

  async list(projectId: string, limit: number, marker?: string): Promise<ReceiverPage> {
    if (marker !== undefined) throw new InvalidMarker();
    await this.scheduler.sleep(HOP_MS);
    const records = this.listedAt(projectId, this.scheduler.now - this.lagMs).slice(0, limit);
    await this.scheduler.sleep(HOP_MS);
    return { records };
  }
}
