import { PLATFORM_TENANT } from '@traceo/contracts';
import { knownRoles, permissionsOf, type Permission, type Role } from '@traceo/security';
import {
  CallerNotActiveError,
  LastPlatformAdminError,
  PlatformAdminGrantForbiddenError,
  RoleNotGrantableError,
  SelfChangeForbiddenError,
} from './accounts-admin.errors';

/** Who asks for an administration change: the token's subject and roles. */
export interface Caller {
  readonly subject: string;
  readonly roles: readonly Role[];
}

export interface RoleChange {
  readonly kind: 'grant' | 'revoke';
  readonly roles: readonly Role[];
}

/** What counts of an account for the rules: its roles and whether it is disabled. */
export interface AccountState {
  readonly roles: readonly Role[];
  readonly disabled: boolean;
}

/**
 * Nobody changes their own account through the administration API: no self-escalation, no
 * re-enabling oneself with a token still valid after being disabled, no removing one's own factor
 * with a stolen session. Another administrator has to do it.
 */
export function assertNotSelf(caller: Caller, accountId: string): void {
  if (caller.subject === accountId) throw new SelfChangeForbiddenError('an administrator cannot change their own account');
}

/**
 * A calling account must still be enabled and still hold the permission now, not only when its
 * access token was issued: a demoted or disabled administrator loses this API at once rather than
 * after up to 15 minutes. Returns the caller with its current roles, which the other rules use.
 */
export function currentCaller(caller: Caller, account: AccountState | undefined, permission: Permission): Caller {
  if (!account || account.disabled || !permissionsOf(account.roles).has(permission))
    throw new CallerNotActiveError('the calling account is disabled or no longer holds this permission');
  return { ...caller, roles: account.roles };
}

/**
 * The account's roles after the change, in ROLES order. Only a platform-admin grants
 * platform-admin (today only platform-admins hold `auth:roles:manage`, so this guards a future
 * role map), and `service` is never granted to an account (it decrypts without MFA).
 */
export function rolesAfter(current: readonly Role[], change: RoleChange, caller: Caller): Role[] {
  if (change.kind === 'revoke') {
    const revoked = new Set<Role>(change.roles);
    return knownRoles(current.filter((role) => !revoked.has(role)));
  }
  if (change.roles.includes('platform-admin') && !current.includes('platform-admin') && !caller.roles.includes('platform-admin'))
    throw new PlatformAdminGrantForbiddenError('only a platform-admin may grant platform-admin');
  if (change.roles.includes('service') && !current.includes('service'))
    throw new RoleNotGrantableError('the service role is for machine clients (client credentials), not accounts');
  return knownRoles([...current, ...change.roles]);
}

const isActivePlatformAdmin = (state: AccountState) => !state.disabled && state.roles.includes('platform-admin');

/**
 * The platform tenant always keeps one enabled platform-admin account: without one, nobody could
 * manage accounts, roles or clients any more short of editing the database. Other tenants may
 * lose theirs (a platform-wide admin can still act there).
 */
export function assertPlatformKeepsAnAdmin(
  tenantId: string,
  before: AccountState,
  after: AccountState,
  otherActivePlatformAdmins: number,
): void {
  if (tenantId !== PLATFORM_TENANT || otherActivePlatformAdmins > 0) return;
  if (isActivePlatformAdmin(before) && !isActivePlatformAdmin(after))
    throw new LastPlatformAdminError('this is the last enabled platform-admin account of the platform tenant');
}

export const sameRoles = (a: readonly Role[], b: readonly Role[]): boolean => a.length === b.length && a.every((role) => b.includes(role));
