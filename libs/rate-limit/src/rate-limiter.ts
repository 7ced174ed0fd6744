import { CadenceTracker, UserAgentSignals } from './bot-detection';
import { normalizeIp, TrustedProxies } from './client-ip';
import {
  IdentifierHasher,
  RequestFacts,
  RuleIdentities,
  type DecisionIdentifier,
  type Identity,
  type IdentifierContext,
} from './identifiers';
import { effectiveLimits, limitAdjustment, type LimitAdjustment } from './limit-adjustments';
import { MemoryStore } from './memory.store';
import { parseRateLimitConfig, type Algorithm, type RateLimitConfigInput, type RateLimitRule, type Tier } from './rate-limit.config';
import { RateLimitError } from './rate-limit.errors';
import { policyName, rateLimitPolicyHeader, sfString, type RateLimitHeaders } from './rate-limit-headers';
import { headerValue, RISK_SCORE_HEADER, type RateLimitRequest } from './rate-limit.request';
import type { Clock, LimitSpec, RateLimitStore, StoreRequest, StoreVerdict } from './rate-limit.store';

export const DEFAULT_STORE_RETRY_MS = 1000;

export interface RateLimiterOptions {
  /** Validated here; an invalid configuration throws RateLimitError `RATE_LIMIT.INVALID_CONFIG`. */
  readonly config: RateLimitConfigInput;
  /** The shared store (Redis) or, for a single instance, a MemoryStore. */
  readonly store: RateLimitStore;
  /** HMAC key for identifier hashes (16+ bytes, a secret, the same on every instance). */
  readonly identifierKey: string | Uint8Array;
  /** Decides for fail-open rules while the shared store is unreachable (default: a MemoryStore). */
  readonly fallbackStore?: RateLimitStore;
  /** After a store failure, how long to decide locally before trying the store again. */
  readonly storeRetryMs?: number;
  /** Time for the cadence tracker and the store retry pause (default Date.now). */
  readonly clock?: Clock;
  /** Behaviour-based bot signal; `false` turns it off. */
  readonly cadence?: CadenceTracker | false;
}

export type DecisionReason = 'within-limit' | 'limit-exceeded' | 'store-unavailable';

export type { DecisionIdentifier };

export interface LimitStatus {
  readonly policy: string;
  /** The effective limit for this request (configured limit after adjustments). */
  readonly limit: number;
  readonly configuredLimit: number;
  /** Window length, seconds. */
  readonly window: number;
  readonly remaining: number;
  /** Seconds (rounded up) until this limit's quota next grows: the RateLimit `t` parameter. */
  readonly reset: number;
  readonly exceeded: boolean;
  /** Seconds (rounded up) until this limit admits again, when it is exceeded. */
  readonly retryAfter?: number;
}

export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly reason: DecisionReason;
  readonly rule: string;
  readonly algorithm: Algorithm;
  readonly identifier: DecisionIdentifier;
  readonly tier: Tier;
  readonly adjustment: LimitAdjustment;
  /** The limit that bound: the exceeded one with the longest wait, else the one with least remaining. */
  readonly binding: LimitStatus;
  readonly remaining: number;
  readonly reset: number;
  /** Seconds to send as `Retry-After` when refused (undefined when admitted). */
  readonly retryAfter?: number;
  readonly limits: readonly LimitStatus[];
  readonly headers: RateLimitHeaders;
  /** The shared store was unreachable: decided by the local fallback (fail open) or refused (fail closed). */
  readonly degraded: boolean;
  /** The deciding store's clock, milliseconds since the epoch. */
  readonly decidedAt: number;
}

export interface RuleCounters {
  allowed: number;
  denied: number;
  /** Decisions made by the local fallback because the shared store was unreachable (fail-open rules). */
  failedOpen: number;
  /** Requests refused because the shared store was unreachable (fail-closed rules). */
  failedClosed: number;
}

/** Monotonic counters to export as metrics (e.g. `traceo_rate_limit_decisions_total{rule,outcome}`). */
export interface RateLimiterCounters {
  readonly storeErrors: number;
  readonly rules: Readonly<Record<string, Readonly<RuleCounters>>>;
}

/** A rule's limits scaled by one adjustment factor, with what the store and the headers need of them. */
interface EffectiveLimits {
  readonly limits: readonly number[];
  readonly specs: readonly LimitSpec[];
  readonly policyHeader: string;
}

interface CompiledRule {
  readonly rule: RateLimitRule;
  readonly policies: readonly string[];
  /** Policy names as sf-strings. */
  readonly quotedPolicies: readonly string[];
  readonly identities: RuleIdentities;
  /** Per adjustment factor (tier × endpoint × bot × risk: a handful of values), bounded. */
  readonly effective: Map<number, EffectiveLimits>;
  readonly counters: RuleCounters;
}

const MAX_CACHED_FACTORS = 256;
/** Recent callers whose identity (hash and store key) each rule keeps, per fallback source. */
const IDENTITIES_PER_SOURCE = 32_768;

/**
 * Decides whether a request may proceed under a named rule: resolves the identifier (with proxy
 * trust and fallbacks), scales the limits for tier, endpoint class, bot signals and risk, asks the
 * store atomically, and returns everything a 429 needs. Never throws for an unreachable store: the
 * rule's `failure_mode` decides (open: local in-memory limits; closed: refuse). What repeats between
 * requests (a caller's hash and key, the limits per factor, the RateLimit-Policy value, User-Agent
 * verdicts) is computed once and kept, bounded.
 */
export class RateLimiter {
  private readonly rules = new Map<string, CompiledRule>();
  private readonly context: IdentifierContext;
  private readonly hasher: IdentifierHasher;
  private readonly store: RateLimitStore;
  private readonly fallback: RateLimitStore;
  private readonly clock: Clock;
  private readonly storeRetryMs: number;
  private readonly cadence: CadenceTracker | undefined;
  private readonly userAgents = new UserAgentSignals();
  private storeErrors = 0;
  /** When the store may be tried again after an error: the whole store's, or per part (partitionOf). */
  private storeRetryAt = 0;
  private readonly partRetryAt = new Map<number, number>();

  constructor(options: RateLimiterOptions) {
    const config = parseRateLimitConfig(options.config);
    this.hasher = new IdentifierHasher(options.identifierKey);
    for (const rule of config.rules) {
      const policies = rule.window_size.map((window) => policyName(rule.name, window, rule.window_size.length));
      this.rules.set(rule.name, {
        rule,
        policies,
        quotedPolicies: policies.map((policy) => sfString(policy)),
        identities: new RuleIdentities(rule.identifier, `${rule.name}:${rule.algorithm}:`, this.hasher, IDENTITIES_PER_SOURCE),
        effective: new Map(),
        counters: { allowed: 0, denied: 0, failedOpen: 0, failedClosed: 0 },
      });
    }
    this.context = { trustedProxies: new TrustedProxies(config.trusted_proxies), ipv6Subnet: config.ipv6_subnet };
    this.store = options.store;
    this.clock = options.clock ?? Date.now;
    this.fallback = options.fallbackStore ?? new MemoryStore({ clock: this.clock });
    this.storeRetryMs = options.storeRetryMs ?? DEFAULT_STORE_RETRY_MS;
    this.cadence = options.cadence === false ? undefined : (options.cadence ?? new CadenceTracker());
  }

  get ruleNames(): string[] {
    return [...this.rules.keys()];
  }

  /**
   * Decides one request. The decision comes back as it is when the store answers synchronously (the
   * MemoryStore, or the fallback while the shared store is paused) and as a promise while an
   * asynchronous store (Redis) is asked; `await` takes either. An unknown rule is a rejected promise.
   */
  check(ruleName: string, request: RateLimitRequest): RateLimitDecision | Promise<RateLimitDecision> {
    const compiled = this.rules.get(ruleName);
    if (compiled === undefined)
      return Promise.reject(new RateLimitError('RATE_LIMIT.UNKNOWN_RULE', `no rate-limit rule named "${ruleName}"`));
    const { rule } = compiled;
    const identity = compiled.identities.identify(new RequestFacts(request, this.context));
    const now = this.clock();
    let botReasons = this.userAgents.of(request);
    if (this.cadence?.observe(identity.key, now)) botReasons = [...botReasons, 'regular-cadence'];
    const { consumer } = request;
    const adjustment = limitAdjustment(rule, {
      group: consumer?.group,
      authenticated: Boolean(consumer?.id || request.credential),
      endpointClass: request.endpointClass,
      botReasons,
      riskScore: request.riskScore ?? this.forwardedRiskScore(request),
    });
    return this.decide(compiled, identity, adjustment, effectiveFor(compiled, adjustment.factor), now);
  }

  /** The `traceo-risk-score` header's score when the request's peer is a trusted proxy and the value is one number 0–100. */
  private forwardedRiskScore(request: RateLimitRequest): number | undefined {
    const text = headerValue(request, RISK_SCORE_HEADER);
    if (text === undefined || !/^\d{1,3}(\.\d{1,4})?$/.test(text.trim())) return undefined;
    const peer = normalizeIp(request.remoteAddress);
    if (peer === undefined || !this.context.trustedProxies.has(peer)) return undefined;
    const score = Number(text.trim());
    return score <= 100 ? score : undefined;
  }

  counters(): RateLimiterCounters {
    const rules: Record<string, RuleCounters> = {};
    for (const [name, { counters }] of this.rules) rules[name] = { ...counters };
    return { storeErrors: this.storeErrors, rules };
  }

  private decide(
    compiled: CompiledRule,
    identity: Identity,
    adjustment: LimitAdjustment,
    effective: EffectiveLimits,
    now: number,
  ): RateLimitDecision | Promise<RateLimitDecision> {
    const request: StoreRequest = { key: identity.key, algorithm: compiled.rule.algorithm, limits: effective.specs };
    const part = this.store.partitionOf?.(identity.key);
    if (now < (part === undefined ? this.storeRetryAt : (this.partRetryAt.get(part) ?? 0))) {
      return this.degrade(compiled, identity, adjustment, effective, request);
    }
    let answer: StoreVerdict | Promise<StoreVerdict>;
    try {
      answer = this.store.decide(request);
    } catch {
      return this.storeFailed(compiled, identity, adjustment, effective, request, now, part);
    }
    if (!isPromise(answer)) return this.decided(compiled, identity, adjustment, effective, answer, false);
    return answer.then(
      (verdict) => {
        if (part !== undefined) this.partRetryAt.delete(part);
        return this.decided(compiled, identity, adjustment, effective, verdict, false);
      },
      // Which error does not matter here: every failure of the shared store is handled the same way.
      () => this.storeFailed(compiled, identity, adjustment, effective, request, now, part),
    );
  }

  private storeFailed(
    compiled: CompiledRule,
    identity: Identity,
    adjustment: LimitAdjustment,
    effective: EffectiveLimits,
    request: StoreRequest,
    now: number,
    part: number | undefined,
  ): RateLimitDecision | Promise<RateLimitDecision> {
    this.storeErrors += 1;
    if (part === undefined) this.storeRetryAt = now + this.storeRetryMs;
    else this.partRetryAt.set(part, now + this.storeRetryMs);
    return this.degrade(compiled, identity, adjustment, effective, request);
  }

  /** The shared store is unreachable (or paused after failing): the rule's failure mode decides. */
  private degrade(
    compiled: CompiledRule,
    identity: Identity,
    adjustment: LimitAdjustment,
    effective: EffectiveLimits,
    request: StoreRequest,
  ): RateLimitDecision | Promise<RateLimitDecision> {
    if (compiled.rule.failure_mode === 'closed') {
      compiled.counters.failedClosed += 1;
      return this.storeUnavailable(compiled, identity, adjustment, effective);
    }
    compiled.counters.failedOpen += 1;
    const answer = this.fallback.decide(request);
    if (!isPromise(answer)) return this.decided(compiled, identity, adjustment, effective, answer, true);
    return answer.then((verdict) => this.decided(compiled, identity, adjustment, effective, verdict, true));
  }

  private decided(
    compiled: CompiledRule,
    { identifier }: Identity,
    adjustment: LimitAdjustment,
    { limits, policyHeader }: EffectiveLimits,
    verdict: StoreVerdict,
    degraded: boolean,
  ): RateLimitDecision {
    const { rule, policies, quotedPolicies } = compiled;
    const statuses: LimitStatus[] = [];
    let retryAfter: number | undefined;
    for (let i = 0; i < verdict.limits.length; i += 1) {
      const { remaining, resetMs, retryMs } = verdict.limits[i]!;
      const policy = policies[i]!;
      const limit = limits[i]!;
      const configuredLimit = rule.limit[i]!;
      const window = rule.window_size[i]!;
      const reset = Math.max(0, Math.ceil(resetMs / 1000));
      if (retryMs > 0) {
        const wait = Math.max(1, Math.ceil(retryMs / 1000));
        retryAfter = Math.max(retryAfter ?? 0, wait);
        statuses.push({ policy, limit, configuredLimit, window, remaining, reset, exceeded: true, retryAfter: wait });
      } else {
        statuses.push({ policy, limit, configuredLimit, window, remaining, reset, exceeded: false });
      }
    }
    const binding = verdict.allowed ? leastRemaining(statuses) : longestWait(statuses);
    // Draft section 6: Retry-After must not end before an effective window; shortening `t` to it stays true.
    let rateLimit = '';
    for (let i = 0; i < statuses.length; i += 1) {
      const { remaining, reset } = statuses[i]!;
      rateLimit += `${i === 0 ? '' : ', '}${quotedPolicies[i]!};r=${remaining};t=${retryAfter === undefined ? reset : Math.min(reset, retryAfter)}`;
    }
    if (verdict.allowed) compiled.counters.allowed += 1;
    else compiled.counters.denied += 1;
    return {
      allowed: verdict.allowed,
      reason: verdict.allowed ? 'within-limit' : 'limit-exceeded',
      rule: rule.name,
      algorithm: rule.algorithm,
      identifier,
      tier: adjustment.tier,
      adjustment,
      binding,
      remaining: binding.remaining,
      reset: binding.reset,
      retryAfter,
      limits: statuses,
      headers:
        retryAfter === undefined
          ? { 'RateLimit-Policy': policyHeader, RateLimit: rateLimit }
          : { 'RateLimit-Policy': policyHeader, RateLimit: rateLimit, 'Retry-After': String(retryAfter) },
      degraded,
      decidedAt: verdict.nowMs,
    };
  }

  private storeUnavailable(
    compiled: CompiledRule,
    { identifier }: Identity,
    adjustment: LimitAdjustment,
    { limits, policyHeader }: EffectiveLimits,
  ): RateLimitDecision {
    const { rule, policies } = compiled;
    const retryAfter = Math.max(1, Math.ceil(this.storeRetryMs / 1000));
    const statuses = limits.map((limit, i): LimitStatus => ({
      policy: policies[i]!,
      limit,
      configuredLimit: rule.limit[i]!,
      window: rule.window_size[i]!,
      remaining: 0,
      reset: retryAfter,
      exceeded: false,
    }));
    compiled.counters.denied += 1;
    return {
      rule: rule.name,
      algorithm: rule.algorithm,
      identifier,
      tier: adjustment.tier,
      adjustment,
      degraded: true,
      allowed: false,
      reason: 'store-unavailable',
      binding: statuses[0]!,
      remaining: 0,
      reset: retryAfter,
      retryAfter,
      limits: statuses,
      headers: { 'RateLimit-Policy': policyHeader, 'Retry-After': String(retryAfter) },
      decidedAt: this.clock(),
    };
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function effectiveFor(compiled: CompiledRule, factor: number): EffectiveLimits {
  const cached = compiled.effective.get(factor);
  if (cached !== undefined) return cached;
  const { rule, policies } = compiled;
  const limits = effectiveLimits(rule, factor);
  const effective: EffectiveLimits = {
    limits,
    specs: limits.map((limit, i) => ({ limit, windowMs: rule.window_size[i]! * 1000 })),
    policyHeader: rateLimitPolicyHeader(limits.map((limit, i) => ({ policy: policies[i]!, limit, window: rule.window_size[i]! }))),
  };
  if (compiled.effective.size < MAX_CACHED_FACTORS) compiled.effective.set(factor, effective);
  return effective;
}

function leastRemaining(statuses: readonly LimitStatus[]): LimitStatus {
  let best = statuses[0]!;
  for (const status of statuses) if (status.remaining < best.remaining) best = status;
  return best;
}

function longestWait(statuses: readonly LimitStatus[]): LimitStatus {
  let best = statuses[0]!;
  for (const status of statuses) if ((status.retryAfter ?? 0) > (best.retryAfter ?? 0)) best = status;
  return best;
}
