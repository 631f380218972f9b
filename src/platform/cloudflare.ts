import type { Platform, ReceiverPage, ReceiverStore } from "../domain/ports";
import type { ReceiverRecord } from "../domain/receiver";
import { decodeMarker, encodeMarker } from "../storage/markers";

/** KV metadata holds at most 1024 bytes; records that fit are listed without a read per key. */
const METADATA_LIMIT = 1024;

const keyOf = (projectId: string, id: string) => `receiver:${projectId}:${id}`;
const prefixOf = (projectId: string) => `receiver:${projectId}:`;

/** Receiver records in Workers KV, one key per receiver under its environment's prefix. */
export class KvReceiverStore implements ReceiverStore {
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

  async list(projectId: string, limit: number, marker?: string): Promise<ReceiverPage> {
    const cursor = marker === undefined ? undefined : await decodeMarker(projectId, marker);
    const page = await this.kv.list<ReceiverRecord>({ prefix: prefixOf(projectId), limit, cursor });
    const records = await Promise.all(
      page.keys.map(async (key) => key.metadata ?? (await this.kv.get<ReceiverRecord>(key.name, "json"))),
    );
    return {
      records: records.filter((record): record is ReceiverRecord => record !== null),
      next: page.list_complete ? undefined : await encodeMarker(projectId, page.cursor),
    };
  }
}

/** Cloudflare: receiver records in KV, one Durable Object per target and per environment. */
export const cloudflarePlatform = (env: Env): Platform => ({
  receivers: new KvReceiverStore(env.RECEIVERS),
  target: (name) => env.TARGETS.getByName(name),
  project: (projectId) => env.PROJECTS.getByName(projectId),
});
