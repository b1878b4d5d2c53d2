/**
 * A Map with two bounds: an entry expires `ttlMs` after it was set or last touched, and there are at most `max`
 * entries (`set` refuses a new key past it, so the caller can answer with a problem). Entries are kept in the
 * order they expire (a touch moves an entry to the end), so dropping the expired ones is a walk from the front
 * that stops at the first live entry.
 */
export class ExpiringMap<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();
  readonly ttlMs: number;
  readonly max: number;
  private readonly now: () => number;

  constructor(ttlMs: number, max: number, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.max = max;
    this.now = now;
  }

  get size(): number {
    this.dropExpired();
    return this.entries.size;
  }

  get(key: K): V | undefined {
    this.dropExpired();
    return this.entries.get(key)?.value;
  }

  /** Sets or replaces an entry with a fresh TTL; false (and nothing changes) when a new key finds it full. */
  set(key: K, value: V): boolean {
    this.dropExpired();
    const known = this.entries.delete(key);
    if (!known && this.entries.size >= this.max) return false;
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    return true;
  }

  /** Starts an entry's TTL again. */
  touch(key: K): void {
    const value = this.get(key);
    if (value !== undefined) this.set(key, value);
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) return;
      this.entries.delete(key);
    }
  }
}
