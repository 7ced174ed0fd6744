import { hash } from 'node:crypto';

/**
 * A least-recently-used map of at most `maxEntries`, looked up by a SHA-256 digest of key bytes.
 * The digest, not the bytes, is the map key, so secret keys never end up in a string on the heap
 * (a 256-bit random secret cannot be recovered from its digest) and callers may pass fresh copies.
 */
export class DigestCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(
    private readonly label: string,
    private readonly maxEntries: number,
  ) {}

  /** The cached value for these bytes, or `create(bytes)` stored for next time. `create` throwing stores nothing. */
  getOrCreate(bytes: Uint8Array, create: () => V): V {
    const key = this.keyOf(bytes);
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const value = create();
    this.entries.set(key, value);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }

  /** Drops the entry for these bytes, if any. */
  delete(bytes: Uint8Array): void {
    this.entries.delete(this.keyOf(bytes));
  }

  clear(): void {
    this.entries.clear();
  }

  private keyOf(bytes: Uint8Array): string {
    return `${this.label}:${hash('sha256', bytes, 'base64')}`;
  }
}
