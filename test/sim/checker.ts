import {
  type Execution,
  type Outcome,
  UPGRADE_STEPS,
  type UpgradeProgress,
} from "../../src/domain/execution";
import type { NotificationMessage } from "../../src/domain/notifications";
import { ROLLED_BACK_MEMORY_MS } from "../../src/drivers/service-upgrade/upgrade-queue";
import { planScale } from "../../src/drivers/shared/scaling";
import { MESSAGE_EXECUTIONS } from "../../src/notifications/outbox";
import { DEDUPLICATION_WINDOW_MS } from "../../src/targets/history";
import type { SimCattle, WritePending } from "./cattle";
import type { SentRequest, SimDestinations } from "./destinations";
import { type Plan, PROJECT } from "./plan";
import type { Attempt, Handle, Pushed } from "./run";
import { type Notes, type Rows, type SimKv, World } from "./world";

export interface Checked {
  failures: string[];
  notes: string[];
}

/** The world as the checker reads it, whichever deployment ran: a Durable Object's, or Deno KV's. */
export interface CheckedWorld extends Notes {
  kv: SimKv;
  /** Each object's storage by key (`target:…`, `project:…`). */
  objects: Map<string, { db: Rows; storage: Parameters<typeof World.hasTables>[0]["storage"] }>;
}

interface Input {
  plan: Plan;
  world: CheckedWorld;
  cattle: SimCattle;
  handles: Map<string, Handle>;
  attempts: Attempt[];
  /** What each delivery to a serviceUpgrade receiver said was pushed. */
  pushes: Pushed[];
  imports: { start: number; end: number; imported: string[] }[];
  errors: string[];
  destinations: SimDestinations;
  now: number;
}

const rows = <T>(world: CheckedWorld, key: string, query: string, ...values: (string | number)[]): T[] => {
  const object = world.objects.get(key);
  if (!object || !World.hasTables(object)) return [];
  return object.db.prepare(query).all(...values) as T[];
};

/** Pairs of writes to one service from two senders pending at once: one still pending when the other left. */
function overlapping(writes: readonly WritePending[]): [WritePending, WritePending][] {
  const found: [WritePending, WritePending][] = [];
  const byService = new Map<string, WritePending[]>();
  for (const write of writes)
    byService.set(write.serviceId, [...(byService.get(write.serviceId) ?? []), write]);
  for (const list of byService.values()) {
    list.sort((a, b) => a.start - b.start);
    for (const [i, write] of list.entries()) {
      const earlier = list
        .slice(0, i)
        .find((other) => other.end > write.start && other.sender !== write.sender);
      if (earlier) found.push([earlier, write]);
    }
  }
  return found;
}

/**
 * Compares a run with the sequential model of docs/how-it-works.md and docs/api.md. Every failure
 * is one line that starts with its kind (`applied twice:`, `deleted receiver back:`, …), so the
 * shrinker can keep a failure of the same kind while it cuts the plan down.
 */
export function check(input: Input): Checked {
  const { world, cattle, handles, attempts } = input;
  const failures: string[] = [...input.errors.map((error) => `internal error: ${error}`)];
  const notes: string[] = [];
  const fail = (kind: string, message: string) => failures.push(`${kind}: ${message}`);

  const byId = new Map<string, Handle>();
  for (const handle of handles.values()) for (const id of handle.ids) byId.set(id, handle);

  // Executions as they stand, and those of deleted receivers as they were when deleted.
  const executions = new Map<string, Execution>();
  for (const body of world.forgotten) {
    const execution = JSON.parse(body) as Execution;
    executions.set(execution.id, execution);
  }
  const targetKeys = [...world.objects.keys()].filter((key) => key.startsWith("target:"));
  /** Which target recorded each execution it still keeps. */
  const recordedIn = new Map<string, string>();
  for (const key of targetKeys) {
    for (const row of rows<{ body: string }>(world, key, "SELECT body FROM executions ORDER BY seq")) {
      const execution = JSON.parse(row.body) as Execution;
      executions.set(execution.id, execution);
      recordedIn.set(execution.id, key);
    }
  }
  for (const execution of [...executions.values()].sort(
    (a, b) => a.at - b.at || (a.sender ?? "").localeCompare(b.sender ?? ""),
  )) {
    notes.push(
      `execution of ${byId.get(execution.receiverId)?.handle ?? "?"}: ${show(execution)} (${execution.reason}) at ${at(execution.at)}${execution.finished ? `, settled at ${at(execution.finished)}` : ""}`,
    );
  }
  const byTag = new Map<string, Execution[]>();
  for (const execution of executions.values()) {
    const tag = execution.sender ?? "";
    byTag.set(tag, [...(byTag.get(tag) ?? []), execution]);
  }
  const deliveryOf = (execution: Execution) => Number(/^d(\d+)\./.exec(execution.sender ?? "")?.[1] ?? -1);
  const attemptOf = new Map(attempts.map((attempt) => [attempt.tag, attempt]));

  // Each answer agrees with what was recorded; a 503 left nothing behind.
  for (const attempt of attempts) {
    const handle = handles.get(attempt.handle);
    const recorded = byTag.get(attempt.tag) ?? [];
    // A webhook-service URL is its key's: the receiver it triggered is the one whose delete counts.
    const owner = attempt.version === 0 ? (byId.get(recorded[0]?.receiverId ?? "") ?? handle) : handle;
    const deleted = (owner?.deleteStarted.length ?? 0) > 0;
    if (attempt.status === 0 || attempt.status === -1) {
      fail("never answered", `${attempt.tag} (${attempt.handle}) sent at ${at(attempt.start)} got no answer`);
      continue;
    }
    if (attempt.status === 503 && !attempt.reset && recorded.length > 0) {
      fail(
        "503 but recorded",
        `${attempt.tag} was answered 503 (nothing written) but recorded ${recorded.map(show).join(", ")}`,
      );
    }
    if ((attempt.status === 200 || attempt.status === 202) && !deleted) {
      const [execution] = recorded;
      if (!execution) {
        fail("acknowledged but lost", `${attempt.tag} answered ${attempt.outcome} has no execution`);
      } else if (
        attempt.outcome === "applied" &&
        (execution.outcome !== "applied" || execution.from !== attempt.from || execution.to !== attempt.to)
      ) {
        fail(
          "answer disagrees",
          `${attempt.tag} answered applied ${attempt.from} → ${attempt.to}, recorded ${show(execution)}`,
        );
      } else if (execution.outcome === "pending") {
        fail("left pending", `${attempt.tag} acknowledged pending is still pending at the end`);
      }
    }
    // Delete and regenerate fence: once answered, nothing of the old URL is decided any more. A
    // webhook-service URL is its key's: judged by the receiver it triggered (another generic
    // object with the same key may be imported once the first receiver is gone).
    const decided = attempt.status === 200 || attempt.status === 202;
    if (owner && decided) {
      const handle = owner;
      if (handle.deletedAt !== undefined && attempt.start > handle.deletedAt) {
        fail(
          "deleted receiver triggered",
          `${attempt.tag} sent at ${at(attempt.start)}, after ${handle.handle}'s DELETE answered 204 at ${at(handle.deletedAt)}, was answered ${attempt.status} ${attempt.outcome}`,
        );
      }
      const newer = handle.regenerated.find(
        (change) => change.at < attempt.start && change.version > attempt.version,
      );
      if (newer) {
        fail(
          "old URL triggered",
          `${attempt.tag} with ${handle.handle}'s URL of version ${attempt.version || "webhook-service"}, sent after the regenerate to version ${newer.version} answered at ${at(newer.at)}, was answered ${attempt.status} ${attempt.outcome}`,
        );
      }
    }
  }

  // A URL nothing changed is never refused: 403 only for a receiver deleted or regenerated (or
  // being so) by the time of the answer, or a URL older than the receiver's latest.
  for (const attempt of attempts) {
    const handle = handles.get(attempt.handle);
    if (attempt.status !== 403 || !handle || attempt.version === 0) continue;
    const latest = Math.max(0, ...handle.tokens.map((token) => token.version));
    const changing = [...handle.deleteStarted, ...handle.regenerateStarted].some(
      (started) => started <= (attempt.end ?? Number.POSITIVE_INFINITY),
    );
    const current = handle.tokens.find((token) => token.version === attempt.version)?.version === latest;
    if (current && !changing) {
      fail(
        "live URL refused",
        `${attempt.tag} with ${handle.handle}'s current URL (version ${attempt.version}), which nothing deleted or regenerated, was answered 403`,
      );
    }
  }

  // Each delivery applied at most once; a retried identity answered deduplicated.
  const byDelivery = new Map<number, Attempt[]>();
  for (const attempt of attempts)
    byDelivery.set(attempt.delivery, [...(byDelivery.get(attempt.delivery) ?? []), attempt]);
  const appliedOf = new Map<number, Execution[]>();
  for (const execution of executions.values()) {
    if (execution.outcome !== "applied") continue;
    const delivery = deliveryOf(execution);
    appliedOf.set(delivery, [...(appliedOf.get(delivery) ?? []), execution]);
  }
  for (const [delivery, tries] of byDelivery) {
    const applied = appliedOf.get(delivery) ?? [];
    const first = tries[0] as Attempt;
    const unsure = tries.some((attempt) => attempt.reset || attempt.gaveUp);
    if (applied.length > 1 && (first.identity || !unsure)) {
      fail(
        "applied twice",
        `delivery d${delivery} (${first.handle}${first.identity ? ", with Idempotency-Key" : ""}) was applied ${applied.length} times: ${applied.map(show).join("; ")}; answers: ${tries.map(answer).join("; ")}`,
      );
    }
    if (!first.identity) continue;
    const answeredAt = tries
      .filter((attempt) => attempt.status === 200 || attempt.status === 202)
      .map((attempt) => attempt.end ?? Number.POSITIVE_INFINITY);
    const firstAnswer = Math.min(...answeredAt);
    for (const attempt of tries) {
      if (attempt.start <= firstAnswer || attempt.start > firstAnswer + DEDUPLICATION_WINDOW_MS) continue;
      if ((attempt.status === 200 || attempt.status === 202) && attempt.outcome !== "deduplicated") {
        fail(
          "repeat not deduplicated",
          `${attempt.tag} repeats a delivery answered at ${at(firstAnswer)} and was answered ${attempt.outcome}; answers: ${tries.map(answer).join("; ")}`,
        );
      }
    }
  }

  // Every step follows its receiver's rule; receivers cool down as they say.
  const appliedBy = new Map<string, Execution[]>();
  for (const execution of executions.values()) {
    const handle = byId.get(execution.receiverId);
    const rule = handle?.rule;
    if (!handle || !rule || handle.driver !== "scaleService") continue;
    if (execution.outcome === "applied") {
      const expected = planScale(execution.from ?? Number.NaN, rule);
      if (expected.outcome !== "applied" || expected.to !== execution.to) {
        fail(
          "step off the rule",
          `${show(execution)} of ${handle.handle} ${JSON.stringify(rule)}: the rule gives ${expected.outcome} ${expected.from} → ${expected.to}`,
        );
      }
      appliedBy.set(handle.handle, [...(appliedBy.get(handle.handle) ?? []), execution]);
    }
    if (execution.outcome === "noop" && execution.from !== execution.to) {
      fail("step off the rule", `${show(execution)} of ${handle.handle} is a noop that moved`);
    }
  }
  for (const [name, applied] of appliedBy) {
    const cooldownMs = (handles.get(name)?.rule?.cooldownSeconds ?? 0) * 1000;
    if (cooldownMs === 0) continue;
    // Sound bounds: a step is planned after its request arrived and before it was settled.
    const window = applied.map((execution) => ({
      execution,
      arrived: attemptOf.get(execution.sender ?? "")?.start ?? execution.at,
      settled: execution.finished ?? execution.at,
    }));
    for (let i = 0; i < window.length; i++) {
      for (let j = i + 1; j < window.length; j++) {
        const a = window[i] as (typeof window)[number];
        const b = window[j] as (typeof window)[number];
        if (Math.max(a.settled, b.settled) - Math.min(a.arrived, b.arrived) < cooldownMs) {
          fail(
            "cooldown ignored",
            `${name} (cooldown ${cooldownMs / 1000} s) applied ${show(a.execution)} and ${show(b.execution)} within it`,
          );
        }
      }
    }
  }

  // A `cooldown` answer has its cause: a step of the same receiver applied less than its cooldown before.
  for (const execution of executions.values()) {
    const handle = byId.get(execution.receiverId);
    const cooldownMs = (handle?.rule?.cooldownSeconds ?? 0) * 1000;
    if (execution.outcome !== "cooldown" || !handle || cooldownMs === 0 || handle.deleteStarted.length > 0)
      continue;
    const arrived = attemptOf.get(execution.sender ?? "")?.start ?? execution.at;
    const settled = execution.finished ?? execution.at;
    const cause = [...executions.values()].some(
      (other) =>
        other.receiverId === execution.receiverId &&
        other.outcome === "applied" &&
        (attemptOf.get(other.sender ?? "")?.start ?? other.at) <= settled &&
        arrived - (other.finished ?? other.at) < cooldownMs,
    );
    if (!cause) {
      fail(
        "cooldown without cause",
        `${show(execution)} of ${handle.handle} (cooldown ${cooldownMs / 1000} s): no step of it was applied in the ${cooldownMs / 1000} s before`,
      );
    }
  }

  checkUpgrades(input, executions, byId, fail);
  checkNotifications(input, executions, byId, fail);

  // The targets that write scales keep a log of their writes; an upgrade target keeps its upgrades.
  const writeKeys = targetKeys.filter((key) => !key.startsWith("target:serviceUpgrade:"));
  // The end scale is the sequential one: the start, the outside changes and the applied steps.
  const unresolved = new Set(
    writeKeys
      .filter((key) => rows(world, key, "SELECT 1 FROM unresolved_write").length > 0)
      .map((key) => key.split(":").at(-1)),
  );
  for (const [serviceId, initial] of Object.entries(input.plan.scales)) {
    const ofService = [...handles.values()].filter(
      (handle) => handle.driver === "scaleService" && handle.target === serviceId,
    );
    if (cattle.clobbered.has(serviceId)) {
      notes.push(
        `note: ${serviceId} had an outside change overwritten by a write planned before it; end scale not compared`,
      );
      continue;
    }
    if (unresolved.has(serviceId)) {
      notes.push(`note: ${serviceId} has a write whose fate is not read back yet; end scale not compared`);
      continue;
    }
    if (ofService.some((handle) => handle.deleteStarted.length > 0)) {
      notes.push(
        `note: a receiver of ${serviceId} was deleted (its history with it); end scale not compared`,
      );
      continue;
    }
    const ids = new Set(ofService.flatMap((handle) => handle.ids));
    // A receiver no answer named (an import answered 503 of unknown fate that did import) still
    // scaled the service: its steps are those its target recorded.
    const serviceKey = `target:scaleService:${PROJECT}:${serviceId}`;
    const unnamed = (execution: Execution) =>
      !byId.has(execution.receiverId) && recordedIn.get(execution.id) === serviceKey;
    const outside = cattle.changes
      .filter((change) => change.serviceId === serviceId && change.by === "outside")
      .reduce((sum, change) => sum + change.to - change.from, 0);
    const steps = [...executions.values()]
      .filter(
        (execution) =>
          (ids.has(execution.receiverId) || unnamed(execution)) && execution.outcome === "applied",
      )
      .reduce((sum, execution) => sum + (execution.to ?? 0) - (execution.from ?? 0), 0);
    const end = cattle.scaleOf(serviceId);
    if (initial + outside + steps !== end) {
      fail(
        "end scale",
        `${serviceId} ends at ${end}; the start ${initial}, outside changes ${signed(outside)} and the applied steps ${signed(steps)} give ${initial + outside + steps}`,
      );
    }
  }
  for (const line of cattle.outOfOrder) {
    const serviceId = line.slice(0, line.indexOf(":"));
    // An outside change to the very value a write carries makes that write look applied: ambiguous.
    if (cattle.clobbered.has(serviceId))
      notes.push(`note: ${line}, after an outside change made a write's fate ambiguous`);
    else fail("older write over newer", line);
  }
  for (const line of cattle.duplicateHostnames) fail("host name twice", line);

  // Nothing is owed once the world settled: no acknowledged trigger waits for an outcome. (A write
  // that nobody was acknowledged for may stay unresolved until the object next wakes.)
  for (const key of writeKeys) {
    const pendingSteps = rows<{ step: string }>(world, key, "SELECT step FROM pending_steps").map(
      (row) =>
        JSON.parse(row.step) as { receiverId: string; version: number; delivery: { userAgent?: string } },
    );
    const pending = pendingSteps.length;
    const [write] = rows<{ write: string }>(world, key, "SELECT write FROM unresolved_write");
    const owedInWrite = write
      ? (JSON.parse(write.write) as { steps: { step: { executionId?: string } }[] }).steps.filter(
          ({ step }) => step.executionId,
        ).length
      : 0;
    if (pending + owedInWrite > 0) {
      const which = pendingSteps
        .map(
          (step) =>
            `${step.delivery.userAgent} of ${byId.get(step.receiverId)?.handle ?? step.receiverId}@v${step.version}`,
        )
        .join(", ");
      fail(
        "still owed",
        `${key} still owes ${pending + owedInWrite} acknowledged trigger(s) an outcome after settling (pending: ${which || "none"}; in the unresolved write: ${owedInWrite})`,
      );
    } else if (write) {
      notes.push(
        `note: ${key} keeps an unresolved write nobody was acknowledged for (resolved when it next wakes)`,
      );
    }
  }

  // Management: deleted stays deleted, the live ones are consistent, names are one receiver's.
  const liveIn = new Map<string, { id: string; version: number }>();
  for (const key of targetKeys) {
    for (const row of rows<{ id: string; record: string }>(world, key, "SELECT id, record FROM receivers")) {
      liveIn.set(row.id, { id: row.id, version: (JSON.parse(row.record) as { version: number }).version });
    }
  }
  const projectKey = `project:${PROJECT}`;
  const names = rows<{ name: string; receiver_id: string }>(
    world,
    projectKey,
    "SELECT name, receiver_id FROM names",
  );
  const legacy = rows<{ receiver_id: string; key_digest: string | null }>(
    world,
    projectKey,
    "SELECT receiver_id, key_digest FROM legacy_receivers",
  );
  const listed = new Set(world.kv.listedAt(PROJECT, input.now).map((record) => record.id));
  for (const handle of handles.values()) {
    const id = handle.record?.id;
    if (!id) continue;
    if (handle.deletedAt !== undefined) {
      const back = [
        world.kv.current(PROJECT, id) ? "GET finds it" : "",
        listed.has(id) ? "the list shows it" : "",
        liveIn.has(id) ? `its target holds it live (version ${liveIn.get(id)?.version})` : "",
        legacy.some((row) => row.receiver_id === id && row.key_digest)
          ? "its webhook-service URL routes to it"
          : "",
        names.some((row) => row.receiver_id === id) ? "it holds its name" : "",
      ].filter(Boolean);
      if (back.length > 0) {
        fail(
          "deleted receiver back",
          `${handle.handle}, deleted (204) at ${at(handle.deletedAt)}: ${back.join(", ")}`,
        );
      }
      continue;
    }
    if (handle.deleteStarted.length > 0) {
      // A delete that never answered (the Worker stopped) happened or did not, never half.
      const record = world.kv.current(PROJECT, id);
      const live = liveIn.get(id);
      if (record && live?.version !== record.version) {
        fail(
          "delete half done",
          `${handle.handle}: KV keeps version ${record.version}, its target ${live ? `version ${live.version}` : "nothing"}: listed, but its URL refused`,
        );
      }
      continue;
    }
    const record = world.kv.current(PROJECT, id);
    const live = liveIn.get(id);
    if (!record || !live || record.version !== live.version) {
      fail(
        "receiver inconsistent",
        `${handle.handle}: KV has ${record ? `version ${record.version}` : "nothing"}, its target ${live ? `version ${live.version}` : "nothing"}`,
      );
    }
    if (record && !listed.has(id))
      fail("receiver inconsistent", `${handle.handle} is not listed once the list caught up`);
  }
  const recorded = new Set(world.kv.listedAt(PROJECT, input.now).map((record) => record.id));
  for (const id of liveIn.keys()) {
    if (!recorded.has(id) && !byId.get(id)?.deletedAt) {
      fail(
        "live without a record",
        `receiver ${byId.get(id)?.handle ?? id} is live in its target but management has no record of it`,
      );
    }
  }
  const current = world.kv.listedAt(PROJECT, input.now);
  const seen = new Map<string, string>();
  for (const record of current) {
    const other = seen.get(record.name);
    if (other) fail("name twice", `receivers ${other} and ${record.id} are both named ${record.name}`);
    seen.set(record.name, record.id);
    if (!names.some((row) => row.name === record.name && row.receiver_id === record.id)) {
      fail(
        "name not held",
        `receiver ${byId.get(record.id)?.handle ?? record.id} (${record.name}) does not hold its name: another receiver could take it`,
      );
    }
  }
  for (const row of names) {
    if (!current.some((record) => record.id === row.receiver_id)) {
      fail(
        "name not freed",
        `the name ${row.name} is held by ${byId.get(row.receiver_id)?.handle ?? row.receiver_id}, which is gone`,
      );
    }
  }

  // One key, one receiver: an import never hands a key already used to another receiver.
  for (const result of input.imports) {
    for (const name of result.imported) {
      const handle = handles.get(name);
      for (const other of handles.values()) {
        if (other === handle || !other.key || other.key !== handle?.key || other.createdAt === undefined)
          continue;
        // A delete that started before the import answered may come first in the serial order.
        if (other.createdAt < result.start && !other.deleteStarted.some((started) => started < result.end)) {
          fail(
            "key taken over",
            `import at ${at(result.start)} imported ${name} with the key that ${other.handle} (imported at ${at(other.createdAt)}) holds`,
          );
        }
      }
    }
  }

  // Nothing stored for strangers.
  // The targets of every receiver the plan may create, whether or not its create answered.
  const known = new Set([
    ...input.plan.receivers.map((spec) =>
      spec.driver === "serviceUpgrade"
        ? `target:serviceUpgrade:${PROJECT}`
        : spec.driver === "scaleService"
          ? `target:scaleService:${PROJECT}:${spec.target}`
          : `target:scaleHost:${PROJECT}:pool=${spec.target}`,
    ),
    ...[...handles.values()].flatMap((handle) => (handle.record ? [`target:${handle.record.target}`] : [])),
  ]);
  for (const [key, object] of world.objects) {
    if (key === projectKey || known.has(key)) continue;
    if (World.hasTables(object))
      fail("stored for a stranger", `${key} has tables though no receiver of it was ever created`);
  }
  for (const key of world.kv.keys()) {
    if (!key.startsWith(`${PROJECT}/`)) fail("stored for a stranger", `KV holds ${key}`);
  }
  // Over Deno KV, one isolate at a time holds a target: whatever stalls or dies, Cattle never has
  // two writes to one service pending at once from two isolates (one holder's own writes follow
  // its driver's rules, which the checks above judge).
  if (input.plan.kv) {
    for (const [first, second] of overlapping(cattle.pending)) {
      fail(
        "overlapping writes",
        `${second.call} from ${second.sender} left at ${at(second.start)} while ${first.call} from ${first.sender} (left at ${at(first.start)}) was pending at Cattle until ${at(first.end)}`,
      );
    }
  }
  return { failures, notes };
}

/** The steps after which an upgrade has nothing left to do. */
const ENDED_STEPS = new Set(["finished", "rolled back", "failed", "skipped"]);
/** The message Cattle's upgrade error carries in the simulation (test/sim/cattle.ts). */
const CATTLE_UPGRADE_ERROR = "image could not be pulled";

/**
 * Upgrades against docs/upgrades.md: every push queued ends; a sound image is never rolled back
 * and a bad one never finished; Cattle is never asked to finish a bad image (with
 * rollbackOnFailure on) or to roll back a sound one; a rolled-back service runs its previous image
 * again; one service's upgrades never overlap; a rolled-back image is not tried again within a
 * day; each upgrade's steps come in order.
 */
function checkUpgrades(
  input: Input,
  executions: Map<string, Execution>,
  byId: Map<string, Handle>,
  fail: (kind: string, message: string) => void,
): void {
  const world = input.plan.upgrades;
  if (!world) return;
  const { cattle } = input;
  const pushOf = new Map(input.pushes.map((push) => [push.delivery, push]));
  const isBad = (image: string) => world.badTags.includes(image.slice(image.lastIndexOf(":") + 1));
  const erred = (job: UpgradeProgress) => job.message?.includes(CATTLE_UPGRADE_ERROR) === true;
  const rollbackOnFailure = [...input.handles.values()].some((handle) => handle.rollbackOnFailure === true);
  interface Job {
    execution: Execution;
    job: UpgradeProgress;
    push?: Pushed;
    started?: number;
    ended?: { step: string; at: number };
  }
  const jobs: Job[] = [];
  for (const execution of executions.values()) {
    if (byId.get(execution.receiverId)?.driver !== "serviceUpgrade") continue;
    const push = pushOf.get(Number(/^d(\d+)\./.exec(execution.sender ?? "")?.[1] ?? -1));
    if (execution.outcome === "queued") {
      fail("upgrade never ended", `${execution.sender} (${execution.reason}) is still queued at the end`);
    }
    for (const job of execution.upgrades ?? []) {
      const steps = job.steps;
      const last = steps.at(-1);
      const what = `${execution.sender}: ${job.serviceId} to ${job.image}`;
      if (!last || !ENDED_STEPS.has(last.step)) {
        fail("upgrade never ended", `${what} is still at ${last?.step ?? "no step"} at the end`);
      }
      for (let i = 1; i < steps.length; i++) {
        const before = steps[i - 1] as (typeof steps)[number];
        const step = steps[i] as (typeof steps)[number];
        if (UPGRADE_STEPS.indexOf(step.step) <= UPGRADE_STEPS.indexOf(before.step) || step.at < before.at) {
          fail(
            "steps out of order",
            `${what}: ${steps.map((one) => `${one.step}@${at(one.at)}`).join(", ")}`,
          );
          break;
        }
      }
      const entry: Job = {
        execution,
        job,
        ...(push ? { push } : {}),
        ...(last && ENDED_STEPS.has(last.step) ? { ended: last } : {}),
      };
      const started = steps.find((step) => step.step === "upgrading")?.at;
      if (started !== undefined) entry.started = started;
      jobs.push(entry);
      if (last?.step === "rolled back" && !isBad(job.image) && !erred(job)) {
        fail("sound image rolled back", `${what} (a sound image) was rolled back: ${job.message}`);
      }
      if (last?.step === "finished" && isBad(job.image)) {
        fail("bad image finished", `${what} (a bad image) ended finished`);
      }
    }
    if (execution.outcome === "applied" && (execution.upgrades ?? []).some((job) => isBad(job.image))) {
      fail("bad image finished", `${execution.sender} upgraded to a bad image ended applied`);
    }
  }

  for (const sent of cattle.upgradeActions) {
    const what = `${sent.action} of ${sent.serviceId} sent at ${at(sent.at)}, its upgrade to ${sent.image ?? "nothing"}`;
    if (sent.action === "finishupgrade" && sent.bad && rollbackOnFailure) {
      fail("bad image finished", `${what} (a bad image) with rollbackOnFailure on`);
    }
    if (sent.action === "rollback" && !rollbackOnFailure) {
      fail("rollback without rollbackOnFailure", `${what}: no receiver rolls back`);
    } else if (sent.action === "rollback" && sent.image !== undefined && !sent.bad && !sent.erred) {
      fail("sound image rolled back", `${what} (a sound image that Cattle upgraded without error)`);
    }
  }

  for (const service of world.services) {
    const ofService = jobs.filter((entry) => entry.job.serviceId === service.id);
    // One upgrade at a time: the next push's upgrade starts after the last one ended.
    const started = ofService
      .filter((entry) => entry.started !== undefined)
      .sort((a, b) => (a.started as number) - (b.started as number));
    for (let i = 1; i < started.length; i++) {
      const before = started[i - 1] as Job;
      const next = started[i] as Job;
      if (!before.ended || before.ended.at > (next.started as number)) {
        fail(
          "upgrades overlap",
          `${service.id}: ${next.execution.sender}'s upgrade to ${next.job.image} started at ${at(next.started as number)}, while ${before.execution.sender}'s to ${before.job.image} had ${before.ended ? `not ended until ${at(before.ended.at)}` : "not ended"}`,
        );
      }
    }
    // The latest upgrade to end leaves the service as it says: rolled back to its previous image, or on the new one.
    const latest = ofService
      .filter((entry) => entry.ended && entry.started !== undefined)
      .sort((a, b) => (a.ended?.at ?? 0) - (b.ended?.at ?? 0))
      .at(-1);
    const now = cattle.upgradeStateOf(service.id);
    if (latest && now) {
      const expected =
        latest.ended?.step === "rolled back"
          ? latest.job.previousImage
          : latest.ended?.step === "finished"
            ? latest.job.image
            : undefined;
      if (expected !== undefined && (now.image !== expected || now.state !== "active")) {
        fail(
          "left off its image",
          `${service.id}: ${latest.execution.sender}'s upgrade to ${latest.job.image} ended ${latest.ended?.step}, but the service runs ${now.image} (${now.state}), not ${expected} (active)`,
        );
      }
    }
    // A push of an image rolled back less than a day before is not tried again on that service.
    for (const entry of ofService) {
      const push = entry.push;
      if (!push) continue;
      const decided = entry.execution.at;
      const rolledBack = ofService.find(
        (other) =>
          other.ended?.step === "rolled back" &&
          other.job.image === entry.job.image &&
          other.ended.at < decided &&
          decided - other.ended.at < ROLLED_BACK_MEMORY_MS &&
          (other.push?.digest === undefined ||
            push.digest === undefined ||
            other.push.digest === push.digest),
      );
      if (rolledBack) {
        fail(
          "rolled-back image again",
          `${entry.execution.sender} queued ${service.id} to ${entry.job.image}${push.digest ? `@${push.digest}` : ""}, rolled back at ${at(rolledBack.ended?.at ?? 0)} by ${rolledBack.execution.sender}`,
        );
      }
    }
  }
}

/** The one-second spacing a destination is promised (docs/simulation.md). */
const DESTINATION_SPACING_MS = 1_000;

/**
 * Notifications: every execution a destination wanted (by its outcomes when the execution was
 * decided) reaches it in a delivered message, unless the destination refuses for good, was removed,
 * or its receiver was deleted; no message carries what its destination did not ask for, nor another
 * receiver's execution, and what it says of an execution is what was recorded; every attempt of one
 * message is the same request; one request a second to a destination, across crashes; nothing sent
 * after a receiver's delete answered; a 429's Retry-After waited out.
 */
function checkNotifications(
  input: Input,
  executions: Map<string, Execution>,
  byId: Map<string, Handle>,
  fail: (kind: string, message: string) => void,
): void {
  const { world } = input;
  const requests = input.destinations.requests;
  if (world.notifyLog.length === 0 && requests.length === 0) return;

  // When each outcome of an execution was decided: a settled one was first pending (queued for an upgrade).
  const decided = (execution: Execution): { outcome: Outcome; at: number }[] =>
    execution.finished === undefined
      ? [{ outcome: execution.outcome, at: execution.at }]
      : [
          { outcome: execution.driver === "serviceUpgrade" ? "queued" : "pending", at: execution.at },
          { outcome: execution.outcome, at: execution.finished },
        ];
  const logOf = new Map<string, typeof world.notifyLog>();
  for (const entry of world.notifyLog)
    logOf.set(entry.receiverId, [...(logOf.get(entry.receiverId) ?? []), entry]);
  /** The receiver's destinations that may have held at `time`: the last set before it, and any set at that very ms. */
  const settingsAt = (receiverId: string, time: number) => {
    const log = logOf.get(receiverId) ?? [];
    const before = log.filter((entry) => entry.at < time).at(-1);
    return [...(before ? [before] : []), ...log.filter((entry) => entry.at === time)];
  };
  const wants = (settings: ReturnType<typeof settingsAt>, destinationId: string, outcome: Outcome) =>
    settings.map((entry) =>
      entry.destinations.some(
        (destination) => destination.id === destinationId && destination.on.includes(outcome),
      ),
    );
  const urlOf = new Map<string, string>();
  const kindOf = new Map<string, string>();
  for (const entry of world.notifyLog) {
    for (const destination of entry.destinations) {
      urlOf.set(destination.id, destination.url);
      kindOf.set(destination.url, destination.kind);
    }
  }

  /** What a request carried: its message id and executions as the body shows them where it can. */
  interface Carried {
    request: SentRequest;
    messageId?: string;
    receiverId?: string;
    executions: Pick<Execution, "id" | "receiverId" | "outcome" | "from" | "to">[];
  }
  const carried: Carried[] = requests.map((request) => {
    const owner = world.urlOwner.get(request.url);
    const stored = request.stored
      ? (JSON.parse(request.stored.message) as { v?: number } & NotificationMessage)
      : undefined;
    if (request.headers["webhook-id"] !== undefined) {
      // A webhook's body is the whole message: read from what was sent, not from what was stored.
      const body = JSON.parse(request.body) as {
        id: string;
        receiver: { id: string };
        executions: Carried["executions"];
      };
      if (request.headers["webhook-id"] !== body.id || (stored && stored.id !== body.id)) {
        fail(
          "message changed",
          `n${request.seq} to ${request.url} has webhook-id ${request.headers["webhook-id"]}, body id ${body.id}${stored ? `, stored as ${stored.id}` : ""}`,
        );
      }
      return { request, messageId: body.id, receiverId: body.receiver.id, executions: body.executions };
    }
    // Slack's and Discord's bodies name the message (Discord's with its markdown escaped); Teams' cards do not.
    if (
      stored &&
      kindOf.get(request.url) !== "teams" &&
      !request.body.replaceAll("\\", "").includes(stored.id)
    ) {
      fail("message changed", `n${request.seq} does not name the message ${stored.id} it was stored as`);
    }
    return {
      request,
      ...(stored ? { messageId: stored.id, receiverId: stored.receiver.id } : {}),
      ...(owner && !stored ? { receiverId: owner.receiverId } : {}),
      executions: stored?.executions ?? [],
    };
  });

  // Each message: one destination, one body, whatever crashes and retries.
  const byMessage = new Map<string, Carried[]>();
  for (const entry of carried) {
    if (!entry.messageId) continue;
    byMessage.set(entry.messageId, [...(byMessage.get(entry.messageId) ?? []), entry]);
  }
  for (const [messageId, sent] of byMessage) {
    const first = sent[0] as Carried;
    const other = sent.find(
      (entry) => entry.request.body !== first.request.body || entry.request.url !== first.request.url,
    );
    if (other) {
      fail(
        "message changed",
        `message ${messageId}: n${first.request.seq} and n${other.request.seq} ${other.request.url !== first.request.url ? "went to different destinations" : "carry different bodies"}`,
      );
    }
  }

  // What a message carries: its own receiver's executions, wanted by its destination, as recorded.
  for (const entry of carried) {
    const owner = world.urlOwner.get(entry.request.url);
    if (!owner || !entry.messageId) continue;
    if (entry.receiverId !== owner.receiverId) {
      fail(
        "notification unwanted",
        `n${entry.request.seq}: a message of receiver ${byId.get(entry.receiverId ?? "")?.handle ?? entry.receiverId} went to a destination of ${byId.get(owner.receiverId)?.handle ?? owner.receiverId}`,
      );
      continue;
    }
    for (const told of entry.executions) {
      const recorded = executions.get(told.id);
      if (told.receiverId !== owner.receiverId || (recorded && recorded.receiverId !== owner.receiverId)) {
        fail(
          "notification unwanted",
          `n${entry.request.seq} to ${byId.get(owner.receiverId)?.handle}'s destination carries ${told.id} of another receiver`,
        );
        continue;
      }
      if (!recorded) continue;
      const when = decided(recorded).find((one) => one.outcome === told.outcome);
      if (!when) {
        fail(
          "message disagrees",
          `n${entry.request.seq} says ${recorded.sender} was ${told.outcome}; it was recorded ${show(recorded)}`,
        );
        continue;
      }
      if (told.outcome === recorded.outcome && (told.from !== recorded.from || told.to !== recorded.to)) {
        fail(
          "message disagrees",
          `n${entry.request.seq} says ${recorded.sender} ${told.outcome} ${told.from} → ${told.to}; it was recorded ${show(recorded)}`,
        );
      }
      if (!wants(settingsAt(owner.receiverId, when.at), owner.destinationId, told.outcome).some(Boolean)) {
        fail(
          "notification unwanted",
          `n${entry.request.seq} to e${endpointOf(entry.request.url)} carries ${recorded.sender} ${told.outcome} (decided at ${at(when.at)}), which that destination did not ask for then`,
        );
      }
    }
  }

  const OPEN_OUTCOMES: ReadonlySet<string> = new Set(["pending", "queued"]);
  // Every execution wanted reaches its destination, unless that refuses for good, went, or its receiver did.
  const delivered = new Set<string>();
  const refused = new Set<string>();
  // A message carries its newest MESSAGE_EXECUTIONS executions (its summary counts the rest).
  const full = new Set<string>();
  for (const entry of carried) {
    const { request } = entry;
    if (request.status >= 400 && request.status < 500 && request.status !== 429) refused.add(request.url);
    if (request.status < 200 || request.status >= 300 || request.dropped) continue;
    for (const told of entry.executions) {
      delivered.add(`${request.url} ${told.id} ${told.outcome}`);
      delivered.add(`${request.url} ${told.id} *`);
    }
    if (entry.executions.length >= MESSAGE_EXECUTIONS) full.add(request.url);
  }
  for (const execution of executions.values()) {
    const handle = byId.get(execution.receiverId);
    if (!handle || handle.deleteStarted.length > 0) continue;
    const log = logOf.get(execution.receiverId) ?? [];
    for (const { outcome, at: time } of decided(execution)) {
      const settings = settingsAt(execution.receiverId, time);
      const ids = new Set(
        settings.flatMap((entry) => entry.destinations.map((destination) => destination.id)),
      );
      for (const destinationId of ids) {
        if (!wants(settings, destinationId, outcome).every(Boolean)) continue;
        const url = urlOf.get(destinationId) ?? "";
        const removed = log.some(
          (entry) =>
            entry.at >= time && !entry.destinations.some((destination) => destination.id === destinationId),
        );
        if (
          removed ||
          refused.has(url) ||
          full.has(url) ||
          delivered.has(`${url} ${execution.id} ${outcome}`) ||
          // A pending or queued execution that settled before its window closed is told once, as it
          // ended (docs/notifications.md): any message to the destination with it tells that too.
          (OPEN_OUTCOMES.has(outcome) && delivered.has(`${url} ${execution.id} *`))
        )
          continue;
        fail(
          "notification lost",
          `${handle.handle}'s ${show(execution)} (${outcome} decided at ${at(time)}) never reached destination e${endpointOf(url)}, which wanted it`,
        );
      }
    }
  }

  // One request a second to a destination; nothing sent after a delete answered; Retry-After waited out.
  const byUrl = new Map<string, SentRequest[]>();
  for (const request of requests) byUrl.set(request.url, [...(byUrl.get(request.url) ?? []), request]);
  for (const [url, sent] of byUrl) {
    for (let i = 1; i < sent.length; i++) {
      const before = sent[i - 1] as SentRequest;
      const next = sent[i] as SentRequest;
      if (next.sentAt - before.sentAt < DESTINATION_SPACING_MS) {
        fail(
          "destination flooded",
          `e${endpointOf(url)} got n${before.seq} (${before.sender}) at ${at(before.sentAt)} and n${next.seq} (${next.sender}) at ${at(next.sentAt)}`,
        );
      }
    }
  }
  for (const entry of carried) {
    const owner = world.urlOwner.get(entry.request.url);
    const handle = owner ? byId.get(owner.receiverId) : undefined;
    if (handle?.deletedAt !== undefined && entry.request.sentAt > handle.deletedAt) {
      fail(
        "sent after delete",
        `n${entry.request.seq} for ${handle.handle} left at ${at(entry.request.sentAt)}, after its DELETE answered 204 at ${at(handle.deletedAt)}`,
      );
    }
  }
  for (const entry of carried) {
    const { request } = entry;
    if (request.status !== 429 || request.retryAfterSeconds === undefined || request.answeredAt === undefined)
      continue;
    const again = carried.find(
      (other) => other.messageId === entry.messageId && other.request.seq > request.seq,
    );
    const earliest = request.answeredAt + request.retryAfterSeconds * 1000;
    if (again && again.request.sentAt < earliest) {
      fail(
        "Retry-After ignored",
        `n${request.seq} was answered 429 with Retry-After ${request.retryAfterSeconds} at ${at(request.answeredAt)}; its message went again at ${at(again.request.sentAt)} (n${again.request.seq})`,
      );
    }
  }
}

const endpointOf = (url: string) => /\/e(\d+)\//.exec(url)?.[1] ?? "?";

const at = (time: number) => `${((time - 1_800_000_000_000) / 1000).toFixed(3)}s`;
const signed = (value: number) => (value < 0 ? `${value}` : `+${value}`);
const show = (execution: Execution) =>
  `${execution.sender} ${execution.outcome}${execution.from === undefined ? "" : ` ${execution.from} → ${execution.to}`}`;
const answer = (attempt: Attempt) =>
  `${attempt.tag} ${attempt.status === -1 ? "gave up" : attempt.status}${attempt.outcome ? ` ${attempt.outcome}` : ""}${attempt.from === undefined ? "" : ` ${attempt.from} → ${attempt.to}`}${attempt.reset ? " (reset)" : ""}`;
