/**
 * A Map that holds at most `limit` entries: adding a new key when it is full forgets the oldest
 * first. For the isolate's memories (signed and verified tokens, access decisions), which must
 * not grow with the traffic.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly #limit: number;

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.#limit) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}
