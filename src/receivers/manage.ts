import type { Context } from "hono";
import type { Caller } from "../access/authorize";
import type { AppEnv } from "../api/app-env";
import { ApiError, notFound, rancherUnavailable } from "../api/errors";
import { triggerUrl } from "../api/resources";
import { cattleClient, serviceClient } from "../cattle/client";
import type { DriverConfig } from "../domain/driver";
import type { Execution } from "../domain/execution";
import { newId } from "../domain/ids";
import {
  type DeliveryRecord,
  type DestinationInput,
  NOTIFY_WINDOW_SECONDS,
  type NotifySettings,
  type TestResult,
} from "../domain/notifications";
import type {
  LegacyImport,
  LegacyRoute,
  NameClaim,
  Platform,
  ReceiverState,
  ReceiverStore,
} from "../domain/ports";
import { driverConfigOf, type LiveReceiver, type ReceiverRecord } from "../domain/receiver";
import type { SenderCheck } from "../domain/sender";
import type { Settings } from "../domain/settings";
import { driverOf } from "../drivers";
import type { TargetProblem } from "../drivers/definition";
import { destinationsFrom, viewOf } from "../notifications/destinations";
import { prepareSenderCheck, senderViewOf } from "../senders/verification";
import { isStorageTooNew } from "../storage/migrations";
import { signingKeys } from "../tokens/signing";
import { type ReceiverCreate, type RegenerateInput, senderCheckRefusal } from "./input";

/** A receiver made or changed, with the webhook signing secrets made for it now: shown once. */
export interface Created {
  record: ReceiverRecord;
  secrets: Record<string, string>;
}

export const RECEIVER_ID = /^r[0-9a-z]{26}$/;

/** Why a new receiver's target cannot be used, as the client is told. */
function targetRefusal(problem: TargetProblem): ApiError {
  switch (problem.kind) {
    case "unavailable":
      return rancherUnavailable("to check the receiver's target");
    case "invalid":
      return new ApiError(422, "InvalidReference", problem.message, problem.field);
    case "forbidden":
      return new ApiError(403, "Forbidden", problem.message);
  }
}

/**
 * The same check made with the service's own credential, which runs the triggers: a target it
 * cannot reach would fail every trigger, so the receiver is refused now (docs/how-it-works.md).
 */
function serviceRefusal(problem: TargetProblem): ApiError {
  if (problem.kind === "unavailable") return rancherUnavailable("to check the receiver's target");
  return new ApiError(
    422,
    "InvalidReference",
    `the service's Cattle key (CATTLE_ACCESS_KEY) cannot reach the receiver's target: ${problem.message}`,
    problem.field,
  );
}

const liveReceiver = (
  record: ReceiverRecord,
  senderCheck?: SenderCheck,
  notify?: NotifySettings,
): LiveReceiver => ({
  id: record.id,
  projectId: record.projectId,
  name: record.name,
  version: record.version,
  ...driverConfigOf(record),
  ...(senderCheck ? { senderCheck } : {}),
  ...(notify ? { notify } : {}),
});

/** What a record shows of a receiver's notifications: the destinations without their URLs, and the window. */
const notificationView = (
  notify: NotifySettings | undefined,
): Pick<ReceiverRecord, "notifications" | "notifyWindowSeconds"> =>
  notify ? { notifications: notify.destinations.map(viewOf), notifyWindowSeconds: notify.windowSeconds } : {};

/**
 * The record as its target holds the receiver: its version and sender check are the target's to
 * say (a regenerate moves them there first); the rest of a record never changes.
 */
const recordAt = (record: ReceiverRecord, live: LiveReceiver): ReceiverRecord => {
  const { senderVerification: _kept, notifications: _shown, notifyWindowSeconds: _window, ...rest } = record;
  return {
    ...rest,
    version: live.version,
    ...(live.senderCheck ? { senderVerification: senderViewOf(live.senderCheck) } : {}),
    ...notificationView(live.notify),
  };
};

const sameRecord = (a: ReceiverRecord, b: ReceiverRecord): boolean =>
  a.version === b.version &&
  JSON.stringify(a.senderVerification) === JSON.stringify(b.senderVerification) &&
  JSON.stringify(a.notifications) === JSON.stringify(b.notifications) &&
  a.notifyWindowSeconds === b.notifyWindowSeconds;

/**
 * How long a name claimed by a create stays its own while that create has no record: longer than
 * any create can take (its Cattle reads give up after seconds) and than KV takes to show a record
 * everywhere, so a create still running never loses its name.
 */
export const NAME_CLAIM_GRACE_MS = 10 * 60_000;

/** How many times a record is put right after a racing write before the last writer is left to it. */
const SETTLE_ROUNDS = 8;

/** What the original webhook-service URL of an imported receiver triggers: this record, as it is. */
const legacyRoute = (record: ReceiverRecord): LegacyRoute => ({
  receiverId: record.id,
  target: record.target,
  version: record.version,
  driver: record.driver,
  config: record.config as Record<string, unknown>,
});

/**
 * Receiver lifecycle across its three homes: the project object (unique names), the target
 * object (live version, history) and KV (the record). The target is written first on create and
 * first on delete, so a trigger never works for a receiver that management does not show as live:
 * a create stopped between the two has answered no URL, and the next create of its name, once the
 * claim's grace is over, revokes it (`#freeName`).
 *
 * Management is linearizable per receiver (docs/api.md, "Management"): the target orders a
 * receiver's deletes and regenerates, one call each, and remembers a deleted receiver for good, so
 * nothing makes it live again. KV, which has no compare-and-set and lags, follows: after each write
 * of a record the target is asked again, and the record is put right (or deleted) when a racing
 * change got there in between.
 */
export class Receivers {
  readonly store: ReceiverStore;

  constructor(
    private readonly platform: Platform,
    private readonly env: Settings,
  ) {
    this.store = platform.receivers;
  }

  /**
   * A receiver of the environment by id; null for unknown and malformed ids alike, and for one its
   * target deleted, whatever KV still holds (a delete that has not finished, a racing write that
   * landed after it): that delete is finished here. Its version and sender check are the target's.
   */
  async find(projectId: string, id: string): Promise<ReceiverRecord | null> {
    if (!RECEIVER_ID.test(id)) return null;
    const record = await this.store.get(projectId, id);
    if (!record) return null;
    const state = await this.#stateOf(record);
    if (state.kind === "revoked") {
      await this.#finishRemoval(record);
      return null;
    }
    if (state.kind !== "live") return record;
    const current = recordAt(record, state.receiver);
    // A regenerate stopped before it wrote KV: the record takes the target's version now.
    if (!sameRecord(current, record)) await this.#settle(current);
    return current;
  }

  /** What the receiver's target says of it; unknown while the target refuses its storage (docs/storage.md). */
  async #stateOf(record: ReceiverRecord): Promise<ReceiverState> {
    try {
      return await this.#target(record).receiverState(record.id);
    } catch (error) {
      if (isStorageTooNew(error)) return { kind: "unknown" };
      throw error;
    }
  }

  /**
   * What a receiver points at, checked as a create checks it: with the caller's own key (so a key
   * of one environment cannot point a receiver at another's service), then with the service's key,
   * which runs the triggers. Answers the target object's name, or throws the refusal a create gives.
   */
  async resolveTarget(caller: Caller, input: DriverConfig): Promise<string> {
    const definition = driverOf(input);
    const callerCattle = cattleClient(this.env, caller.credentials);
    const resolution = await definition.resolveTarget(input.config as never, caller.projectId, callerCattle);
    if (!resolution.ok) throw targetRefusal(resolution.problem);
    const serviceCattle = serviceClient(this.env);
    const reach = await definition.resolveTarget(input.config as never, caller.projectId, serviceCattle);
    if (!reach.ok) throw serviceRefusal(reach.problem);
    return resolution.target;
  }

  /**
   * Creates a receiver. `origin.importedFrom` names the webhook-service generic object it was
   * imported from, and `origin.legacyKeyDigest` the original URL's key (SHA-256) that is to keep
   * triggering it, recorded in the environment's object with the receiver.
   */
  async create(
    caller: Caller,
    input: ReceiverCreate,
    origin: { importedFrom?: string; legacyKeyDigest?: string; publicOrigin?: string } = {},
    now = Date.now(),
  ): Promise<ReceiverRecord> {
    return (await this.createShowingSecrets(caller, input, origin, now)).record;
  }

  /** A create that answers the webhook signing secrets it made too: its answer is the one place they are shown. */
  async createShowingSecrets(
    caller: Caller,
    input: ReceiverCreate,
    origin: { importedFrom?: string; legacyKeyDigest?: string; publicOrigin?: string } = {},
    now = Date.now(),
  ): Promise<Created> {
    const target = await this.resolveTarget(caller, input);
    const sender = input.senderVerification ? await prepareSenderCheck(input.senderVerification) : undefined;
    const id = newId("r", now);
    let notify: NotifySettings | undefined;
    let secrets: Record<string, string> = {};
    if (input.notifications !== undefined || input.notifyWindowSeconds !== undefined) {
      const made = destinationsFrom(input.notifications ?? [], [], now);
      secrets = made.secrets;
      notify = {
        windowSeconds: input.notifyWindowSeconds ?? NOTIFY_WINDOW_SECONDS.default,
        destinations: made.destinations,
        ...(await this.#messageNames(
          caller,
          { id, projectId: caller.projectId, ...driverConfigOf(input) },
          origin.publicOrigin,
        )),
      };
    }
    const record: ReceiverRecord = {
      id,
      projectId: caller.projectId,
      name: input.name,
      ...driverConfigOf(input),
      target,
      version: 1,
      created: now,
      ...(sender ? { senderVerification: sender.view } : {}),
      ...notificationView(notify),
      ...(origin.importedFrom ? { importedFrom: origin.importedFrom } : {}),
    };
    const project = this.project(record.projectId);
    const claim = { target, at: now };
    if (!(await project.claimName(record.name, record.id, claim)) && !(await this.#freeName(record, claim))) {
      throw new ApiError(
        422,
        "NotUnique",
        `a receiver named "${record.name}" already exists in this environment`,
        "name",
      );
    }
    let stored = false;
    try {
      // A new id: no target has revoked it, so this never refuses.
      if (!(await this.#target(record).register(liveReceiver(record, sender?.check, notify)))) {
        throw new ApiError(409, "Conflict", `receiver id ${record.id} was used before; create it again`);
      }
      if (origin.importedFrom && origin.legacyKeyDigest) {
        const digest = origin.legacyKeyDigest;
        const entry = { genericObjectId: origin.importedFrom, originalDigest: digest, keyDigest: digest };
        const refused = await project.claimImports([entry], legacyRoute(record));
        // Another import of the same generic object or key got there first: it keeps the URL.
        if (refused) throw new ApiError(409, "Conflict", refused);
      }
      await this.store.put(record);
      stored = true;
      // A create that took longer than NAME_CLAIM_GRACE_MS may have lost its name to a later create,
      // which revoked it at its target: it is undone rather than answered (docs/api.md, "Management").
      const [state, holder] = await Promise.all([this.#stateOf(record), project.nameHolder(record.name)]);
      if (state.kind === "revoked" || holder?.receiverId !== record.id) {
        await this.#target(record).revoke(record.id);
        await this.#finishRemoval(record);
        throw new ApiError(
          409,
          "Conflict",
          `the create of receiver ${record.id} took too long and its name went to another create; create it again`,
        );
      }
    } catch (error) {
      // Withdrawn for good: its register may be of unknown fate, and run after this (over Deno KV,
      // a call whose isolate stopped is still taken by the holder), so the id is remembered as
      // deleted there rather than only taken back.
      const unregistered = await this.#target(record)
        .withdraw(record.id)
        .then(
          () => true,
          () => false,
        );
      // The target may still have it live (a call of unknown fate: over Deno KV, its holder
      // stopped): the name stays claimed, so the next create of the name takes it over and revokes
      // it there, and so does its record if written (docs/api.md, "Management").
      if (!unregistered) throw error;
      // Undone at its target: no record is left either, whose name would be freed below.
      if (stored) await this.store.delete(record.projectId, record.id).catch(() => {});
      if (origin.importedFrom) await project.forgetImport(record.id).catch(() => {});
      await project.releaseName(record.name, record.id).catch(() => {});
      throw error;
    }
    return { record, secrets };
  }

  /**
   * The names and the link a receiver's messages show, taken now so that sending never waits on
   * Cattle: the environment's name, the service's where the receiver scales one, and its History
   * on the page. A name Cattle does not give is left as the id.
   */
  async #messageNames(
    caller: Caller,
    receiver: Pick<ReceiverRecord, "id" | "projectId"> & DriverConfig,
    origin = "",
  ): Promise<Pick<NotifySettings, "environment" | "targetLabel" | "historyUrl">> {
    const cattle = cattleClient(this.env, caller.credentials);
    const definition = driverOf(receiver);
    const [project, targetLabel] = await Promise.all([
      cattle.getProject(receiver.projectId).catch(() => undefined),
      definition.targetLabel?.(receiver.config as never, receiver.projectId, cattle).catch(() => undefined),
    ]);
    const environment = project?.ok && project.value.name ? project.value.name : receiver.projectId;
    return {
      environment,
      ...(targetLabel ? { targetLabel } : {}),
      historyUrl: `${origin}/receivers/${receiver.id}/history?projectId=${encodeURIComponent(receiver.projectId)}`,
    };
  }

  /**
   * Replaces a receiver's destinations (and its window, when given) at its version: the Trigger URL
   * stays. Answers the receiver as its target made it and the webhook secrets made now, shown once.
   */
  async setNotifications(
    caller: Caller,
    record: ReceiverRecord,
    input: { notifications: DestinationInput[]; notifyWindowSeconds?: number },
    origin: string,
  ): Promise<Created> {
    const names = await this.#messageNames(caller, record, origin);
    const result = await this.#target(record).setNotifications(record.id, {
      destinations: input.notifications,
      ...(input.notifyWindowSeconds === undefined ? {} : { windowSeconds: input.notifyWindowSeconds }),
      ...names,
    });
    switch (result.kind) {
      case "invalid":
        throw new ApiError(
          422,
          result.field === "id" ? "InvalidReference" : "MissingRequired",
          `notifications.${result.index}.${result.field} ${result.message}`,
          `notifications.${result.index}.${result.field}`,
        );
      case "revoked":
        await this.#finishRemoval(record);
        throw notFound("receiver");
      case "unknown":
        throw new ApiError(409, "Conflict", "this receiver's target does not hold it; regenerate it first");
      case "live": {
        const next = recordAt(record, result.receiver);
        await this.#settle(next);
        return { record: next, secrets: result.secrets };
      }
    }
  }

  /** The receiver's latest notification deliveries, newest first. */
  notificationLog(record: ReceiverRecord): Promise<DeliveryRecord[]> {
    return this.#target(record).notificationLog(record.id);
  }

  /** Sends a test message to each of the receiver's destinations and answers each result. */
  async testNotification(record: ReceiverRecord): Promise<TestResult[]> {
    const results = await this.#target(record).testNotification(record.id);
    if (results === null) throw notFound("receiver");
    return results;
  }

  /**
   * A name a create found taken, freed if what holds it is not a receiver (docs/api.md,
   * "Management"): the holder's delete stopped part way (finished here, as a GET finishes it), or
   * its create stopped part way, claimed the name more than NAME_CLAIM_GRACE_MS ago and has no
   * record. Such a create is rolled back for good: its target revokes it (so a create still running
   * can never make it live, and one that did is undone by its own last check), and the name passes
   * to `record` in one step of the environment's object, which only one create can win. True once
   * `record` holds the name.
   */
  async #freeName(record: ReceiverRecord, claim: NameClaim): Promise<boolean> {
    const project = this.project(record.projectId);
    const holder = await project.nameHolder(record.name);
    if (!holder) return project.claimName(record.name, record.id, claim);
    if (holder.receiverId === record.id) return true;
    if (await this.find(record.projectId, holder.receiverId)) return false;
    const after = await project.nameHolder(record.name);
    if (!after) return project.claimName(record.name, record.id, claim);
    if (after.receiverId !== holder.receiverId) return false;
    // A claim kept by a release that did not record where and when is never taken over.
    if (after.target === null || after.claimedAt === null) return false;
    // Still within a create's time: that create may be running, and is left to finish.
    if (claim.at - after.claimedAt < NAME_CLAIM_GRACE_MS) return false;
    await this.platform.target(after.target).revoke(after.receiverId);
    await project.forgetImport(after.receiverId);
    return project.takeOverName(record.name, after.receiverId, record.id, claim);
  }

  /**
   * Revokes first: once the target has, the trigger URL (and an imported one's original URL) is
   * refused everywhere, and the target refuses to make the receiver live again. The environment
   * remembers the id, so a restore does not bring it back; the name is freed last, once the
   * receiver is gone for good. Answers false if another delete got to the target first: that one
   * deleted it, and this one only finishes what it may have left.
   */
  async remove(record: ReceiverRecord): Promise<boolean> {
    const revoked = await this.#target(record).revoke(record.id);
    await this.#finishRemoval(record);
    return revoked;
  }

  /**
   * The steps of a delete after its target revoked the receiver; each may run again. The record
   * goes last: while it is there, the next GET or DELETE of the receiver finds it and finishes
   * these steps, so a delete stopped part way never leaves its name held by nothing.
   */
  async #finishRemoval(record: ReceiverRecord): Promise<void> {
    const project = this.project(record.projectId);
    await project.recordDeletion(record.id);
    if (record.importedFrom) await project.forgetImport(record.id);
    await project.releaseName(record.name, record.id);
    await this.store.delete(record.projectId, record.id);
  }

  /**
   * Puts back a receiver from an export with its id, version and creation time, so the URLs signed
   * for it keep working under the same signing keys (docs/backup.md). Its target is checked as a
   * create checks it, with the caller's key: an export is a document anyone may edit, so it must
   * not name what the caller could not create a receiver for. Answers why it was skipped, or null
   * once it is restored; the steps run in create's order and a failure undoes them. `checked`
   * keeps the target checks of one restore, so receivers with the same target ask Cattle once.
   */
  async restore(
    caller: Caller,
    record: ReceiverRecord,
    senderCheck: SenderCheck | undefined,
    imports: readonly LegacyImport[],
    checked: Map<string, Promise<string | null>> = new Map(),
    notify?: NotifySettings,
  ): Promise<string | null> {
    const project = this.project(record.projectId);
    const target = this.#target(record);
    if (await this.store.get(record.projectId, record.id)) return `receiver ${record.id} is already present`;
    if (await project.wasDeleted(record.id)) {
      return `receiver ${record.id} was deleted in this environment; a restore does not bring it back`;
    }
    const refused = await this.#targetRefusal(caller, record, checked);
    if (refused) return refused;
    const [held] = await target.liveReceivers([record.id]);
    if (held && held.version !== record.version) {
      return `receiver ${record.id} is already present (its target holds version ${held.version})`;
    }
    // Held at the exported version without a record: a restore of this document stopped part way
    // (a request limit, a failure of the store) and is finished now, so that running it again is
    // always the way to complete it.
    if (!(await project.claimName(record.name, record.id, { target: record.target, at: Date.now() }))) {
      return `a receiver named "${record.name}" already exists in this environment`;
    }
    const undo = async () => {
      // Undone only if this call made it live: what an earlier attempt left is for the next to finish.
      if (held) return;
      await target.unregister(record.id).catch(() => {});
      if (imports.length > 0) await project.forgetImport(record.id).catch(() => {});
      await project.releaseName(record.name, record.id).catch(() => {});
    };
    try {
      if (!(await target.register(liveReceiver(record, senderCheck, notify)))) {
        // Deleted meanwhile, or before the environment kept deletions: its target remembers.
        if (!held) await project.releaseName(record.name, record.id).catch(() => {});
        return `receiver ${record.id} was deleted in this environment; a restore does not bring it back`;
      }
      if (imports.length > 0) {
        const conflict = await project.claimImports(imports, legacyRoute(record));
        if (conflict) {
          await undo();
          return conflict;
        }
      }
      await this.#settle(record);
    } catch (error) {
      await undo();
      throw error;
    }
    return null;
  }

  /**
   * Why a restored receiver's target is refused (a create's refusal, in its words), or null. Cattle
   * out of reach skips it too, with a word that running the restore again completes it.
   */
  async #targetRefusal(
    caller: Caller,
    record: ReceiverRecord,
    checked: Map<string, Promise<string | null>>,
  ): Promise<string | null> {
    const key = JSON.stringify([record.driver, record.config]);
    let answer = checked.get(key);
    if (!answer) {
      answer = this.resolveTarget(caller, driverConfigOf(record)).then(
        () => null,
        (error: unknown) => {
          if (!(error instanceof ApiError)) throw error;
          if (error.status >= 500) {
            return "Rancher could not be reached to check its target; run the same restore again to complete it";
          }
          return error.message;
        },
      );
      checked.set(key, answer);
    }
    return answer;
  }

  /**
   * A new version, so a new URL; the old URL is refused from the moment the target has moved on.
   * `change.senderVerification` replaces the sender verification (or drops it, with null); absent,
   * the receiver keeps the one it has. The answer is the receiver as the target made it at this
   * call's version; a receiver deleted before it reached the target is 404, whatever KV still held.
   */
  async regenerate(record: ReceiverRecord, change: RegenerateInput = {}): Promise<ReceiverRecord> {
    const requested = change.senderVerification;
    // Refused before anything moves: a refused regenerate keeps the URL and the check it had.
    const refusal = requested ? senderCheckRefusal(driverConfigOf(record)) : undefined;
    if (refusal) throw new ApiError(422, "InvalidOption", refusal, "senderVerification.scheme");
    const target = this.#target(record);
    // A new URL replaces the original webhook-service URL of an imported receiver too.
    if (record.importedFrom) await this.project(record.projectId).retireLegacyKey(record.id);
    const sender = requested ? await prepareSenderCheck(requested) : requested;
    const moved = await target.regenerate(
      record.id,
      sender === undefined ? undefined : (sender?.check ?? null),
    );
    let live: LiveReceiver;
    if (moved.kind === "live") {
      live = moved.receiver;
    } else if (moved.kind === "revoked") {
      // A delete got to the target first: in that order this receiver is gone.
      await this.#finishRemoval(record);
      throw notFound("receiver");
    } else {
      // The target lost the receiver (it never should). Its sender secret was only there, so a
      // receiver that had one cannot be restored silently without it.
      if (record.senderVerification && sender === undefined) {
        throw new ApiError(
          409,
          "Conflict",
          "this receiver's sender secret is lost; regenerate it with a new senderVerification",
        );
      }
      live = liveReceiver({ ...record, version: record.version + 1 }, sender?.check);
      if (!(await target.register(live))) {
        await this.#finishRemoval(record);
        throw notFound("receiver");
      }
    }
    const next = recordAt(record, live);
    await this.#settle(next);
    return next;
  }

  /**
   * Puts a record in KV, then asks its target again: a regenerate or delete of the same receiver
   * may have reached the target before this write and written KV before it too, so the record is
   * put right (the target's version and sender check) or deleted (the target revoked it). Whichever
   * write of a racing pair comes last, it is followed by a check that finds the target as it ends.
   */
  async #settle(record: ReceiverRecord): Promise<void> {
    let written = record;
    await this.store.put(written);
    for (let round = 0; round < SETTLE_ROUNDS; round++) {
      const state = await this.#stateOf(written);
      if (state.kind === "revoked") {
        await this.#finishRemoval(written);
        return;
      }
      if (state.kind === "unknown") return;
      const current = recordAt(written, state.receiver);
      if (sameRecord(current, written)) return;
      written = current;
      await this.store.put(written);
    }
  }

  /** The receivers of `ids` live in `target`, with their sender checks. */
  liveReceivers(target: string, ids: readonly string[]): Promise<LiveReceiver[]> {
    return this.platform.target(target).liveReceivers(ids);
  }

  async executions(record: ReceiverRecord, limit?: number): Promise<Execution[]> {
    return this.#target(record).executions(record.id, limit);
  }

  /** The receiver's Trigger URL as seen from `origin`. */
  async triggerUrl(record: ReceiverRecord, origin: string): Promise<string> {
    return triggerUrl(origin, await this.token(record));
  }

  async token(record: ReceiverRecord): Promise<string> {
    const keys = await signingKeys(this.env.WEBHOOK_SIGNING_KEYS);
    return keys.sign(
      {
        sub: record.id,
        pid: record.projectId,
        drv: record.driver,
        tgt: record.target,
        ver: record.version,
        cfg: record.config,
        ...(record.senderVerification ? { snd: true as const } : {}),
      },
      record.created,
    );
  }

  /** The environment's object: names, and the receivers imported from webhook-service. */
  project(projectId: string) {
    return this.platform.project(projectId);
  }

  #target(record: ReceiverRecord) {
    return this.platform.target(record.target);
  }
}

/** The receivers of a request's runtime. */
export const receiversOf = (c: Context<AppEnv>) => new Receivers(c.get("platform"), c.env);
