/**
 * A bounded map that keeps what was used recently, in two generations: lookups go to the young
 * generation, then the old one (promoting the entry); when the young generation holds half the bound,
 * the old one is dropped whole and the young one becomes old. Anything used within the last
 * `maxKeys / 2` distinct keys survives, and a hit never reorders anything (unlike delete-and-set LRU).
 */
export class RecentCache<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private readonly generationSize: number;

  constructor(maxKeys: number) {
    if (!Number.isInteger(maxKeys) || maxKeys < 2) throw new RangeError('maxKeys must be an integer of at least 2');
    this.generationSize = Math.floor(maxKeys / 2);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: string): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const promoted = this.old.get(key);
    if (promoted === undefined) return undefined;
    this.old.delete(key);
    this.set(key, promoted);
    return promoted;
  }

  /** Adds to (or replaces in) the young generation. */
  set(key: string, value: V): void {
    if (this.young.size >= this.generationSize && !this.young.has(key)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
