import type { Caller } from "../api/app-env";
import { ApiError } from "../api/errors";
import { newId } from "../api/ids";
import { driverConfigOf, type ReceiverCreate } from "../api/receiver-schema";
import { triggerUrl } from "../api/resources";
import { resolveTarget } from "../drivers/registry";
import type { Execution, LiveReceiver } from "../objects/target-types";
import { signingKeys } from "../tokens/signing";
import { type ReceiverRecord, ReceiverStore } from "./store";

const RECEIVER_ID = /^r[0-9a-z]{26}$/;

const liveReceiver = (record: ReceiverRecord): LiveReceiver => ({
  id: record.id,
  projectId: record.projectId,
  name: record.name,
  version: record.version,
  ...driverConfigOf(record),
});

/**
 * Receiver lifecycle across its three homes: the project object (unique names), the target
 * object (live version, history) and KV (the record). The target is written first on create and
 * first on delete, so a trigger never works for a receiver that management does not show as live.
 */
export class Receivers {
  readonly store: ReceiverStore;

  constructor(private readonly env: Env) {
    this.store = new ReceiverStore(env.RECEIVERS);
  }

  /** A receiver of the environment by id; null for unknown and malformed ids alike. */
  async find(projectId: string, id: string): Promise<ReceiverRecord | null> {
    return RECEIVER_ID.test(id) ? this.store.get(projectId, id) : null;
  }

  async create(caller: Caller, input: ReceiverCreate, now = Date.now()): Promise<ReceiverRecord> {
    const target = await resolveTarget(input, caller.projectId, this.env.CATTLE_URL, caller.credentials);
    const record: ReceiverRecord = {
      id: newId("r", now),
      projectId: caller.projectId,
      name: input.name,
      ...driverConfigOf(input),
      target,
      version: 1,
      created: now,
    };
    const project = this.#project(record.projectId);
    if (!(await project.claimName(record.name, record.id))) {
      throw new ApiError(
        422,
        "NotUnique",
        `a receiver named "${record.name}" already exists in this environment`,
        "name",
      );
    }
    try {
      await this.#target(record).register(liveReceiver(record));
      await this.store.put(record);
    } catch (error) {
      await this.#target(record)
        .revoke(record.id)
        .catch(() => {});
      await project.releaseName(record.name, record.id).catch(() => {});
      throw error;
    }
    return record;
  }

  /** Revokes first: once this returns, the trigger URL is refused everywhere. */
  async remove(record: ReceiverRecord): Promise<void> {
    await this.#target(record).revoke(record.id);
    await this.store.delete(record.projectId, record.id);
    await this.#project(record.projectId).releaseName(record.name, record.id);
  }

  /** A new version, so a new URL; the old URL is refused from the moment the target has moved on. */
  async regenerate(record: ReceiverRecord): Promise<ReceiverRecord> {
    const target = this.#target(record);
    let version = await target.rotate(record.id);
    if (version === null) {
      version = record.version + 1;
      await target.register(liveReceiver({ ...record, version }));
    }
    const next = { ...record, version };
    await this.store.put(next);
    return next;
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
      },
      record.created,
    );
  }

  #project(projectId: string) {
    return this.env.PROJECTS.getByName(projectId);
  }

  #target(record: ReceiverRecord) {
    return this.env.TARGETS.getByName(record.target);
  }
}
