import {
  ACCOUNT_THROTTLE_POLICY as policy,
  chargeAttempt,
  decideAttempt,
  IP_THROTTLE_POLICY,
  refundAttempt,
  type AttemptState,
  type ThrottlePolicy,
} from './attempt-throttle.policy';

const t0 = 1_764_000_000_000;
const seconds = (s: number) => s * 1000;

/** Charges `count` attempts, each at the earliest moment the policy allows it; returns the state and the clock. */
function failUntil(count: number, p: ThrottlePolicy = policy) {
  let state: AttemptState | undefined;
  let now = t0;
  for (let i = 0; i < count; i++) {
    const decision = decideAttempt(state, p, now);
    if (!decision.allowed) now += seconds(decision.retryAfterSeconds);
    state = chargeAttempt(state, p, now);
  }
  return { state, now };
}

describe('throttle policy', () => {
  it('allows the first five attempts without delay', () => {
    let state: AttemptState | undefined;
    for (let i = 0; i < 5; i++) {
      expect(decideAttempt(state, policy, t0)).toEqual({ allowed: true });
      state = chargeAttempt(state, policy, t0);
    }
    expect(decideAttempt(state, policy, t0)).toEqual({ allowed: false, reason: 'backoff', retryAfterSeconds: 30 });
  });

  it.each([
    [5, 30],
    [6, 60],
    [7, 120],
    [8, 240],
    [9, 480],
  ])('after %i failures makes the next attempt wait %i s', (failures, wait) => {
    const { state, now } = failUntil(failures);
    expect(decideAttempt(state, policy, now)).toEqual({ allowed: false, reason: 'backoff', retryAfterSeconds: wait });
    expect(decideAttempt(state, policy, now + seconds(wait) - 1)).toMatchObject({ allowed: false, reason: 'backoff' });
    expect(decideAttempt(state, policy, now + seconds(wait))).toEqual({ allowed: true });
  });

  it('locks for 15 minutes at the tenth failure, then allows one attempt which locks again if it fails', () => {
    const { state, now } = failUntil(10);
    expect(decideAttempt(state, policy, now)).toEqual({ allowed: false, reason: 'locked', retryAfterSeconds: 900 });
    expect(decideAttempt(state, policy, now + seconds(899))).toEqual({ allowed: false, reason: 'locked', retryAfterSeconds: 1 });
    const after = now + seconds(900);
    expect(decideAttempt(state, policy, after)).toEqual({ allowed: true });
    const relocked = chargeAttempt(state, policy, after);
    expect(decideAttempt(relocked, policy, after)).toEqual({ allowed: false, reason: 'locked', retryAfterSeconds: 900 });
  });

  it('rounds retryAfter up to whole seconds and never below 1', () => {
    const { state, now } = failUntil(6);
    expect(decideAttempt(state, policy, now + 1)).toEqual({ allowed: false, reason: 'backoff', retryAfterSeconds: 60 });
    expect(decideAttempt(state, policy, now + seconds(60) - 1)).toEqual({ allowed: false, reason: 'backoff', retryAfterSeconds: 1 });
  });

  it('caps the backoff at backoffMaxSeconds', () => {
    const steep: ThrottlePolicy = { ...policy, lockAfter: 1000, backoffMaxSeconds: 60 };
    const { state, now } = failUntil(20, steep);
    expect(decideAttempt(state, steep, now)).toEqual({ allowed: false, reason: 'backoff', retryAfterSeconds: 60 });
  });

  it('forgets failures after an hour without attempts, but not while locked', () => {
    const backedOff = failUntil(7);
    expect(decideAttempt(backedOff.state, policy, backedOff.now + seconds(3600))).toEqual({ allowed: true });
    expect(chargeAttempt(backedOff.state, policy, backedOff.now + seconds(3600)).failures).toBe(1);

    const longLock: ThrottlePolicy = { ...policy, lockSeconds: 2 * 3600 };
    const locked = failUntil(10, longLock);
    expect(decideAttempt(locked.state, longLock, locked.now + seconds(3600))).toMatchObject({ allowed: false, reason: 'locked' });
  });

  it('refund gives back one attempt and keeps a lock', () => {
    const { state, now } = failUntil(6);
    expect(refundAttempt(state, policy, now)?.failures).toBe(5);
    expect(refundAttempt(chargeAttempt(undefined, policy, now), policy, now)).toBeUndefined();
    const locked = failUntil(10);
    expect(refundAttempt(locked.state, policy, locked.now)).toMatchObject({ failures: 9, lockedUntil: locked.now + seconds(900) });
  });

  it('per IP: 20 free attempts, and the 100th locks', () => {
    const free = failUntil(20, IP_THROTTLE_POLICY);
    expect(free.now).toBe(t0);
    expect(decideAttempt(free.state, IP_THROTTLE_POLICY, free.now)).toMatchObject({
      allowed: false,
      reason: 'backoff',
      retryAfterSeconds: 1,
    });
    const locked = failUntil(100, IP_THROTTLE_POLICY);
    expect(decideAttempt(locked.state, IP_THROTTLE_POLICY, locked.now)).toEqual({
      allowed: false,
      reason: 'locked',
      retryAfterSeconds: 900,
    });
  });
});
