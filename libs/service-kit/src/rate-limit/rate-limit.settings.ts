import {
  MIN_IDENTIFIER_KEY_BYTES,
  MIN_SYNC_INTERVAL_MS,
  parseCidr,
  parseRateLimitConfig,
  RateLimitError,
  TIERS,
  type RateLimitConfig,
  type RateLimitConfigInput,
  type Tier,
} from '@traceo/rate-limit';
import { z } from 'zod';

/** Applies to authenticated requests on routes without @RateLimit(): per principal. */
export const DEFAULT_RULE = 'default';
/** Applies to requests nobody authenticated (public routes) without @RateLimit(): per client IP. */
export const ANONYMOUS_RULE = 'anonymous';

/**
 * The rules every service starts with. Per principal 100 per second and 3,000 per minute (the
 * `standard` tier; tiers scale them); per client IP, for unauthenticated calls, 20 per second and 300
 * per minute. Both fail open: while Redis is away each instance keeps enforcing them on its own.
 */
export const DEFAULT_RATE_LIMIT_RULES: readonly RateLimitConfigInput['rules'][number][] = Object.freeze([
  {
    name: DEFAULT_RULE,
    algorithm: 'sliding-window',
    limit: [100, 3000],
    window_size: [1, 60],
    identifier: { type: 'consumer' },
    failure_mode: 'open',
    default_tier: 'standard',
  },
  {
    name: ANONYMOUS_RULE,
    algorithm: 'sliding-window',
    limit: [20, 300],
    window_size: [1, 60],
    identifier: { type: 'ip' },
    failure_mode: 'open',
    default_tier: 'standard',
  },
]);

/**
 * TRACEO_RATE_LIMIT_RULES: a libs/rate-limit configuration (JSON). Its rules replace the default rules
 * of the same name and add new ones (for @RateLimit('<name>')); the defaults it does not name stay.
 * Validated by `parseRateLimitConfig`; a RateLimitError's `issues` name every bad field.
 */
export function rateLimitConfigFromJson(text: string | undefined): RateLimitConfig {
  if (text === undefined) return parseRateLimitConfig({ rules: DEFAULT_RATE_LIMIT_RULES });
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    throw new RateLimitError('RATE_LIMIT.INVALID_CONFIG', 'invalid rate-limit configuration: not JSON', ['must be JSON']);
  }
  return parseRateLimitConfig(withDefaultRules(input));
}

/** The given rules first (so issues keep their indices), then the defaults they do not replace. */
function withDefaultRules(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const given: unknown = (input as { rules?: unknown }).rules ?? [];
  if (!Array.isArray(given)) return input;
  const rules = given as unknown[];
  const named = new Set(
    rules.map((rule: unknown) => (typeof rule === 'object' && rule !== null ? (rule as { name?: unknown }).name : undefined)),
  );
  return { ...input, rules: [...rules, ...DEFAULT_RATE_LIMIT_RULES.filter((rule) => !named.has(rule.name))] };
}

const CLIENT_TIER = new RegExp(`^([A-Za-z0-9][A-Za-z0-9._-]{0,127}):(${TIERS.join('|')})$`);

/**
 * Rate-limiting variables of `baseConfigSchema` (docs/rate-limiting.md, "The NestJS guard"). All
 * optional; invalid values fail the boot with a message naming the variable and the field.
 */
export const rateLimitConfigFields = {
  /** `false` turns the guard off (benchmarks, emergencies); the gateway's limits still apply. */
  TRACEO_RATE_LIMIT_ENABLED: z.stringbool({ error: 'must be true or false' }).default(true),
  /** Shared counters for every instance (secret: carries the password). Without it: the in-memory store only. */
  TRACEO_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .optional(),
  /**
   * `true`: TRACEO_REDIS_URL names one node of a Redis Cluster (the others are learnt from it; its
   * credentials and TLS apply to all). Keys are hash-tagged per decision (docs/rate-limiting.md, "Redis Cluster").
   */
  TRACEO_REDIS_CLUSTER: z.stringbool({ error: 'must be true or false' }).default(false),
  /**
   * APPROXIMATE opt-in: counter rules decide in the process and sync their counts with Redis this
   * often (ms, at least 10); instances can over-admit by what the others admit between two syncs.
   * Unset: every decision is one atomic script in Redis (exact). Needs TRACEO_REDIS_URL.
   */
  TRACEO_RATE_LIMIT_SYNC_MS: z.coerce.number().int().min(MIN_SYNC_INTERVAL_MS).max(60_000).optional(),
  /** JSON rules over the defaults (see rateLimitConfigFromJson). */
  TRACEO_RATE_LIMIT_RULES: z
    .string()
    .transform((text, context) => {
      try {
        return rateLimitConfigFromJson(text);
      } catch (error) {
        const issues = error instanceof RateLimitError ? error.issues : ['is not a valid rate-limit configuration'];
        for (const issue of issues) context.addIssue({ code: 'custom', message: issue });
        return z.NEVER;
      }
    })
    .optional(),
  /** Proxies (CIDR ranges or addresses, comma-separated) whose X-Forwarded-For is believed. */
  TRACEO_TRUSTED_PROXIES: z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0),
    )
    .superRefine((entries, context) => {
      entries.forEach((entry, i) => {
        if (parseCidr(entry) === undefined)
          context.addIssue({ code: 'custom', message: `entry ${i + 1} is not a CIDR range or an IP address` });
      });
    })
    .optional(),
  /**
   * HMAC key for identifier hashes (base64, 16+ bytes; secret). Replicas sharing Redis need the same
   * key to share buckets; without it each process draws a random one.
   */
  TRACEO_RATE_LIMIT_IDENTIFIER_KEY: z
    .string()
    .refine(
      (text) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) && Buffer.from(text, 'base64').length >= MIN_IDENTIFIER_KEY_BYTES,
      `must be base64 of at least ${MIN_IDENTIFIER_KEY_BYTES} random bytes`,
    )
    .transform((text) => Buffer.from(text, 'base64'))
    .optional(),
  /** `client-id:tier[,…]`: the tier of API-key clients (and token `client_id`s); others are `standard`. */
  TRACEO_RATE_LIMIT_CLIENT_TIERS: z
    .string()
    .transform((text, context) => {
      const tiers = new Map<string, Tier>();
      text.split(',').forEach((pair, i) => {
        const match = CLIENT_TIER.exec(pair.trim());
        if (match) tiers.set(match[1]!, match[2] as Tier);
        else context.addIssue({ code: 'custom', message: `entry ${i + 1} must be client-id:tier with a tier of ${TIERS.join(', ')}` });
      });
      return tiers;
    })
    .optional(),
};
