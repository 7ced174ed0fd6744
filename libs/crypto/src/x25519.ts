import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';

import { CryptoError } from './crypto.errors';
import { assertBytes } from './encoding';

export const X25519_KEY_LENGTH = 32;

/** The X25519 public key (u-coordinate) of a 32-byte private scalar, through `node:crypto`. */
export function x25519PublicKey(privateKey: Uint8Array): Buffer {
  return x25519KeyPair(privateKey).publicKey;
}

/**
 * RFC 7748 X25519 through `node:crypto` (OpenSSL). Public keys are taken as RFC 7748 §5 says: the top
 * bit is masked and non-canonical values (≥ 2^255 − 19) are reduced, so twist points and
 * non-canonical encodings are accepted and give the RFC's result. An all-zero shared secret (a
 * low-order public key) is refused with `CRYPTO.BAD_INPUT`, the optional check of RFC 7748 §6.1:
 * OpenSSL refuses to output it, and noble's X25519 (the portable X-Wing path) refuses it too.
 */
export function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Buffer {
  return x25519Derive(importPrivate(privateKey), publicKey);
}

/** A key pair for a given scalar, imported once (an import costs as much as a scalar multiplication). */
export function x25519KeyPair(privateKey: Uint8Array): { privateKey: KeyObject; publicKey: Buffer } {
  const privateKeyObject = importPrivate(privateKey);
  return { privateKey: privateKeyObject, publicKey: createPublicKey(privateKeyObject).export({ format: 'raw-public' }) };
}

/** A fresh ephemeral key pair; generating is cheaper than importing random bytes. */
export function x25519EphemeralKeyPair(): { privateKey: KeyObject; publicKey: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKey, publicKey: publicKey.export({ format: 'raw-public' }) };
}

export function x25519Derive(privateKey: KeyObject, publicKey: Uint8Array): Buffer {
  return x25519DeriveWith(privateKey, x25519PublicKeyObject(publicKey));
}

/** A raw 32-byte public key as a KeyObject (an import costs about as much as an exchange, so callers may keep it). */
export function x25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  assertBytes(publicKey, 'X25519 public key', { exactly: X25519_KEY_LENGTH });
  return createPublicKey({ key: asBuffer(publicKey), format: 'raw-public', asymmetricKeyType: 'x25519' });
}

export function x25519DeriveWith(privateKey: KeyObject, publicKeyObject: KeyObject): Buffer {
  try {
    return diffieHellman({ privateKey, publicKey: publicKeyObject });
  } catch {
    throw new CryptoError('CRYPTO.BAD_INPUT', 'X25519 produced the all-zero shared secret: the public key has low order');
  }
}

function importPrivate(privateKey: Uint8Array): KeyObject {
  assertBytes(privateKey, 'X25519 private key', { exactly: X25519_KEY_LENGTH });
  return createPrivateKey({ key: asBuffer(privateKey), format: 'raw-private', asymmetricKeyType: 'x25519' });
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
