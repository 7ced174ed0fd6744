import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { ALGORITHMS, RedisStore, type Algorithm } from '../src';
import { deleteByPrefix, maxInAnyWindow, sharedRedis, uniquePrefix } from './redis-support';

// The boundary-burst trace: 2L requests 40 ms before a window boundary and 2L more 40 ms after it,
// then two idle windows, repeated. A fixed window admits both bursts (2L within 80 ms); the sliding
// log admits L in any window-length interval; the counter admits L plus what its weighting of the
// previous window lets through (bound checked per admission below).

const LIMIT = 20;
const WINDOW_MS = 1_000;
const EDGE_MS = 40;
const PAIRS = 4;

interface Admission {
  readonly at: number;
  readonly allowed: boolean;
}

describe('accuracy on a boundary-burst trace against Redis', () => {
  let client: Redis;
  let store: RedisStore;
  const prefix = uniquePrefix('boundary');

  beforeAll(async () => {
    client = await sharedRedis();
    store = new RedisStore({ client, prefix });
  });

  afterAll(async () => {
    await deleteByPrefix(client, prefix);
    await client.quit();
  });

  it('keeps the sliding log exact and the counter within its bound, and both below the fixed window', async () => {
    const offset = await redisClockOffsetMs(client);
    const limits = [{ limit: LIMIT, windowMs: WINDOW_MS }];
    const trace: Record<Algorithm, Admission[]> = { 'sliding-window': [], 'sliding-log': [], 'fixed-window': [] };
    let boundary = Math.ceil((Date.now() + offset + 1_500) / WINDOW_MS) * WINDOW_MS;
    for (let pair = 0; pair < PAIRS; pair += 1, boundary += 3 * WINDOW_MS) {
      for (const redisAt of [boundary - EDGE_MS, boundary + EDGE_MS]) {
        await sleep(Math.max(0, redisAt - offset - Date.now()));
        await Promise.all(
          ALGORITHMS.flatMap((algorithm) =>
            Array.from({ length: 2 * LIMIT }, async () => {
              const verdict = await store.decide({ key: `trace:${algorithm}`, algorithm, limits });
              trace[algorithm].push({ at: verdict.nowMs, allowed: verdict.allowed });
            }),
          ),
        );
      }
    }

    const admitted = (algorithm: Algorithm) =>
      trace[algorithm]
        .filter((entry) => entry.allowed)
        .map((entry) => entry.at)
        .sort((a, b) => a - b);
    const summary = ALGORITHMS.map((algorithm) => ({
      algorithm,
      offered: trace[algorithm].length,
      admitted: admitted(algorithm).length,
      maxInAnyWindow: maxInAnyWindow(admitted(algorithm), WINDOW_MS),
    }));
    console.log(
      [
        `boundary-burst trace: limit ${LIMIT}/${WINDOW_MS} ms, ${PAIRS} pairs of ${2 * LIMIT}-request bursts at boundary ±${EDGE_MS} ms`,
        ...summary.map(
          (row) =>
            `  ${row.algorithm.padEnd(15)} offered ${row.offered}, admitted ${row.admitted}, max in any ${WINDOW_MS} ms: ${row.maxInAnyWindow}`,
        ),
      ].join('\n'),
    );
    const [counter, log, fixed] = summary as [(typeof summary)[number], (typeof summary)[number], (typeof summary)[number]];

    expect(log.maxInAnyWindow).toBe(LIMIT);
    expect(fixed.maxInAnyWindow).toBe(2 * LIMIT);
    expect(counter.maxInAnyWindow).toBeLessThan(fixed.maxInAnyWindow);
    expect(log.maxInAnyWindow).toBeLessThan(fixed.maxInAnyWindow);
    // The counter's documented error: an interval ending at an admission a fraction f into its window
    // holds at most L + p·f, p being what the previous aligned window admitted.
    const times = admitted('sliding-window');
    for (const end of times) {
      const windowStart = Math.floor(end / WINDOW_MS) * WINDOW_MS;
      const previous = times.filter((at) => at >= windowStart - WINDOW_MS && at < windowStart).length;
      const inInterval = times.filter((at) => at > end - WINDOW_MS && at <= end).length;
      expect(inInterval).toBeLessThanOrEqual(LIMIT + previous * ((end - windowStart) / WINDOW_MS));
    }
  });
});

/** Redis TIME minus local time, in milliseconds (midpoint of the round trip). */
async function redisClockOffsetMs(client: Redis): Promise<number> {
  const before = Date.now();
  const [seconds, micros] = await client.time();
  const after = Date.now();
  return Number(seconds) * 1000 + Number(micros) / 1000 - (before + after) / 2;
}
