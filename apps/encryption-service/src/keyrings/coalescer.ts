interface Waiter<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for concurrent requests: the first submission for a key is flushed at once; whatever
 * arrives for that key while a flush runs goes out together in the next flush (at most `maxBatch`
 * items). No submission waits for a timer, and each is answered only after a flush that started after
 * it was submitted, so a caller never sees an older read than it would alone.
 */
export class Coalescer<T, R> {
  private readonly pending = new Map<string, Waiter<T, R>[]>();
  private readonly running = new Set<string>();

  constructor(
    private readonly flush: (key: string, items: readonly T[]) => Promise<readonly R[]>,
    private readonly maxBatch = 64,
  ) {}

  submit(key: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.pending.get(key);
      if (queue) queue.push({ item, resolve, reject });
      else this.pending.set(key, [{ item, resolve, reject }]);
      if (!this.running.has(key)) void this.drain(key);
    });
  }

  private async drain(key: string): Promise<void> {
    this.running.add(key);
    try {
      for (let queue = this.pending.get(key); queue && queue.length > 0; queue = this.pending.get(key)) {
        const batch = queue.splice(0, this.maxBatch);
        if (queue.length === 0) this.pending.delete(key);
        try {
          const results = await this.flush(
            key,
            batch.map((w) => w.item),
          );
          batch.forEach((waiter, i) => waiter.resolve(results[i]!));
        } catch (error) {
          for (const waiter of batch) waiter.reject(error);
        }
      }
    } finally {
      this.running.delete(key);
    }
  }
}
