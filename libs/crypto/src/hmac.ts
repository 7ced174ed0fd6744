import { createHmac, KeyObject } from 'node:crypto';

import { CryptoError } from './crypto.errors';
import { assertBytes, equalBytes, secretKeyObject } from './encoding';

export const HMAC_SHA256_LENGTH = 32;
/** Shortest tag `verifyHmacSha256` accepts by default: 128 bits. */
export const HMAC_MIN_TAG_LENGTH = 16;

export function hmacSha256(key: Uint8Array | KeyObject, message: Uint8Array): Buffer {
  if (!(key instanceof Uint8Array) && !(key instanceof KeyObject && key.type === 'secret')) {
    throw new CryptoError('CRYPTO.BAD_INPUT', 'HMAC key must be bytes or a secret KeyObject');
  }
  const keyObject = key instanceof KeyObject ? key : secretKeyObject(key);
  return createHmac('sha256', keyObject).update(assertBytes(message, 'HMAC message')).digest();
}

/**
 * Whether `tag` is HMAC-SHA256(key, message), possibly truncated to its leading bytes (RFC 2104 §5).
 * The prefix is compared in constant time. A tag shorter than `minTagLength` or longer than 32 bytes
 * never verifies: an attacker must not be able to shorten a tag into a guessable one.
 */
export function verifyHmacSha256(
  key: Uint8Array | KeyObject,
  message: Uint8Array,
  tag: Uint8Array,
  minTagLength = HMAC_MIN_TAG_LENGTH,
): boolean {
  assertBytes(tag, 'HMAC tag');
  if (!Number.isInteger(minTagLength) || minTagLength < 1 || minTagLength > HMAC_SHA256_LENGTH) {
    throw new CryptoError('CRYPTO.BAD_INPUT', `minimum HMAC tag length must be an integer in [1, ${HMAC_SHA256_LENGTH}]`);
  }
  if (tag.length < minTagLength || tag.length > HMAC_SHA256_LENGTH) return false;
  return equalBytes(hmacSha256(key, message).subarray(0, tag.length), tag);
}
