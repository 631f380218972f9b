// The service as `npm run bench -- cost` runs it: the same Worker and the same Durable Object
// classes, each wrapped so that what Cloudflare bills is counted where it happens. Nothing under
// src/ changes for it; the wrappers only count and pass every call on unchanged.
//
// - Worker requests: each request that reaches the service's fetch.
// - Durable Object requests: each RPC method call an object receives, and each alarm it runs.
// - Durable Object duration: the wall-clock time an object has at least one RPC call or alarm in
//   progress (workerd's clock, which moves when I/O completes, in whole milliseconds), and the span
//   from the start of its first event to the end of its last.
// - SQLite rows: the `rowsRead` and `rowsWritten` of every cursor `ctx.storage.sql.exec` returned,
//   read once the operation is over; each `setAlarm()` is counted apart (it bills as a row written).
// - KV: each key read, key written, key deleted and list request on the RECEIVERS namespace.
//
// `GET /_bench/cost` answers the counts and what is still in progress; `POST /_bench/cost/reset`
// zeroes the counts. Neither is counted, and neither exists in the service.
import service, {
  ProjectObject as ServiceProjectObject,
  TargetObject as ServiceTargetObject,
} from "../src/index";

type Cursor = { readonly rowsRead: number; readonly rowsWritten: number };

interface ObjectUse {
  className: string;
  id: string;
  rpc: Record<string, number>;
  alarms: number;
  setAlarms: number;
  rowsRead: number;
  rowsWritten: number;
  /** Cursors of this window whose counts are still to be added (a cursor counts as it is read). */
  cursors: Cursor[];
  activeMs: number;
  /** When this window's first event began and its last one ended: the span they cover. */
  first: number | null;
  last: number | null;
  /** Events (RPC calls, alarms) in progress, and since when the object has had one. */
  inFlight: number;
  since: number;
  /** The alarm that is set (epoch ms), if any. */
  alarmAt: number | null;
}

const usage = {
  workerRequests: 0,
  workerInFlight: 0,
  kv: { reads: 0, writes: 0, deletes: 0, lists: 0 },
  objects: new Map<string, ObjectUse>(),
};

function objectUse(className: string, ctx: DurableObjectState): ObjectUse {
  const key = `${className}:${ctx.id.toString()}`;
  let use = usage.objects.get(key);
  if (!use) {
    use = {
      className,
      id: ctx.id.toString(),
      rpc: {},
      alarms: 0,
      setAlarms: 0,
      rowsRead: 0,
      rowsWritten: 0,
      cursors: [],
      activeMs: 0,
      first: null,
      last: null,
      inFlight: 0,
      since: 0,
      alarmAt: null,
    };
    usage.objects.set(key, use);
  }
  return use;
}

/** Counts the rows of every statement and every alarm set, before the service's class sees its storage. */
function meterStorage(use: ObjectUse, storage: DurableObjectStorage): void {
  const { sql } = storage;
  const exec = sql.exec.bind(sql);
  sql.exec = ((query: string, ...bindings: unknown[]) => {
    const cursor = exec(query, ...bindings);
    use.cursors.push(cursor);
    return cursor;
  }) as typeof sql.exec;
  const setAlarm = storage.setAlarm.bind(storage);
  storage.setAlarm = (scheduledTime, options) => {
    use.setAlarms++;
    use.alarmAt = typeof scheduledTime === "number" ? scheduledTime : scheduledTime.getTime();
    return setAlarm(scheduledTime, options);
  };
  const deleteAlarm = storage.deleteAlarm.bind(storage);
  storage.deleteAlarm = (options) => {
    use.alarmAt = null;
    return deleteAlarm(options);
  };
}

/** Runs one event of an object and adds its wall-clock time to the object's active time. */
async function event<T>(use: ObjectUse, run: () => T | Promise<T>): Promise<T> {
  if (use.inFlight++ === 0) use.since = Date.now();
  use.first ??= Date.now();
  try {
    return await run();
  } finally {
    use.last = Date.now();
    if (--use.inFlight === 0) use.activeMs += use.last - use.since;
  }
}

const countKv = (method: string, args: unknown[]) => {
  if (method === "get" || method === "getWithMetadata") {
    // A bulk read bills each key it reads.
    usage.kv.reads += Array.isArray(args[0]) ? args[0].length : 1;
  } else if (method === "put") usage.kv.writes++;
  else if (method === "delete") usage.kv.deletes++;
  else if (method === "list") usage.kv.lists++;
};

/** The bindings with the receiver namespace counted. */
function meterEnv(env: Env): Env {
  const kv = env.RECEIVERS;
  const counted = new Proxy(kv, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        countKv(property, args);
        return Reflect.apply(value, target, args);
      };
    },
  });
  return { ...env, RECEIVERS: counted };
}

type ObjectClass = abstract new (ctx: DurableObjectState, env: Env) => object;

/**
 * Puts a counting method on `metered` for each RPC method of the service's class: each call is one
 * billed request and one event of the object. The methods are found on the class, so a method the
 * service adds later is counted without a change here.
 */
function meterMethods(metered: ObjectClass, base: ObjectClass): void {
  const prototype = base.prototype as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(base.prototype)) {
    const method = prototype[name];
    if (name === "constructor" || name === "alarm" || typeof method !== "function") continue;
    Object.defineProperty(metered.prototype, name, {
      configurable: true,
      writable: true,
      value(this: { use: ObjectUse }, ...args: unknown[]) {
        this.use.rpc[name] = (this.use.rpc[name] ?? 0) + 1;
        return event(this.use, () => Reflect.apply(method, this, args));
      },
    });
  }
}

export class TargetObject extends ServiceTargetObject {
  readonly use: ObjectUse;

  constructor(ctx: DurableObjectState, env: Env) {
    const use = objectUse("TargetObject", ctx);
    meterStorage(use, ctx.storage);
    super(ctx, meterEnv(env));
    this.use = use;
  }

  override alarm() {
    this.use.alarms++;
    // The alarm that fires is used up; one the alarm sets again is counted anew.
    this.use.alarmAt = null;
    return event(this.use, () => super.alarm());
  }
}
meterMethods(TargetObject, ServiceTargetObject);

export class ProjectObject extends ServiceProjectObject {
  readonly use: ObjectUse;

  constructor(ctx: DurableObjectState, env: Env) {
    const use = objectUse("ProjectObject", ctx);
    meterStorage(use, ctx.storage);
    super(ctx, meterEnv(env));
    this.use = use;
  }
}
meterMethods(ProjectObject, ServiceProjectObject);

/** The counts so far; the cursors read since the last snapshot are added in now. */
function snapshot() {
  const objects = [...usage.objects.values()].map((use) => {
    for (const cursor of use.cursors) {
      use.rowsRead += cursor.rowsRead;
      use.rowsWritten += cursor.rowsWritten;
    }
    use.cursors = [];
    return {
      className: use.className,
      id: use.id,
      rpc: use.rpc,
      alarms: use.alarms,
      setAlarms: use.setAlarms,
      rowsRead: use.rowsRead,
      rowsWritten: use.rowsWritten,
      activeMs: use.activeMs + (use.inFlight > 0 ? Date.now() - use.since : 0),
      spanMs: use.first === null || use.last === null ? 0 : use.last - use.first,
      inFlight: use.inFlight,
      alarmAt: use.alarmAt,
    };
  });
  return {
    now: Date.now(),
    workerRequests: usage.workerRequests,
    workerInFlight: usage.workerInFlight,
    kv: { ...usage.kv },
    objects,
  };
}

function reset(): void {
  usage.workerRequests = 0;
  usage.kv = { reads: 0, writes: 0, deletes: 0, lists: 0 };
  // Rows of statements already run belong to the window that ran them.
  snapshot();
  for (const use of usage.objects.values()) {
    Object.assign(use, { rpc: {}, alarms: 0, setAlarms: 0, rowsRead: 0, rowsWritten: 0, activeMs: 0 });
    use.first = use.inFlight > 0 ? Date.now() : null;
    use.last = null;
    if (use.inFlight > 0) use.since = Date.now();
  }
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/_bench/cost") return Response.json(snapshot());
    if (pathname === "/_bench/cost/reset" && request.method === "POST") {
      reset();
      return Response.json(snapshot());
    }
    usage.workerRequests++;
    usage.workerInFlight++;
    try {
      return await service.fetch(request, meterEnv(env), ctx);
    } finally {
      usage.workerInFlight--;
    }
  },
} satisfies ExportedHandler<Env>;
