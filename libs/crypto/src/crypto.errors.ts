export type CryptoErrorCode =
  'CRYPTO.INTEGRITY_CHECK_FAILED' | 'CRYPTO.UNSUPPORTED_FORMAT' | 'CRYPTO.BAD_INPUT' | 'CRYPTO.KEY_COMMITMENT_MISMATCH';

/**
 * Every failure of this lib. `INTEGRITY_CHECK_FAILED`: an authentication tag did not verify (tampered
 * bytes, wrong context, wrong key). `KEY_COMMITMENT_MISMATCH`: the ciphertext is not committed to the
 * supplied key. `UNSUPPORTED_FORMAT`: unknown version or algorithm, or bytes that do not parse.
 * `BAD_INPUT`: an argument no operation could accept (key length, empty value, out-of-range integer).
 *
 * Messages never carry key bytes, plaintext or derived secrets, so they are safe to log; a plain
 * class with a stable code, mapped per transport like any other domain error.
 */
export class CryptoError extends Error {
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
