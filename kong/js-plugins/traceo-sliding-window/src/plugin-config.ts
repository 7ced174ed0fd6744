import { MAX_SLIDING_LOG_ENTRIES, MAX_WINDOW_SECONDS, MIN_IDENTIFIER_KEY_BYTES, RateLimitError } from '@traceo/rate-limit';
import { z } from 'zod';

/**
 * The plugin's `config` as kong/plugins/traceo-sliding-window.schema.json defines it (the offline
 * validator checks kong.yml against that file; a spec checks that this parser agrees with it). Kong
 * checks the field-level rules with the schema the plugin server reports (kong-schema.ts); the rules
 * Kong's schema cannot express across fields (equal lengths, header_name with identifier header) are
 * checked here, when Kong starts an instance.
 */
export const IDENTIFIERS = ['consumer', 'credential', 'ip', 'header', 'path', 'route'] as const;
export const ALGORITHMS = ['sliding-window-counter', 'sliding-log'] as const;
export const FAILURE_MODES = ['fail-open', 'fail-closed'] as const;
export const MAX_LIMITS = 6;
export const MAX_LIMIT = 1_000_000_000;

/** The environment variable holding the HMAC key for identifier hashes (16+ bytes, the same on every Kong node). */
export const IDENTIFIER_KEY_ENV = 'TRACEO_RATE_LIMIT_IDENTIFIER_KEY';

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

const redisSchema = z.strictObject({
  host: z.string().min(1).max(253),
  port: z.int().min(1).max(65535),
  database: z.int().min(0).max(15).default(0),
  username: z.string().min(1).optional(),
  password_env: z.string().regex(ENV_NAME, 'must name an environment variable (A-Z, 0-9, _)').optional(),
  ssl: z.boolean().default(false),
  ssl_verify: z.boolean().default(true),
  server_name: z.string().min(1).optional(),
  timeout_ms: z.int().min(1).max(10_000).default(50),
  /** host:port is one node of a Redis Cluster; the others are learnt from it (database must be 0). */
  cluster: z.boolean().default(false),
  key_prefix: z.string().max(64).default('traceo:rl:'),
});

const configSchema = z
  .strictObject({
    limits: z.array(z.int().min(1).max(MAX_LIMIT)).min(1).max(MAX_LIMITS),
    window_sizes: z.array(z.int().min(1).max(MAX_WINDOW_SECONDS)).min(1).max(MAX_LIMITS),
    algorithm: z.enum(ALGORITHMS).default('sliding-window-counter'),
    identifier: z.enum(IDENTIFIERS),
    header_name: z.string().max(128).regex(HEADER_NAME, 'must be an HTTP field name').optional(),
    failure_mode: z.enum(FAILURE_MODES),
    redis: redisSchema,
  })
  .superRefine((config, ctx) => {
    if (config.limits.length !== config.window_sizes.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['window_sizes'],
        message: `must list one window per limit (limits has ${config.limits.length}, window_sizes has ${config.window_sizes.length})`,
      });
    }
    if (new Set(config.window_sizes).size !== config.window_sizes.length) {
      ctx.addIssue({ code: 'custom', path: ['window_sizes'], message: 'must not repeat a window' });
    }
    if (config.redis.cluster && config.redis.database !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis', 'database'],
        message: 'must be 0 with cluster (a Redis Cluster has only database 0)',
      });
    }
    if (config.identifier === 'header' && config.header_name === undefined) {
      ctx.addIssue({ code: 'custom', path: ['header_name'], message: 'is required when identifier is header' });
    }
    if (config.identifier !== 'header' && config.header_name !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['header_name'], message: 'is only allowed when identifier is header' });
    }
    if (config.algorithm === 'sliding-log' && config.limits.some((limit) => limit > MAX_SLIDING_LOG_ENTRIES)) {
      ctx.addIssue({
        code: 'custom',
        path: ['limits'],
        message: `a sliding log keeps one entry per admitted request: at most ${MAX_SLIDING_LOG_ENTRIES} (use sliding-window-counter)`,
      });
    }
  });

export type SlidingWindowConfig = z.output<typeof configSchema>;
export type RedisConfig = SlidingWindowConfig['redis'];
export type KongIdentifier = SlidingWindowConfig['identifier'];

/**
 * Validates the config Kong sends with `plugin.StartInstance`. Kong serializes the plugin entity's
 * config with cjson: optional fields nobody set arrive as `null`, and Kong adds bookkeeping keys
 * (`__seq__`, `__plugin_id`, `__key__`); both are dropped before the strict check. Throws
 * RateLimitError `RATE_LIMIT.INVALID_CONFIG` naming every bad field.
 */
export function parseSlidingWindowConfig(input: unknown): SlidingWindowConfig {
  const result = configSchema.safeParse(withoutKongBookkeeping(input));
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(config)'}: ${issue.message}`);
  throw new RateLimitError('RATE_LIMIT.INVALID_CONFIG', `invalid traceo-sliding-window configuration: ${issues.join('; ')}`, issues);
}

function withoutKongBookkeeping(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === null || key.startsWith('__')) continue;
    out[key] = key === 'redis' ? withoutKongBookkeeping(value) : value;
  }
  return out;
}

/**
 * The identifier HMAC key from the plugin server's environment (Kong passes it through an nginx `env`
 * directive, see kong/kong.conf); read when a limiter is built for a new configuration. Without it no
 * instance starts.
 */
export function identifierKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const value = env[IDENTIFIER_KEY_ENV] ?? '';
  if (Buffer.byteLength(value, 'utf8') < MIN_IDENTIFIER_KEY_BYTES) {
    throw new RateLimitError(
      'RATE_LIMIT.INVALID_CONFIG',
      `${IDENTIFIER_KEY_ENV} must be set in the plugin server's environment to a secret of at least ${MIN_IDENTIFIER_KEY_BYTES} bytes`,
      [IDENTIFIER_KEY_ENV],
    );
  }
  return value;
}

/** The Redis password from the variable `redis.password_env` names; a named but unset variable is a configuration error. */
export function redisPasswordFromEnv(redis: RedisConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (redis.password_env === undefined) return undefined;
  const value = env[redis.password_env];
  if (!value) {
    throw new RateLimitError(
      'RATE_LIMIT.INVALID_CONFIG',
      `redis.password_env: ${redis.password_env} is not set in the plugin server's environment`,
      ['redis.password_env'],
    );
  }
  return value;
}
