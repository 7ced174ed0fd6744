import { createPrivateKey, createPublicKey, decapsulate, encapsulate, type KeyObject } from 'node:crypto';
import * as crypto from 'node:crypto';

import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';

import { CryptoError } from './crypto.errors';
import { assertBytes } from './encoding';
import { asBuffer } from './x25519';

export const ML_KEM_768_SEED_LENGTH = 64;
export const ML_KEM_768_PUBLIC_KEY_LENGTH = 1184;
export const ML_KEM_768_CIPHERTEXT_LENGTH = 1088;
export const ML_KEM_768_SHARED_SECRET_LENGTH = 32;

export interface KemEncapsulation {
  ciphertext: Buffer;
  sharedSecret: Buffer;
}

/**
 * ML-KEM-768 (FIPS 203) with the decapsulation key held as its 64-byte seed d ‖ z, the form both Node
 * (`raw-seed`) and noble accept. Decapsulating a well-sized but invalid ciphertext does not fail: it
 * returns the implicit-rejection secret, as FIPS 203 requires.
 */
export interface MlKem768 {
  readonly implementation: 'node' | 'noble';
  publicKeyFromSeed(seed: Uint8Array): Buffer;
  encapsulate(publicKey: Uint8Array): KemEncapsulation;
  decapsulate(ciphertext: Uint8Array, seed: Uint8Array): Buffer;
}

/** Node 24.7+ linked with OpenSSL 3.5+: `crypto.encapsulate`, ML-KEM keys and raw key import. Probed once. */
export function nativeMlKemAvailable(): boolean {
  nativeProbe ??= probeNative();
  return nativeProbe;
}

let nativeProbe: boolean | undefined;

function probeNative(): boolean {
  if (typeof crypto.encapsulate !== 'function' || typeof crypto.decapsulate !== 'function') return false;
  try {
    const key = createPrivateKey({ key: Buffer.alloc(ML_KEM_768_SEED_LENGTH), format: 'raw-seed', asymmetricKeyType: 'ml-kem-768' });
    const { ciphertext, sharedKey } = encapsulate(createPublicKey(key));
    // The native X-Wing also needs raw X25519 import, which arrived in the same Node releases.
    createPrivateKey({ key: Buffer.alloc(32, 1), format: 'raw-private', asymmetricKeyType: 'x25519' });
    return decapsulate(key, ciphertext).equals(sharedKey);
  } catch {
    return false;
  }
}

export const nodeMlKem768: MlKem768 = {
  implementation: 'node',
  publicKeyFromSeed(seed) {
    return createPublicKey(nodePrivateKey(seed)).export({ format: 'raw-public' });
  },
  encapsulate(publicKey) {
    const { sharedKey, ciphertext } = encapsulate(nodePublicKey(publicKey));
    return { ciphertext, sharedSecret: sharedKey };
  },
  decapsulate(ciphertext, seed) {
    const key = nodePrivateKey(seed);
    return decapsulate(key, asBuffer(checkCiphertext(ciphertext)));
  },
};

export const nobleMlKem768: MlKem768 = {
  implementation: 'noble',
  publicKeyFromSeed(seed) {
    return Buffer.from(ml_kem768.keygen(checkSeed(seed)).publicKey);
  },
  encapsulate(publicKey) {
    checkPublicKey(publicKey);
    const { cipherText, sharedSecret } = guard(() => ml_kem768.encapsulate(publicKey), 'invalid ML-KEM-768 public key');
    return { ciphertext: Buffer.from(cipherText), sharedSecret: Buffer.from(sharedSecret) };
  },
  decapsulate(ciphertext, seed) {
    const { secretKey } = ml_kem768.keygen(checkSeed(seed));
    try {
      return Buffer.from(ml_kem768.decapsulate(checkCiphertext(ciphertext), secretKey));
    } finally {
      secretKey.fill(0);
    }
  },
};

/** The native decapsulation key for a seed: a full key generation, so callers keep it. */
export function nodePrivateKey(seed: Uint8Array): KeyObject {
  checkSeed(seed);
  return guard(
    () => createPrivateKey({ key: asBuffer(seed), format: 'raw-seed', asymmetricKeyType: 'ml-kem-768' }),
    'invalid ML-KEM-768 seed',
  );
}

/** Node checks the encapsulation key's coefficients (FIPS 203 §7.2) on import, as noble does on use. */
export function nodePublicKey(publicKey: Uint8Array): KeyObject {
  checkPublicKey(publicKey);
  return guard(
    () => createPublicKey({ key: asBuffer(publicKey), format: 'raw-public', asymmetricKeyType: 'ml-kem-768' }),
    'invalid ML-KEM-768 public key',
  );
}

function checkSeed(seed: Uint8Array): Uint8Array {
  return assertBytes(seed, 'ML-KEM-768 seed', { exactly: ML_KEM_768_SEED_LENGTH });
}

function checkPublicKey(publicKey: Uint8Array): Uint8Array {
  return assertBytes(publicKey, 'ML-KEM-768 public key', { exactly: ML_KEM_768_PUBLIC_KEY_LENGTH });
}

function checkCiphertext(ciphertext: Uint8Array): Uint8Array {
  return assertBytes(ciphertext, 'ML-KEM-768 ciphertext', { exactly: ML_KEM_768_CIPHERTEXT_LENGTH });
}

/** Library errors become `BAD_INPUT` with our own message: theirs are not promised to omit key bytes. */
export function guard<T>(operation: () => T, message: string): T {
  try {
    return operation();
  } catch {
    throw new CryptoError('CRYPTO.BAD_INPUT', message);
  }
}
