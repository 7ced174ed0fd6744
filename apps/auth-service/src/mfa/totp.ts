import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { base32Decode, base32Encode } from './base32';
import { InvalidMfaParametersError, InvalidTotpSecretError } from './mfa.errors';

/** HMAC functions RFC 6238 §1.2 allows. Names as the otpauth `algorithm` parameter spells them. */
export const TOTP_ALGORITHMS = ['SHA1', 'SHA256', 'SHA512'] as const;
export type TotpAlgorithm = (typeof TOTP_ALGORITHMS)[number];

const NODE_HASH: Readonly<Record<TotpAlgorithm, string>> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };
/** HMAC output length per algorithm; also the default secret length (RFC 4226 §4 R6 asks for ≥ 128 bits, recommends 160). */
const HMAC_BYTES: Readonly<Record<TotpAlgorithm, number>> = { SHA1: 20, SHA256: 32, SHA512: 64 };
const MIN_SECRET_BYTES = 20;

export interface TotpParameters {
  readonly algorithm: TotpAlgorithm;
  /** 6–8 (RFC 4226 §5.3 requires at least 6; 10^8 still fits the 31-bit truncated value). */
  readonly digits: number;
  /** Time step in seconds (RFC 6238 §5.2 recommends 30). */
  readonly period: number;
}

/** What every mainstream authenticator app supports; other values silently fall back to these in some apps. */
export const DEFAULT_TOTP_PARAMETERS: TotpParameters = Object.freeze({ algorithm: 'SHA1', digits: 6, period: 30 });

export function assertTotpParameters(parameters: TotpParameters): void {
  if (!TOTP_ALGORITHMS.includes(parameters.algorithm)) throw new InvalidMfaParametersError('Unsupported TOTP algorithm');
  if (!Number.isInteger(parameters.digits) || parameters.digits < 6 || parameters.digits > 8) {
    throw new InvalidMfaParametersError('TOTP digits must be 6, 7 or 8');
  }
  if (!Number.isInteger(parameters.period) || parameters.period < 15 || parameters.period > 300) {
    throw new InvalidMfaParametersError('TOTP period must be an integer between 15 and 300 seconds');
  }
}

/** A fresh random secret, base32 without padding: as long as the HMAC output, never under 160 bits. */
export function generateTotpSecret(algorithm: TotpAlgorithm = DEFAULT_TOTP_PARAMETERS.algorithm): string {
  return base32Encode(randomBytes(Math.max(HMAC_BYTES[algorithm], MIN_SECRET_BYTES)));
}

/** Decodes a stored base32 secret and refuses one shorter than 128 bits (RFC 4226 §4 R6). */
export function decodeTotpSecret(secret: string): Buffer {
  const key = base32Decode(secret);
  if (key.length < 16) throw new InvalidTotpSecretError('The TOTP secret is shorter than 128 bits');
  return key;
}

/** RFC 4226 §5.3 dynamic truncation: a 31-bit integer from the HMAC, before the decimal reduction. */
export function dynamicTruncate(hmac: Uint8Array): number {
  const offset = hmac[hmac.length - 1]! & 0x0f;
  return ((hmac[offset]! & 0x7f) << 24) | (hmac[offset + 1]! << 16) | (hmac[offset + 2]! << 8) | hmac[offset + 3]!;
}

/** RFC 4226 HOTP over an 8-byte big-endian counter, zero-padded to `digits`. */
export function hotp(key: Uint8Array, counter: number | bigint, digits: number, algorithm: TotpAlgorithm = 'SHA1'): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const hmac = createHmac(NODE_HASH[algorithm], key).update(message).digest();
  return String(dynamicTruncate(hmac) % 10 ** digits).padStart(digits, '0');
}

/** RFC 6238 §4.2 time step T = floor((unixTime - T0) / X) with T0 = 0. */
export function timeStepAt(unixSeconds: number, period: number): number {
  return Math.floor(unixSeconds / period);
}

/** The TOTP value at a Unix time in seconds. */
export function totpAt(key: Uint8Array, unixSeconds: number, parameters: TotpParameters = DEFAULT_TOTP_PARAMETERS): string {
  return hotp(key, timeStepAt(unixSeconds, parameters.period), parameters.digits, parameters.algorithm);
}

export interface TotpCheck {
  /** Base32 secret as stored for the enrollment. */
  readonly secret: string;
  readonly parameters: TotpParameters;
  /** The code as the person typed it; spaces are ignored, anything else non-numeric is refused. */
  readonly code: unknown;
  /** Unix time in milliseconds. */
  readonly now: number;
  /** Steps accepted either side of the current one (clock drift). Default 1: the previous, current and next 30 s. */
  readonly window?: number;
  /** The last step accepted for this enrollment; a code at or before it is a replay. */
  readonly lastUsedStep?: number | null;
}

export type TotpCheckResult =
  { readonly ok: true; readonly step: number } | { readonly ok: false; readonly reason: 'malformed' | 'invalid' | 'replayed' };

export const DEFAULT_TOTP_WINDOW = 1;
const MAX_TOTP_WINDOW = 10;

/**
 * Checks a code against every step in the drift window. Each candidate is compared in constant time
 * and the loop never exits early, so timing reveals neither whether nor where a code matched. A code
 * that matches only steps at or before `lastUsedStep` is a replay (RFC 6238 §5.2: a verifier must not
 * accept the same OTP twice). Never throws for bad user input; throws for a bad stored secret.
 */
export function checkTotp(check: TotpCheck): TotpCheckResult {
  const { parameters } = check;
  assertTotpParameters(parameters);
  const window = check.window ?? DEFAULT_TOTP_WINDOW;
  if (!Number.isInteger(window) || window < 0 || window > MAX_TOTP_WINDOW) {
    throw new InvalidMfaParametersError(`The TOTP drift window must be an integer between 0 and ${MAX_TOTP_WINDOW}`);
  }
  const key = decodeTotpSecret(check.secret);
  const code = normaliseOtp(check.code, parameters.digits);
  if (code === undefined) return { ok: false, reason: 'malformed' };

  const current = timeStepAt(Math.floor(check.now / 1000), parameters.period);
  const lastUsed = check.lastUsedStep ?? -1;
  let accepted = -1;
  let replayed = false;
  for (let step = current - window; step <= current + window; step++) {
    if (step < 0) continue;
    const matches = timingSafeEqual(Buffer.from(hotp(key, step, parameters.digits, parameters.algorithm)), code);
    if (matches && step > lastUsed) accepted = Math.max(accepted, step);
    if (matches && step <= lastUsed) replayed = true;
  }
  if (accepted >= 0) return { ok: true, step: accepted };
  return { ok: false, reason: replayed ? 'replayed' : 'invalid' };
}

/** ASCII digits of exactly the expected length, spaces removed; anything else is undefined. */
function normaliseOtp(code: unknown, digits: number): Buffer | undefined {
  if (typeof code !== 'string' || code.length > 32) return undefined;
  const compact = code.replace(/ /g, '');
  if (compact.length !== digits || !/^[0-9]+$/.test(compact)) return undefined;
  return Buffer.from(compact, 'ascii');
}
