import { hkdfSync } from 'node:crypto';

import { CryptoError } from './crypto.errors';
import { assertBytes, secretKeyObject } from './encoding';

/** RFC 5869: at most 255 blocks of the hash output. */
export const HKDF_SHA256_MAX_LENGTH = 255 * 32;
/** Node (OpenSSL's HKDF provider) refuses longer `info`; derivation labels here stay far below it. */
export const HKDF_MAX_INFO_BYTES = 1024;

/**
 * HKDF-SHA256 (RFC 5869) extract-then-expand through `crypto.hkdfSync`. An empty salt means
 * HashLen zero bytes, as in the RFC. `info` may be a string (UTF-8).
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number): Buffer {
  assertBytes(ikm, 'HKDF input key material');
  assertBytes(salt, 'HKDF salt');
  const infoBytes = typeof info === 'string' ? Buffer.from(info, 'utf8') : assertBytes(info, 'HKDF info');
  if (infoBytes.length > HKDF_MAX_INFO_BYTES)
    throw new CryptoError('CRYPTO.BAD_INPUT', `HKDF info must be at most ${HKDF_MAX_INFO_BYTES} bytes`);
  if (!Number.isInteger(length) || length < 1 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new CryptoError('CRYPTO.BAD_INPUT', `HKDF-SHA256 output length must be an integer in [1, ${HKDF_SHA256_MAX_LENGTH}]`);
  }
  return Buffer.from(hkdfSync('sha256', secretKeyObject(ikm), salt, infoBytes, length));
}
