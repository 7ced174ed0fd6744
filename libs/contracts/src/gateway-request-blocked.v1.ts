import { z } from 'zod';

/**
 * traceo.gateway.request-blocked.v1 — a request refused by rate limiting (the services' RateLimitGuard,
 * later the Kong plugin), for the risk service. The rule, its binding limit and the caller's tier say
 * what was exceeded; the identifier is its keyed hash only (HMAC-SHA-256, 128 bits), never the raw
 * subject, credential or address. The event's `source` names the enforcer (`/traceo/<service>`).
 *
 * The fields up to `degraded` mirror `requestBlockedV1Schema` of libs/rate-limit, which builds them
 * (`requestBlockedEvent`); a service-kit test fails when the two drift apart. `suppressed` and
 * `request` are added by the enforcer.
 */
export const gatewayRequestBlockedV1Schema = z.strictObject({
  occurredAt: z.iso.datetime({ offset: true }),
  rule: z.string().min(1).max(48),
  policy: z.string().min(1).max(64),
  algorithm: z.enum(['sliding-window', 'sliding-log', 'fixed-window']),
  identifier: z.strictObject({
    type: z.enum(['consumer', 'credential', 'ip', 'header', 'path', 'route', 'compound']),
    source: z.string().max(128),
    fallback: z.boolean(),
    hash: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'must be a 128-bit base64url identifier hash'),
  }),
  /** The effective limit that bound, and its window in seconds. */
  limit: z.int().positive(),
  window: z.int().positive(),
  tier: z.enum(['free', 'standard', 'premium', 'enterprise']),
  /** `store-unavailable`: a fail-closed rule could not reach its shared store (answered 503, not 429). */
  reason: z.enum(['limit-exceeded', 'store-unavailable']),
  retryAfter: z.int().positive(),
  endpointClass: z.string().max(64).optional(),
  riskScore: z.number().min(0).max(100).optional(),
  botLike: z.boolean(),
  degraded: z.boolean(),
  /** Blocks of the same identifier and rule since the previous event that were not published (debounced). */
  suppressed: z.int().nonnegative().optional(),
  /** The refused call: method and route template (never the raw path, which may carry identifiers). */
  request: z
    .strictObject({
      method: z.string().regex(/^[A-Z]{1,16}$/),
      route: z.string().min(1).max(256),
    })
    .optional(),
});

export type GatewayRequestBlockedV1 = z.infer<typeof gatewayRequestBlockedV1Schema>;
