import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { asKongSendsIt } from '../test/support';
import { IDENTIFIER_KEY_ENV, identifierKeyFromEnv, parseSlidingWindowConfig, redisPasswordFromEnv } from './plugin-config';

const KONG_DIR = join(__dirname, '..', '..', '..');
const JSON_SCHEMA_FILE = join(KONG_DIR, 'plugins', 'traceo-sliding-window.schema.json');

type Config = Record<string, unknown>;

/** Every traceo-sliding-window config in a decK file: global, per service, per route, per consumer. */
function pluginConfigsIn(file: string): Config[] {
  type Plugin = { name: string; config: Config };
  type Doc = {
    plugins?: Plugin[];
    services?: { plugins?: Plugin[]; routes?: { plugins?: Plugin[] }[] }[];
    consumers?: { plugins?: Plugin[] }[];
  };
  const doc = parse(readFileSync(file, 'utf8')) as Doc;
  const plugins = [
    ...(doc.plugins ?? []),
    ...(doc.services ?? []).flatMap((service) => [
      ...(service.plugins ?? []),
      ...(service.routes ?? []).flatMap((route) => route.plugins ?? []),
    ]),
    ...(doc.consumers ?? []).flatMap((consumer) => consumer.plugins ?? []),
  ];
  return plugins.filter((plugin) => plugin.name === 'traceo-sliding-window').map((plugin) => plugin.config);
}

const valid = (): Config => ({
  limits: [10, 1000],
  window_sizes: [1, 3600],
  identifier: 'consumer',
  failure_mode: 'fail-open',
  redis: { host: 'redis', port: 6379, password_env: 'TRACEO_REDIS_PASSWORD' },
});

describe('parseSlidingWindowConfig', () => {
  it('accepts every traceo-sliding-window config of kong/kong.yml as Kong sends it (defaults, nulls, bookkeeping keys)', () => {
    const configs = pluginConfigsIn(join(KONG_DIR, 'kong.yml'));
    expect(configs.length).toBeGreaterThanOrEqual(5);
    for (const config of configs) {
      const parsed = parseSlidingWindowConfig(asKongSendsIt(config));
      expect(parsed).toMatchObject({ limits: config.limits, window_sizes: config.window_sizes, identifier: config.identifier });
      expect(Object.keys(parsed).some((key) => key.startsWith('__'))).toBe(false);
    }
  });

  it('fills the schema defaults', () => {
    expect(parseSlidingWindowConfig(valid())).toEqual({
      ...valid(),
      algorithm: 'sliding-window-counter',
      redis: {
        host: 'redis',
        port: 6379,
        password_env: 'TRACEO_REDIS_PASSWORD',
        database: 0,
        ssl: false,
        ssl_verify: true,
        timeout_ms: 50,
        cluster: false,
        key_prefix: 'traceo:rl:',
      },
    });
  });

  it('names every bad field with the names of the Kong config', () => {
    const attempt = () =>
      parseSlidingWindowConfig({ ...valid(), window_sizes: [60], identifier: 'header', redis: { host: 'redis', port: 0 } });
    expect(attempt).toThrow(
      expect.objectContaining({
        code: 'RATE_LIMIT.INVALID_CONFIG',
        issues: [
          'redis.port: Too small: expected number to be >=1',
          'window_sizes: must list one window per limit (limits has 2, window_sizes has 1)',
          'header_name: is required when identifier is header',
        ],
      }),
    );
  });

  describe('agrees with kong/plugins/traceo-sliding-window.schema.json', () => {
    const { $schema: _draft, ...schema } = JSON.parse(readFileSync(JSON_SCHEMA_FILE, 'utf8')) as Config;
    const jsonSchema = new Ajv({ allErrors: true }).compile(schema);
    const cases: [string, (config: Config) => Config, boolean][] = [
      ['the minimal config', (c) => c, true],
      [
        'every field set',
        (c) => ({
          ...c,
          algorithm: 'sliding-log',
          redis: {
            ...(c.redis as Config),
            database: 3,
            username: 'kong',
            ssl: true,
            ssl_verify: false,
            server_name: 'redis.internal',
            timeout_ms: 10_000,
            cluster: false,
            key_prefix: '',
          },
        }),
        true,
      ],
      ['six windows', (c) => ({ ...c, limits: [1, 2, 3, 4, 5, 6], window_sizes: [1, 60, 3600, 86_400, 604_800, 2_678_400] }), true],
      ['a header identifier with header_name', (c) => ({ ...c, identifier: 'header', header_name: 'X-Api-Key' }), true],
      ['a sliding log of 100000', (c) => ({ ...c, algorithm: 'sliding-log', limits: [100_000, 100_000] }), true],
      ['unequal lengths', (c) => ({ ...c, window_sizes: [1] }), false],
      ['seven windows', (c) => ({ ...c, limits: [1, 2, 3, 4, 5, 6, 7], window_sizes: [1, 2, 3, 4, 5, 6, 7] }), false],
      ['no limits', (c) => ({ ...c, limits: [], window_sizes: [] }), false],
      ['a repeated window', (c) => ({ ...c, window_sizes: [60, 60] }), false],
      ['a window over 31 days', (c) => ({ ...c, window_sizes: [1, 2_678_401] }), false],
      ['a limit of 0', (c) => ({ ...c, limits: [0, 1] }), false],
      ['a fractional limit', (c) => ({ ...c, limits: [1.5, 2] }), false],
      ['identifier header without header_name', (c) => ({ ...c, identifier: 'header' }), false],
      ['header_name without identifier header', (c) => ({ ...c, header_name: 'X-Api-Key' }), false],
      ['a header_name that is no HTTP field name', (c) => ({ ...c, identifier: 'header', header_name: 'X Api Key' }), false],
      ['a sliding log over 100000', (c) => ({ ...c, algorithm: 'sliding-log', limits: [100_001, 1] }), false],
      ['an unknown algorithm', (c) => ({ ...c, algorithm: 'fixed-window' }), false],
      ['an unknown identifier', (c) => ({ ...c, identifier: 'compound' }), false],
      ["the lib's failure mode names", (c) => ({ ...c, failure_mode: 'open' }), false],
      ['no failure_mode', ({ failure_mode: _mode, ...c }) => c, false],
      ['no redis', ({ redis: _redis, ...c }) => c, false],
      ['an unknown field', (c) => ({ ...c, tiers: { free: 0.2 } }), false],
      ['a literal Redis password', (c) => ({ ...c, redis: { ...(c.redis as Config), password: 'secret' } }), false],
      [
        'a password_env that is no variable name',
        (c) => ({ ...c, redis: { ...(c.redis as Config), password_env: 'redis-password' } }),
        false,
      ],
      ['Redis port 0', (c) => ({ ...c, redis: { ...(c.redis as Config), port: 0 } }), false],
      ['Redis database 16', (c) => ({ ...c, redis: { ...(c.redis as Config), database: 16 } }), false],
      ['a timeout over 10 s', (c) => ({ ...c, redis: { ...(c.redis as Config), timeout_ms: 10_001 } }), false],
      ['a cluster', (c) => ({ ...c, redis: { ...(c.redis as Config), cluster: true } }), true],
      ['a database other than 0 on a cluster', (c) => ({ ...c, redis: { ...(c.redis as Config), cluster: true, database: 3 } }), false],
      ['a key prefix of 65 characters', (c) => ({ ...c, redis: { ...(c.redis as Config), key_prefix: 'k'.repeat(65) } }), false],
    ];

    it.each(cases)('%s', (_name, edit, expected) => {
      const config = edit(valid());
      const pluginAccepts = (() => {
        try {
          parseSlidingWindowConfig(config);
          return true;
        } catch {
          return false;
        }
      })();
      expect({ jsonSchema: jsonSchema(config), plugin: pluginAccepts }).toEqual({ jsonSchema: expected, plugin: expected });
    });
  });
});

describe('secrets from the plugin server environment', () => {
  it('needs an identifier key of at least 16 bytes', () => {
    expect(() => identifierKeyFromEnv({})).toThrow(`${IDENTIFIER_KEY_ENV} must be set`);
    expect(() => identifierKeyFromEnv({ [IDENTIFIER_KEY_ENV]: 'fifteen-bytes..' })).toThrow('at least 16 bytes');
    expect(identifierKeyFromEnv({ [IDENTIFIER_KEY_ENV]: 'sixteen-bytes...' })).toBe('sixteen-bytes...');
  });

  it('reads the Redis password from the variable password_env names, and refuses an unset one', () => {
    const redis = parseSlidingWindowConfig(valid()).redis;
    expect(redisPasswordFromEnv(redis, { TRACEO_REDIS_PASSWORD: 'pw' })).toBe('pw');
    expect(() => redisPasswordFromEnv(redis, {})).toThrow(
      "redis.password_env: TRACEO_REDIS_PASSWORD is not set in the plugin server's environment",
    );
    expect(redisPasswordFromEnv({ ...redis, password_env: undefined }, {})).toBeUndefined();
  });
});
