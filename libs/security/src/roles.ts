/**
 * Roles a principal can hold and the permissions each grants. Deny by default: a permission is
 * granted only when one of the principal's roles lists it; unknown roles grant nothing.
 * docs/security.md explains each permission and why it sits where it does.
 */
export const ROLES = [
  'platform-admin',
  'key-admin',
  'key-user',
  'auditor',
  'security-analyst',
  'compliance-officer',
  'end-user',
  'service',
] as const;

export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  // encryption-service (fixed by the key-management design; key custodians never see plaintext)
  'crypto:keys:manage', // create keyrings, rotate, retire, destroy, change wrapping or policy, shred subjects
  'crypto:keys:read', // key metadata, versions, usage counters, HSM facts
  'crypto:encrypt',
  'crypto:decrypt',
  'crypto:tokens', // blind-index search tokens and range query tokens
  'crypto:subject-keys:provision', // create subject keyrings (one key per data subject), nothing else
  'crypto:subject-keys:lease', // take subject keys to seal with in process; also needs TRACEO_SUBJECT_KEY_LEASE_CLIENTS
  'crypto:subjects:shred', // crypto-shred a data subject (erasure requests)
  // audit-service
  'audit:read', // records, forensic search, checkpoints and proofs
  'audit:export', // NDJSON and SIEM export
  'audit:manage', // retention and legal holds
  // risk-service
  'risk:assess', // submit signals and ask for a risk score
  'risk:read', // scores, signals and alerts
  'risk:manage', // rules, thresholds, allow and block lists
  // compliance-service
  'compliance:read', // control status, reports, evidence
  'compliance:manage', // frameworks, controls, policies
  'compliance:subject-requests', // data-subject requests (access, erasure) on a subject's behalf
  // auth-service administration
  'auth:self', // one's own profile, sessions and MFA factors
  'auth:users:read',
  'auth:users:manage', // create, disable, reset MFA
  'auth:roles:manage', // grant and revoke roles
  'auth:clients:manage', // OAuth clients and machine credentials
  'auth:sessions:revoke', // revoke anyone's sessions (incident response)
] as const;

export type Permission = (typeof PERMISSIONS)[number];

const HUMAN_SELF: readonly Permission[] = ['auth:self'];

/** The one role→permission map. Frozen: nothing at run time can widen a role. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = Object.freeze({
  'platform-admin': Object.freeze<Permission[]>([
    ...HUMAN_SELF,
    'audit:manage',
    'auth:users:read',
    'auth:users:manage',
    'auth:roles:manage',
    'auth:clients:manage',
    'auth:sessions:revoke',
  ]),
  'key-admin': Object.freeze<Permission[]>([
    ...HUMAN_SELF,
    'crypto:keys:manage',
    'crypto:keys:read',
    'crypto:subject-keys:provision',
    'crypto:subjects:shred',
  ]),
  'key-user': Object.freeze<Permission[]>([...HUMAN_SELF, 'crypto:keys:read', 'crypto:encrypt', 'crypto:decrypt', 'crypto:tokens']),
  auditor: Object.freeze<Permission[]>([
    ...HUMAN_SELF,
    'crypto:keys:read',
    'audit:read',
    'audit:export',
    'risk:read',
    'compliance:read',
    'auth:users:read',
  ]),
  'security-analyst': Object.freeze<Permission[]>([
    ...HUMAN_SELF,
    'audit:read',
    'risk:read',
    'risk:manage',
    'auth:users:read',
    'auth:sessions:revoke',
  ]),
  'compliance-officer': Object.freeze<Permission[]>([
    ...HUMAN_SELF,
    'compliance:read',
    'compliance:manage',
    'compliance:subject-requests',
    'crypto:subjects:shred',
  ]),
  'end-user': Object.freeze<Permission[]>([...HUMAN_SELF]),
  service: Object.freeze<Permission[]>([
    'crypto:keys:read',
    'crypto:encrypt',
    'crypto:decrypt',
    'crypto:tokens',
    'crypto:subject-keys:provision',
    'crypto:subject-keys:lease',
    'risk:assess',
  ]),
});

const ROLE_SET: ReadonlySet<string> = new Set(ROLES);

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && ROLE_SET.has(value);
}

/** Known roles among `candidates`, deduplicated, in declaration order. Anything else is dropped. */
export function knownRoles(candidates: Iterable<unknown>): Role[] {
  const present = new Set<unknown>(candidates);
  return ROLES.filter((role) => present.has(role));
}

/** Union of the permissions of the given roles. */
export function permissionsOf(roles: readonly Role[]): Set<Permission> {
  const granted = new Set<Permission>();
  for (const role of roles) for (const permission of ROLE_PERMISSIONS[role]) granted.add(permission);
  return granted;
}

const PERMISSION_SET: ReadonlySet<string> = new Set(PERMISSIONS);

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && PERMISSION_SET.has(value);
}

/**
 * What a token may do: its roles' permissions, narrowed by its scopes. Every permission is also an
 * OAuth scope of the Traceo APIs (auth-service offers them beside `api`); a token whose `scope` names
 * any of them holds only those of its roles' permissions it names, so a client can ask for less than
 * its user or its machine role could do. Scopes never add: a scope its roles do not grant is ignored,
 * and a token whose scopes name no permission (`api`, `openid`, …) holds all its roles' permissions.
 */
export function effectivePermissions(roles: readonly Role[], scopes: readonly string[] = []): Set<Permission> {
  const granted = permissionsOf(roles);
  const named = scopes.filter(isPermission);
  if (named.length === 0) return granted;
  return new Set(named.filter((permission) => granted.has(permission)));
}
