import type { Outcome } from "../../src/domain/execution";
import type { NotificationKind } from "../../src/domain/notifications";
import type { UpgradeServiceSpec, UpgradeTimes, WriteFate } from "./cattle";
import type { DestinationFault, EndpointSpec } from "./destinations";
import { Random } from "./random";

/** A receiver the run may create: what it scales or upgrades, and how; some say what happened. */
export type ReceiverSpec = (ScaleReceiverSpec | UpgradeReceiverSpec) & { notify?: NotifySpec };

/** A destination of a receiver: the plan's endpoint it posts to, its kind, the outcomes it wants. */
export interface DestinationSpec {
  endpoint: number;
  kind: NotificationKind;
  /** Absent: the default the API gives. */
  on?: Outcome[];
}

/** A receiver's notifications as its create gives them. */
export interface NotifySpec {
  /** Absent: the default window. */
  windowSeconds?: number;
  destinations: DestinationSpec[];
}

/** A change of a receiver's destinations: the list it has, one dropped, one's outcomes changed, one added. */
export interface NotifyChange {
  /** Index into the destinations the receiver has (modulo their number). */
  drop?: number;
  changeOn?: { index: number; on: Outcome[] };
  add?: DestinationSpec;
  windowSeconds?: number;
}

/** A scaleService or scaleHost receiver. */
export interface ScaleReceiverSpec {
  name: string;
  driver: "scaleService" | "scaleHost";
  /** scaleService: the service; scaleHost: the host group's label value. */
  target: string;
  action: "up" | "down";
  amount: number;
  min: number;
  max: number;
  cooldownSeconds: number;
  /** scaleHost down: which hosts go first. */
  deleteOption?: "mostRecent" | "leastRecent";
}

/** A serviceUpgrade receiver of the environment: the services it upgrades and how it verifies them. */
export interface UpgradeReceiverSpec {
  name: string;
  driver: "serviceUpgrade";
  serviceSelector: Record<string, string>;
  tag: string;
  intervalMillis: number;
  rollbackOnFailure: boolean;
  healthySeconds: number;
  healthTimeoutSeconds: number;
}

/** The upgrade side of a run: the services, the images that fail, how long Cattle's steps take. */
export interface UpgradeWorld {
  services: UpgradeServiceSpec[];
  /** Pushed tags whose image fails (unhealthy, or restarting); the others are sound. */
  badTags: string[];
  times: UpgradeTimes;
}

/** A webhook-service receiver kept as a Cattle generic object, which an import reads. */
export interface GenericSpec {
  id: string;
  name: string;
  key: string;
  action: "up" | "down";
}

/** One thing that happens at `at` (ms after the start). */
export type SimEvent = { at: number } & (
  | { kind: "create"; receiver: number; interruptMs?: number }
  | { kind: "trigger"; receiver: number; identity: boolean; stale: boolean; attempts: number }
  | { kind: "legacyTrigger"; generic: number; identity: boolean; attempts: number }
  | { kind: "delete"; receiver: number; interruptMs?: number }
  | { kind: "regenerate"; receiver: number; sender?: "bearer" | "none"; interruptMs?: number }
  | { kind: "deleteImported"; generic: number }
  | { kind: "regenerateImported"; generic: number }
  | { kind: "genericObject"; generic: number }
  | { kind: "import" }
  | { kind: "stranger" }
  | { kind: "crash"; object: string; restartMs: number }
  | { kind: "writeFate"; fate: WriteFate }
  | { kind: "readFails" }
  | { kind: "outside"; service: string; scale: number }
  | { kind: "hostFails" }
  | {
      kind: "push";
      receiver: number;
      tag: string;
      digest?: string;
      identity: boolean;
      attempts: number;
    }
  | { kind: "upgradeFails" }
  | { kind: "crashBeforeAction"; restartMs: number }
  | ({ kind: "setNotifications"; receiver: number } & NotifyChange)
  | { kind: "testNotification"; receiver: number }
  | { kind: "destinationFault"; endpoint: number; fault: DestinationFault; count: number }
  | { kind: "crashMidNotification"; restartMs: number; reached: boolean }
  /** Deno KV mode: the isolate holding the object pauses for `ms`, past its leases, then goes on. */
  | { kind: "stall"; object: string; ms: number }
);

/** Everything a run does: its settings, the receivers it may create, and its events in time order. */
export interface Plan {
  seed: number;
  latencyMs: number;
  transitionMs: number;
  kvLagMs: number;
  scales: Record<string, number>;
  hosts: number;
  receivers: ReceiverSpec[];
  generics: GenericSpec[];
  events: SimEvent[];
  /** Only in runs with serviceUpgrade receivers. */
  upgrades?: UpgradeWorld;
  /** Only in runs with notifications: the endpoints their destinations post to. */
  notifications?: { endpoints: EndpointSpec[] };
  /** Only in the Deno KV mode: how many isolates serve at once. */
  kv?: { isolates: number };
}

export const SERVICES = ["1s1", "1s2"] as const;
export const PROJECT = "1a5";
/** The objects a crash can hit. */
export const CRASHABLE = ["target:scaleService:1a5:1s1", "target:scaleService:1a5:1s2", "project:1a5"];
const HOST_TARGET = "target:scaleHost:1a5:pool=workers";
export const UPGRADE_TARGET = "target:serviceUpgrade:1a5";
export const UPGRADE_REPOSITORY = "myorg/api";
const UPGRADE_TAGS = ["1.1.0", "1.2.0", "1.3.0"];

/**
 * A plan drawn from a seed: the seed decides every choice, so the same seed is the same run. With
 * `kv`, the plan runs on the Deno KV deployment: the same plan, plus how many isolates serve and
 * some stalls of them, drawn from a generator of their own.
 */
export function planFor(seed: number, options: { kv?: boolean } = {}): Plan {
  const plan = basePlan(seed);
  if (options.kv) addKv(plan, new Random(seed ^ 0x6b76d3e0));
  return plan;
}

/** Deno KV mode: two to four isolates, and up to three stalls of the isolate holding an object. */
function addKv(plan: Plan, random: Random): void {
  plan.kv = { isolates: random.int(2, 4) };
  const span = Math.max(1_000, plan.events.at(-1)?.at ?? 0);
  const objects = CRASHABLE.concat(plan.upgrades ? [UPGRADE_TARGET] : []);
  const stalls = random.weighted<number>([
    [4, 0],
    [4, 1],
    [2, 2],
    [1, 3],
  ]);
  for (let i = 0; i < stalls; i++) {
    plan.events.push({
      kind: "stall",
      at: random.int(0, span),
      object: random.pick(objects),
      ms: random.pick([14_000, 16_000, 25_000]),
    });
  }
  plan.events.sort((a, b) => a.at - b.at);
}

function basePlan(seed: number): Plan {
  const random = new Random(seed);
  const receivers: ReceiverSpec[] = [];
  const count = random.int(2, 5);
  const withHosts = random.chance(0.25);
  for (let i = 0; i < count; i++) {
    const min = random.int(0, 2);
    const max = random.int(Math.max(min, 1) + 1, 8);
    receivers.push({
      // Sometimes two receivers ask for one name: only one of them may hold it at a time.
      name: i > 0 && random.chance(0.1) ? `hook-${i - 1}` : `hook-${i}`,
      driver: "scaleService",
      target: i === 0 || random.chance(0.8) ? "1s1" : "1s2",
      action: random.chance(0.6) ? "up" : "down",
      amount: random.int(1, 2),
      min,
      max,
      cooldownSeconds: random.chance(0.3) ? random.pick([5, 30, 120]) : 0,
    });
  }
  if (withHosts) {
    for (const action of ["up", "down"] as const) {
      receivers.push({
        name: `hosts-${action}`,
        driver: "scaleHost",
        target: "workers",
        action,
        amount: 1,
        min: 1,
        max: 8,
        cooldownSeconds: 0,
        ...(action === "down" ? { deleteOption: random.pick(["mostRecent", "leastRecent"] as const) } : {}),
      });
    }
  }
  const generics: GenericSpec[] = [
    { id: "1go1", name: "legacy-a", key: `${"k".repeat(39)}1`, action: "up" },
    // The same key as the first, another action: an import must not let it take the first's URL.
    { id: "1go2", name: "legacy-b", key: `${"k".repeat(39)}1`, action: "down" },
    { id: "1go3", name: "legacy-c", key: `${"k".repeat(39)}3`, action: "down" },
  ];
  const withImports = random.chance(0.3);

  const events: SimEvent[] = [];
  const span = random.pick([5_000, 20_000, 60_000]);
  const at = () => random.int(0, span);
  // Most receivers exist from the start; some are created while the rest goes on.
  receivers.forEach((_, receiver) => {
    events.push({ kind: "create", receiver, at: random.chance(0.7) ? 0 : at() });
  });
  if (withImports) {
    events.push({ kind: "genericObject", generic: 0, at: 0 }, { kind: "genericObject", generic: 2, at: 0 });
    events.push({ kind: "genericObject", generic: 1, at: at() });
  }
  const crashable = CRASHABLE.concat(withHosts ? [HOST_TARGET] : []);
  const total = random.int(5, 40);
  for (let i = 0; i < total; i++) {
    const receiver = random.int(0, receivers.length - 1);
    const kind = random.weighted<SimEvent["kind"]>([
      [30, "trigger"],
      [withImports ? 6 : 0, "legacyTrigger"],
      [3, "delete"],
      [5, "regenerate"],
      [withImports ? 4 : 0, "import"],
      [withImports ? 1 : 0, "deleteImported"],
      [withImports ? 1 : 0, "regenerateImported"],
      [withImports ? 1 : 0, "stranger"],
      [8, "crash"],
      [14, "writeFate"],
      [4, "readFails"],
      [2, "outside"],
      [withHosts ? 2 : 0, "hostFails"],
    ]);
    const time = at();
    switch (kind) {
      case "trigger":
        events.push({
          kind,
          at: time,
          receiver,
          identity: random.chance(0.6),
          stale: random.chance(0.1),
          attempts: random.int(1, 4),
        });
        break;
      case "legacyTrigger":
        events.push({
          kind,
          at: time,
          generic: random.int(0, generics.length - 1),
          identity: random.chance(0.5),
          attempts: random.int(1, 3),
        });
        break;
      case "delete":
        events.push({ kind, at: time, receiver });
        break;
      case "regenerate":
        events.push({
          kind,
          at: time,
          receiver,
          ...(random.chance(0.2) ? { sender: random.pick(["bearer", "none"] as const) } : {}),
        });
        break;
      case "deleteImported":
      case "regenerateImported":
        events.push({ kind, at: time, generic: random.int(0, generics.length - 1) });
        break;
      case "crash":
        events.push({ kind, at: time, object: random.pick(crashable), restartMs: random.pick([0, 50, 500]) });
        break;
      case "writeFate":
        events.push({ kind, at: time, fate: writeFate(random) });
        break;
      case "outside":
        events.push({ kind, at: time, service: random.pick(SERVICES), scale: random.int(1, 6) });
        break;
      case "import":
      case "stranger":
      case "readFails":
      case "hostFails":
        events.push({ kind, at: time });
        break;
    }
  }
  // Races are what this is for: now and then a second event lands on the first's millisecond.
  for (const event of events) {
    if (event.at > 0 && random.chance(0.15)) {
      const other = random.pick(events);
      event.at = other.at + random.int(0, 5);
    }
  }
  events.sort((a, b) => a.at - b.at);
  // The Worker itself stops in the middle of some management requests (an eviction, a deploy):
  // drawn from a generator of their own, so that the rest of a seed's plan stays as it was.
  const interruptions = new Random(seed ^ 0x1e5c0ffe);
  for (const event of events) {
    if (
      (event.kind === "create" || event.kind === "delete" || event.kind === "regenerate") &&
      interruptions.chance(0.08)
    ) {
      event.interruptMs = interruptions.int(0, 40);
    }
  }
  const plan: Plan = {
    seed,
    latencyMs: random.pick([2, 20, 200]),
    transitionMs: random.pick([0, 300, 2_000, 5_000]),
    kvLagMs: random.pick([0, 1_000, 60_000]),
    scales: { "1s1": random.int(1, 5), "1s2": random.int(1, 5) },
    hosts: withHosts ? random.int(2, 4) : 0,
    receivers,
    generics,
    events,
  };
  // Upgrades come from a generator of their own, drawn after the rest: a seed without them keeps
  // the plan it always had, and a seed with them keeps every other event as it was.
  const upgrades = new Random(seed ^ 0x0b5e7a11);
  if (upgrades.chance(0.4)) addUpgrades(plan, upgrades, span);
  // Notifications too, last: a seed without them keeps the plan it had before they came.
  const notifications = new Random(seed ^ 0x40717f1e);
  if (notifications.chance(0.35)) addNotifications(plan, notifications, span);
  return plan;
}

/** Outcome lists a destination may want: the default, a few usual ones, and any at all. */
const ON_LISTS: (Outcome[] | undefined)[] = [
  undefined,
  ["applied"],
  ["applied", "noop", "failed"],
  ["failed", "rolledBack"],
  ["applied", "pending", "failed"],
  ["noop", "cooldown", "deduplicated", "ignored"],
  ["queued", "applied", "failed", "rolledBack"],
];
const ALL_OUTCOMES: Outcome[] = [
  "applied",
  "noop",
  "cooldown",
  "ignored",
  "deduplicated",
  "queued",
  "pending",
  "failed",
  "rolledBack",
];
const KINDS: NotificationKind[] = ["slack", "teams", "discord", "webhook"];

/**
 * Destinations for some receivers (one to three, each its own endpoint, windows of 0, 1 or 10 s),
 * and among the plan's events: changes of them (one kept with other outcomes, one dropped, one
 * added), tests, deletes of such a receiver, endpoints that fail for a while (5xx, 429 with and
 * without Retry-After, network errors, no answer) and crashes in the middle of a request. Outages
 * are kept far shorter than the 24 hours a message is retried for.
 */
function addNotifications(plan: Plan, random: Random, span: number): void {
  const endpoints: EndpointSpec[] = [];
  const onList = (): Outcome[] | undefined =>
    random.chance(0.8)
      ? random.pick(ON_LISTS)
      : ALL_OUTCOMES.filter(() => random.chance(0.4))
          .concat(["applied"])
          .filter((outcome, i, all) => all.indexOf(outcome) === i);
  const destination = (): DestinationSpec => {
    endpoints.push({ latencyMs: random.pick([4, 40, 400, 2_000]), broken: random.chance(0.1) });
    const on = onList();
    return { endpoint: endpoints.length - 1, kind: random.pick(KINDS), ...(on ? { on } : {}) };
  };
  const notified: number[] = [];
  plan.receivers.forEach((spec, receiver) => {
    if (notified.length > 0 && !random.chance(0.5)) return;
    const count = random.int(1, 3);
    const window = random.pick([0, 1, 10, undefined]);
    spec.notify = {
      ...(window === undefined ? {} : { windowSeconds: window }),
      destinations: Array.from({ length: count }, destination),
    };
    notified.push(receiver);
  });
  const at = () => random.int(0, span);
  const events: SimEvent[] = [];
  const total = random.int(2, 12);
  for (let i = 0; i < total; i++) {
    const kind = random.weighted<SimEvent["kind"]>([
      [4, "setNotifications"],
      [7, "destinationFault"],
      [2, "crashMidNotification"],
      [1, "testNotification"],
      [1, "delete"],
    ]);
    const time = at();
    const receiver = random.pick(notified);
    switch (kind) {
      case "setNotifications": {
        const change: NotifyChange = {};
        if (random.chance(0.5)) change.drop = random.int(0, 2);
        if (random.chance(0.5)) {
          const on = onList() ?? ["applied", "failed", "rolledBack"];
          change.changeOn = { index: random.int(0, 2), on };
        }
        if (random.chance(0.6)) change.add = destination();
        if (random.chance(0.3)) change.windowSeconds = random.pick([0, 1, 10]);
        events.push({ kind, at: time, receiver, ...change });
        break;
      }
      case "destinationFault": {
        const fault = random.weighted<DestinationFault>([
          [3, { kind: "status", status: random.pick([500, 502, 503] as const) }],
          [2, { kind: "tooMany", retryAfterSeconds: random.pick([1, 7, 30, 90]) }],
          [1, { kind: "tooMany" }],
          [2, { kind: "network" }],
          [2, { kind: "hang" }],
        ]);
        if (endpoints.length === 0) break;
        events.push({
          kind,
          at: time,
          endpoint: random.int(0, endpoints.length - 1),
          fault,
          count: random.int(1, 4),
        });
        break;
      }
      case "crashMidNotification":
        events.push({ kind, at: time, restartMs: random.pick([0, 50, 500]), reached: random.chance(0.5) });
        break;
      case "testNotification":
        events.push({ kind, at: time, receiver });
        break;
      case "delete": {
        // An upgrade receiver's delete takes its queued upgrades with it: the upgrade checks assume none.
        const deletable = notified.filter((index) => plan.receivers[index]?.driver !== "serviceUpgrade");
        if (deletable.length > 0) events.push({ kind, at: time, receiver: random.pick(deletable) });
        break;
      }
    }
  }
  plan.notifications = { endpoints };
  // A stable sort: the plan's other events keep their order among themselves.
  plan.events = [...plan.events, ...events].sort((a, b) => a.at - b.at);
}

/**
 * One or two serviceUpgrade receivers over two services of the environment, and pushes of good and
 * bad tags (with and without digests, a rolled-back tag again), among the plan's other events:
 * crashes of the upgrade target (also between a stored decision and its request), Cattle ending
 * an upgrade in an error. Verification times are short, so that a run stays short.
 */
function addUpgrades(plan: Plan, random: Random, span: number): void {
  const first = plan.receivers.length;
  const rollbackOnFailure = random.chance(0.75);
  const count = random.int(1, 2);
  for (let i = 0; i < count; i++) {
    plan.receivers.push({
      name: `deploy-${i}`,
      driver: "serviceUpgrade",
      serviceSelector: random.pick<Record<string, string>>([
        { tier: "backend" },
        { app: "api" },
        { app: "worker" },
      ]),
      tag: random.pick(["1.*", "*"]),
      intervalMillis: random.pick([500, 2_000]),
      // One setting for the run: a service upgraded by two receivers is judged by it either way.
      rollbackOnFailure,
      healthySeconds: random.pick([2, 3, 5]),
      healthTimeoutSeconds: random.pick([10, 20]),
    });
  }
  plan.upgrades = {
    services: [
      { id: "1s5", name: "api", labels: { tier: "backend", app: "api" } },
      { id: "1s6", name: "worker", labels: { tier: "backend", app: "worker" } },
    ].map((service) => ({
      ...service,
      image: `${UPGRADE_REPOSITORY}:1.0.0`,
      scale: random.int(1, 3),
      healthCheck: random.chance(0.5),
    })),
    badTags: UPGRADE_TAGS.filter(() => random.chance(0.4)),
    times: {
      upgradeMs: random.pick([300, 1_500, 4_000]),
      settleMs: random.pick([200, 1_000, 3_500]),
      goodAfterMs: random.int(200, 4_000),
      badAfterMs: random.int(200, 15_000),
    },
  };
  const at = () => random.int(0, span);
  const events: SimEvent[] = [];
  for (let receiver = first; receiver < plan.receivers.length; receiver++) {
    events.push({ kind: "create", receiver, at: random.chance(0.8) ? 0 : at() });
  }
  const total = random.int(2, 10);
  const pushed: { tag: string; digest?: string }[] = [];
  for (let i = 0; i < total; i++) {
    const kind = random.weighted<SimEvent["kind"]>([
      [10, "push"],
      [3, "crash"],
      [2, "crashBeforeAction"],
      // With rollbackOnFailure off an upgrade Cattle ended in an error stays so, and every later
      // push for the service waits 30 minutes for it: too slow a seed for what little it shows.
      [rollbackOnFailure ? 1 : 0, "upgradeFails"],
    ]);
    const time = at();
    switch (kind) {
      case "push": {
        // Now and then the very push again (a tag rolled back, say), or its tag rebuilt.
        const again = pushed.length > 0 && random.chance(0.3) ? random.pick(pushed) : undefined;
        const tag = again?.tag ?? random.pick(UPGRADE_TAGS);
        const digest = random.weighted<string | undefined>([
          [2, again?.digest],
          [1, undefined],
          [1, `sha256:${tag.replaceAll(".", "")}${random.pick(["a", "b"])}`],
        ]);
        pushed.push({ tag, ...(digest ? { digest } : {}) });
        events.push({
          kind,
          at: time,
          receiver: random.int(first, plan.receivers.length - 1),
          tag,
          ...(digest ? { digest } : {}),
          identity: random.chance(0.5),
          attempts: random.int(1, 3),
        });
        break;
      }
      case "crash":
        events.push({ kind, at: time, object: UPGRADE_TARGET, restartMs: random.pick([0, 50, 500]) });
        break;
      case "crashBeforeAction":
        events.push({ kind, at: time, restartMs: random.pick([0, 50, 500]) });
        break;
      case "upgradeFails":
        events.push({ kind, at: time });
        break;
    }
  }
  // A stable sort: the plan's other events keep their order among themselves.
  plan.events = [...plan.events, ...events].sort((a, b) => a.at - b.at);
}

function writeFate(random: Random): WriteFate {
  return random.weighted<() => WriteFate>([
    [3, () => ({ kind: "late", ms: random.pick([1_000, 5_000, 20_000]) })],
    [3, () => ({ kind: "lost" })],
    // Cattle holds a write for its lock about 3 s at most, so it lands well within the fate window.
    [2, () => ({ kind: "delayed", ms: random.int(100, 6_000) })],
    [2, () => ({ kind: "refused", status: 409 })],
    [2, () => ({ kind: "refused", status: 503 })],
    [1, () => ({ kind: "gateway", applied: random.chance(0.5) })],
  ])();
}

const stops = (event: { interruptMs?: number }) =>
  event.interruptMs === undefined ? "" : `, the Worker stopping ${event.interruptMs} ms into it`;

/** One line per event, as traces and shrunk plans show them. */
export function describeEvent(event: SimEvent, plan: Plan): string {
  const t = `t=${(event.at / 1000).toFixed(3)}s`;
  const name = (receiver: number) => `receiver ${receiver} (${plan.receivers[receiver]?.name})`;
  switch (event.kind) {
    case "create":
      return `${t} create ${name(event.receiver)} ${JSON.stringify(plan.receivers[event.receiver])}${stops(event)}`;
    case "trigger":
      return `${t} trigger ${name(event.receiver)}${event.identity ? " with Idempotency-Key" : ""}${event.stale ? " with its first URL" : ""}, up to ${event.attempts} attempts`;
    case "legacyTrigger":
      return `${t} trigger the webhook-service URL of ${plan.generics[event.generic]?.id}${event.identity ? " with Idempotency-Key" : ""}, up to ${event.attempts} attempts`;
    case "delete":
      return `${t} DELETE ${name(event.receiver)}${stops(event)}`;
    case "regenerate":
      return `${t} regenerate ${name(event.receiver)}${event.sender ? ` (sender check: ${event.sender})` : ""}${stops(event)}`;
    case "deleteImported":
      return `${t} DELETE the receiver imported from ${plan.generics[event.generic]?.id}`;
    case "regenerateImported":
      return `${t} regenerate the receiver imported from ${plan.generics[event.generic]?.id}`;
    case "genericObject":
      return `${t} webhook-service object ${JSON.stringify(plan.generics[event.generic])} appears in Cattle`;
    case "import":
      return `${t} import from webhook-service`;
    case "stranger":
      return `${t} a stranger posts ?key=…&projectId=<unknown>`;
    case "crash":
      return `${t} crash ${event.object} (back after ${event.restartMs} ms)`;
    case "writeFate":
      return `${t} Cattle's next write: ${JSON.stringify(event.fate)}`;
    case "readFails":
      return `${t} Cattle's next read: 503`;
    case "outside":
      return `${t} outside change: ${event.service} scale ${event.scale}`;
    case "hostFails":
      return `${t} Cattle's next host create ends in error`;
    case "push":
      return `${t} push of ${UPGRADE_REPOSITORY}:${event.tag}${event.digest ? `@${event.digest}` : ""}${plan.upgrades?.badTags.includes(event.tag) ? " (a bad image)" : ""} to ${name(event.receiver)}${event.identity ? " with Idempotency-Key" : ""}, up to ${event.attempts} attempts`;
    case "upgradeFails":
      return `${t} Cattle ends the next upgrade in an error`;
    case "crashBeforeAction":
      return `${t} the upgrade target dies as it is about to send its next finishupgrade or rollback (back after ${event.restartMs} ms)`;
    case "setNotifications": {
      const parts = [
        event.drop === undefined ? "" : `drop its destination #${event.drop}`,
        event.changeOn ? `#${event.changeOn.index} now on ${event.changeOn.on.join(",")}` : "",
        event.add ? `add ${JSON.stringify(event.add)}` : "",
        event.windowSeconds === undefined ? "" : `window ${event.windowSeconds} s`,
      ].filter(Boolean);
      return `${t} setNotifications of ${name(event.receiver)}: ${parts.join("; ") || "the same list again"}`;
    }
    case "testNotification":
      return `${t} testNotification of ${name(event.receiver)}`;
    case "destinationFault":
      return `${t} the next ${event.count} request(s) to endpoint e${event.endpoint}: ${JSON.stringify(event.fault)}`;
    case "crashMidNotification":
      return `${t} the next notification request's sender dies ${event.reached ? "once it reached its destination" : "before it leaves"} (back after ${event.restartMs} ms)`;
    case "stall":
      return `${t} the isolate holding ${event.object} stalls for ${event.ms} ms`;
  }
}
