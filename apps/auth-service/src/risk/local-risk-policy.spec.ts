import { localRiskDecision } from './local-risk-policy';

const seen = { sessions: 3, countries: ['DE', 'FR'], devices: ['dev-a'] };

describe('localRiskDecision', () => {
  it('allows a refresh whatever the context', () => {
    expect(localRiskDecision({ stage: 'refresh', amr: ['pwd'], country: 'KP', history: seen })).toEqual({
      decision: 'allow',
      reasons: ['LOCAL.REFRESH'],
    });
  });

  it('allows a first sign-in (nothing to compare with)', () => {
    expect(
      localRiskDecision({ stage: 'sign-in', amr: ['pwd'], country: 'BR', history: { sessions: 0, countries: [], devices: [] } }),
    ).toEqual({ decision: 'allow', reasons: ['LOCAL.FIRST_SIGN_IN'] });
  });

  it('allows a familiar country and device', () => {
    expect(localRiskDecision({ stage: 'sign-in', amr: ['pwd'], country: 'FR', deviceFingerprint: 'dev-a', history: seen })).toEqual({
      decision: 'allow',
      reasons: ['LOCAL.FAMILIAR'],
    });
  });

  it('records a new device without stepping up', () => {
    expect(localRiskDecision({ stage: 'sign-in', amr: ['pwd'], country: 'DE', deviceFingerprint: 'dev-b', history: seen })).toEqual({
      decision: 'allow',
      reasons: ['LOCAL.NEW_DEVICE'],
    });
  });

  it('steps up a single-factor sign-in from a country the account never signed in from', () => {
    expect(localRiskDecision({ stage: 'sign-in', amr: ['pwd'], country: 'BR', deviceFingerprint: 'dev-b', history: seen })).toEqual({
      decision: 'step-up',
      reasons: ['LOCAL.NEW_DEVICE', 'LOCAL.NEW_COUNTRY'],
    });
    expect(localRiskDecision({ stage: 'sign-in', amr: ['fed'], country: 'BR', history: seen }).decision).toBe('step-up');
  });

  it('does not step up again when the sign-in already used a second factor', () => {
    expect(localRiskDecision({ stage: 'sign-in', amr: ['fed', 'mfa'], country: 'BR', history: seen })).toEqual({
      decision: 'allow',
      reasons: ['LOCAL.NEW_COUNTRY'],
    });
  });

  it('cannot judge the country when it is unknown now or was never known', () => {
    expect(localRiskDecision({ stage: 'sign-in', amr: ['pwd'], history: seen }).decision).toBe('allow');
    expect(localRiskDecision({ stage: 'sign-in', amr: ['pwd'], country: 'BR', history: { ...seen, countries: [] } }).decision).toBe(
      'allow',
    );
  });
});
