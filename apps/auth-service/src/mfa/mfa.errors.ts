import { TraceoError } from '@traceo/contracts';

/** A stored TOTP secret or enrollment is unusable (bad base32, too short, unknown algorithm). A data or wiring fault, not user input. */
export class InvalidTotpSecretError extends TraceoError {
  readonly code = 'AUTH.MFA_INVALID_SECRET';
  readonly status = 500;
}

/** TOTP or recovery-code parameters outside what this module supports (digits, period, algorithm, counts). */
export class InvalidMfaParametersError extends TraceoError {
  readonly code = 'AUTH.MFA_INVALID_PARAMETERS';
  readonly status = 400;
}

/** An otpauth label part contains a character the Key URI format forbids (a colon). */
export class InvalidOtpauthLabelError extends TraceoError {
  readonly code = 'AUTH.MFA_INVALID_LABEL';
  readonly status = 400;
}
