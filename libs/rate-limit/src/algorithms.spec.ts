import fc from 'fast-check';
import { MemoryStore } from './memory.store';
import type { Algorithm } from './rate-limit.config';
import type { LimitSpec, StoreVerdict } from './rate-limit.store';

// A minute-aligned epoch instant, so window boundaries fall where the tests say they do.
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % 3_600_000);

function harness(algorithm: Algorithm, limits: readonly LimitSpec[]) {
  let now = T0;
  const store = new MemoryStore({ clock: () => now });
  return {
    at(time: number) {
      now = time;
      return this;
    },
    decide(key = 'k'): StoreVerdict {
      return store.decide({ key, algorithm, limits });
    },
    burst(count: number, key = 'k'): number {
      let admitted = 0;
      for (let i = 0; i < count; i += 1) if (store.decide({ key, algorithm, limits }).allowed) admitted += 1;
      return admitted;
    },
  };
}

/** The most admissions inside any half-open interval (t - window, t]. */
function maxInAnyWindow(admitted: readonly number[], windowMs: number): number {
  let best = 0;
  for (let end = 0, start = 0; end < admitted.length; end += 1) {
    while (admitted[start]! <= admitted[end]! - windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

const trace = fc.array(fc.integer({ min: 0, max: 250 }), { minLength: 1, maxLength: 300 });

describe('sliding-window counter', () => {
  it('weights the previous window by the share still inside the sliding window (Kong example: 86 × 45/60 + 12 = 76.5)', () => {
    const h = harness('sliding-window', [{ limit: 100, windowMs: 60_000 }]);
    expect(h.at(T0 + 30_000).burst(86)).toBe(86);
    expect(h.at(T0 + 60_000 + 1_000).burst(12)).toBe(12);
    const verdict = h.at(T0 + 60_000 + 15_000).decide();
    expect(verdict.allowed).toBe(true);
    expect(verdict.limits[0]!.remaining).toBe(22); // floor(100 - 77.5) after this request
    expect(verdict.limits[0]!.resetMs).toBe(45_000);
  });

  it('lets a burst just after a boundary use only what the decayed previous window leaves', () => {
    const h = harness('sliding-window', [{ limit: 100, windowMs: 1_000 }]);
    expect(h.at(T0 + 950).burst(100)).toBe(100);
    // 50 ms into the next window the previous 100 still weigh 95.
    expect(h.at(T0 + 1_050).burst(100)).toBe(5);
  });

  it('stays within L + p·f in any window-length interval, a bound that same-phase bursts nearly reach', () => {
    // Documented error: an interval ending at an admission a fraction f into its window holds at most
    // L + p·f (p: the previous window's admissions). Bursts at the same late phase of two consecutive
    // windows come close to 2L, because the counter assumes the previous window's traffic was spread.
    const h = harness('sliding-window', [{ limit: 100, windowMs: 1_000 }]);
    const admitted: number[] = [];
    for (const at of [T0 + 995, T0 + 1_990]) {
      for (let i = 0; i < 200; i += 1) if (h.at(at).decide().allowed) admitted.push(at);
    }
    expect(admitted.filter((at) => at === T0 + 995)).toHaveLength(100);
    expect(admitted.filter((at) => at === T0 + 1_990)).toHaveLength(99); // 100 × (1 - 0.99) = 1 still counted
    const f = (T0 + 1_990 - (T0 + 1_000)) / 1_000;
    expect(maxInAnyWindow(admitted, 1_000)).toBeLessThanOrEqual(100 + 100 * f);
    expect(maxInAnyWindow(admitted, 1_000)).toBe(199);
  });

  it('never counts more than the limit inside one aligned window', () => {
    fc.assert(
      fc.property(trace, fc.integer({ min: 1, max: 8 }), (gaps, limit) => {
        const h = harness('sliding-window', [{ limit, windowMs: 1_000 }]);
        const perWindow = new Map<number, number>();
        let time = T0;
        for (const gap of gaps) {
          time += gap;
          if (h.at(time).decide().allowed) perWindow.set(Math.floor(time / 1_000), (perWindow.get(Math.floor(time / 1_000)) ?? 0) + 1);
        }
        return [...perWindow.values()].every((count) => count <= limit);
      }),
    );
  });
});

describe('sliding log', () => {
  it('admits a request exactly when fewer than `limit` were admitted in the last window', () => {
    fc.assert(
      fc.property(trace, fc.integer({ min: 1, max: 8 }), (gaps, limit) => {
        const h = harness('sliding-log', [{ limit, windowMs: 1_000 }]);
        const admitted: number[] = [];
        let time = T0;
        for (const gap of gaps) {
          time += gap;
          const inWindow = admitted.filter((at) => at > time - 1_000).length;
          const { allowed } = h.at(time).decide();
          if (allowed !== inWindow < limit) return false;
          if (allowed) admitted.push(time);
        }
        return maxInAnyWindow(admitted, 1_000) <= limit;
      }),
    );
  });

  it('reports how long until the oldest counted request leaves the window', () => {
    const h = harness('sliding-log', [{ limit: 2, windowMs: 1_000 }]);
    h.at(T0 + 100).decide();
    h.at(T0 + 400).decide();
    const refused = h.at(T0 + 500).decide();
    expect(refused.allowed).toBe(false);
    expect(refused.limits[0]!.retryMs).toBe(600);
    expect(h.at(T0 + 1_099).decide().allowed).toBe(false);
    expect(h.at(T0 + 1_100).decide().allowed).toBe(true);
  });
});

describe('fixed window (reference)', () => {
  it('admits twice the limit across a boundary, which is why it is only the reference', () => {
    const h = harness('fixed-window', [{ limit: 100, windowMs: 1_000 }]);
    expect(h.at(T0 + 950).burst(150)).toBe(100);
    expect(h.at(T0 + 1_050).burst(150)).toBe(100);
  });
});

describe.each<Algorithm>(['sliding-window', 'sliding-log', 'fixed-window'])('%s', (algorithm) => {
  it('admits a refused caller exactly when Retry-After says, not a millisecond earlier', () => {
    fc.assert(
      fc.property(trace, fc.integer({ min: 1, max: 6 }), (gaps, limit) => {
        const limits = [{ limit, windowMs: 1_000 }];
        const h = harness(algorithm, limits);
        let time = T0;
        for (const gap of gaps) {
          time += gap;
          const verdict = h.at(time).decide();
          if (verdict.allowed) continue;
          const retry = verdict.limits[0]!.retryMs;
          // Probe on a copy of history: a fresh store replays the same admissions.
          const probe = (offset: number) => {
            const replay = harness(algorithm, limits);
            let replayTime = T0;
            for (const g of gaps) {
              replayTime += g;
              if (replayTime > time) break;
              replay.at(replayTime).decide();
            }
            return replay.at(time + offset).decide().allowed;
          };
          return retry >= 1 && probe(retry) && (retry < 2 || !probe(retry - 1));
        }
        return true;
      }),
      { numRuns: 60 },
    );
  });

  it('applies several limits at once and counts nothing when any of them refuses', () => {
    const h = harness(algorithm, [
      { limit: 3, windowMs: 1_000 },
      { limit: 5, windowMs: 60_000 },
    ]);
    expect(h.at(T0 + 100).burst(10)).toBe(3);
    const refused = h.at(T0 + 200).decide();
    expect(refused.allowed).toBe(false);
    expect(refused.limits[0]!.retryMs).toBeGreaterThan(0);
    expect(refused.limits[1]!.retryMs).toBe(0);
    expect(refused.limits[1]!.remaining).toBe(2); // the refused requests consumed no hourly quota
    // Next seconds: the per-second limit frees up, the per-minute one runs out after 2 more.
    expect(h.at(T0 + 2_100).burst(10)).toBe(2);
    const minuteBound = h.at(T0 + 4_100).decide();
    expect(minuteBound.allowed).toBe(false);
    expect(minuteBound.limits[0]!.retryMs).toBe(0);
    expect(minuteBound.limits[1]!.retryMs).toBeGreaterThan(1_000);
  });

  it('keeps identifiers apart', () => {
    const h = harness(algorithm, [{ limit: 1, windowMs: 1_000 }]);
    expect(h.at(T0 + 10).decide('a').allowed).toBe(true);
    expect(h.decide('a').allowed).toBe(false);
    expect(h.decide('b').allowed).toBe(true);
  });
});

describe('memory store', () => {
  it('forgets the least recently used identifier beyond its bound', () => {
    let now = T0;
    const store = new MemoryStore({ clock: () => now, maxKeys: 2 });
    const limits = [{ limit: 1, windowMs: 60_000 }];
    const decide = (key: string) => store.decide({ key, algorithm: 'sliding-window', limits }).allowed;
    expect([decide('a'), decide('b')]).toEqual([true, true]);
    now += 1;
    expect(decide('a')).toBe(false); // a is now the most recently used
    expect(decide('c')).toBe(true); // evicts b
    expect(store.size).toBe(2);
    expect(decide('a')).toBe(false);
    expect(decide('b')).toBe(true); // b was forgotten
  });

  it('never holds more identifiers than its bound, and keeps the recently used ones', () => {
    const store = new MemoryStore({ clock: () => T0, maxKeys: 100 });
    const limits = [{ limit: 1, windowMs: 60_000 }];
    for (let i = 0; i < 1_000; i += 1) {
      store.decide({ key: `k${i}`, algorithm: 'sliding-log', limits });
      expect(store.size).toBeLessThanOrEqual(100);
    }
    // The last 50 distinct identifiers are still counted.
    for (let i = 950; i < 1_000; i += 1) expect(store.decide({ key: `k${i}`, algorithm: 'sliding-log', limits }).allowed).toBe(false);
  });
});
