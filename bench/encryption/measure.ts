// Small timing helpers shared by the encryption bench's parts.
import { performance } from 'node:perf_hooks';

export function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** Calls `operation` in a tight loop for about `ms` milliseconds; answers calls per second. */
export function opsPerSecond(operation: () => unknown, ms: number): number {
  let calls = 0;
  let chunk = 1;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < chunk; i += 1) operation();
    calls += chunk;
    elapsed = performance.now() - started;
    // Grow the inner loop so performance.now() is a negligible share of the time.
    if (elapsed < ms / 20) chunk *= 2;
  }
  return calls / (elapsed / 1000);
}

export interface Contender {
  readonly name: string;
  readonly operation: () => unknown;
}

/**
 * Runs every contender for `ms` per round, interleaved round by round so drift (other processes,
 * thermal, GC) hits them alike, after one warm-up round. Answers the median ops/s of each.
 */
export function race(contenders: readonly Contender[], rounds: number, ms: number): Map<string, number> {
  for (const contender of contenders) opsPerSecond(contender.operation, ms);
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const contender of contenders) samples.get(contender.name)!.push(opsPerSecond(contender.operation, ms));
  }
  return new Map([...samples].map(([name, values]) => [name, median(values)]));
}

export function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}
