import { createCipheriv, createDecipheriv, type CipherGCMTypes, type KeyObject } from 'node:crypto';

import { CryptoError } from './crypto.errors';
import { assertBytes, secretKeyObject } from './encoding';

export const GCM_TAG_LENGTH = 16;
/** node:crypto refuses GCM IVs longer than this (OpenSSL's GCM accepts any length; Node caps it). */
export const GCM_MAX_IV_LENGTH = 128;

export interface AesGcmSealed {
  ciphertext: Buffer;
  tag: Buffer;
}

const CIPHERS: Record<number, CipherGCMTypes> = { 16: 'aes-128-gcm', 24: 'aes-192-gcm', 32: 'aes-256-gcm' };

function prepare(key: Uint8Array, iv: Uint8Array): [CipherGCMTypes, KeyObject] {
  const cipher = CIPHERS[assertBytes(key, 'AES key').length];
  if (cipher === undefined) throw new CryptoError('CRYPTO.BAD_INPUT', 'AES key must be 16, 24 or 32 bytes');
  // GCM defines any IV of at least one bit; 12 bytes is the fast path and the only size the formats here use.
  assertBytes(iv, 'GCM IV', { min: 1, max: GCM_MAX_IV_LENGTH });
  return [cipher, secretKeyObject(key)];
}

/**
 * Raw AES-GCM (128/192/256-bit key, IV of 1..128 bytes, 16-byte tag), without policy: callers own the
 * key and the uniqueness of (key, IV). Use `encryptField` for data at rest.
 */
export function aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): AesGcmSealed {
  const [algorithm, keyObject] = prepare(key, iv);
  const cipher = createCipheriv(algorithm, keyObject, iv, { authTagLength: GCM_TAG_LENGTH });
  cipher.setAAD(assertBytes(aad, 'GCM additional data'));
  const ciphertext = Buffer.concat([cipher.update(assertBytes(plaintext, 'plaintext')), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Raw AES-GCM decryption. Only a full 16-byte tag is accepted: Node would otherwise verify a tag as
 * short as 4 bytes. Throws `CRYPTO.INTEGRITY_CHECK_FAILED` when the tag does not verify; no plaintext
 * is released in that case.
 */
export function aesGcmDecrypt(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Buffer {
  const [algorithm, keyObject] = prepare(key, iv);
  const decipher = createDecipheriv(algorithm, keyObject, iv, { authTagLength: GCM_TAG_LENGTH });
  decipher.setAuthTag(assertBytes(tag, 'GCM tag', { exactly: GCM_TAG_LENGTH }));
  decipher.setAAD(assertBytes(aad, 'GCM additional data'));
  const head = decipher.update(assertBytes(ciphertext, 'ciphertext'));
  try {
    return Buffer.concat([head, decipher.final()]);
  } catch {
    head.fill(0);
    throw new CryptoError('CRYPTO.INTEGRITY_CHECK_FAILED', 'AES-GCM authentication failed');
  }
}
