import { ROLES } from '@traceo/security';
import {
  ACR_MFA,
  ACR_PASSWORD,
  authenticationContext,
  decideStepUp,
  MFA_REQUIRED_BY_ROLE,
  mfaRequiredForRoles,
  type StepUpInput,
} from './mfa-policy';

describe('MFA required for roles', () => {
  it('covers every role defined in libs/security', () => {
    expect(Object.keys(MFA_REQUIRED_BY_ROLE).sort()).toEqual([...ROLES].sort());
  });

  it.each(['platform-admin', 'key-admin', 'key-user', 'auditor', 'security-analyst', 'compliance-officer'])(
    'requires MFA for %s',
    (role) => {
      expect(mfaRequiredForRoles([role])).toBe(true);
      expect(mfaRequiredForRoles(['end-user', role])).toBe(true);
    },
  );

  it.each([[['end-user']], [['service']], [[]], [['toString']], [['made-up-admin']]])('does not require MFA for %j', (roles) => {
    expect(mfaRequiredForRoles(roles)).toBe(false);
  });
});

describe('authenticationContext', () => {
  it('password alone is acr pwd with amr ["pwd"]', () => {
    expect(authenticationContext(['pwd'])).toEqual({ amr: ['pwd'], acr: ACR_PASSWORD });
  });

  it('password and TOTP is acr mfa with amr ["pwd", "otp"], whatever the order', () => {
    expect(authenticationContext(['otp', 'pwd', 'otp'])).toEqual({ amr: ['pwd', 'otp'], acr: ACR_MFA });
  });

  it('federation plus a local TOTP is MFA; a TOTP alone is not', () => {
    expect(authenticationContext(['fed', 'otp'])).toEqual({ amr: ['fed', 'otp'], acr: ACR_MFA });
    expect(authenticationContext(['otp'])).toEqual({ amr: ['otp'], acr: ACR_PASSWORD });
  });
});

describe('decideStepUp', () => {
  const now = 1_764_000_000_000;
  const nowSeconds = now / 1000;
  const base: StepUpInput = {
    session: { acr: ACR_PASSWORD, authTime: nowSeconds - 60 },
    roles: ['end-user'],
    mfaEnrolled: true,
    now,
  };

  it('lets an end user with a password session proceed', () => {
    expect(decideStepUp(base)).toEqual({ action: 'proceed' });
  });

  it('asks an admin with a password-only session for a second factor', () => {
    expect(decideStepUp({ ...base, roles: ['key-admin'] })).toEqual({ action: 'mfa', reasons: ['role-requires-mfa'] });
  });

  it('sends an admin without a factor to enrollment', () => {
    expect(decideStepUp({ ...base, roles: ['platform-admin'], mfaEnrolled: false })).toEqual({
      action: 'enroll-mfa',
      reasons: ['role-requires-mfa'],
    });
  });

  it('lets an admin with an MFA session proceed', () => {
    expect(decideStepUp({ ...base, roles: ['key-admin'], session: { ...base.session, acr: ACR_MFA, mfaAt: nowSeconds - 3600 } })).toEqual({
      action: 'proceed',
    });
  });

  it('honours acr_values asking for MFA when the account has a factor, and ignores unknown values', () => {
    expect(decideStepUp({ ...base, requestedAcr: ['urn:traceo:acr:mfa'] })).toEqual({ action: 'mfa', reasons: ['acr-requested'] });
    expect(decideStepUp({ ...base, requestedAcr: ['urn:traceo:acr:pwd', 'urn:traceo:acr:mfa'] })).toEqual({ action: 'proceed' });
    expect(decideStepUp({ ...base, requestedAcr: ['urn:example:gold'] })).toEqual({ action: 'proceed' });
  });

  it('does not force enrollment for acr_values alone (the ID token carries the lower acr)', () => {
    expect(decideStepUp({ ...base, mfaEnrolled: false, requestedAcr: ['urn:traceo:acr:mfa'] })).toEqual({ action: 'proceed' });
  });

  it('asks for a fresh second factor when the risk service asks for step-up, even in an MFA session', () => {
    const mfaSession = { acr: ACR_MFA, authTime: nowSeconds - 7200, mfaAt: nowSeconds - 3600 };
    expect(decideStepUp({ ...base, session: mfaSession, risk: 'step-up' })).toEqual({ action: 'mfa', reasons: ['risk'] });
  });

  it('does not loop: a second factor within five minutes satisfies a risk step-up', () => {
    const justStepped = { acr: ACR_MFA, authTime: nowSeconds - 7200, mfaAt: nowSeconds - 300 };
    expect(decideStepUp({ ...base, session: justStepped, risk: 'step-up' })).toEqual({ action: 'proceed' });
  });

  it('sends a user without a factor to enrollment when risk asks for step-up', () => {
    expect(decideStepUp({ ...base, mfaEnrolled: false, risk: 'step-up' })).toEqual({ action: 'enroll-mfa', reasons: ['risk'] });
  });

  it('denies when the risk service denies, before anything else', () => {
    expect(decideStepUp({ ...base, roles: ['key-admin'], maxAge: 0, risk: 'deny' })).toEqual({ action: 'deny' });
  });

  it('requires a full sign-in once max_age has passed', () => {
    expect(decideStepUp({ ...base, maxAge: 59 })).toEqual({ action: 'reauthenticate' });
    expect(decideStepUp({ ...base, maxAge: 60 })).toEqual({ action: 'proceed' });
  });

  it('collects every reason that applies', () => {
    expect(decideStepUp({ ...base, roles: ['auditor'], requestedAcr: ['urn:traceo:acr:mfa'], risk: 'step-up' })).toEqual({
      action: 'mfa',
      reasons: ['role-requires-mfa', 'acr-requested', 'risk'],
    });
  });
});
