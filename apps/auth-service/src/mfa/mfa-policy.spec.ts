import { ROLES } from '@traceo/security';
import { ACR_MFA, ACR_PASSWORD, authenticationContext, MFA_REQUIRED_BY_ROLE, mfaRequiredForRoles } from './mfa-policy';

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
