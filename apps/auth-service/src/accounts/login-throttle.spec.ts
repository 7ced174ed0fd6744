import { ACCOUNT_THROTTLE, IP_THROTTLE, lockSeconds } from './login-throttle';

describe('sign-in backoff', () => {
  it('locks an account after 5 consecutive failures for 30 s, doubling up to 15 minutes', () => {
    expect([1, 4].map((n) => lockSeconds(ACCOUNT_THROTTLE, n))).toEqual([0, 0]);
    expect([5, 6, 7, 8, 9, 10, 50].map((n) => lockSeconds(ACCOUNT_THROTTLE, n))).toEqual([30, 60, 120, 240, 480, 900, 900]);
  });

  it('locks a client IP after 20 failures for 60 s, doubling up to an hour', () => {
    expect(lockSeconds(IP_THROTTLE, 19)).toBe(0);
    expect([20, 21, 26, 1000].map((n) => lockSeconds(IP_THROTTLE, n))).toEqual([60, 120, 3600, 3600]);
  });
});
