/**
 * Pure brute-force decisions: exponential backoff, then a temporary lock. Attempts are charged
 * *before* the credential check (and cleared or refunded after a success), so a burst of parallel
 * requests cannot all slip through before the first failure is recorded.
 */
export interface ThrottlePolicy {
  /** Key prefix and the name audit records and metrics use. */
  readonly name: string;
  /** Unsuccessful attempts allowed without delay. */
  readonly backoffAfter: number;
  /** Delay after attempt `backoffAfter`; doubles with each further attempt. */
  readonly backoffBaseSeconds: number;
  readonly backoffMaxSeconds: number;
  /** The attempt that brings the count to this value locks the key. */
  readonly lockAfter: number;
  readonly lockSeconds: number;
  /** Without attempts for this long (and not locked), the count starts again at zero. */
  readonly forgetAfterSeconds: number;
}

/**
 * Per login name: 5 free attempts, then 30 s, 60 s, 120 s, 240 s, 480 s between attempts; the 10th
 * locks for 15 minutes. The 30 s start is the sign-in's original lockout ("locked after 5 failures"),
 * kept when the two throttles were merged.
 */
export const ACCOUNT_THROTTLE_POLICY: ThrottlePolicy = Object.freeze({
  name: 'login-account',
  backoffAfter: 5,
  backoffBaseSeconds: 30,
  backoffMaxSeconds: 900,
  lockAfter: 10,
  lockSeconds: 15 * 60,
  forgetAfterSeconds: 60 * 60,
});

/**
 * Per client IP (IPv6 per /64): higher, because offices and carrier NAT put many people behind one
 * address. 20 free failures, backoff doubling from 1 s capped at 60 s, the 100th locks for 15 minutes.
 */
export const IP_THROTTLE_POLICY: ThrottlePolicy = Object.freeze({
  name: 'login-ip',
  backoffAfter: 20,
  backoffBaseSeconds: 1,
  backoffMaxSeconds: 60,
  lockAfter: 100,
  lockSeconds: 15 * 60,
  forgetAfterSeconds: 60 * 60,
});

/**
 * Per account for second-factor codes (TOTP and recovery codes): as for passwords. With a ±1 step
 * window a guess hits with probability 3 in 10^6, so this bounds an attacker who already has the
 * password to roughly a hundred guesses a day.
 */
export const MFA_THROTTLE_POLICY: ThrottlePolicy = Object.freeze({ ...ACCOUNT_THROTTLE_POLICY, name: 'mfa-account' });

export interface AttemptState {
  /** Attempts charged and not yet cleared by a success. */
  readonly failures: number;
  /** Unix milliseconds of the last charged attempt. */
  readonly lastAttemptAt: number;
  /** Unix milliseconds; null when not locked. */
  readonly lockedUntil: number | null;
}

export type ThrottleDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly reason: 'backoff' | 'locked'; readonly retryAfterSeconds: number };

/** The state as it stands at `now`: undefined once it has been idle past `forgetAfterSeconds` and is not locked. */
export function currentState(state: AttemptState | undefined, policy: ThrottlePolicy, now: number): AttemptState | undefined {
  if (state === undefined) return undefined;
  const locked = state.lockedUntil !== null && state.lockedUntil > now;
  return !locked && now - state.lastAttemptAt >= policy.forgetAfterSeconds * 1000 ? undefined : state;
}

/** Whether an attempt may go ahead now, and if not, when it may. */
export function decideAttempt(stored: AttemptState | undefined, policy: ThrottlePolicy, now: number): ThrottleDecision {
  const state = currentState(stored, policy, now);
  if (state === undefined) return { allowed: true };
  if (state.lockedUntil !== null && state.lockedUntil > now) return refuse('locked', state.lockedUntil, now);
  if (state.failures >= policy.backoffAfter) {
    const delay = Math.min(policy.backoffBaseSeconds * 2 ** (state.failures - policy.backoffAfter), policy.backoffMaxSeconds);
    const nextAllowedAt = state.lastAttemptAt + delay * 1000;
    if (nextAllowedAt > now) return refuse('backoff', nextAllowedAt, now);
  }
  return { allowed: true };
}

/** The state after one more attempt is charged; the attempt that reaches `lockAfter` locks the key. */
export function chargeAttempt(stored: AttemptState | undefined, policy: ThrottlePolicy, now: number): AttemptState {
  const state = currentState(stored, policy, now);
  const failures = (state?.failures ?? 0) + 1;
  const lockedUntil = failures >= policy.lockAfter ? now + policy.lockSeconds * 1000 : (state?.lockedUntil ?? null);
  return { failures, lastAttemptAt: now, lockedUntil };
}

/** Gives back one charged attempt (a success that should not wipe other people's failures, e.g. per IP). A lock stays. */
export function refundAttempt(stored: AttemptState | undefined, policy: ThrottlePolicy, now: number): AttemptState | undefined {
  const state = currentState(stored, policy, now);
  if (state === undefined) return undefined;
  const failures = Math.max(0, state.failures - 1);
  return failures === 0 && state.lockedUntil === null ? undefined : { ...state, failures };
}

function refuse(reason: 'backoff' | 'locked', until: number, now: number): ThrottleDecision {
  return { allowed: false, reason, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) };
}
