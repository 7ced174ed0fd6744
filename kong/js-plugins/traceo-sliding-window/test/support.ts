import { randomBytes } from 'node:crypto';
import { freePort } from '@traceo/testing';
import { KONG_CONFIG_FIELDS, type KongField } from '../src/kong-schema';
import { GATEWAY_EVENTS_ENV } from '../src/gateway-events';
import { IDENTIFIER_KEY_ENV } from '../src/plugin-config';

export const TEST_IDENTIFIER_KEY = 'kong-plugin-test-identifier-key-0123456789';

/**
 * Sets what the plugin reads from its environment when it builds a limiter (Kong passes it through
 * nginx `env`): the identifier key, and request-blocked events turned off (the contract test publishes
 * them to the real Kafka).
 */
export function useTestPluginEnv(): void {
  process.env[IDENTIFIER_KEY_ENV] = TEST_IDENTIFIER_KEY;
  process.env[GATEWAY_EVENTS_ENV] = 'off';
}

/** A key prefix no other test (or engineer) uses on the shared Redis. */
export function uniquePrefix(label: string): string {
  return `it:kong:${label}:${randomBytes(4).toString('hex')}:`;
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released): connections are refused at once. */
export const closedPort = freePort;

/** A config as kong.yml writes one, with overrides. */
export function pluginConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    limits: [3, 10],
    window_sizes: [60, 3600],
    algorithm: 'sliding-window-counter',
    identifier: 'consumer',
    failure_mode: 'fail-open',
    redis: { host: '127.0.0.1', port: 6379 },
    ...overrides,
  };
}

/**
 * The shared Redis of tools/infra as plugin config: host, port and database from TRACEO_REDIS_URL,
 * the password in an environment variable the config names (as kong.yml does), a key prefix of its own.
 */
export function sharedRedisConfig(
  redisUrl: string,
  passwordEnv: string,
  keyPrefix: string,
): { config: Record<string, unknown>; env: Record<string, string> } {
  const url = new URL(redisUrl);
  const password = decodeURIComponent(url.password);
  return {
    config: {
      host: url.hostname,
      port: Number(url.port || 6379),
      database: Number(url.pathname.slice(1) || 0),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(password ? { password_env: passwordEnv } : {}),
      timeout_ms: 2000,
      key_prefix: keyPrefix,
    },
    env: password ? { [passwordEnv]: password } : {},
  };
}

/**
 * The config as Kong sends it with plugin.StartInstance (JSON from cjson): its schema's defaults
 * filled in, every other unset field null (cjson.null), and Kong's bookkeeping keys.
 */
export function asKongSendsIt(config: Record<string, unknown>, seq = 1): Record<string, unknown> {
  const fill = (value: Record<string, unknown>, fields: readonly KongField[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const field of fields) {
      const [name, spec] = Object.entries(field)[0]!;
      const given = value[name];
      out[name] =
        spec.type === 'record' && given !== undefined
          ? fill(given as Record<string, unknown>, spec.fields!)
          : (given ?? spec.default ?? null);
    }
    return out;
  };
  return { ...fill(config, KONG_CONFIG_FIELDS), __seq__: seq, __plugin_id: `0a1b2c3d-0000-4000-8000-${String(seq).padStart(12, '0')}` };
}
