import type { Clock } from "../../domain/clock";
import { type KvKey, type KvLike, keyId, MAX_COMMIT_BYTES, MAX_COMMIT_MUTATIONS, retryingBusy } from "./kv";
import { mutationBytes } from "./mirror";

/** A write of a group: a key set (with its expiry) or deleted (`value` null). */
export interface GroupWrite {
  key: KvKey;
  value: unknown;
  expireIn?: number;
}

interface Waiting {
  writes: readonly GroupWrite[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Writes that check nothing (a forwarded call's record, a reply, a reply read and forgotten), made
 * by many requests of one process at once, in as few commits as KV's limits allow: a write waits
 * for the commit in flight, then goes with every other write that came meanwhile. On a KV file every
 * commit waits for the disk, and every process takes the file's lock in turn, so a burst of calls
 * costs a few commits rather than one each (docs/deno-deploy.md, "How it works"). A lone write
 * leaves at once, as it would alone. Each write's promise ends with its commit; a commit that fails
 * (but for `database is locked`, tried again) fails every write in it, none of which was made.
 */
export class GroupCommit {
  #waiting: Waiting[] = [];
  #committing = false;

  constructor(
    private readonly kv: KvLike,
    private readonly clock: Clock,
  ) {}

  /** Makes `writes` in one commit, perhaps with others'; at most what one commit takes. */
  write(writes: readonly GroupWrite[]): Promise<void> {
    const bytes = writes.reduce((sum, write) => sum + mutationBytes(write), 0);
    if (writes.length > MAX_COMMIT_MUTATIONS || bytes > MAX_COMMIT_BYTES) {
      return Promise.reject(new RangeError("writes too large for one commit"));
    }
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ writes, bytes, resolve, reject });
      if (!this.#committing) void this.#commitAll();
    });
  }

  async #commitAll(): Promise<void> {
    this.#committing = true;
    try {
      while (this.#waiting.length > 0) {
        const group = this.#next();
        try {
          // A key written twice (a bell rung by two calls) is written once, as the later write says.
          const byKey = new Map<string, GroupWrite>();
          for (const { writes } of group) for (const write of writes) byKey.set(keyId(write.key), write);
          await retryingBusy(this.clock, () => {
            const atomic = this.kv.atomic();
            for (const { key, value, expireIn } of byKey.values()) {
              if (value === null) atomic.delete(key);
              else atomic.set(key, value, expireIn === undefined ? undefined : { expireIn });
            }
            return atomic.commit();
          });
          for (const waiting of group) waiting.resolve();
        } catch (error) {
          for (const waiting of group) waiting.reject(error);
        }
      }
    } finally {
      this.#committing = false;
    }
  }

  /** The oldest waiting writes that fit one commit together. */
  #next(): Waiting[] {
    let mutations = 0;
    let bytes = 0;
    let count = 0;
    for (const waiting of this.#waiting) {
      if (
        count > 0 &&
        (mutations + waiting.writes.length > MAX_COMMIT_MUTATIONS || bytes + waiting.bytes > MAX_COMMIT_BYTES)
      ) {
        break;
      }
      mutations += waiting.writes.length;
      bytes += waiting.bytes;
      count += 1;
    }
    return this.#waiting.splice(0, count);
  }
}
