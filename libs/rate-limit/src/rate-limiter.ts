import { CadenceTracker, userAgentSignals } from './bot-detection';
import { TrustedProxies } from './client-ip';
import { IdentifierHasher, RequestFacts, resolveIdentifier, type IdentifierContext } from './identifiers';
import { adjustLimits, type LimitAdjustment } from './limit-adjustments';
import { MemoryStore } from './memory.store';
import {
  parseRateLimitConfig,
  type Algorithm,
  type IdentifierType,
  type RateLimitConfigInput,
  type RateLimitRule,
  type Tier,
} from './rate-limit.config';
import { RateLimitError } from './rate-limit.errors';
import { policyName, rateLimitPolicyHeader, sfString, type RateLimitHeaders } from './rate-limit-headers';
import type { RateLimitRequest } from './rate-limit.request';
import type { Clock, RateLimitStore, StoreRequest, StoreVerdict } from './rate-limit.store';

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

export interface DecisionIdentifier {
  readonly type: IdentifierType;
  readonly source: string;
  readonly fallback: boolean;
  /** HMAC of the identifier value; the raw value never leaves the limiter. */
  readonly hash: string;
}

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
  /** Seconds to send as `Retry-After` when refused. */
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

interface CompiledRule {
  readonly rule: RateLimitRule;
  readonly policies: readonly string[];
  /** Policy names as sf-strings, and RateLimit-Policy values per set of effective limits (bounded). */
  readonly quotedPolicies: readonly string[];
  readonly policyHeaders: Map<string, string>;
  readonly counters: RuleCounters;
}

const MAX_CACHED_POLICY_HEADERS = 256;

/**
 * Decides whether a request may proceed under a named rule: resolves the identifier (with proxy
 * trust and fallbacks), scales the limits for tier, endpoint class, bot signals and risk, asks the
 * store atomically, and returns everything a 429 needs. Never throws for an unreachable store: the
 * rule's `failure_mode` decides (open: local in-memory limits; closed: refuse).
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
  private storeErrors = 0;
  private storeRetryAt = 0;

  constructor(options: RateLimiterOptions) {
    const config = parseRateLimitConfig(options.config);
    for (const rule of config.rules) {
      const policies = rule.window_size.map((window) => policyName(rule.name, window, rule.window_size.length));
      this.rules.set(rule.name, {
        rule,
        policies,
        quotedPolicies: policies.map((policy) => sfString(policy)),
        policyHeaders: new Map(),
        counters: { allowed: 0, denied: 0, failedOpen: 0, failedClosed: 0 },
      });
    }
    this.context = { trustedProxies: new TrustedProxies(config.trusted_proxies), ipv6Subnet: config.ipv6_subnet };
    this.hasher = new IdentifierHasher(options.identifierKey);
    this.store = options.store;
    this.clock = options.clock ?? Date.now;
    this.fallback = options.fallbackStore ?? new MemoryStore({ clock: this.clock });
    this.storeRetryMs = options.storeRetryMs ?? DEFAULT_STORE_RETRY_MS;
    this.cadence = options.cadence === false ? undefined : (options.cadence ?? new CadenceTracker());
  }

  get ruleNames(): string[] {
    return [...this.rules.keys()];
  }

  async check(ruleName: string, request: RateLimitRequest): Promise<RateLimitDecision> {
    const compiled = this.rules.get(ruleName);
    if (compiled === undefined) throw new RateLimitError('RATE_LIMIT.UNKNOWN_RULE', `no rate-limit rule named "${ruleName}"`);
    const { rule } = compiled;
    const resolved = resolveIdentifier(rule.identifier, new RequestFacts(request, this.context));
    const identifier: DecisionIdentifier = {
      type: resolved.type,
      source: resolved.source,
      fallback: resolved.fallback,
      hash: this.hasher.hash(resolved.value),
    };
    const key = `${rule.name}:${rule.algorithm}:${identifier.hash}`;
    const botReasons = userAgentSignals(request);
    if (this.cadence?.observe(key, this.clock())) botReasons.push('regular-cadence');
    const { limits, adjustment } = adjustLimits(rule, {
      ...(request.consumer?.group !== undefined ? { group: request.consumer.group } : {}),
      authenticated: Boolean(request.consumer?.id || request.credential),
      ...(request.endpointClass !== undefined ? { endpointClass: request.endpointClass } : {}),
      botReasons,
      ...(request.riskScore !== undefined ? { riskScore: request.riskScore } : {}),
    });
    const storeRequest: StoreRequest = {
      key,
      algorithm: rule.algorithm,
      limits: limits.map((limit, i) => ({ limit, windowMs: rule.window_size[i]! * 1000 })),
    };
    const { verdict, degraded } = await this.decide(compiled, storeRequest);
    const base = { rule: rule.name, algorithm: rule.algorithm, identifier, tier: adjustment.tier, adjustment, degraded };
    const decision = verdict ? this.fromVerdict(compiled, limits, verdict, base) : this.storeUnavailable(compiled, limits, base);
    if (decision.allowed) compiled.counters.allowed += 1;
    else compiled.counters.denied += 1;
    return decision;
  }

  counters(): RateLimiterCounters {
    const rules: Record<string, RuleCounters> = {};
    for (const [name, { counters }] of this.rules) rules[name] = { ...counters };
    return { storeErrors: this.storeErrors, rules };
  }

  private async decide(compiled: CompiledRule, request: StoreRequest): Promise<{ verdict?: StoreVerdict; degraded: boolean }> {
    const now = this.clock();
    if (now >= this.storeRetryAt) {
      try {
        return { verdict: await this.store.decide(request), degraded: false };
      } catch {
        // Which error does not matter here: every failure of the shared store is handled the same way.
        this.storeErrors += 1;
        this.storeRetryAt = now + this.storeRetryMs;
      }
    }
    if (compiled.rule.failure_mode === 'closed') {
      compiled.counters.failedClosed += 1;
      return { degraded: true };
    }
    compiled.counters.failedOpen += 1;
    return { verdict: await this.fallback.decide(request), degraded: true };
  }

  private fromVerdict(
    compiled: CompiledRule,
    limits: readonly number[],
    verdict: StoreVerdict,
    base: Omit<RateLimitDecision, 'allowed' | 'reason' | 'binding' | 'remaining' | 'reset' | 'limits' | 'headers' | 'decidedAt'>,
  ): RateLimitDecision {
    const { rule, policies } = compiled;
    let retryAfter: number | undefined;
    const statuses = verdict.limits.map((outcome, i): LimitStatus => {
      const exceeded = outcome.retryMs > 0;
      const status: LimitStatus = {
        policy: policies[i]!,
        limit: limits[i]!,
        configuredLimit: rule.limit[i]!,
        window: rule.window_size[i]!,
        remaining: outcome.remaining,
        reset: Math.max(0, Math.ceil(outcome.resetMs / 1000)),
        exceeded,
        ...(exceeded ? { retryAfter: Math.max(1, Math.ceil(outcome.retryMs / 1000)) } : {}),
      };
      if (status.retryAfter !== undefined) retryAfter = Math.max(retryAfter ?? 0, status.retryAfter);
      return status;
    });
    const binding = verdict.allowed ? leastRemaining(statuses) : longestWait(statuses);
    // Draft section 6: Retry-After must not end before an effective window; shortening `t` to it stays true.
    let rateLimit = '';
    for (let i = 0; i < statuses.length; i += 1) {
      const { remaining, reset } = statuses[i]!;
      rateLimit += `${i === 0 ? '' : ', '}${compiled.quotedPolicies[i]!};r=${remaining};t=${retryAfter === undefined ? reset : Math.min(reset, retryAfter)}`;
    }
    return {
      ...base,
      allowed: verdict.allowed,
      reason: verdict.allowed ? 'within-limit' : 'limit-exceeded',
      binding,
      remaining: binding.remaining,
      reset: binding.reset,
      ...(retryAfter !== undefined ? { retryAfter } : {}),
      limits: statuses,
      headers: {
        'RateLimit-Policy': policyHeader(compiled, limits),
        RateLimit: rateLimit,
        ...(retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {}),
      },
      decidedAt: verdict.nowMs,
    };
  }

  private storeUnavailable(
    compiled: CompiledRule,
    limits: readonly number[],
    base: Omit<RateLimitDecision, 'allowed' | 'reason' | 'binding' | 'remaining' | 'reset' | 'limits' | 'headers' | 'decidedAt'>,
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
    return {
      ...base,
      allowed: false,
      reason: 'store-unavailable',
      binding: statuses[0]!,
      remaining: 0,
      reset: retryAfter,
      retryAfter,
      limits: statuses,
      headers: { 'RateLimit-Policy': policyHeader(compiled, limits), 'Retry-After': String(retryAfter) },
      decidedAt: this.clock(),
    };
  }
}

function policyHeader({ rule, policies, policyHeaders }: CompiledRule, limits: readonly number[]): string {
  const signature = limits.join(',');
  let header = policyHeaders.get(signature);
  if (header === undefined) {
    header = rateLimitPolicyHeader(limits.map((limit, i) => ({ policy: policies[i]!, limit, window: rule.window_size[i]! })));
    if (policyHeaders.size < MAX_CACHED_POLICY_HEADERS) policyHeaders.set(signature, header);
  }
  return header;
}

function leastRemaining(statuses: readonly LimitStatus[]): LimitStatus {
  return statuses.reduce((best, status) => (status.remaining < best.remaining ? status : best));
}

function longestWait(statuses: readonly LimitStatus[]): LimitStatus {
  return statuses.reduce((best, status) => ((status.retryAfter ?? 0) > (best.retryAfter ?? 0) ? status : best));
}
