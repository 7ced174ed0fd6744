import { z } from 'zod';
import { ALGORITHMS, TIERS } from './rate-limit.config';
import type { RateLimitDecision } from './rate-limiter';

/** The event type (and topic) libs/contracts registers for refusals: `gatewayRequestBlockedV1Schema`. */
export const REQUEST_BLOCKED_EVENT_TYPE = 'traceo.gateway.request-blocked.v1';

/** `data` of a request-blocked event. The identifier is its keyed hash only, never the raw value. */
export const requestBlockedV1Schema = z.strictObject({
  occurredAt: z.iso.datetime({ offset: true }),
  rule: z.string().min(1).max(48),
  policy: z.string().min(1).max(64),
  algorithm: z.enum(ALGORITHMS),
  identifier: z.strictObject({
    type: z.enum(['consumer', 'credential', 'ip', 'header', 'path', 'route', 'compound']),
    source: z.string().max(128),
    fallback: z.boolean(),
    hash: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'must be a 128-bit base64url identifier hash'),
  }),
  /** The effective limit that bound, and its window in seconds. */
  limit: z.int().positive(),
  window: z.int().positive(),
  tier: z.enum(TIERS),
  reason: z.enum(['limit-exceeded', 'store-unavailable']),
  retryAfter: z.int().positive(),
  endpointClass: z.string().max(64).optional(),
  riskScore: z.number().min(0).max(100).optional(),
  botLike: z.boolean(),
  degraded: z.boolean(),
});

export type RequestBlockedV1 = z.infer<typeof requestBlockedV1Schema>;

export function requestBlockedEvent(decision: RateLimitDecision, occurredAt = new Date(decision.decidedAt)): RequestBlockedV1 {
  if (decision.allowed) throw new RangeError('requestBlockedEvent needs a refused decision');
  const { adjustment, binding } = decision;
  return {
    occurredAt: occurredAt.toISOString(),
    rule: decision.rule,
    policy: binding.policy,
    algorithm: decision.algorithm,
    identifier: { ...decision.identifier },
    limit: binding.limit,
    window: binding.window,
    tier: decision.tier,
    reason: decision.reason === 'store-unavailable' ? 'store-unavailable' : 'limit-exceeded',
    retryAfter: decision.retryAfter ?? 1,
    ...(adjustment.endpointClass !== undefined ? { endpointClass: adjustment.endpointClass } : {}),
    ...(adjustment.riskScore !== undefined ? { riskScore: Math.min(100, Math.max(0, adjustment.riskScore)) } : {}),
    botLike: adjustment.botLike,
    degraded: decision.degraded,
  };
}
