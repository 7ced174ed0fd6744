import type { Role } from '@traceo/security';

/**
 * Which roles must sign in with a second factor. A Record over every role, so adding a role to
 * libs/security does not compile until someone decides here. Everything beyond one's own profile
 * needs MFA: key-user because it can decrypt, auditor because it reads and exports the audit log.
 * `service` never signs in interactively (client credentials).
 */
export const MFA_REQUIRED_BY_ROLE: Readonly<Record<Role, boolean>> = Object.freeze({
  'platform-admin': true,
  'key-admin': true,
  'key-user': true,
  auditor: true,
  'security-analyst': true,
  'compliance-officer': true,
  'end-user': false,
  service: false,
});

/** Whether any of the roles requires MFA. Unknown role names grant nothing and so require nothing. */
export function mfaRequiredForRoles(roles: Iterable<string>): boolean {
  for (const role of roles) if (Object.hasOwn(MFA_REQUIRED_BY_ROLE, role) && MFA_REQUIRED_BY_ROLE[role as Role]) return true;
  return false;
}

/** `amr` values (RFC 8176 §2): password, one-time password (RFC 4226/6238; recovery codes too), federated sign-in. */
export type AuthenticationMethod = 'pwd' | 'otp' | 'fed';

/**
 * `acr` values Traceo issues, weakest first. Private URNs because no registered value fits: TOTP is
 * multi-factor but not phishing-resistant, so the OpenID EAP `phr`/`phrh` values would overstate it.
 */
export const ACR_VALUES = ['urn:traceo:acr:pwd', 'urn:traceo:acr:mfa'] as const;
export type AcrValue = (typeof ACR_VALUES)[number];
export const ACR_PASSWORD: AcrValue = 'urn:traceo:acr:pwd';
export const ACR_MFA: AcrValue = 'urn:traceo:acr:mfa';

export interface AuthenticationContext {
  readonly amr: readonly AuthenticationMethod[];
  readonly acr: AcrValue;
}

const AMR_ORDER: readonly AuthenticationMethod[] = ['pwd', 'fed', 'otp'];

/** The `amr` and `acr` claims for what the person just did: `['pwd', 'otp']` is MFA, `['pwd']` is not. */
export function authenticationContext(methods: Iterable<AuthenticationMethod>): AuthenticationContext {
  const used = new Set(methods);
  const amr = AMR_ORDER.filter((method) => used.has(method));
  const firstFactor = used.has('pwd') || used.has('fed');
  return { amr, acr: firstFactor && used.has('otp') ? ACR_MFA : ACR_PASSWORD };
}
