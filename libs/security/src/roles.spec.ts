import { effectivePermissions, knownRoles, PERMISSIONS, permissionsOf, ROLE_PERMISSIONS, ROLES, type Permission, type Role } from './roles';

const holders = (permission: Permission): Role[] => ROLES.filter((role) => ROLE_PERMISSIONS[role].includes(permission));

describe('role → permission map', () => {
  it('gives decryption to key users and services only: never to key custodians, platform admins or auditors', () => {
    expect(holders('crypto:decrypt')).toEqual(['key-user', 'service']);
    for (const role of ['key-admin', 'platform-admin', 'auditor'] as const) expect(permissionsOf([role]).has('crypto:decrypt')).toBe(false);
  });

  it('keeps the encryption-service grants fixed by the key-management design', () => {
    expect(holders('crypto:keys:manage')).toEqual(['key-admin']);
    expect(holders('crypto:keys:read')).toEqual(['key-admin', 'key-user', 'auditor', 'service']);
    expect(holders('crypto:encrypt')).toEqual(['key-user', 'service']);
    expect(holders('crypto:tokens')).toEqual(['key-user', 'service']);
  });

  it('lets auditors read and export the audit log, analysts read it, and only platform admins manage retention', () => {
    expect(holders('audit:read')).toEqual(['auditor', 'security-analyst']);
    expect(holders('audit:export')).toEqual(['auditor']);
    expect(holders('audit:manage')).toEqual(['platform-admin']);
  });

  it('gives an end user nothing beyond their own account', () => {
    expect([...permissionsOf(['end-user'])]).toEqual(['auth:self']);
  });

  it('grants only declared permissions, and every permission to some role', () => {
    const granted = new Set(ROLES.flatMap((role) => ROLE_PERMISSIONS[role]));
    expect([...granted].every((permission) => (PERMISSIONS as readonly string[]).includes(permission))).toBe(true);
    expect(PERMISSIONS.filter((permission) => !granted.has(permission))).toEqual([]);
  });

  it('cannot be widened at run time', () => {
    expect(Object.isFrozen(ROLE_PERMISSIONS)).toBe(true);
    for (const role of ROLES) expect(Object.isFrozen(ROLE_PERMISSIONS[role])).toBe(true);
    expect(() => (ROLE_PERMISSIONS['end-user'] as Permission[]).push('crypto:decrypt')).toThrow(TypeError);
    expect(permissionsOf(['end-user']).has('crypto:decrypt')).toBe(false);
  });

  it('ignores unknown roles, including names of Object.prototype members', () => {
    expect(knownRoles(['auditor', 'root', 'constructor', '__proto__', 'hasOwnProperty', 42, null, 'auditor'])).toEqual(['auditor']);
    expect(permissionsOf(knownRoles(['constructor'])).size).toBe(0);
  });

  it('unions the permissions of several roles', () => {
    const both = permissionsOf(['key-admin', 'auditor']);
    expect(both.has('crypto:keys:manage')).toBe(true);
    expect(both.has('audit:export')).toBe(true);
    expect(both.has('crypto:decrypt')).toBe(false);
  });

  describe('scopes narrowing a token', () => {
    it('keeps all of the roles permissions when no scope names a permission', () => {
      expect(effectivePermissions(['key-user'])).toEqual(permissionsOf(['key-user']));
      expect(effectivePermissions(['key-user'], ['openid', 'api', 'offline_access'])).toEqual(permissionsOf(['key-user']));
    });

    it('holds only the named permissions the roles grant', () => {
      expect([...effectivePermissions(['key-user'], ['api', 'crypto:encrypt'])]).toEqual(['crypto:encrypt']);
      expect([...effectivePermissions(['key-admin', 'auditor'], ['audit:read', 'crypto:keys:read'])].sort()).toEqual([
        'audit:read',
        'crypto:keys:read',
      ]);
    });

    it('never adds a permission the roles do not grant', () => {
      expect(effectivePermissions(['end-user'], ['crypto:decrypt']).size).toBe(0);
      expect([...effectivePermissions(['key-user'], ['crypto:decrypt', 'crypto:keys:manage'])]).toEqual(['crypto:decrypt']);
      expect(effectivePermissions([], [...PERMISSIONS]).size).toBe(0);
    });
  });
});
