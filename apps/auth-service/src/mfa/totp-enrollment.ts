import { buildOtpauthUri } from './otpauth-uri';
import {
  assertTotpParameters,
  checkTotp,
  DEFAULT_TOTP_PARAMETERS,
  DEFAULT_TOTP_WINDOW,
  generateTotpSecret,
  type TotpParameters,
} from './totp';

/** How long a person has to scan the QR code and type the first code. */
export const TOTP_ENROLLMENT_TTL_MS = 10 * 60 * 1000;

/** An enrollment shown to the person but not yet proven; store it (secret encrypted) until confirmed or expired. */
export interface PendingTotpEnrollment {
  /** Base32 secret, to show as text beside the QR code for manual entry. */
  readonly secret: string;
  readonly parameters: TotpParameters;
  /** The otpauth:// Key URI to render as a QR code. */
  readonly uri: string;
  /** Unix milliseconds. */
  readonly expiresAt: number;
}

export interface StartTotpEnrollmentInput {
  readonly issuer: string;
  readonly accountName: string;
  readonly parameters?: TotpParameters;
  /** Unix milliseconds. */
  readonly now: number;
  readonly ttlMs?: number;
}

/** A new secret and its Key URI. Nothing is active until `confirmTotpEnrollment` sees a valid code. */
export function startTotpEnrollment(input: StartTotpEnrollmentInput): PendingTotpEnrollment {
  const parameters = input.parameters ?? DEFAULT_TOTP_PARAMETERS;
  assertTotpParameters(parameters);
  const secret = generateTotpSecret(parameters.algorithm);
  const uri = buildOtpauthUri({ secret, issuer: input.issuer, accountName: input.accountName, parameters });
  return { secret, parameters, uri, expiresAt: input.now + (input.ttlMs ?? TOTP_ENROLLMENT_TTL_MS) };
}

export type TotpEnrollmentConfirmation =
  | {
      readonly ok: true;
      readonly secret: string;
      readonly parameters: TotpParameters;
      /** Seed the replay store with it so the confirming code cannot also sign in. */
      readonly lastUsedStep: number;
    }
  | { readonly ok: false; readonly reason: 'expired' | 'malformed' | 'invalid' };

/**
 * Proves the person's app holds the secret and its clock agrees with ours: the first code must verify
 * within the normal drift window before the factor becomes active. Count failures with the MFA throttle.
 */
export function confirmTotpEnrollment(
  pending: PendingTotpEnrollment,
  code: unknown,
  now: number,
  window = DEFAULT_TOTP_WINDOW,
): TotpEnrollmentConfirmation {
  if (now >= pending.expiresAt) return { ok: false, reason: 'expired' };
  const result = checkTotp({ secret: pending.secret, parameters: pending.parameters, code, now, window });
  if (!result.ok) return { ok: false, reason: result.reason === 'malformed' ? 'malformed' : 'invalid' };
  return { ok: true, secret: pending.secret, parameters: pending.parameters, lastUsedStep: result.step };
}
