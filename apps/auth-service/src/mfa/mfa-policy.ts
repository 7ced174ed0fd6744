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

/** How long a completed second factor satisfies a risk-service step-up request, so one prompt does not loop. */
export const RISK_STEP_UP_FRESHNESS_SECONDS = 5 * 60;

export interface StepUpInput {
  readonly session: {
    readonly acr: string;
    /** Unix seconds of the last full sign-in (`auth_time`). */
    readonly authTime: number;
    /** Unix seconds of the last second factor in this session, if any. */
    readonly mfaAt?: number | null;
  };
  readonly roles: Iterable<string>;
  /** Whether the account has a confirmed TOTP factor. */
  readonly mfaEnrolled: boolean;
  /** The request's `acr_values`, already split on spaces. Unknown values are ignored (OIDC Core §3.1.2.1: voluntary). */
  readonly requestedAcr?: readonly string[];
  /** The request's `max_age` in seconds. */
  readonly maxAge?: number;
  /** The risk service's decision for this sign-in or refresh, or the local fallback's. */
  readonly risk?: 'allow' | 'step-up' | 'deny';
  /** Unix milliseconds. */
  readonly now: number;
}

export type StepUpReason = 'role-requires-mfa' | 'acr-requested' | 'risk';

export type StepUpDecision =
  | { readonly action: 'proceed' }
  | { readonly action: 'deny' }
  /** `max_age` has passed: a full sign-in, not just a second factor. */
  | { readonly action: 'reauthenticate' }
  /** A second factor is required (role or risk) but the account has none: enroll one first. */
  | { readonly action: 'enroll-mfa'; readonly reasons: readonly StepUpReason[] }
  | { readonly action: 'mfa'; readonly reasons: readonly StepUpReason[] };

/**
 * What the sign-in or token flow must do before issuing tokens: deny, ask for a full sign-in, ask for
 * (or first enroll) a second factor, or proceed. After a step-up, issue `acr` = ACR_MFA and `amr` with 'otp'.
 */
export function decideStepUp(input: StepUpInput): StepUpDecision {
  if (input.risk === 'deny') return { action: 'deny' };
  const nowSeconds = Math.floor(input.now / 1000);
  if (input.maxAge !== undefined && nowSeconds - input.session.authTime > input.maxAge) return { action: 'reauthenticate' };

  const hasMfa = input.session.acr === ACR_MFA;
  const reasons: StepUpReason[] = [];
  if (!hasMfa && mfaRequiredForRoles(input.roles)) reasons.push('role-requires-mfa');
  if (!hasMfa && requestedLevel(input.requestedAcr) > 0) reasons.push('acr-requested');
  const mfaAt = input.session.mfaAt ?? undefined;
  const freshMfa = mfaAt !== undefined && nowSeconds - mfaAt <= RISK_STEP_UP_FRESHNESS_SECONDS;
  if (input.risk === 'step-up' && !freshMfa) reasons.push('risk');

  if (reasons.length === 0) return { action: 'proceed' };
  if (input.mfaEnrolled) return { action: 'mfa', reasons };
  // acr_values alone is a wish: without a factor the ID token carries the lower acr and the client decides.
  return reasons.every((reason) => reason === 'acr-requested') ? { action: 'proceed' } : { action: 'enroll-mfa', reasons };
}

/** The weakest level among the known requested values (any of them satisfies the request); 0 when none is known. */
function requestedLevel(requested: readonly string[] | undefined): number {
  const levels = (requested ?? []).map((value) => ACR_VALUES.indexOf(value as AcrValue)).filter((level) => level >= 0);
  return levels.length === 0 ? 0 : Math.min(...levels);
}
