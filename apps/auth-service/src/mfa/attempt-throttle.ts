import { ipBucket, normalizeIp } from '@traceo/rate-limit';
import {
  ACCOUNT_THROTTLE_POLICY,
  chargeAttempt,
  currentState,
  decideAttempt,
  IP_THROTTLE_POLICY,
  refundAttempt,
  type AttemptState,
  type ThrottleDecision,
  type ThrottlePolicy,
} from './attempt-throttle.policy';

/**
 * Port: attempt counters by key. `update` must apply `next` atomically (PostgreSQL: `SELECT … FOR
 * UPDATE` in a transaction, then upsert or delete; Redis: WATCH/MULTI with retry — `next` is pure
 * and may run more than once). Returning undefined deletes the key; `ttlSeconds` lets the store expire it.
 */
export interface LoginAttemptStore {
  get(key: string): Promise<AttemptState | undefined>;
  update(key: string, next: (current: AttemptState | undefined) => AttemptState | undefined, ttlSeconds: number): Promise<void>;
}

/** Single-process store for tests and a one-replica development setup. Expired keys are dropped lazily. */
export class InMemoryLoginAttemptStore implements LoginAttemptStore {
  private readonly entries = new Map<string, { state: AttemptState; expiresAt: number }>();

  constructor(private readonly clock: () => number = Date.now) {}

  get(key: string): Promise<AttemptState | undefined> {
    return Promise.resolve(this.live(key));
  }

  update(key: string, next: (current: AttemptState | undefined) => AttemptState | undefined, ttlSeconds: number): Promise<void> {
    const state = next(this.live(key));
    if (state === undefined) this.entries.delete(key);
    else this.entries.set(key, { state, expiresAt: this.clock() + ttlSeconds * 1000 });
    return Promise.resolve();
  }

  private live(key: string): AttemptState | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt > this.clock()) return entry?.state;
    this.entries.delete(key);
    return undefined;
  }
}

/** One policy over one kind of key: login names, client IPs, or accounts answering an MFA challenge. */
export class AttemptThrottle {
  constructor(
    private readonly store: LoginAttemptStore,
    readonly policy: ThrottlePolicy,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Before checking a credential: refuses, or charges one attempt and allows it. */
  async admit(id: string): Promise<ThrottleDecision> {
    const now = this.clock();
    let decision: ThrottleDecision = { allowed: true };
    await this.write(id, now, (current) => {
      decision = decideAttempt(current, this.policy, now);
      return decision.allowed ? chargeAttempt(current, this.policy, now) : current;
    });
    return decision;
  }

  /** What `admit` would answer, without charging. For pages that show "try again in …". */
  async peek(id: string): Promise<ThrottleDecision> {
    return decideAttempt(await this.store.get(this.key(id)), this.policy, this.clock());
  }

  /** A success: forget every failure and any lock. */
  async reset(id: string): Promise<void> {
    await this.write(id, this.clock(), () => undefined);
  }

  /** A success that should not clear other people's failures: give back this attempt only. */
  async refund(id: string): Promise<void> {
    const now = this.clock();
    await this.write(id, now, (current) => refundAttempt(current, this.policy, now));
  }

  private key(id: string): string {
    return `${this.policy.name}:${id}`;
  }

  /** Stored states carry their own times and are forgotten by `currentState`; the TTL only bounds storage. */
  private write(id: string, now: number, next: (current: AttemptState | undefined) => AttemptState | undefined): Promise<void> {
    const ttlSeconds = Math.max(this.policy.forgetAfterSeconds, this.policy.lockSeconds);
    return this.store.update(this.key(id), (stored) => next(currentState(stored, this.policy, now)), ttlSeconds);
  }
}

export interface LoginAttempt {
  /** Login names are per tenant, so are their counters. */
  readonly tenantId: string;
  /** The login name as typed; throttled whether or not an account has it, so lockouts do not reveal which exist. */
  readonly login: string;
  /** Client IP as resolved behind trusted proxies; without one only the login name is throttled. */
  readonly ip?: string | undefined;
}

export type LoginThrottleDecision =
  { readonly allowed: true } | (Extract<ThrottleDecision, { allowed: false }> & { readonly scope: 'account' | 'ip' });

/**
 * Password sign-in throttling by login name and by client IP. Call `admit` before verifying the
 * password (refuse with Retry-After when not allowed), `succeeded` after a correct one; a failure needs
 * no call because `admit` already charged it.
 */
export class LoginThrottle {
  readonly account: AttemptThrottle;
  readonly ip: AttemptThrottle;

  constructor(store: LoginAttemptStore, options: { account?: ThrottlePolicy; ip?: ThrottlePolicy; clock?: () => number } = {}) {
    this.account = new AttemptThrottle(store, options.account ?? ACCOUNT_THROTTLE_POLICY, options.clock);
    this.ip = new AttemptThrottle(store, options.ip ?? IP_THROTTLE_POLICY, options.clock);
  }

  /** The IP is checked first: a blocked address does not get to charge (and so lock) anyone's account. */
  async admit(attempt: LoginAttempt): Promise<LoginThrottleDecision> {
    if (attempt.ip !== undefined) {
      const byIp = await this.ip.admit(ipThrottleKey(attempt.ip));
      if (!byIp.allowed) return { ...byIp, scope: 'ip' };
    }
    const byAccount = await this.account.admit(accountKey(attempt));
    return byAccount.allowed ? byAccount : { ...byAccount, scope: 'account' };
  }

  /** Clears the account's failures and lock; gives back only this attempt on the IP, so one good login cannot launder a spray. */
  async succeeded(attempt: LoginAttempt): Promise<void> {
    await this.account.reset(accountKey(attempt));
    if (attempt.ip !== undefined) await this.ip.refund(ipThrottleKey(attempt.ip));
  }

  /** After a failure: seconds until the login name or the IP may try again (0: at once), for the audit record. */
  async waitAfterFailure(attempt: LoginAttempt): Promise<number> {
    const decisions = await Promise.all([
      this.account.peek(accountKey(attempt)),
      ...(attempt.ip !== undefined ? [this.ip.peek(ipThrottleKey(attempt.ip))] : []),
    ]);
    return Math.max(0, ...decisions.map((decision) => (decision.allowed ? 0 : decision.retryAfterSeconds)));
  }
}

function accountKey(attempt: LoginAttempt): string {
  return `${attempt.tenantId}:${loginThrottleKey(attempt.login)}`;
}

/** Case- and compatibility-folded login name, so "Alice", "alice " and "ａｌｉｃｅ" share one counter. */
export function loginThrottleKey(login: string): string {
  return login.normalize('NFKC').trim().toLowerCase();
}

/**
 * The client IP as `@traceo/rate-limit` buckets it: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6
 * by its /64 (RFC 5952 form, `2001:db8:1:2::/64`), because one subscriber usually holds a whole /64
 * and could otherwise rotate addresses per attempt. Anything unparseable is its own key.
 */
export function ipThrottleKey(ip: string): string {
  const address = normalizeIp(ip);
  return address === undefined ? `other:${ip.trim().toLowerCase()}` : ipBucket(address, 64);
}
