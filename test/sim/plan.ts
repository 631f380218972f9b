import type { WriteFate } from "./cattle";
import { Random } from "./random";

/** A receiver the run may create: what it scales and how. */
export interface ReceiverSpec {
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
}

export const SERVICES = ["1s1", "1s2"] as const;
export const PROJECT = "1a5";
/** The objects a crash can hit. */
export const CRASHABLE = ["target:scaleService:1a5:1s1", "target:scaleService:1a5:1s2", "project:1a5"];
const HOST_TARGET = "target:scaleHost:1a5:pool=workers";

/** A plan drawn from a seed: the seed decides every choice, so the same seed is the same run. */
export function planFor(seed: number): Plan {
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
  return {
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
  }
}
