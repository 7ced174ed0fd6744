import { parseRateLimitConfig } from './rate-limit.config';
import { RateLimitError } from './rate-limit.errors';

const rule = { name: 'api', limit: [10, 1000], window_size: [1, 3600], failure_mode: 'open' };

function issuesOf(config: unknown): readonly string[] {
  try {
    parseRateLimitConfig(config);
  } catch (error) {
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).code).toBe('RATE_LIMIT.INVALID_CONFIG');
    return (error as RateLimitError).issues;
  }
  throw new Error('the configuration was accepted');
}

describe('rate-limit configuration', () => {
  it('fills in documented defaults', () => {
    const config = parseRateLimitConfig({ rules: [rule] });
    expect(config.trusted_proxies).toEqual([]);
    expect(config.ipv6_subnet).toBe(64);
    expect(config.rules[0]).toMatchObject({
      algorithm: 'sliding-window',
      identifier: { type: 'consumer' },
      default_tier: 'free',
      tiers: { free: 0.2, standard: 1, premium: 5, enterprise: 20 },
      bot: { factor: 0.25, include_authenticated: false },
    });
  });

  it.each<[string, unknown, string]>([
    [
      'unequal limit and window_size lists',
      { ...rule, window_size: [1] },
      'rules[0].window_size: must list one window per limit (limit has 2, window_size has 1)',
    ],
    ['a zero window', { ...rule, window_size: [0, 3600] }, 'rules[0].window_size[0]: Too small'],
    ['a negative limit', { ...rule, limit: [-1, 1000] }, 'rules[0].limit[0]: Too small'],
    ['a fractional window', { ...rule, window_size: [1.5, 3600] }, 'rules[0].window_size[0]:'],
    ['a repeated window', { ...rule, limit: [1, 2], window_size: [60, 60] }, 'rules[0].window_size: must not repeat a window'],
    ['no failure mode', { name: 'api', limit: [1], window_size: [1] }, 'rules[0].failure_mode:'],
    ['an unknown algorithm', { ...rule, algorithm: 'token-bucket' }, 'rules[0].algorithm:'],
    ['a header identifier without a name', { ...rule, identifier: { type: 'header' } }, 'rules[0].identifier'],
    ['an unknown field', { ...rule, burst: 5 }, 'rules[0]: Unrecognized key: "burst"'],
    [
      'a risk band that loosens the limit',
      {
        ...rule,
        risk: [
          { min_score: 50, factor: 0.5 },
          { min_score: 80, factor: 0.9 },
        ],
      },
      'rules[0].risk[1].factor:',
    ],
    [
      'risk bands out of order',
      {
        ...rule,
        risk: [
          { min_score: 80, factor: 0.5 },
          { min_score: 50, factor: 0.2 },
        ],
      },
      'rules[0].risk[1].min_score:',
    ],
    [
      'a sliding log that would hold too many entries',
      { ...rule, algorithm: 'sliding-log', limit: [10, 50_000] },
      'rules[0].limit: a sliding log',
    ],
    ['a rule name unfit for keys and headers', { ...rule, name: 'API "v1"' }, 'rules[0].name:'],
  ])('refuses %s, naming the field', (_, bad, message) => {
    expect(issuesOf({ rules: [bad] }).join('\n')).toContain(message);
  });

  it('refuses repeated rule names and invalid proxy ranges', () => {
    const issues = issuesOf({ trusted_proxies: ['10.0.0.0/8', '10.0.0.0/40'], rules: [rule, rule] });
    expect(issues).toContain('trusted_proxies[1]: must be a CIDR range or an IP address');
    expect(issues).toContain('rules[1].name: repeats rule name "api"');
  });

  it('puts every issue in the message', () => {
    expect(() => parseRateLimitConfig({ rules: [{ ...rule, window_size: [0] }] })).toThrow(
      /^invalid rate-limit configuration: rules\[0\]\.window_size\[0\]: .*; rules\[0\]\.window_size: must list one window per limit/,
    );
  });
});
