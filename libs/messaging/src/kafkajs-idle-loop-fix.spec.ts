import { createRequire } from 'node:module';
import { createKafka } from './kafka';
import { applyKafkajsIdleLoopFix, PATCHED_KAFKAJS_VERSION } from './kafkajs-idle-loop-fix';

const requireHere = createRequire(__filename);

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}
const RequestQueue = requireHere('kafkajs/src/network/requestQueue/index.js') as { prototype: Queue };

/** A request queue as kafkajs builds one, with only the fields scheduleCheckPendingRequests reads. */
function queue(pending: unknown[], throttledUntil: number): Queue {
  const q = Object.create(RequestQueue.prototype) as Queue;
  Object.assign(q, { pending, throttledUntil, throttleCheckTimeoutId: null });
  return q;
}

describe('kafkajs idle-loop fix', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('is written for the kafkajs version installed, and createKafka has applied it', () => {
    expect((requireHere('kafkajs/package.json') as { version: string }).version).toBe(PATCHED_KAFKAJS_VERSION);
    createKafka({ brokers: ['127.0.0.1:1'], clientId: 'fix-test' });
    expect(applyKafkajsIdleLoopFix()).toBe(true);
  });

  it('schedules nothing when no request is pending and nothing is throttled (the 1 ms loop)', () => {
    const q = queue([], -1);
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('still schedules a check for pending requests, and at the end of a throttle', () => {
    const waiting = queue([{ request: 1 }], -1);
    const check = jest.spyOn(waiting, 'checkPendingRequests').mockImplementation(() => undefined);
    waiting.scheduleCheckPendingRequests();
    expect(jest.getTimerCount()).toBe(1);
    jest.runOnlyPendingTimers();
    expect(check).toHaveBeenCalledTimes(1);

    const throttled = queue([], Date.now() + 50);
    const checkThrottled = jest.spyOn(throttled, 'checkPendingRequests').mockImplementation(() => undefined);
    throttled.scheduleCheckPendingRequests();
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(50);
    expect(checkThrottled).toHaveBeenCalledTimes(1);
  });
});
