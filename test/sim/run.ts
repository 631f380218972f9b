// @ts-expect-error: a plain ESM script shared with `npm run dev`
import { newSigningKeySet } from "../../scripts/signing-key.mjs";
import type { Caller } from "../../src/access/authorize";
import { ApiError } from "../../src/api/errors";
import { readDelivery } from "../../src/delivery/facts";
import type { Delivery } from "../../src/domain/delivery";
import type { Outcome } from "../../src/domain/execution";
import { RESOURCE_ID } from "../../src/domain/ids";
import type { NotificationKind } from "../../src/domain/notifications";
import type { Platform, Project, TriggerResult } from "../../src/domain/ports";
import type { ReceiverRecord } from "../../src/domain/receiver";
import type { Settings } from "../../src/domain/settings";
import { setNotificationsSchema } from "../../src/notifications/destinations";
import { importFromWebhookService } from "../../src/receivers/import";
import { receiverCreateSchema } from "../../src/receivers/input";
import { Receivers } from "../../src/receivers/manage";
import { signingKeys } from "../../src/tokens/signing";
import { sha256Hex } from "../../src/util/sha256";
import { SimCattle } from "./cattle";
import { type Checked, check } from "./checker";
import { type BrokenNetwork, endpointUrl, SimDestinations } from "./destinations";
import { KvWorld } from "./kvworld";
import { describeEvent, type Plan, PROJECT, type SimEvent, UPGRADE_REPOSITORY } from "./plan";
import { Random } from "./random";
import { Scheduler, SIM_START, useRandomSource } from "./scheduler";
import { ObjectReset, World } from "./world";

/** How long a sender waits for an answer before it gives up on the request (and may retry). */
const SENDER_TIMEOUT_MS = 15_000;
/** After the last event, how long the world runs on its own: past the 30 minutes a pending trigger may wait. */
const SETTLE_MS = 45 * 60_000;
/** After the repairing accesses of the end, how long the world runs on: past the minute a KV list lags. */
const REPAIRED_MS = 2 * 60_000;
const BEARER_SECRET = "s".repeat(32);
/** Where the page is served: the link a message gives to a receiver's History. */
const PUBLIC_ORIGIN = "https://hooks.sim.example";

/** One request of a sender to a trigger URL, and what it was answered. */
export interface Attempt {
  /** `d3.a2`: the delivery and the attempt, carried as the User-Agent into the execution. */
  tag: string;
  delivery: number;
  /** Which receiver: `r<index>` or `g<index>` (imported from the generic object). */
  handle: string;
  identity: boolean;
  /** The token's version (0 for a webhook-service URL). */
  version: number;
  start: number;
  end?: number;
  /** 200, 202, 401, 403, 503; 0 while unanswered, -1 when the sender gave up waiting. */
  status: number;
  /** The object was reset while the request waited: the Worker answered 503 without knowing what happened. */
  reset?: boolean;
  /** The sender gave up waiting (and may have retried) before the answer came, if it came. */
  gaveUp?: boolean;
  outcome?: string;
  from?: number;
  to?: number;
}

/** What a receiver went through, as its management answers said. */
export interface Handle {
  handle: string;
  driver: "scaleService" | "scaleHost" | "serviceUpgrade";
  /** scaleService: the service; scaleHost: the host group; serviceUpgrade: the environment. */
  target: string;
  /** serviceUpgrade: whether it rolls back an upgrade whose new containers fail. */
  rollbackOnFailure?: boolean;
  rule?: { action: "up" | "down"; amount: number; min: number; max: number; cooldownSeconds: number };
  record?: ReceiverRecord;
  /** Every receiver id it had (an imported one is a new receiver when imported again). */
  ids: string[];
  /** Every URL it was given: its version, the token, and the sender secret that goes with it. */
  tokens: { version: number; token: string; secret?: string }[];
  createdAt?: number;
  /** When a DELETE of it started and when it answered 204. */
  deleteStarted: number[];
  deletedAt?: number;
  /** Regenerates answered 200: when, and the version they answered. */
  regenerated: { at: number; version: number }[];
  /** When each regenerate of it started, answered or not. */
  regenerateStarted: number[];
  /** A create of it started and never answered (the Worker stopped in the middle of it). */
  createUnanswered?: boolean;
  /** Its deletes and regenerates that started and have not answered (the Worker stopped in them). */
  unanswered: number;
  /** For imported receivers: the generic object and its key. */
  genericObjectId?: string;
  key?: string;
  /** Its destinations as the latest answer showed them, each with the plan's endpoint it posts to. */
  destinations?: { id: string; endpoint: number; kind: NotificationKind; on: Outcome[] }[];
}

/** What a delivery to a serviceUpgrade receiver says was pushed. */
export interface Pushed {
  delivery: number;
  handle: string;
  tag: string;
  digest?: string;
}

export interface RunResult {
  plan: Plan;
  trace: string[];
  failures: string[];
  stats: { events: number; attempts: number; timers: number; simulatedMs: number };
}

/** The body of a create of the plan's receiver `spec`, as a client sends it. */
const createBody = (spec: Plan["receivers"][number]) => ({
  ...driverBody(spec),
  ...(spec.notify
    ? {
        notifications: spec.notify.destinations.map((destination) => ({
          kind: destination.kind,
          url: endpointUrl(destination.endpoint),
          ...(destination.on ? { on: destination.on } : {}),
        })),
        ...(spec.notify.windowSeconds === undefined
          ? {}
          : { notifyWindowSeconds: spec.notify.windowSeconds }),
      }
    : {}),
});

const driverBody = (spec: Plan["receivers"][number]) =>
  spec.driver === "serviceUpgrade"
    ? {
        name: spec.name,
        driver: "serviceUpgrade",
        serviceUpgradeConfig: {
          serviceSelector: spec.serviceSelector,
          tag: spec.tag,
          payloadFormat: "dockerhub",
          batchSize: 1,
          intervalMillis: spec.intervalMillis,
          startFirst: false,
          rollbackOnFailure: spec.rollbackOnFailure,
          healthySeconds: spec.healthySeconds,
          healthTimeoutSeconds: spec.healthTimeoutSeconds,
        },
      }
    : spec.driver === "scaleService"
      ? {
          name: spec.name,
          driver: "scaleService",
          scaleServiceConfig: {
            serviceId: spec.target,
            action: spec.action,
            amount: spec.amount,
            min: spec.min,
            max: spec.max,
            cooldownSeconds: spec.cooldownSeconds,
          },
        }
      : {
          name: spec.name,
          driver: "scaleHost",
          scaleHostConfig: {
            hostSelector: { pool: spec.target },
            action: spec.action,
            amount: spec.amount,
            min: spec.min,
            max: spec.max,
            ...(spec.deleteOption ? { deleteOption: spec.deleteOption } : {}),
          },
        };

let keySet: Promise<string> | undefined;
/** One signing key set per process: Ed25519 signatures are deterministic, so tokens are too. */
const signingKeySet = (): Promise<string> => {
  keySet ??= (newSigningKeySet("sim") as Promise<unknown>).then((set) => JSON.stringify(set));
  return keySet;
};

/** Runs one plan and checks it: the trace of what happened, and what the checker found wrong. */
export async function runPlan(
  plan: Plan,
  options: {
    verbose?: boolean;
    brokenCattle?: boolean;
    hidesBadHealth?: boolean;
    /** A network, or a target, that breaks what notifications promise (destinations.ts). */
    brokenNetwork?: BrokenNetwork;
    /** Deno KV mode: a KV that hides leases and passes every check, so isolates hold one object at once. */
    brokenKv?: boolean;
  } = {},
): Promise<RunResult> {
  const scheduler = new Scheduler();
  const trace: string[] = [];
  const log = (line: string) => {
    trace.push(`[${((scheduler.now - SIM_START) / 1000).toFixed(3)}] ${line}`);
  };
  const cattle = new SimCattle(scheduler, options.verbose ? log : () => {});
  cattle.latencyMs = plan.latencyMs;
  cattle.transitionMs = plan.transitionMs;
  cattle.ignoresScaleWrites = options.brokenCattle === true;
  cattle.hidesBadHealth = options.hidesBadHealth === true;
  for (const [id, scale] of Object.entries(plan.scales)) cattle.addService(id, scale);
  if (plan.upgrades) {
    for (const service of plan.upgrades.services) cattle.addUpgradeService(service);
    for (const tag of plan.upgrades.badTags) cattle.badImages.add(`${UPGRADE_REPOSITORY}:${tag}`);
    cattle.upgradeTimes = plan.upgrades.times;
  }
  for (let i = 1; i <= plan.hosts; i++) {
    cattle.addHost(`worker${i}`, { pool: "workers" });
    scheduler.now += 1;
  }
  const destinations = new SimDestinations(
    scheduler,
    plan.notifications?.endpoints ?? [],
    options.verbose ? log : () => {},
  );
  destinations.broken = options.brokenNetwork;
  const world = plan.kv
    ? new KvWorld(scheduler, cattle, log, plan.kvLagMs, destinations, {
        isolates: plan.kv.isolates,
        seed: plan.seed,
      })
    : new World(scheduler, cattle, log, plan.kvLagMs, destinations);
  if (world instanceof KvWorld) world.store.breaksLeases = options.brokenKv === true;
  world.ignoresRevoke = options.brokenNetwork === "ignoresDelete";
  destinations.elsewhere = (url) => {
    const owner = world.urlOwner.get(url);
    return [...world.urlOwner].find(([, other]) => other.receiverId !== owner?.receiverId)?.[0];
  };
  cattle.crashOwner = (owner, restartMs) => world.crashOwner(owner, restartMs);
  destinations.crashOwner = (owner, restartMs) => world.crashOwner(owner, restartMs);
  const settings: Settings = {
    CATTLE_URL: "http://cattle.sim",
    CATTLE_ACCESS_KEY: "service-access",
    CATTLE_SECRET_KEY: "service-secret",
    WEBHOOK_SIGNING_KEYS: await signingKeySet(),
    CATTLE: cattle.fetcher,
  };
  const keys = await signingKeys(settings.WEBHOOK_SIGNING_KEYS);
  const receivers = new Receivers(world.platform, settings);
  const caller: Caller = {
    credentials: { accessKey: "user-access", secretKey: "user-secret" },
    projectId: PROJECT,
    canWrite: async () => ({ ok: true, value: true }),
  };

  /**
   * The management layer as one request of the Worker sees it. With `stopAfterMs`, the Worker goes
   * away that long into the request (an evicted isolate, a deploy): calls it already made still
   * reach their objects, KV and Cattle, but it makes no more and never answers.
   */
  const request = (what: string, stopAfterMs?: number) => {
    if (stopAfterMs === undefined) return { receivers, settings };
    let stopped = false;
    scheduler.after(stopAfterMs, () => {
      stopped = true;
      log(`${what}: the Worker stopped mid-request`);
    });
    const never = new Promise<never>(() => {});
    const guard = <T extends object>(api: T): T =>
      new Proxy(api, {
        get: (target, name) => {
          const value = Reflect.get(target, name);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            if (stopped) return never;
            return Promise.resolve(value.apply(target, args)).then(
              (result) => (stopped ? never : result),
              (error: unknown) => (stopped ? never : Promise.reject(error)),
            );
          };
        },
      });
    const platform: Platform = {
      receivers: guard(world.kv),
      target: (name) => guard(world.platform.target(name)),
      project: (projectId) => guard(world.platform.project(projectId)),
    };
    const stoppable: Settings = { ...settings, CATTLE: guard(cattle.fetcher) };
    return { receivers: new Receivers(platform, stoppable), settings: stoppable };
  };

  const handles = new Map<string, Handle>();
  plan.receivers.forEach((spec, i) => {
    handles.set(`r${i}`, {
      handle: `r${i}`,
      driver: spec.driver,
      ...(spec.driver === "serviceUpgrade"
        ? { target: PROJECT, rollbackOnFailure: spec.rollbackOnFailure }
        : {
            target: spec.target,
            rule: {
              action: spec.action,
              amount: spec.amount,
              min: spec.min,
              max: spec.max,
              cooldownSeconds: spec.cooldownSeconds,
            },
          }),
      tokens: [],
      ids: [],
      deleteStarted: [],
      regenerated: [],
      regenerateStarted: [],
      unanswered: 0,
    });
  });
  plan.generics.forEach((generic, i) => {
    handles.set(`g${i}`, {
      handle: `g${i}`,
      driver: "scaleService",
      target: "1s1",
      rule: { action: generic.action, amount: 1, min: 1, max: 10, cooldownSeconds: 0 },
      tokens: [],
      ids: [],
      deleteStarted: [],
      regenerated: [],
      regenerateStarted: [],
      unanswered: 0,
      genericObjectId: generic.id,
      key: generic.key,
    });
  });
  const attempts: Attempt[] = [];
  const pushes: Pushed[] = [];
  /** Imports answered: when they started and answered, and the generic objects each imported. */
  const imports: { start: number; end: number; imported: string[] }[] = [];
  const errors: string[] = [];

  const apiStatus = (error: unknown): string => {
    if (error instanceof ApiError) return `${error.status} ${error.code}: ${error.message}`;
    if (error instanceof ObjectReset) return "503 (object reset)";
    // Deno KV mode: the object's holder stopped, or the isolate that took the request did (the
    // error crosses isolates by its name): a 503 whose fate is unknown, as a reset's.
    if (error instanceof Error && error.name === "ObjectUnavailable") return "503 (object unavailable)";
    errors.push(
      `management threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return "500";
  };

  const remember = async (handle: Handle, record: ReceiverRecord, secret?: string) => {
    handle.record = record;
    if (!handle.ids.includes(record.id)) handle.ids.push(record.id);
    handle.tokens.push({
      version: record.version,
      token: await receivers.token(record),
      ...(secret ? { secret } : {}),
    });
  };

  /** The destinations an answer shows, in the order given, with the endpoints they were given. */
  const noteDestinations = (handle: Handle, record: ReceiverRecord, endpoints: number[]) => {
    // A receiver left without destinations and window shows none: its list is empty.
    handle.destinations = (record.notifications ?? []).map((view, i) => ({
      id: view.id,
      endpoint: endpoints[i] ?? -1,
      kind: view.kind,
      on: [...view.on],
    }));
  };

  /** The trigger route after token verification, as src/routes/trigger.ts runs it. */
  const route = async (
    url: { token?: string; key?: string; projectId?: string },
    headers: Headers,
    tag: string,
    read: Pick<Delivery, "pushes"> = {},
  ) => {
    let target: string;
    let receiverId: string;
    let version: number;
    let sender = false;
    if (url.token) {
      const claims = await keys.verify(url.token);
      if (!claims) return { status: 403 } as const;
      ({ tgt: target, sub: receiverId, ver: version } = claims);
      sender = claims.snd === true;
    } else {
      const projectId = url.projectId ?? "";
      if (!RESOURCE_ID.test(projectId)) return { status: 403 } as const;
      const digest = await sha256Hex(url.key ?? "");
      let legacy: Awaited<ReturnType<Project["legacyRoute"]>>;
      try {
        legacy = await world.platform.project(projectId).legacyRoute(digest);
      } catch {
        // The environment's object could not answer: nothing was decided, the sender tries again.
        return { status: 503, retryAfter: 2, reset: false } as const;
      }
      if (!legacy) return { status: 403 } as const;
      ({ target, receiverId, version } = legacy);
    }
    const facts = readDelivery(headers, "");
    // A serviceUpgrade receiver's push as its registry format reads it (the formats have tests of their own).
    const delivery: Delivery = {
      ...read,
      signal: facts.signal,
      ...(facts.identity
        ? { identityKey: await sha256Hex(`${facts.identity.source}\n${facts.identity.value}`) }
        : {}),
      userAgent: tag,
    };
    const proof = sender ? { headers: Object.fromEntries(headers), body: new Uint8Array() } : undefined;
    let result: TriggerResult;
    let reset = false;
    try {
      result = await world.platform.target(target).trigger(receiverId, version, delivery, proof);
    } catch {
      reset = true;
      result = { kind: "unavailable", message: "the receiver is busy; try again", retryAfterSeconds: 2 };
    }
    switch (result.kind) {
      case "decided": {
        const { outcome, from, to } = result.execution;
        const status = outcome === "pending" || outcome === "queued" ? 202 : 200;
        return { status, outcome, from, to } as const;
      }
      case "revoked":
        return { status: 403 } as const;
      case "unverified":
        return { status: 401 } as const;
      case "unavailable":
        return { status: 503, retryAfter: result.retryAfterSeconds, reset } as const;
    }
  };

  /** A sender: delivers once, and again after a 503 or when it gave up waiting, up to `tries` times. */
  const deliver = async (
    delivery: number,
    handle: Handle,
    tries: number,
    identity: boolean,
    url: () => { token?: string; key?: string; projectId?: string; version: number; secret?: string },
    read: Pick<Delivery, "pushes"> = {},
  ) => {
    for (let n = 1; n <= tries; n++) {
      const target = url();
      const attempt: Attempt = {
        tag: `d${delivery}.a${n}`,
        delivery,
        handle: handle.handle,
        identity,
        version: target.version,
        start: scheduler.now,
        status: 0,
      };
      attempts.push(attempt);
      const headers = new Headers();
      if (identity) headers.set("idempotency-key", `delivery-${delivery}`);
      if (target.secret) headers.set("authorization", `Bearer ${target.secret}`);
      let retryAfter = 5;
      const answered = route(target, headers, attempt.tag, read).then((answer) => {
        attempt.end = scheduler.now;
        attempt.status = answer.status;
        if ("outcome" in answer)
          Object.assign(attempt, { outcome: answer.outcome, from: answer.from, to: answer.to });
        if ("reset" in answer && answer.reset) attempt.reset = true;
        if ("retryAfter" in answer) retryAfter = answer.retryAfter ?? retryAfter;
        const shown =
          "outcome" in answer
            ? ` ${answer.outcome}${answer.from === undefined ? "" : ` ${answer.from} → ${answer.to}`}`
            : "";
        log(
          `${attempt.tag} ${handle.handle}@v${target.version} answered ${answer.status}${shown}${attempt.reset ? " (object reset)" : ""}`,
        );
        return true;
      });
      const gaveUp = scheduler.sleep(SENDER_TIMEOUT_MS).then(() => false);
      const inTime = await Promise.race([answered, gaveUp]);
      if (!inTime) {
        if (attempt.status === 0) {
          attempt.status = -1;
          attempt.gaveUp = true;
          log(`${attempt.tag} ${handle.handle}: the sender gave up waiting`);
        }
      } else if (attempt.status !== 503) {
        return;
      }
      await scheduler.sleep(retryAfter * 1000);
    }
  };

  /** An import as a request runs it; one answered 503 of unknown fate is run again by the repairing accesses. */
  let importUnanswered = false;
  const runImport = async (what: string) => {
    const start = scheduler.now;
    try {
      const result = await importFromWebhookService(caller, receivers, settings);
      const imported: string[] = [];
      for (const record of result.imported) {
        const index = plan.generics.findIndex((generic) => generic.id === record.importedFrom);
        const handle = handles.get(`g${index}`);
        if (!handle) continue;
        // A generic object imported again after its receiver was deleted is a new receiver.
        Object.assign(handle, {
          deletedAt: undefined,
          deleteStarted: [],
          regenerated: [],
          regenerateStarted: [],
          tokens: [],
        });
        handle.createdAt = scheduler.now;
        await remember(handle, record);
        imported.push(handle.handle);
      }
      imports.push({ start, end: scheduler.now, imported });
      log(
        `${what} answered 200: imported [${imported.join(", ")}], skipped ${result.skipped
          .map((skipped) => `${skipped.genericObjectId} (${skipped.reason})`)
          .join("; ")}`,
      );
    } catch (error) {
      if (unknownFate(error)) importUnanswered = true;
      log(`${what} answered ${apiStatus(error)}`);
    }
  };

  let deliveries = 0;
  const run = async (event: SimEvent) => {
    if (options.verbose) log(`event: ${describeEvent(event, plan).replace(/^t=\S+ /, "")}`);
    switch (event.kind) {
      case "create": {
        const spec = plan.receivers[event.receiver];
        const handle = handles.get(`r${event.receiver}`);
        if (!spec || !handle || handle.createdAt !== undefined) return;
        const body = createBody(spec);
        handle.createUnanswered = true;
        try {
          const { receivers } = request(`create ${handle.handle}`, event.interruptMs);
          const record = await receivers.create(
            caller,
            receiverCreateSchema().parse(body),
            {},
            scheduler.now,
          );
          handle.createUnanswered = false;
          handle.createdAt = scheduler.now;
          await remember(handle, record);
          noteDestinations(handle, record, spec.notify?.destinations.map((d) => d.endpoint) ?? []);
          log(`create ${handle.handle} (${spec.name}) answered 201`);
        } catch (error) {
          // A 503 of unknown fate leaves the create as one the Worker stopped in: the next access finishes it.
          if (!unknownFate(error)) handle.createUnanswered = false;
          log(`create ${handle.handle} (${spec.name}) answered ${apiStatus(error)}`);
        }
        return;
      }
      case "trigger":
      case "legacyTrigger": {
        const handle = handles.get(event.kind === "trigger" ? `r${event.receiver}` : `g${event.generic}`);
        if (!handle) return;
        const delivery = ++deliveries;
        if (event.kind === "trigger") {
          if (handle.tokens.length === 0) return;
          const chosen = event.stale ? handle.tokens[0] : undefined;
          await deliver(delivery, handle, event.attempts, event.identity, () => {
            const token = chosen ?? (handle.tokens.at(-1) as Handle["tokens"][number]);
            return {
              token: token.token,
              version: token.version,
              ...(token.secret ? { secret: token.secret } : {}),
            };
          });
        } else {
          await deliver(delivery, handle, event.attempts, event.identity, () => ({
            key: handle.key ?? "",
            projectId: PROJECT,
            version: 0,
          }));
        }
        return;
      }
      case "push": {
        const handle = handles.get(`r${event.receiver}`);
        if (!handle || handle.tokens.length === 0) return;
        const delivery = ++deliveries;
        pushes.push({
          delivery,
          handle: handle.handle,
          tag: event.tag,
          ...(event.digest ? { digest: event.digest } : {}),
        });
        const push = {
          repository: UPGRADE_REPOSITORY,
          tags: [event.tag],
          ...(event.digest ? { digests: { [event.tag]: event.digest } } : {}),
        };
        await deliver(
          delivery,
          handle,
          event.attempts,
          event.identity,
          () => {
            const token = handle.tokens.at(-1) as Handle["tokens"][number];
            return { token: token.token, version: token.version };
          },
          { pushes: [push] },
        );
        return;
      }
      case "upgradeFails":
        cattle.upgradeErrors++;
        return;
      case "crashBeforeAction":
        cattle.crashesBeforeAction.push({ restartMs: event.restartMs });
        return;
      case "setNotifications": {
        const handle = handles.get(`r${event.receiver}`);
        if (!handle?.record || !handle.destinations) return;
        // The list the receiver has, as its latest answer showed it, changed as the event says.
        const kept = handle.destinations.map((destination) => ({ ...destination }));
        const changed = event.changeOn && kept[event.changeOn.index % kept.length];
        if (changed && event.changeOn) changed.on = [...event.changeOn.on];
        if (event.drop !== undefined && kept.length > 0) kept.splice(event.drop % kept.length, 1);
        const added = event.add && kept.length < 5 ? event.add : undefined;
        const body = setNotificationsSchema().parse({
          notifications: [
            ...kept.map((destination) => ({
              id: destination.id,
              kind: destination.kind,
              on: destination.on,
            })),
            ...(added
              ? [
                  {
                    kind: added.kind,
                    url: endpointUrl(added.endpoint),
                    ...(added.on ? { on: added.on } : {}),
                  },
                ]
              : []),
          ],
          ...(event.windowSeconds === undefined ? {} : { notifyWindowSeconds: event.windowSeconds }),
        });
        try {
          const record = await receivers.find(PROJECT, handle.record.id);
          if (!record) {
            log(`setNotifications ${handle.handle} answered 404`);
            return;
          }
          const changedRecord = await receivers.setNotifications(caller, record, body, PUBLIC_ORIGIN);
          handle.record = changedRecord.record;
          noteDestinations(handle, changedRecord.record, [
            ...kept.map((destination) => destination.endpoint),
            ...(added ? [added.endpoint] : []),
          ]);
          log(
            `setNotifications ${handle.handle} answered 200: ${(handle.destinations ?? [])
              .map(
                (destination) =>
                  `e${destination.endpoint} ${destination.kind} on ${destination.on.join(",")}`,
              )
              .join("; ")}, window ${changedRecord.record.notifyWindowSeconds} s`,
          );
        } catch (error) {
          log(`setNotifications ${handle.handle} answered ${apiStatus(error)}`);
        }
        return;
      }
      case "testNotification": {
        const handle = handles.get(`r${event.receiver}`);
        if (!handle?.record) return;
        try {
          const record = await receivers.find(PROJECT, handle.record.id);
          if (!record) {
            log(`testNotification ${handle.handle} answered 404`);
            return;
          }
          const results = await receivers.testNotification(record);
          log(
            `testNotification ${handle.handle} answered 200: ${results.map((result) => `${result.kind} ${result.status}${result.httpStatus ? ` ${result.httpStatus}` : ""}`).join("; ")}`,
          );
        } catch (error) {
          log(`testNotification ${handle.handle} answered ${apiStatus(error)}`);
        }
        return;
      }
      case "destinationFault":
        destinations.fault(event.endpoint, event.fault, event.count);
        return;
      case "crashMidNotification":
        destinations.crashes.push({ restartMs: event.restartMs, reached: event.reached });
        return;
      case "delete":
      case "deleteImported": {
        const handle = handles.get(event.kind === "delete" ? `r${event.receiver}` : `g${event.generic}`);
        if (!handle?.record) return;
        handle.deleteStarted.push(scheduler.now);
        handle.unanswered++;
        const { receivers } = request(
          `DELETE ${handle.handle}`,
          event.kind === "delete" ? event.interruptMs : undefined,
        );
        try {
          const record = await receivers.find(PROJECT, handle.record.id);
          if (!record) {
            log(`DELETE ${handle.handle} answered 404`);
            return;
          }
          await receivers.remove(record);
          handle.deletedAt ??= scheduler.now;
          log(`DELETE ${handle.handle} answered 204`);
        } catch (error) {
          log(`DELETE ${handle.handle} answered ${apiStatus(error)}`);
          // Unknown fate: as a request the Worker stopped in, the next access finishes it.
          if (unknownFate(error)) handle.unanswered++;
        } finally {
          handle.unanswered--;
        }
        return;
      }
      case "regenerate":
      case "regenerateImported": {
        const handle = handles.get(event.kind === "regenerate" ? `r${event.receiver}` : `g${event.generic}`);
        if (!handle?.record) return;
        const sender = event.kind === "regenerate" ? event.sender : undefined;
        const change =
          sender === "bearer"
            ? { senderVerification: { scheme: "bearer" as const, token: BEARER_SECRET } }
            : sender === "none"
              ? { senderVerification: null }
              : {};
        handle.regenerateStarted.push(scheduler.now);
        handle.unanswered++;
        const { receivers } = request(
          `regenerate ${handle.handle}`,
          event.kind === "regenerate" ? event.interruptMs : undefined,
        );
        try {
          const record = await receivers.find(PROJECT, handle.record.id);
          if (!record) {
            log(`regenerate ${handle.handle} answered 404`);
            return;
          }
          const next = await receivers.regenerate(record, change);
          const secret =
            sender === "bearer"
              ? BEARER_SECRET
              : sender === "none"
                ? undefined
                : handle.tokens.at(-1)?.secret;
          await remember(handle, next, secret);
          handle.regenerated.push({ at: scheduler.now, version: next.version });
          log(`regenerate ${handle.handle} answered 200 (version ${next.version})`);
        } catch (error) {
          log(`regenerate ${handle.handle} answered ${apiStatus(error)}`);
          if (unknownFate(error)) handle.unanswered++;
        } finally {
          handle.unanswered--;
        }
        return;
      }
      case "genericObject": {
        const generic = plan.generics[event.generic];
        if (!generic || cattle.genericObjects.some((object) => object.id === generic.id)) return;
        cattle.genericObjects.push({
          id: generic.id,
          type: "genericObject",
          kind: "webhookReceiver",
          name: generic.name,
          key: generic.key,
          state: "active",
          resourceData: {
            url: `http://rancher.sim/v1-webhooks/endpoint?key=${generic.key}&projectId=${PROJECT}`,
            driver: "scaleService",
            config: {
              serviceId: "1s1",
              action: generic.action,
              amount: 1,
              min: 1,
              max: 10,
              type: "scaleService",
            },
          },
        } as never);
        return;
      }
      case "import":
        await runImport("import");
        return;
      case "stranger": {
        const delivery = ++deliveries;
        const projectId = `1a${900 + delivery}`;
        const answer = await route({ key: "z".repeat(40), projectId }, new Headers(), `d${delivery}.a1`);
        log(`stranger's trigger of environment ${projectId} answered ${answer.status}`);
        return;
      }
      case "crash": {
        if (world instanceof KvWorld) {
          world.crashObject(event.object, event.restartMs);
          return;
        }
        const object = world.objects.get(event.object);
        if (object) world.crash(object, event.restartMs);
        return;
      }
      case "stall":
        if (world instanceof KvWorld) world.stall(event.object, event.ms);
        return;
      case "writeFate":
        cattle.writes.push(event.fate);
        return;
      case "readFails":
        cattle.reads.push({ kind: "refused", status: 503 });
        return;
      case "outside":
        cattle.outside(event.service, event.scale);
        return;
      case "hostFails":
        cattle.hostFailures++;
        return;
    }
  };

  /**
   * The accesses that finish what stopped requests left, and only those (a GET wakes its target,
   * and what waking does is judged where the plan's own requests wake it): a GET of each receiver
   * with a delete or regenerate that never answered (finished there), and the same create again
   * for each create that never answered (its name, held past the claim's grace by a receiver
   * without a record, is taken over). Each is logged with its answer like any other request.
   */
  const repair = async () => {
    // An import answered 503 of unknown fate may have claimed names for receivers it never
    // recorded: the same import again takes them over, as a create again does.
    if (importUnanswered) {
      importUnanswered = false;
      await runImport("import again");
    }
    for (const handle of handles.values()) {
      const id = handle.record?.id;
      if (!id || handle.deletedAt !== undefined || handle.unanswered === 0) continue;
      const found = await receivers.find(PROJECT, id);
      log(`GET ${handle.handle} answered ${found ? `200 (version ${found.version})` : "404"}`);
    }
    for (const [index, spec] of plan.receivers.entries()) {
      const handle = handles.get(`r${index}`);
      if (!handle?.createUnanswered) continue;
      try {
        const record = await receivers.create(
          caller,
          receiverCreateSchema().parse(createBody(spec)),
          {},
          scheduler.now,
        );
        handle.createUnanswered = false;
        handle.createdAt = scheduler.now;
        await remember(handle, record);
        noteDestinations(handle, record, spec.notify?.destinations.map((d) => d.endpoint) ?? []);
        log(`create ${handle.handle} (${spec.name}) again answered 201`);
      } catch (error) {
        log(`create ${handle.handle} (${spec.name}) again answered ${apiStatus(error)}`);
      }
    }
  };

  const previousNow = Date.now;
  const previousRandom = Math.random;
  useRandomSource(new Random(plan.seed ^ 0x5eed));
  // The objects over KV draw their retry jitter from Math.random: from the run's seed too.
  if (plan.kv) {
    const jitter = new Random(plan.seed ^ 0x71773e);
    Math.random = () => jitter.next() / 2 ** 32;
  }
  // Management code reads the wall clock for creation times and ids: it reads the simulated one.
  Date.now = () => scheduler.now;
  const silenced = silenceConsole();
  let checked: Checked;
  try {
    for (const event of plan.events) {
      scheduler.at(SIM_START + event.at, () => {
        run(event).catch((error: unknown) => {
          errors.push(
            `event ${describeEvent(event, plan)} threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
          );
        });
      });
    }
    const lastEvent = SIM_START + (plan.events.at(-1)?.at ?? 0);
    // The faults the plan left unused end with it: what follows is the world settling.
    scheduler.at(lastEvent + 1, () => {
      cattle.writes.length = 0;
      cattle.reads.length = 0;
      cattle.upgradeErrors = 0;
      cattle.crashesBeforeAction.length = 0;
      destinations.clearFaults();
    });
    await scheduler.runUntil(lastEvent + SETTLE_MS);
    if (options.verbose) log("settled");
    // A management request the Worker stopped in the middle is finished or undone by the next
    // access of its receiver (docs/api.md, "Management"), not by itself: that access comes now,
    // and the checker judges what it leaves.
    scheduler.at(scheduler.now + 1, () => {
      repair().catch((error: unknown) => {
        errors.push(
          `the repairing accesses threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      });
    });
    await scheduler.runUntil(scheduler.now + REPAIRED_MS);
    // Over Deno KV, an object is what KV holds of it, read back as its next holder would.
    const objects = world instanceof KvWorld ? await world.storedObjects() : world.objects;
    checked = check({
      plan,
      world: { ...notesOf(world), kv: world.kv, objects },
      cattle,
      handles,
      attempts,
      pushes,
      imports,
      errors,
      destinations,
      now: scheduler.now,
    });
  } finally {
    silenced.restore();
    Date.now = previousNow;
    Math.random = previousRandom;
    useRandomSource(undefined);
  }
  for (const line of checked.notes) log(line);
  return {
    plan,
    trace,
    failures: checked.failures,
    stats: {
      events: plan.events.length,
      attempts: attempts.length,
      timers: scheduler.fired,
      simulatedMs: scheduler.now - SIM_START,
    },
  };
}

/**
 * An object call whose fate is unknown: a Durable Object reset while it ran, or (over Deno KV) its
 * holder or the isolate that took the request stopped. The Worker answers 503; what the call did
 * may have happened or not, so a management request answered so is left to the next access of its
 * receiver, as one the Worker stopped in.
 */
const unknownFate = (error: unknown): boolean =>
  error instanceof ObjectReset || (error instanceof Error && error.name === "ObjectUnavailable");

const notesOf = (world: World | KvWorld) => ({
  forgotten: world.forgotten,
  notifyLog: world.notifyLog,
  urlOwner: world.urlOwner,
});

/** The service's log lines would bury the simulation's own: kept out while a run lasts. */
function silenceConsole() {
  const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info };
  console.log = console.warn = console.error = console.info = () => {};
  return {
    restore: () => Object.assign(console, saved),
  };
}
