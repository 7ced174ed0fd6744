import { z } from 'zod';
import { parseCidr } from './client-ip';
import { RateLimitError } from './rate-limit.errors';

export const TIERS = ['free', 'standard', 'premium', 'enterprise'] as const;
export type Tier = (typeof TIERS)[number];

export const ALGORITHMS = ['sliding-window', 'sliding-log', 'fixed-window'] as const;
/**
 * `sliding-window`: the weighted two-window counter (Kong Rate Limiting Advanced's default), O(1) state.
 * `sliding-log`: one timestamp per admitted request, exact. `fixed-window`: the reference the other two
 * are measured against; it admits up to twice the limit around a window boundary.
 */
export type Algorithm = (typeof ALGORITHMS)[number];

/** Multipliers applied to every limit of a rule; the configured limits are the `standard` tier. */
export const DEFAULT_TIER_FACTORS: Readonly<Record<Tier, number>> = { free: 0.2, standard: 1, premium: 5, enterprise: 20 };
/** From `min_score` upwards (0..100, as the risk engine reports it) limits are multiplied by `factor`. */
export const DEFAULT_RISK_BANDS: readonly RiskBand[] = [
  { min_score: 50, factor: 0.5 },
  { min_score: 80, factor: 0.2 },
];
export const DEFAULT_BOT_FACTOR = 0.25;
/** A sliding log stores one entry per admitted request; larger logs belong to the counter. */
export const MAX_SLIDING_LOG_ENTRIES = 100_000;
export const MAX_WINDOW_SECONDS = 31 * 86_400;

export interface RiskBand {
  readonly min_score: number;
  readonly factor: number;
}

const factor = z.number().gt(0).max(1000);
const shrink = z.number().gt(0).max(1);

const simpleIdentifierSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('consumer') }),
  z.strictObject({ type: z.literal('credential') }),
  z.strictObject({ type: z.literal('ip') }),
  z.strictObject({ type: z.literal('path') }),
  z.strictObject({ type: z.literal('route') }),
  z.strictObject({
    type: z.literal('header'),
    header_name: z
      .string()
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP field name')
      .transform((name) => name.toLowerCase()),
  }),
]);

const identifierSchema = z.union([
  simpleIdentifierSchema,
  z.strictObject({ type: z.literal('compound'), parts: z.array(simpleIdentifierSchema).min(2).max(4) }),
]);

const ruleSchema = z
  .strictObject({
    /** Names the rule in keys, `RateLimit-Policy` items, metrics and events. */
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,47}$/, 'must be 1-48 characters of a-z, 0-9, "_", "." or "-"'),
    algorithm: z.enum(ALGORITHMS).default('sliding-window'),
    /** Requests admitted per window, one entry per `window_size` (e.g. [10, 1000] with [1, 3600]). */
    limit: z.array(z.int().positive().max(1_000_000_000)).min(1).max(6),
    /** Window lengths in whole seconds (the RateLimit-Policy `w` parameter has no sub-second form). */
    window_size: z.array(z.int().positive().max(MAX_WINDOW_SECONDS)).min(1).max(6),
    identifier: identifierSchema.default({ type: 'consumer' }),
    /** What happens while the shared store is unreachable; no default, every rule states it. */
    failure_mode: z.enum(['open', 'closed']),
    tiers: z.strictObject({ free: factor, standard: factor, premium: factor, enterprise: factor }).default({ ...DEFAULT_TIER_FACTORS }),
    default_tier: z.enum(TIERS).default('free'),
    endpoint_classes: z.record(z.string().min(1).max(64), factor).default({}),
    bot: z
      .strictObject({ factor: shrink, include_authenticated: z.boolean().default(false) })
      .default({ factor: DEFAULT_BOT_FACTOR, include_authenticated: false }),
    risk: z
      .array(z.strictObject({ min_score: z.number().min(0).max(100), factor: shrink }))
      .max(10)
      .default(DEFAULT_RISK_BANDS.map((band) => ({ ...band }))),
  })
  .superRefine((rule, ctx) => {
    if (rule.limit.length !== rule.window_size.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['window_size'],
        message: `must list one window per limit (limit has ${rule.limit.length}, window_size has ${rule.window_size.length})`,
      });
    }
    if (new Set(rule.window_size).size !== rule.window_size.length) {
      ctx.addIssue({ code: 'custom', path: ['window_size'], message: 'must not repeat a window' });
    }
    rule.risk.forEach((band, i) => {
      const previous = rule.risk[i - 1];
      if (previous && band.min_score <= previous.min_score) {
        ctx.addIssue({ code: 'custom', path: ['risk', i, 'min_score'], message: 'must be greater than the previous band' });
      }
      if (previous && band.factor > previous.factor) {
        ctx.addIssue({
          code: 'custom',
          path: ['risk', i, 'factor'],
          message: 'must not exceed the previous band (higher risk, tighter limit)',
        });
      }
    });
    const largestTier = Math.max(...Object.values(rule.tiers));
    if (rule.algorithm === 'sliding-log' && Math.max(...rule.limit) * largestTier > MAX_SLIDING_LOG_ENTRIES) {
      ctx.addIssue({
        code: 'custom',
        path: ['limit'],
        message: `a sliding log keeps one entry per admitted request: the largest limit times the largest tier factor must not exceed ${MAX_SLIDING_LOG_ENTRIES} (use sliding-window)`,
      });
    }
  });

export const rateLimitConfigSchema = z
  .strictObject({
    /** Proxies (CIDR or address) allowed to append to X-Forwarded-For; empty means the socket peer is the client. */
    trusted_proxies: z
      .array(z.string().refine((text) => parseCidr(text) !== undefined, 'must be a CIDR range or an IP address'))
      .default([]),
    /** IPv6 clients are limited per network of this many bits. */
    ipv6_subnet: z.int().min(16).max(128).default(64),
    rules: z.array(ruleSchema).min(1),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.rules.forEach((rule, i) => {
      if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `repeats rule name "${rule.name}"` });
      seen.add(rule.name);
    });
  });

export type RateLimitConfigInput = z.input<typeof rateLimitConfigSchema>;
export type RateLimitConfig = z.output<typeof rateLimitConfigSchema>;
export type RateLimitRule = RateLimitConfig['rules'][number];
export type IdentifierSpec = RateLimitRule['identifier'];
export type SimpleIdentifierSpec = z.output<typeof simpleIdentifierSchema>;
export type IdentifierType = IdentifierSpec['type'];

/** Validates the whole configuration once; the error names every bad field (`rules[0].window_size: …`). */
export function parseRateLimitConfig(input: unknown): RateLimitConfig {
  const result = rateLimitConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${fieldPath(issue.path) || '(config)'}: ${issue.message}`);
  throw new RateLimitError('RATE_LIMIT.INVALID_CONFIG', `invalid rate-limit configuration: ${issues.join('; ')}`, issues);
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)),
    '',
  );
}
