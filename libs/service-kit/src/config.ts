import { TOPIC_NAMESPACE, TOPIC_NAMESPACE_RULE } from '@traceo/contracts';
import { apiKeySecrets, jwksUrlProblem, looksLikeJwt, parsePublicJwks } from '@traceo/security';
import { z } from 'zod';
import { rateLimitConfigFields } from './rate-limit/rate-limit.settings';

/** Raised at boot when the environment does not describe a runnable service. Names variables, never values. */
export class ConfigurationError extends Error {
  readonly code = 'CONFIG.INVALID';

  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigurationError';
  }
}

const HOST_PORT = /^[A-Za-z0-9.-]+:[0-9]{1,5}$/;

/** Settings every service needs. Services extend this object with their own variables. */
export const baseConfigSchema = z.object({
  TRACEO_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  TRACEO_HTTP_PORT: z.coerce.number({ error: 'must be a port number' }).int().min(1).max(65535),
  TRACEO_DATABASE_URL: z.string({ error: 'is required' }).regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL'),
  /** Owner role of the schema: runs migrations and DDL maintenance. Without it, TRACEO_DATABASE_URL does both. */
  TRACEO_DATABASE_OWNER_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL')
    .optional(),
  TRACEO_DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase PostgreSQL schema name')
    .optional(),
  TRACEO_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /** Consumer group; defaults to the service name. Separate instances of one service share it. */
  TRACEO_KAFKA_CONSUMER_GROUP: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,127}$/)
    .optional(),
  /**
   * Prefix of every topic and consumer group the service uses (`staging.`): environments sharing one
   * Kafka cluster each set their own. Empty: the contracts' names.
   */
  TRACEO_KAFKA_NAMESPACE: z.string().regex(TOPIC_NAMESPACE, `must be ${TOPIC_NAMESPACE_RULE}`).default(''),
  TRACEO_KAFKA_BROKERS: z
    .string({ error: 'is required' })
    .transform((value) => value.split(',').map((broker) => broker.trim()))
    .refine(
      (brokers) => brokers.length > 0 && brokers.every((broker) => HOST_PORT.test(broker)),
      'must be a comma-separated list of host:port',
    ),
  /**
   * API keys allowed to call the service (`client-id:secret`, comma-separated; secrets of 32+ characters).
   * Secret: never logged. An interim credential until auth-service's tokens replace it.
   */
  TRACEO_API_KEYS: z
    .string({ error: 'is required' })
    .refine(
      (value) => value.split(',').every((pair) => /^\s*[a-z0-9][a-z0-9._-]{0,63}:[\x21-\x2b\x2d-\x7e]{32,512}\s*$/.test(pair)),
      'must be a comma-separated list of client-id:secret pairs with secrets of at least 32 characters',
    ),
  /**
   * Signed JWT access tokens (docs/security.md). All optional; enabled when the issuer, the audience
   * and one key source are set, and refused at boot when only some of them are.
   */
  TRACEO_JWT_ISSUER: z.string().min(1, 'must not be empty').max(2048).optional(),
  TRACEO_JWT_AUDIENCE: z.string().min(1, 'must not be empty').max(2048).optional(),
  /** The issuer's JWKS: https, or http only to 127.0.0.1 or localhost. */
  TRACEO_JWT_JWKS_URL: z
    .string()
    .superRefine((value, context) => {
      const problem = jwksUrlProblem(value);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  /** An inline JWKS (JSON) of the issuer's public keys; a private member (`d`, …) is refused. */
  TRACEO_JWT_JWKS: z
    .string()
    .transform((text, context) => {
      try {
        return parsePublicJwks(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'must be a public JWKS' });
        return z.NEVER;
      }
    })
    .optional(),
  TRACEO_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRACEO_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
  /** The global RateLimitGuard: Redis, rules, trusted proxies (docs/rate-limiting.md). */
  ...rateLimitConfigFields,
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** Validates the whole environment once; nothing reads process.env after this. */
export function loadConfig<S extends z.ZodType<BaseConfig>>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => {
        const variable = issue.path.map(String).join('.') || '(environment)';
        const missing = issue.path.length === 1 && env[String(issue.path[0])] === undefined;
        const message = missing ? 'is required' : issue.message;
        return `${variable} ${message}`;
      });
  problems.push(...jwtSettingsProblems(env));
  if (result.success && problems.length === 0) return result.data;
  throw new ConfigurationError([...new Set(problems)]);
}

const JWT_VARIABLES = ['TRACEO_JWT_ISSUER', 'TRACEO_JWT_AUDIENCE', 'TRACEO_JWT_JWKS_URL', 'TRACEO_JWT_JWKS'] as const;

/** JWT settings come as a set: all of issuer, audience and exactly one key source, or none of them. */
function jwtSettingsProblems(env: NodeJS.ProcessEnv): string[] {
  const present = JWT_VARIABLES.filter((variable) => env[variable] !== undefined);
  if (present.length === 0) return [];
  const because = `when JWT access tokens are configured (${present.join(', ')} set)`;
  const problems: string[] = [];
  if (env['TRACEO_JWT_ISSUER'] === undefined) problems.push(`TRACEO_JWT_ISSUER is required ${because}`);
  if (env['TRACEO_JWT_AUDIENCE'] === undefined) problems.push(`TRACEO_JWT_AUDIENCE is required ${because}`);
  const url = env['TRACEO_JWT_JWKS_URL'] !== undefined;
  const inline = env['TRACEO_JWT_JWKS'] !== undefined;
  if (!url && !inline) problems.push(`TRACEO_JWT_JWKS_URL or TRACEO_JWT_JWKS is required ${because}`);
  if (url && inline) problems.push('TRACEO_JWT_JWKS must not be set together with TRACEO_JWT_JWKS_URL (one key source)');
  // A JWT-shaped API key would be routed to the token verifier and never match as a key.
  const keys = env['TRACEO_API_KEYS'];
  if (keys !== undefined && apiKeySecrets(keys).some(looksLikeJwt))
    problems.push(
      'TRACEO_API_KEYS must not contain a secret shaped like a JWT (three dot-separated base64url segments) when JWT access tokens are configured',
    );
  return problems;
}
