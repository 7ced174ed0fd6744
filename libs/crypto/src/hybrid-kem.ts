import { createHash, decapsulate, encapsulate, randomBytes, type KeyObject } from 'node:crypto';

import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

import { aesGcmDecrypt, aesGcmEncrypt, GCM_TAG_LENGTH } from './aes-gcm';
import { DigestCache } from './bounded-cache';
import { CryptoError } from './crypto.errors';
import { assertBytes } from './encoding';
import { hkdfSha256 } from './hkdf';
import { NoncePool } from './nonce-pool';
import {
  guard,
  ML_KEM_768_CIPHERTEXT_LENGTH,
  ML_KEM_768_PUBLIC_KEY_LENGTH,
  ML_KEM_768_SEED_LENGTH,
  nativeMlKemAvailable,
  nodeMlKem768,
  nodePrivateKey,
  nodePublicKey,
  type KemEncapsulation,
} from './ml-kem';
import {
  asBuffer,
  x25519Derive,
  x25519DeriveWith,
  x25519EphemeralKeyPair,
  X25519_KEY_LENGTH,
  x25519KeyPair,
  x25519PublicKeyObject,
} from './x25519';

export const XWING_SECRET_KEY_LENGTH = 32;
export const XWING_PUBLIC_KEY_LENGTH = ML_KEM_768_PUBLIC_KEY_LENGTH + X25519_KEY_LENGTH;
export const XWING_CIPHERTEXT_LENGTH = ML_KEM_768_CIPHERTEXT_LENGTH + X25519_KEY_LENGTH;
export const XWING_SHARED_SECRET_LENGTH = 32;

/** X-Wing's domain-separation label, the six ASCII bytes `\.//^\`. */
const XWING_LABEL = Buffer.from('\\.//^\\', 'ascii');

export interface HybridKeyPair {
  publicKey: Buffer;
  /** The 32-byte X-Wing decapsulation key (a seed); keep it secret. */
  secretKey: Buffer;
}

/**
 * X-Wing (draft-connolly-cfrg-xwing-kem): ML-KEM-768 + X25519, shared secret
 * SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ label). Secure while either component is. Public key
 * pk_M ‖ pk_X (1216 bytes), ciphertext ct_M ‖ ct_X (1120 bytes), secret key a 32-byte seed expanded
 * by SHAKE256 into the ML-KEM seed and the X25519 scalar. The two implementations interoperate.
 */
export interface HybridKem {
  readonly implementation: 'node' | 'noble';
  generateKeyPair(seed?: Uint8Array): HybridKeyPair;
  encapsulate(publicKey: Uint8Array): KemEncapsulation;
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Buffer;
}

/** Key pairs whose imported native keys are kept (each import costs as much as an encapsulation or more). */
export const XWING_KEY_CACHE_MAX_ENTRIES = 64;

interface NodePublicKeys {
  pq: KeyObject;
  classical: KeyObject;
  classicalRaw: Buffer;
}

interface NodeSecretKeys {
  pq: KeyObject;
  classical: KeyObject;
  classicalPublicRaw: Buffer;
}

// Imported per key pair, looked up by a digest of the key bytes (DigestCache): a keyring's key pair is
// imported once, not on every wrap and unwrap.
const publicKeys = new DigestCache<NodePublicKeys>('x-wing-public', XWING_KEY_CACHE_MAX_ENTRIES);
const secretKeys = new DigestCache<NodeSecretKeys>('x-wing-secret', XWING_KEY_CACHE_MAX_ENTRIES);

/**
 * Drops the native keys imported for this X-Wing secret key (for instance when the caller's cache
 * zeroes it); a later decapsulation imports them again. Call it before zeroing the bytes.
 */
export function forgetHybridSecretKey(secretKey: Uint8Array): void {
  if (secretKey instanceof Uint8Array && secretKey.length === XWING_SECRET_KEY_LENGTH) secretKeys.delete(secretKey);
}

function importPublicKey(publicKey: Uint8Array): NodePublicKeys {
  const classicalRaw = Buffer.from(publicKey.subarray(ML_KEM_768_PUBLIC_KEY_LENGTH));
  return {
    pq: nodePublicKey(publicKey.subarray(0, ML_KEM_768_PUBLIC_KEY_LENGTH)),
    classical: x25519PublicKeyObject(classicalRaw),
    classicalRaw,
  };
}

function importSecretKey(secretKey: Uint8Array): NodeSecretKeys {
  const { mlKemSeed, x25519Secret } = expandSecretKey(secretKey);
  try {
    const classical = x25519KeyPair(x25519Secret);
    return { pq: nodePrivateKey(mlKemSeed), classical: classical.privateKey, classicalPublicRaw: classical.publicKey };
  } finally {
    mlKemSeed.fill(0);
    x25519Secret.fill(0);
  }
}

/**
 * X-Wing composed from `node:crypto`: ML-KEM-768 (OpenSSL 3.5), X25519, SHAKE256 and SHA3-256, with
 * each key pair's native keys imported once (bounded cache). What stays per call is the KEM itself:
 * ML-KEM encapsulation plus an ephemeral X25519 key pair and exchange, or ML-KEM decapsulation plus an
 * import of the ephemeral share and an exchange.
 */
export const nodeXWing: HybridKem = {
  implementation: 'node',
  generateKeyPair(seed = randomBytes(XWING_SECRET_KEY_LENGTH)) {
    const { mlKemSeed, x25519Secret } = expandSecretKey(seed);
    try {
      const publicKey = Buffer.concat([nodeMlKem768.publicKeyFromSeed(mlKemSeed), x25519KeyPair(x25519Secret).publicKey]);
      return { publicKey, secretKey: Buffer.from(seed) };
    } finally {
      mlKemSeed.fill(0);
      x25519Secret.fill(0);
    }
  },
  encapsulate(publicKey) {
    assertBytes(publicKey, 'X-Wing public key', { exactly: XWING_PUBLIC_KEY_LENGTH });
    const recipient = publicKeys.getOrCreate(publicKey, () => importPublicKey(publicKey));
    const { ciphertext: pqCiphertext, sharedKey: pqSecret } = encapsulate(recipient.pq);
    const ephemeral = x25519EphemeralKeyPair();
    const classicalCiphertext = ephemeral.publicKey;
    const classicalSecret = x25519DeriveWith(ephemeral.privateKey, recipient.classical);
    return {
      ciphertext: Buffer.concat([pqCiphertext, classicalCiphertext]),
      sharedSecret: combine(pqSecret, classicalSecret, classicalCiphertext, recipient.classicalRaw),
    };
  },
  decapsulate(ciphertext, secretKey) {
    assertBytes(ciphertext, 'X-Wing ciphertext', { exactly: XWING_CIPHERTEXT_LENGTH });
    assertBytes(secretKey, 'X-Wing secret key', { exactly: XWING_SECRET_KEY_LENGTH });
    const own = secretKeys.getOrCreate(secretKey, () => importSecretKey(secretKey));
    const bytes = asBuffer(ciphertext);
    const classicalCiphertext = bytes.subarray(ML_KEM_768_CIPHERTEXT_LENGTH);
    const pqSecret = decapsulate(own.pq, bytes.subarray(0, ML_KEM_768_CIPHERTEXT_LENGTH));
    const classicalSecret = x25519Derive(own.classical, classicalCiphertext);
    return combine(pqSecret, classicalSecret, classicalCiphertext, own.classicalPublicRaw);
  },
};

/** X-Wing from `@noble/post-quantum` (`ml_kem768_x25519`), pure JavaScript: the portable fallback. */
export const nobleXWing: HybridKem = {
  implementation: 'noble',
  generateKeyPair(seed = randomBytes(XWING_SECRET_KEY_LENGTH)) {
    assertBytes(seed, 'X-Wing secret key', { exactly: XWING_SECRET_KEY_LENGTH });
    const { publicKey } = ml_kem768_x25519.keygen(seed);
    return { publicKey: Buffer.from(publicKey), secretKey: Buffer.from(seed) };
  },
  encapsulate(publicKey) {
    assertBytes(publicKey, 'X-Wing public key', { exactly: XWING_PUBLIC_KEY_LENGTH });
    const { cipherText, sharedSecret } = guard(() => ml_kem768_x25519.encapsulate(publicKey), 'invalid X-Wing public key');
    return { ciphertext: Buffer.from(cipherText), sharedSecret: Buffer.from(sharedSecret) };
  },
  decapsulate(ciphertext, secretKey) {
    assertBytes(ciphertext, 'X-Wing ciphertext', { exactly: XWING_CIPHERTEXT_LENGTH });
    assertBytes(secretKey, 'X-Wing secret key', { exactly: XWING_SECRET_KEY_LENGTH });
    return Buffer.from(guard(() => ml_kem768_x25519.decapsulate(ciphertext, secretKey), 'invalid X-Wing ciphertext'));
  },
};

/** Node's X-Wing where this runtime has native ML-KEM-768, noble's otherwise. */
export function hybridKem(): HybridKem {
  return nativeMlKemAvailable() ? nodeXWing : nobleXWing;
}

function expandSecretKey(secretKey: Uint8Array): { mlKemSeed: Buffer; x25519Secret: Buffer } {
  assertBytes(secretKey, 'X-Wing secret key', { exactly: XWING_SECRET_KEY_LENGTH });
  const expanded = createHash('shake256', { outputLength: ML_KEM_768_SEED_LENGTH + X25519_KEY_LENGTH })
    .update(secretKey)
    .digest();
  return { mlKemSeed: expanded.subarray(0, ML_KEM_768_SEED_LENGTH), x25519Secret: expanded.subarray(ML_KEM_768_SEED_LENGTH) };
}

function combine(pqSecret: Buffer, classicalSecret: Buffer, classicalCiphertext: Uint8Array, classicalPublicKey: Uint8Array): Buffer {
  return createHash('sha3-256')
    .update(pqSecret)
    .update(classicalSecret)
    .update(classicalCiphertext)
    .update(classicalPublicKey)
    .update(XWING_LABEL)
    .digest();
}

/**
 * Wrapped data key, version 1:
 *
 * | offset | bytes | content                                           |
 * |--------|-------|---------------------------------------------------|
 * | 0      | 1     | format version, 0x01                              |
 * | 1      | 1     | algorithm, 0x01 = X-Wing + HKDF-SHA256 + AES-256-GCM |
 * | 2      | 1120  | X-Wing ciphertext                                 |
 * | 1122   | 12    | nonce (random)                                    |
 * | 1134   | 32    | encrypted data key                                |
 * | 1166   | 16    | GCM tag                                           |
 *
 * The key-encryption key is HKDF-SHA256(X-Wing shared secret, no salt, "traceo/key-wrap/v1"); the
 * GCM additional data is bytes 0..1122 followed by the caller's `aad` (for instance the keyring and
 * key version), so the wrapped key cannot be moved to another slot unnoticed.
 */
export const KEY_WRAP_FORMAT_VERSION = 0x01;
export const KEY_WRAP_ALGORITHM_XWING_AES_256_GCM = 0x01;
export const WRAPPED_DATA_KEY_LENGTH = 32;
const WRAP_NONCE_LENGTH = 12;
const WRAP_HEADER_LENGTH = 2 + XWING_CIPHERTEXT_LENGTH;
export const WRAPPED_KEY_LENGTH = WRAP_HEADER_LENGTH + WRAP_NONCE_LENGTH + WRAPPED_DATA_KEY_LENGTH + GCM_TAG_LENGTH;
const KEY_WRAP_INFO = 'traceo/key-wrap/v1';
const wrapNonces = new NoncePool(WRAP_NONCE_LENGTH);

export interface KeyWrapOptions {
  /** Context the wrapped key is bound to; unwrapping needs the same bytes. */
  aad?: Uint8Array;
  /** Defaults to `hybridKem()`. */
  kem?: HybridKem;
}

/** Encrypts a 32-byte data key to the holder of an X-Wing key pair. */
export function wrapKey(recipientPublicKey: Uint8Array, dataKey: Uint8Array, options: KeyWrapOptions = {}): Buffer {
  assertBytes(dataKey, 'data key', { exactly: WRAPPED_DATA_KEY_LENGTH });
  const aad = assertBytes(options.aad ?? Buffer.alloc(0), 'key wrap additional data');
  const { ciphertext: kemCiphertext, sharedSecret } = (options.kem ?? hybridKem()).encapsulate(recipientPublicKey);
  const header = Buffer.concat([Buffer.of(KEY_WRAP_FORMAT_VERSION, KEY_WRAP_ALGORITHM_XWING_AES_256_GCM), kemCiphertext]);
  const nonce = wrapNonces.writeNext(Buffer.allocUnsafe(WRAP_NONCE_LENGTH), 0);
  const kek = hkdfSha256(sharedSecret, Buffer.alloc(0), KEY_WRAP_INFO, 32);
  try {
    const { ciphertext, tag } = aesGcmEncrypt(kek, nonce, Buffer.concat([header, aad]), dataKey);
    return Buffer.concat([header, nonce, ciphertext, tag]);
  } finally {
    kek.fill(0);
    sharedSecret.fill(0);
  }
}

/** Recovers the data key from `wrapKey`'s output; any tampering or a wrong key or aad gives `INTEGRITY_CHECK_FAILED`. */
export function unwrapKey(recipientSecretKey: Uint8Array, wrapped: Uint8Array, options: KeyWrapOptions = {}): Buffer {
  assertBytes(recipientSecretKey, 'X-Wing secret key', { exactly: XWING_SECRET_KEY_LENGTH });
  assertBytes(wrapped, 'wrapped key');
  const aad = assertBytes(options.aad ?? Buffer.alloc(0), 'key wrap additional data');
  if (wrapped[0] !== KEY_WRAP_FORMAT_VERSION || wrapped[1] !== KEY_WRAP_ALGORITHM_XWING_AES_256_GCM) {
    throw new CryptoError('CRYPTO.UNSUPPORTED_FORMAT', 'unknown wrapped key version or algorithm');
  }
  if (wrapped.length !== WRAPPED_KEY_LENGTH) throw new CryptoError('CRYPTO.UNSUPPORTED_FORMAT', 'malformed wrapped key: wrong length');
  const header = wrapped.subarray(0, WRAP_HEADER_LENGTH);
  const nonce = wrapped.subarray(WRAP_HEADER_LENGTH, WRAP_HEADER_LENGTH + WRAP_NONCE_LENGTH);
  const tagStart = wrapped.length - GCM_TAG_LENGTH;
  // With the sizes checked, a ciphertext that fails to decapsulate (a low-order X25519 share) is
  // tampering like any other.
  const sharedSecret = guardIntegrity(() => (options.kem ?? hybridKem()).decapsulate(header.subarray(2), recipientSecretKey));
  const kek = hkdfSha256(sharedSecret, Buffer.alloc(0), KEY_WRAP_INFO, 32);
  try {
    return aesGcmDecrypt(
      kek,
      nonce,
      Buffer.concat([header, aad]),
      wrapped.subarray(WRAP_HEADER_LENGTH + WRAP_NONCE_LENGTH, tagStart),
      wrapped.subarray(tagStart),
    );
  } finally {
    kek.fill(0);
    sharedSecret.fill(0);
  }
}

function guardIntegrity<T>(operation: () => T): T {
  try {
    return operation();
  } catch {
    throw new CryptoError('CRYPTO.INTEGRITY_CHECK_FAILED', 'the wrapped key failed authentication');
  }
}
