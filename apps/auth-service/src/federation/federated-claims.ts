import type { Role } from '@traceo/security';
import { ACR_MFA, authenticationContext, type AcrValue } from '../mfa';
import type { UpstreamIdp } from './upstream-idps.config';

/**
 * The roles a new federated account gets: the IdP's `default_roles` plus, for each value of the
 * `roles_claim` claim listed in `role_mapping`, the roles mapped to it. Unlisted values confer
 * nothing, so an upstream can never hand out an administrative role Traceo's configuration did not name.
 */
export function mapUpstreamRoles(idp: UpstreamIdp, claims: Readonly<Record<string, unknown>>): Role[] {
  const roles = new Set<Role>(idp.default_roles);
  const raw = idp.roles_claim ? claims[idp.roles_claim] : undefined;
  const values = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw.filter((value) => typeof value === 'string') : [];
  for (const value of values) if (Object.hasOwn(idp.role_mapping, value)) for (const mapped of idp.role_mapping[value]!) roles.add(mapped);
  return [...roles];
}

/** Whether the upstream's ID token asserts a multi-factor sign-in this IdP's configuration accepts (its `amr`, RFC 8176). */
export function upstreamAssertsMfa(idp: UpstreamIdp, claims: Readonly<Record<string, unknown>>): boolean {
  const amr = claims['amr'];
  return Array.isArray(amr) && amr.some((value) => typeof value === 'string' && idp.mfa_amr_values.includes(value));
}

/**
 * `amr`/`acr` of a federated sign-in: `['fed']` (single-factor level) alone; `['fed', 'mfa']` with
 * `urn:traceo:acr:mfa` when the upstream asserted MFA; `['fed', 'otp']` after Traceo's own TOTP.
 */
export function federatedContext(upstreamMfa: boolean, localOtp: boolean): { amr: readonly string[]; acr: AcrValue } {
  if (localOtp) return authenticationContext(['fed', 'otp']);
  if (upstreamMfa) return { amr: ['fed', 'mfa'], acr: ACR_MFA };
  return authenticationContext(['fed']);
}
