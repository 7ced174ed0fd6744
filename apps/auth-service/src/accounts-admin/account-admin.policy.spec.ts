import { PLATFORM_TENANT } from '@traceo/contracts';
import type { Role } from '@traceo/security';
import { assertNotSelf, assertPlatformKeepsAnAdmin, currentCaller, rolesAfter, sameRoles, type Caller } from './account-admin.policy';

const admin: Caller = { subject: 'admin-1', roles: ['platform-admin'] };
/** A caller allowed to manage roles without being a platform-admin (no such role exists today). */
const delegate: Caller = { subject: 'delegate-1', roles: ['security-analyst'] };

describe('account administration rules', () => {
  describe('self-change', () => {
    it('refuses a change of the caller’s own account with AUTH.SELF_CHANGE_FORBIDDEN', () => {
      expect(() => assertNotSelf(admin, 'admin-1')).toThrow(expect.objectContaining({ code: 'AUTH.SELF_CHANGE_FORBIDDEN', status: 403 }));
    });

    it('allows a change of another account', () => {
      expect(() => assertNotSelf(admin, 'someone-else')).not.toThrow();
    });
  });

  describe('the calling account as it is now', () => {
    it('goes on with the account’s current roles, not the token’s', () => {
      const tokenSaysMore: Caller = { subject: 'admin-1', roles: ['platform-admin', 'auditor'] };
      expect(currentCaller(tokenSaysMore, { roles: ['platform-admin'], disabled: false }, 'auth:roles:manage').roles).toEqual([
        'platform-admin',
      ]);
    });

    it('refuses with AUTH.CALLER_NOT_ACTIVE an account disabled, demoted or gone since its token was issued', () => {
      for (const state of [
        { roles: ['platform-admin'] as Role[], disabled: true },
        { roles: ['auditor'] as Role[], disabled: false },
        undefined,
      ])
        expect(() => currentCaller(admin, state, 'auth:users:manage')).toThrow(
          expect.objectContaining({ code: 'AUTH.CALLER_NOT_ACTIVE', status: 403 }),
        );
    });
  });

  describe('roles after a change', () => {
    it('adds granted roles once, in the declared role order', () => {
      expect(rolesAfter(['end-user'], { kind: 'grant', roles: ['auditor', 'key-user', 'auditor'] }, admin)).toEqual([
        'key-user',
        'auditor',
        'end-user',
      ]);
    });

    it('removes revoked roles and ignores ones the account does not hold', () => {
      expect(rolesAfter(['key-user', 'auditor', 'end-user'], { kind: 'revoke', roles: ['auditor', 'key-admin'] }, admin)).toEqual([
        'key-user',
        'end-user',
      ]);
    });

    it('lets a platform-admin grant platform-admin', () => {
      expect(rolesAfter(['end-user'], { kind: 'grant', roles: ['platform-admin'] }, admin)).toEqual(['platform-admin', 'end-user']);
    });

    it('refuses platform-admin granted by a caller who is not one', () => {
      expect(() => rolesAfter(['end-user'], { kind: 'grant', roles: ['platform-admin'] }, delegate)).toThrow(
        expect.objectContaining({ code: 'AUTH.PLATFORM_ADMIN_GRANT_FORBIDDEN', status: 403 }),
      );
    });

    it('lets anyone with the permission revoke platform-admin, or re-grant other roles to a platform-admin', () => {
      expect(rolesAfter(['platform-admin'], { kind: 'revoke', roles: ['platform-admin'] }, delegate)).toEqual([]);
      expect(rolesAfter(['platform-admin'], { kind: 'grant', roles: ['platform-admin', 'auditor'] }, delegate)).toEqual([
        'platform-admin',
        'auditor',
      ]);
    });

    it('never grants the machine role service to an account, but lets it be revoked', () => {
      expect(() => rolesAfter(['end-user'], { kind: 'grant', roles: ['service'] }, admin)).toThrow(
        expect.objectContaining({ code: 'AUTH.ROLE_NOT_GRANTABLE', status: 400 }),
      );
      expect(rolesAfter(['service', 'end-user'], { kind: 'revoke', roles: ['service'] }, admin)).toEqual(['end-user']);
    });

    it('compares role sets regardless of order', () => {
      expect(sameRoles(['auditor', 'end-user'], ['end-user', 'auditor'])).toBe(true);
      expect(sameRoles(['auditor'], ['auditor', 'end-user'])).toBe(false);
    });
  });

  describe('the platform tenant keeps an enabled platform-admin', () => {
    const adminState = { roles: ['platform-admin'] as Role[], disabled: false };
    const demoted = { roles: [] as Role[], disabled: false };
    const disabled = { ...adminState, disabled: true };

    it('refuses demoting or disabling its last enabled platform-admin with AUTH.LAST_PLATFORM_ADMIN', () => {
      for (const after of [demoted, disabled])
        expect(() => assertPlatformKeepsAnAdmin(PLATFORM_TENANT, adminState, after, 0)).toThrow(
          expect.objectContaining({ code: 'AUTH.LAST_PLATFORM_ADMIN', status: 409 }),
        );
    });

    it('allows it while another enabled platform-admin remains', () => {
      expect(() => assertPlatformKeepsAnAdmin(PLATFORM_TENANT, adminState, demoted, 1)).not.toThrow();
    });

    it('allows changes that keep the account an enabled platform-admin, and changes of other accounts', () => {
      expect(() =>
        assertPlatformKeepsAnAdmin(PLATFORM_TENANT, adminState, { ...adminState, roles: ['platform-admin', 'auditor'] }, 0),
      ).not.toThrow();
      expect(() => assertPlatformKeepsAnAdmin(PLATFORM_TENANT, { roles: ['auditor'], disabled: false }, demoted, 0)).not.toThrow();
      // A disabled platform-admin is not one that could act: enabling or demoting it changes nothing.
      expect(() => assertPlatformKeepsAnAdmin(PLATFORM_TENANT, disabled, { roles: [], disabled: true }, 0)).not.toThrow();
    });

    it('does not apply to other tenants', () => {
      expect(() => assertPlatformKeepsAnAdmin('acme', adminState, demoted, 0)).not.toThrow();
    });
  });
});
