import { InvalidOtpauthLabelError } from './mfa.errors';
import { assertTotpParameters, DEFAULT_TOTP_PARAMETERS, type TotpParameters } from './totp';

export interface OtpauthUriInput {
  /** Base32 secret without padding. */
  readonly secret: string;
  /** Who issues the factor, shown above the code in the app (e.g. "Traceo" or "Traceo (acme)"). */
  readonly issuer: string;
  /** The account the code belongs to, usually the login name or e-mail. */
  readonly accountName: string;
  readonly parameters?: TotpParameters;
}

const MAX_LABEL_PART = 256;

/**
 * The Key URI an authenticator app scans:
 * `otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30`.
 * Issuer and account are percent-encoded separately (RFC 3986, space as %20, never "+") and joined
 * by a literal colon; the issuer is repeated as a parameter, which apps prefer over the label prefix.
 */
export function buildOtpauthUri(input: OtpauthUriInput): string {
  const parameters = input.parameters ?? DEFAULT_TOTP_PARAMETERS;
  assertTotpParameters(parameters);
  const issuer = labelPart(input.issuer, 'issuer');
  const account = labelPart(input.accountName, 'account name');
  const query = [
    ['secret', input.secret],
    ['issuer', issuer],
    ['algorithm', parameters.algorithm],
    ['digits', String(parameters.digits)],
    ['period', String(parameters.period)],
  ]
    .map(([name, value]) => `${name}=${percentEncode(value!)}`)
    .join('&');
  return `otpauth://totp/${percentEncode(issuer)}:${percentEncode(account)}?${query}`;
}

/** Neither part may contain a colon (the label separator), control characters, or be blank. */
function labelPart(value: string, what: string): string {
  const trimmed = value.normalize('NFC').trim();
  if (trimmed.length === 0 || trimmed.length > MAX_LABEL_PART)
    throw new InvalidOtpauthLabelError(`The ${what} must be 1–${MAX_LABEL_PART} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[:\u0000-\u001f\u007f]/.test(trimmed))
    throw new InvalidOtpauthLabelError(`The ${what} must not contain a colon or control characters`);
  return trimmed;
}

/** RFC 3986 percent-encoding of everything but unreserved characters (encodeURIComponent leaves !'()* alone). */
function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}
