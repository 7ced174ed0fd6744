import { baseConfigSchema, ConfigurationError, loadConfig } from '../config';
import { DEFAULT_RATE_LIMIT_RULES } from './rate-limit.settings';

const valid = {
  TRACEO_HTTP_PORT: '4103',
  TRACEO_DATABASE_URL: 'postgres://svc:s3cret-password@127.0.0.1:54329/traceo',
  TRACEO_KAFKA_BROKERS: '127.0.0.1:39092',
  TRACEO_API_KEYS: 'platform:0123456789abcdef0123456789abcdef',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(baseConfigSchema, { ...valid, ...env });
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('rate-limit configuration', () => {
  it('is on by default, in memory, with the default rules', () => {
    const config = loadConfig(baseConfigSchema, valid);
    expect(config.TRACEO_RATE_LIMIT_ENABLED).toBe(true);
    expect(config.TRACEO_REDIS_URL).toBeUndefined();
    expect(config.TRACEO_RATE_LIMIT_RULES).toBeUndefined();
    expect(DEFAULT_RATE_LIMIT_RULES.map((rule) => [rule.name, rule.limit, rule.window_size, rule.identifier, rule.failure_mode])).toEqual([
      ['default', [100, 3000], [1, 60], { type: 'consumer' }, 'open'],
      ['anonymous', [20, 300], [1, 60], { type: 'ip' }, 'open'],
    ]);
  });

  it('reads every variable', () => {
    const config = loadConfig(baseConfigSchema, {
      ...valid,
      TRACEO_RATE_LIMIT_ENABLED: 'false',
      TRACEO_REDIS_URL: 'redis://:secret@127.0.0.1:63790',
      TRACEO_REDIS_CLUSTER: 'true',
      TRACEO_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32,192.0.2.7',
      TRACEO_RATE_LIMIT_IDENTIFIER_KEY: Buffer.alloc(16, 7).toString('base64'),
      TRACEO_RATE_LIMIT_CLIENT_TIERS: 'ci:premium, partner-1:enterprise',
      TRACEO_RATE_LIMIT_SYNC_MS: '100',
    });
    expect(config.TRACEO_RATE_LIMIT_ENABLED).toBe(false);
    expect(config.TRACEO_REDIS_URL).toBe('redis://:secret@127.0.0.1:63790');
    expect(config.TRACEO_REDIS_CLUSTER).toBe(true);
    expect(config.TRACEO_TRUSTED_PROXIES).toEqual(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
    expect(config.TRACEO_RATE_LIMIT_IDENTIFIER_KEY).toEqual(Buffer.alloc(16, 7));
    expect(config.TRACEO_RATE_LIMIT_CLIENT_TIERS).toEqual(
      new Map([
        ['ci', 'premium'],
        ['partner-1', 'enterprise'],
      ]),
    );
    expect(config.TRACEO_RATE_LIMIT_SYNC_MS).toBe(100);
  });

  it('lays TRACEO_RATE_LIMIT_RULES over the defaults: same name replaces, new names add', () => {
    const config = loadConfig(baseConfigSchema, {
      ...valid,
      TRACEO_RATE_LIMIT_RULES: JSON.stringify({
        trusted_proxies: ['10.0.0.0/8'],
        rules: [
          { name: 'default', limit: [5], window_size: [60], failure_mode: 'closed' },
          { name: 'export', algorithm: 'sliding-log', limit: [10], window_size: [3600], failure_mode: 'closed' },
        ],
      }),
    });
    const rules = config.TRACEO_RATE_LIMIT_RULES!;
    expect(rules.trusted_proxies).toEqual(['10.0.0.0/8']);
    expect(rules.rules.map((rule) => [rule.name, rule.limit, rule.failure_mode])).toEqual([
      ['default', [5], 'closed'],
      ['export', [10], 'closed'],
      ['anonymous', [20, 300], 'open'],
    ]);
  });

  it.each([
    ['TRACEO_RATE_LIMIT_RULES', '{"rules": [', 'TRACEO_RATE_LIMIT_RULES must be JSON'],
    [
      'TRACEO_RATE_LIMIT_RULES',
      JSON.stringify({ rules: [{ name: 'default', limit: [5, 50], window_size: [1], failure_mode: 'open' }] }),
      'TRACEO_RATE_LIMIT_RULES rules[0].window_size: must list one window per limit (limit has 2, window_size has 1)',
    ],
    [
      'TRACEO_RATE_LIMIT_RULES',
      JSON.stringify({ rules: [{ name: 'export', limit: [5], window_size: [60] }] }),
      'TRACEO_RATE_LIMIT_RULES rules[0].failure_mode: ',
    ],
    ['TRACEO_RATE_LIMIT_RULES', JSON.stringify({ rules: [], burst: 1 }), 'TRACEO_RATE_LIMIT_RULES (config): Unrecognized key: "burst"'],
    ['TRACEO_TRUSTED_PROXIES', '10.0.0.0/8,proxy.internal', 'TRACEO_TRUSTED_PROXIES entry 2 is not a CIDR range or an IP address'],
    ['TRACEO_RATE_LIMIT_ENABLED', 'maybe', 'TRACEO_RATE_LIMIT_ENABLED must be true or false'],
    ['TRACEO_REDIS_URL', 'http://127.0.0.1:6379', 'TRACEO_REDIS_URL must be a redis:// or rediss:// URL'],
    ['TRACEO_REDIS_CLUSTER', 'sometimes', 'TRACEO_REDIS_CLUSTER must be true or false'],
    [
      'TRACEO_RATE_LIMIT_IDENTIFIER_KEY',
      Buffer.alloc(8).toString('base64'),
      'TRACEO_RATE_LIMIT_IDENTIFIER_KEY must be base64 of at least 16',
    ],
    ['TRACEO_RATE_LIMIT_CLIENT_TIERS', 'ci:gold', 'TRACEO_RATE_LIMIT_CLIENT_TIERS entry 1 must be client-id:tier'],
    ['TRACEO_RATE_LIMIT_SYNC_MS', '5', 'TRACEO_RATE_LIMIT_SYNC_MS '],
    ['TRACEO_RATE_LIMIT_SYNC_MS', 'often', 'TRACEO_RATE_LIMIT_SYNC_MS '],
  ])('fails fast on a bad %s, naming it (%#)', (variable, value, message) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it('never repeats the Redis URL (it holds the password) in a message', () => {
    expect(problemsOf({ TRACEO_REDIS_URL: 'redis:/:hunter2@host' }).join(' ')).not.toContain('hunter2');
  });
});
