import type { Driver, ScaleServiceConfig } from "../api/receiver-schema";

/** A receiver as stored. The token is never stored: it is derived by signing this record. */
export interface ReceiverRecord {
  id: string;
  projectId: string;
  name: string;
  driver: Driver;
  config: ScaleServiceConfig;
  /** Name of the Durable Object that owns the receiver's live version and its executions. */
  target: string;
  /** Bumped by regenerate; tokens of other versions are refused by the target. */
  version: number;
  created: number;
}

export interface ReceiverPage {
  records: ReceiverRecord[];
  /** Opaque marker of the next page, absent on the last. */
  next?: string;
}

/** KV metadata holds at most 1024 bytes; records that fit are listed without a read per key. */
const METADATA_LIMIT = 1024;

const keyOf = (projectId: string, id: string) => `receiver:${projectId}:${id}`;
const prefixOf = (projectId: string) => `receiver:${projectId}:`;

/**
 * Receiver records in KV: the index that management reads. It is never consulted to decide a
 * trigger (the target Durable Object is), so its eventual consistency only delays what a list shows.
 */
export class ReceiverStore {
  constructor(private readonly kv: KVNamespace) {}

  async get(projectId: string, id: string): Promise<ReceiverRecord | null> {
    const record = await this.kv.get<ReceiverRecord>(keyOf(projectId, id), "json");
    // The key already scopes by project; checking again costs nothing and guards against a bad write.
    return record && record.projectId === projectId ? record : null;
  }

  async put(record: ReceiverRecord): Promise<void> {
    const serialized = JSON.stringify(record);
    const metadata = serialized.length <= METADATA_LIMIT ? record : undefined;
    await this.kv.put(keyOf(record.projectId, record.id), serialized, { metadata });
  }

  async delete(projectId: string, id: string): Promise<void> {
    await this.kv.delete(keyOf(projectId, id));
  }

  /** Receivers of one environment in creation order (ids sort by time). */
  async list(projectId: string, limit: number, marker?: string): Promise<ReceiverPage> {
    const page = await this.kv.list<ReceiverRecord>({ prefix: prefixOf(projectId), limit, cursor: marker });
    const records = await Promise.all(
      page.keys.map(async (key) => key.metadata ?? (await this.kv.get<ReceiverRecord>(key.name, "json"))),
    );
    return {
      records: records.filter((record): record is ReceiverRecord => record !== null),
      next: page.list_complete ? undefined : page.cursor,
    };
  }
}
