// In-process parts of the encryption bench: field encryption against raw AES-256-GCM, and
// hybrid-pq key wrapping against raw ML-KEM-768. Everything here runs on the bench's own thread.
import { createCipheriv, createDecipheriv, createSecretKey, decapsulate, encapsulate, generateKeyPairSync, randomBytes } from 'node:crypto';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { decryptField, encryptField, hybridKem, nativeMlKemAvailable, nodeXWing, unwrapKey, wrapKey } from '@traceo/crypto';
import { race } from './measure';

export interface FieldCryptoRates {
  size: number;
  rawEncrypt: number;
  rawDecrypt: number;
  /** Raw AES-256-GCM with the key imported once as a KeyObject (the fastest raw form on Node 24). */
  rawKeyObjectEncrypt: number;
  rawKeyObjectDecrypt: number;
  fieldEncrypt: number;
  fieldDecrypt: number;
}

/**
 * Raw `node:crypto` AES-256-GCM (fresh 12-byte IV per message, 16-byte tag) beside libs/crypto's
 * encryptField/decryptField with the same 32-byte key and the context FieldCrypto passes per field.
 */
export function fieldCryptoRates(size: number, rounds: number, ms: number): FieldCryptoRates {
  const key = randomBytes(32);
  const keyObject = createSecretKey(key);
  const plaintext = randomBytes(size);
  const context = { tenant: 'tenant-bench', keyring: 'customers', field: 'email', recordId: 'rec-000001' };
  const dataKey = { id: 'customers', version: 1, material: key };

  const rawSeal = (k: Buffer | ReturnType<typeof createSecretKey>) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', k, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { iv, ciphertext, tag: cipher.getAuthTag() };
  };
  const rawOpen = (k: Buffer | ReturnType<typeof createSecretKey>, sealed: ReturnType<typeof rawSeal>) => {
    const decipher = createDecipheriv('aes-256-gcm', k, sealed.iv);
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  };
  const sealed = rawSeal(key);
  const fieldCiphertext = encryptField(plaintext, context, dataKey);
  if (!rawOpen(key, sealed).equals(plaintext) || !decryptField(fieldCiphertext, context, dataKey).equals(plaintext)) {
    throw new Error('round trip failed');
  }

  const rates = race(
    [
      { name: 'rawEncrypt', operation: () => rawSeal(key) },
      { name: 'fieldEncrypt', operation: () => encryptField(plaintext, context, dataKey) },
      { name: 'rawDecrypt', operation: () => rawOpen(key, sealed) },
      { name: 'fieldDecrypt', operation: () => decryptField(fieldCiphertext, context, dataKey) },
      { name: 'rawKeyObjectEncrypt', operation: () => rawSeal(keyObject) },
      { name: 'rawKeyObjectDecrypt', operation: () => rawOpen(keyObject, sealed) },
    ],
    rounds,
    ms,
  );
  return {
    size,
    rawEncrypt: rates.get('rawEncrypt')!,
    rawDecrypt: rates.get('rawDecrypt')!,
    rawKeyObjectEncrypt: rates.get('rawKeyObjectEncrypt')!,
    rawKeyObjectDecrypt: rates.get('rawKeyObjectDecrypt')!,
    fieldEncrypt: rates.get('fieldEncrypt')!,
    fieldDecrypt: rates.get('fieldDecrypt')!,
  };
}

export interface KemRates {
  /** Which X-Wing libs/crypto's wrapKey uses on this runtime. */
  serviceKem: 'node' | 'noble';
  rates: Map<string, number>;
}

/**
 * ML-KEM-768 through node:crypto (OpenSSL 3.5, keys imported once), noble's ML-KEM-768 and X-Wing
 * (pure JS), libs/crypto's node X-Wing, and the service path: wrapKey/unwrapKey of a 32-byte data key.
 * "pair" is one encapsulation plus one decapsulation.
 */
export function kemRates(rounds: number, ms: number): KemRates {
  if (!nativeMlKemAvailable()) throw new Error('this Node has no native ML-KEM-768 (needs Node 24.7+ with OpenSSL 3.5)');
  const native = generateKeyPairSync('ml-kem-768');
  const nativeSealed = encapsulate(native.publicKey);
  const noble = ml_kem768.keygen();
  const nobleSealed = ml_kem768.encapsulate(noble.publicKey);
  const nobleXWing = ml_kem768_x25519.keygen();
  const nobleXWingSealed = ml_kem768_x25519.encapsulate(nobleXWing.publicKey);
  const xwing = nodeXWing.generateKeyPair();
  const xwingSealed = nodeXWing.encapsulate(xwing.publicKey);
  const service = hybridKem().generateKeyPair();
  const dataKey = randomBytes(32);
  const aad = Buffer.from('tenant-bench|customers|1', 'utf8');
  const wrapped = wrapKey(service.publicKey, dataKey, { aad });
  if (!unwrapKey(service.secretKey, wrapped, { aad }).equals(dataKey)) throw new Error('unwrapKey round trip failed');

  const rates = race(
    [
      { name: 'native encapsulate', operation: () => encapsulate(native.publicKey) },
      { name: 'native decapsulate', operation: () => decapsulate(native.privateKey, nativeSealed.ciphertext) },
      {
        name: 'native pair',
        operation: () => decapsulate(native.privateKey, encapsulate(native.publicKey).ciphertext),
      },
      { name: 'noble encapsulate', operation: () => ml_kem768.encapsulate(noble.publicKey) },
      { name: 'noble decapsulate', operation: () => ml_kem768.decapsulate(nobleSealed.cipherText, noble.secretKey) },
      {
        name: 'noble pair',
        operation: () => ml_kem768.decapsulate(ml_kem768.encapsulate(noble.publicKey).cipherText, noble.secretKey),
      },
      { name: 'noble x-wing encapsulate', operation: () => ml_kem768_x25519.encapsulate(nobleXWing.publicKey) },
      {
        name: 'noble x-wing decapsulate',
        operation: () => ml_kem768_x25519.decapsulate(nobleXWingSealed.cipherText, nobleXWing.secretKey),
      },
      {
        name: 'noble x-wing pair',
        operation: () => ml_kem768_x25519.decapsulate(ml_kem768_x25519.encapsulate(nobleXWing.publicKey).cipherText, nobleXWing.secretKey),
      },
      { name: 'node x-wing encapsulate', operation: () => nodeXWing.encapsulate(xwing.publicKey) },
      { name: 'node x-wing decapsulate', operation: () => nodeXWing.decapsulate(xwingSealed.ciphertext, xwing.secretKey) },
      {
        name: 'node x-wing pair',
        operation: () => nodeXWing.decapsulate(nodeXWing.encapsulate(xwing.publicKey).ciphertext, xwing.secretKey),
      },
      { name: 'wrapKey', operation: () => wrapKey(service.publicKey, dataKey, { aad }) },
      { name: 'unwrapKey', operation: () => unwrapKey(service.secretKey, wrapped, { aad }) },
      {
        name: 'wrapKey+unwrapKey pair',
        operation: () => unwrapKey(service.secretKey, wrapKey(service.publicKey, dataKey, { aad }), { aad }),
      },
    ],
    rounds,
    ms,
  );
  return { serviceKem: hybridKem().implementation, rates };
}
