import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 (the last release) keeps every broker connection's request queue in a 1 ms timer loop
 * once it has answered one request: `scheduleCheckPendingRequests` computes `throttledUntil - Date.now()`
 * (negative when nothing is throttled) and sets a timer with it even when no request is pending, and
 * the timer's check schedules the next one (tulios/kafkajs#1704; Node 24 also prints
 * TimeoutNegativeWarning for it, #1751). Measured here: an idle process with one producer and one
 * consumer spent 236 ms of CPU in 10 s with it and 42 ms without it.
 *
 * This replaces that method on the queue's prototype so that it returns when there is nothing to
 * check: no pending request and no throttle in force. Nothing is lost by not scheduling: a request
 * that cannot go at once is queued by `push`, which schedules a check itself, and every answered
 * request checks the queue. With pending requests or an active throttle it runs the original. The fix
 * proposed upstream in #1768's review thread does the same.
 *
 * Applied once, for the kafkajs version it was written against only: another version is left alone
 * (and the unit test that pins the version fails, so the change gets looked at).
 */
export const PATCHED_KAFKAJS_VERSION = '2.2.4';

interface RequestQueueShape {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const requireHere = createRequire(__filename);
let applied: boolean | undefined;

export function applyKafkajsIdleLoopFix(): boolean {
  if (applied !== undefined) return applied;
  const { version } = requireHere('kafkajs/package.json') as { version: string };
  const RequestQueue = requireHere('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueShape } | undefined;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with each queue as `this`
  const original = RequestQueue?.prototype.scheduleCheckPendingRequests;
  if (version !== PATCHED_KAFKAJS_VERSION || typeof original !== 'function') return (applied = false);
  RequestQueue!.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueShape): void {
    if (this.pending.length === 0 && !(this.throttledUntil > Date.now())) return;
    original.call(this);
  };
  return (applied = true);
}
