import { TraceoError } from '@traceo/contracts';

/** The access token was not issued after a second factor (`acr` is not urn:traceo:acr:mfa). */
export class MfaRequiredError extends TraceoError {
  readonly code = 'AUTH.MFA_REQUIRED';
  readonly status = 403;
}

/** Recovery codes stand in for a TOTP factor the account does not have. */
export class MfaNotEnrolledError extends TraceoError {
  readonly code = 'AUTH.MFA_NOT_ENROLLED';
  readonly status = 409;
}
