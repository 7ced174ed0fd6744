import fc from 'fast-check';
import { adjustLimits, riskFactor, tierOf } from './limit-adjustments';
import { parseRateLimitConfig } from './rate-limit.config';

const [rule] = parseRateLimitConfig({
  rules: [
    { name: 'api', limit: [100, 10_000], window_size: [60, 86_400], failure_mode: 'open', endpoint_classes: { auth: 0.1, export: 0.5 } },
  ],
}).rules as [ReturnType<typeof parseRateLimitConfig>['rules'][number]];
const neutral = { group: 'standard', authenticated: true, botReasons: [] as string[] };

describe('context-aware limits', () => {
  it('scales limits by consumer group tier, unknown groups and anonymous callers getting the default tier', () => {
    expect(adjustLimits(rule, { ...neutral, group: 'free' }).limits).toEqual([20, 2_000]);
    expect(adjustLimits(rule, neutral).limits).toEqual([100, 10_000]);
    expect(adjustLimits(rule, { ...neutral, group: 'premium' }).limits).toEqual([500, 50_000]);
    expect(adjustLimits(rule, { ...neutral, group: 'enterprise' }).limits).toEqual([2_000, 200_000]);
    expect(tierOf(rule, 'platinum')).toBe('free');
    expect(tierOf(rule, undefined)).toBe('free');
    expect(tierOf(rule, 'constructor')).toBe('free');
  });

  it('applies the endpoint class factor, and none for an unknown class', () => {
    expect(adjustLimits(rule, { ...neutral, endpointClass: 'auth' }).limits).toEqual([10, 1_000]);
    expect(adjustLimits(rule, { ...neutral, endpointClass: 'search' }).limits).toEqual([100, 10_000]);
    expect(adjustLimits(rule, { ...neutral, endpointClass: 'toString' }).limits).toEqual([100, 10_000]);
  });

  it('tightens bot-like anonymous traffic, and authenticated traffic only when the rule says so', () => {
    const bot = { ...neutral, botReasons: ['automation-user-agent'] };
    expect(adjustLimits(rule, { ...bot, authenticated: false }).adjustment).toMatchObject({ botLike: true, botFactor: 0.25 });
    expect(adjustLimits(rule, { ...bot, authenticated: false }).limits).toEqual([25, 2_500]);
    expect(adjustLimits(rule, bot).limits).toEqual([100, 10_000]);
    const strict = { ...rule, bot: { factor: 0.5, include_authenticated: true } };
    expect(adjustLimits(strict, bot).limits).toEqual([50, 5_000]);
  });

  it('tightens limits as the risk score rises through the bands', () => {
    expect(adjustLimits(rule, { ...neutral, riskScore: 10 }).limits).toEqual([100, 10_000]);
    expect(adjustLimits(rule, { ...neutral, riskScore: 50 }).limits).toEqual([50, 5_000]);
    expect(adjustLimits(rule, { ...neutral, riskScore: 95 }).limits).toEqual([20, 2_000]);
    expect(adjustLimits(rule, { ...neutral, riskScore: Number.NaN }).adjustment.riskFactor).toBe(1);
  });

  it('never loosens a limit as risk rises, and never goes below one request', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const tight = adjustLimits(rule, {
          ...neutral,
          group: 'free',
          endpointClass: 'auth',
          riskScore: high,
          authenticated: false,
          botReasons: ['x'],
        });
        const loose = adjustLimits(rule, { ...neutral, riskScore: low });
        return (
          riskFactor(rule.risk, high) <= riskFactor(rule.risk, low) &&
          tight.limits.every((limit, i) => limit >= 1 && limit <= loose.limits[i]!)
        );
      }),
    );
  });

  it('multiplies all factors and reports them', () => {
    const { limits, adjustment } = adjustLimits(rule, {
      group: 'premium',
      authenticated: false,
      endpointClass: 'export',
      botReasons: ['no-user-agent'],
      riskScore: 60,
    });
    expect(adjustment).toEqual({
      tier: 'premium',
      tierFactor: 5,
      endpointClass: 'export',
      endpointFactor: 0.5,
      botLike: true,
      botReasons: ['no-user-agent'],
      botFactor: 0.25,
      riskScore: 60,
      riskFactor: 0.5,
      factor: 0.3125,
    });
    expect(limits).toEqual([31, 3_125]);
  });
});
