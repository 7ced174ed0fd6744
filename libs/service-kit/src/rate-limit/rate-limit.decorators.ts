import { SetMetadata } from '@nestjs/common';

export const RATE_LIMIT_RULE = 'traceo:rate-limit-rule';
export const SKIP_RATE_LIMIT = 'traceo:skip-rate-limit';

export interface RateLimitDeclaration {
  /** A rule of the service's rate-limit configuration (defaults plus TRACEO_RATE_LIMIT_RULES). */
  readonly rule: string;
  /** Endpoint class: the rule's `endpoint_classes` multiplier for it applies (e.g. `export: 0.5`). */
  readonly endpointClass?: string;
}

/**
 * The rule this controller or route is limited by, instead of `default` (authenticated callers) or
 * `anonymous` (everyone else). A route's own declaration replaces its controller's. Names are checked
 * at start-up: a rule the configuration does not define stops the service.
 */
export const RateLimit = (rule: string, options: { endpointClass?: string } = {}) =>
  SetMetadata(RATE_LIMIT_RULE, Object.freeze({ rule, ...options }) satisfies RateLimitDeclaration);

/** Never limited: probes and documents. Health, metrics, the OpenAPI document and `/v1/<service>/info` are exempt already. */
export const SkipRateLimit = () => SetMetadata(SKIP_RATE_LIMIT, true);
