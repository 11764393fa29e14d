// A bounded least-recently-used map (Map keeps insertion order; a hit re-inserts the key).
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  /** Removes every key for which `match` holds. */
  deleteWhere(match: (key: K) => boolean): void {
    for (const key of this.map.keys()) if (match(key)) this.map.delete(key);
  }
}
