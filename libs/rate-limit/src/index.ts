export {
  decideFixedWindow,
  decideSlidingLog,
  decideSlidingWindow,
  newWindowCounters,
  type SlidingLog,
  type WindowCounters,
} from './algorithms';
export { CadenceTracker, userAgentSignals, type CadenceOptions } from './bot-detection';
export { ipBucket, MAX_FORWARDED_HOPS, normalizeIp, parseCidr, resolveClientIp, TrustedProxies, type Cidr } from './client-ip';
export {
  IDENTIFIER_FALLBACKS,
  IdentifierHasher,
  MIN_IDENTIFIER_KEY_BYTES,
  RequestFacts,
  resolveIdentifier,
  type IdentifierContext,
  type IdentifierSource,
  type ResolvedIdentifier,
} from './identifiers';
export { adjustLimits, riskFactor, tierOf, type LimitAdjustment, type LimitInputs } from './limit-adjustments';
export { DEFAULT_MEMORY_STORE_KEYS, MemoryStore, type MemoryStoreOptions } from './memory.store';
export {
  ALGORITHMS,
  DEFAULT_BOT_FACTOR,
  DEFAULT_RISK_BANDS,
  DEFAULT_TIER_FACTORS,
  MAX_SLIDING_LOG_ENTRIES,
  MAX_WINDOW_SECONDS,
  parseRateLimitConfig,
  rateLimitConfigSchema,
  TIERS,
  type Algorithm,
  type IdentifierSpec,
  type IdentifierType,
  type RateLimitConfig,
  type RateLimitConfigInput,
  type RateLimitRule,
  type RiskBand,
  type SimpleIdentifierSpec,
  type Tier,
} from './rate-limit.config';
export { RateLimitError, type RateLimitErrorCode } from './rate-limit.errors';
export {
  policyName,
  rateLimitHeader,
  rateLimitPolicyHeader,
  sfString,
  type PolicyItem,
  type RateLimitHeaders,
  type ServiceLimitItem,
} from './rate-limit-headers';
export { rateLimitProblem, type RateLimitProblem, type RateLimitProblemBody, type RateLimitProblemCode } from './rate-limit-problem';
export { headerValue, RISK_SCORE_HEADER, type RateLimitRequest } from './rate-limit.request';
export type { Clock, LimitOutcome, LimitSpec, RateLimitStore, StoreRequest, StoreVerdict } from './rate-limit.store';
export {
  DEFAULT_STORE_RETRY_MS,
  RateLimiter,
  type DecisionIdentifier,
  type DecisionReason,
  type LimitStatus,
  type RateLimitDecision,
  type RateLimiterCounters,
  type RateLimiterOptions,
  type RuleCounters,
} from './rate-limiter';
export {
  createRateLimitCluster,
  createRateLimitClusterFromUrl,
  createRateLimitRedis,
  DEFAULT_REDIS_KEY_PREFIX,
  MAX_DECISIONS_PER_CALL,
  RedisStore,
  type RedisStoreOptions,
} from './redis.store';
export { RATE_LIMIT_BATCH_SCRIPTS, RATE_LIMIT_SCRIPTS, SYNC_COUNTERS_SCRIPT, type LuaScript } from './redis-scripts';
export { MIN_SYNC_INTERVAL_MS, SyncedStore, type SyncedStoreOptions } from './synced.store';
export { REQUEST_BLOCKED_EVENT_TYPE, requestBlockedEvent, requestBlockedV1Schema, type RequestBlockedV1 } from './request-blocked.event';
export {
  BlockedEventReporter,
  type BlockedEventCounters,
  type BlockedEventData,
  type BlockedEventReporterOptions,
  type BlockedRequest,
} from './blocked-event.reporter';
