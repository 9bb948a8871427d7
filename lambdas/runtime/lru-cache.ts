// Stands in for `mnemonist/lru-cache` in every bundle (lib/bundle-settings.ts). Its one user is the AWS SDK's
// endpoint-discovery cache (`@aws-sdk/endpoint-cache`, which the DynamoDB client creates whether or not endpoint
// discovery is on), and it uses only the methods below; mnemonist and its helper library add about 7 KB to each
// bundle for them. A `Map` keeps insertion order, so the first key is the least recently used.

/** A least-recently-used cache of at most `capacity` entries: `get` and `set` make a key the most recent. */
export default class LRUCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('LRUCache: capacity must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, made the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** The value, leaving the order as it is. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Stores the value as the most recently used, evicting the least recently used entry when full. */
  set(key: K, value: V): this {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
    return this;
  }

  clear(): void {
    this.entries.clear();
  }
}
