import { z } from 'zod';

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
  TRACEO_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRACEO_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** Validates the whole environment once; nothing reads process.env after this. */
export function loadConfig<S extends z.ZodType<BaseConfig>>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.map(String).join('.') || '(environment)';
    const missing = issue.path.length === 1 && env[String(issue.path[0])] === undefined;
    const message = missing ? 'is required' : issue.message;
    return `${variable} ${message}`;
  });
  throw new ConfigurationError([...new Set(problems)]);
}
