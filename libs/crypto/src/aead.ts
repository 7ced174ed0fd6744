import { randomBytes } from 'node:crypto';

import { aesGcmDecrypt, aesGcmEncrypt, GCM_TAG_LENGTH } from './aes-gcm';
import { CryptoError } from './crypto.errors';
import { assertBytes, assertUint32, equalBytes, lengthPrefixed, nameBytes, uint32Bytes } from './encoding';
import { hkdfSha256 } from './hkdf';

/**
 * Field ciphertext, format version 1 (all integers big-endian):
 *
 * | offset    | bytes | content                                                        |
 * |-----------|-------|----------------------------------------------------------------|
 * | 0         | 1     | format version, 0x01                                           |
 * | 1         | 1     | algorithm, 0x01 = AES-256-GCM, HKDF-SHA256 key + commitment    |
 * | 2         | 1     | key id length L, 1..255                                        |
 * | 3         | L     | key id, UTF-8                                                  |
 * | 3+L       | 4     | key version, uint32                                            |
 * | 7+L       | 12    | nonce (random)                                                 |
 * | 19+L      | 32    | key commitment                                                 |
 * | 51+L      | n     | AES-256-GCM ciphertext                                         |
 * | 51+L+n    | 16    | GCM tag                                                        |
 *
 * Bytes 0..51+L are the header. Per message, HKDF-SHA256(data key, salt = nonce, info
 * "traceo/aead/v1 key+commitment") gives 64 bytes: the GCM key, then the 32-byte commitment.
 * The GCM nonce is the header nonce and the additional data is header ‖ encoded context, so the key
 * reference, nonce, commitment and context are all authenticated. The commitment is checked before
 * decrypting: GCM alone is not key-committing, and a ciphertext can be crafted to open under two keys.
 */
export const AEAD_FORMAT_VERSION = 0x01;
export const AEAD_ALGORITHM_AES_256_GCM_HKDF_SHA256 = 0x01;
export const DATA_KEY_LENGTH = 32;
export const AEAD_NONCE_LENGTH = 12;
export const KEY_COMMITMENT_LENGTH = 32;

const MESSAGE_KEYS_INFO = 'traceo/aead/v1 key+commitment';
/** Bytes around the key id: version, algorithm, id length, key version, nonce, commitment. */
const FIXED_HEADER_LENGTH = 3 + 4 + AEAD_NONCE_LENGTH + KEY_COMMITMENT_LENGTH;

/** Where a value lives; bound into every ciphertext so it cannot be replayed into another cell. */
export interface EncryptionContext {
  tenant: string;
  keyring: string;
  field: string;
  recordId: string;
}

/** A 32-byte data key and the reference recorded in each ciphertext it seals. */
export interface DataKey {
  id: string;
  version: number;
  material: Uint8Array;
}

export interface CiphertextHeader {
  formatVersion: typeof AEAD_FORMAT_VERSION;
  algorithm: 'AES-256-GCM/HKDF-SHA256';
  keyId: string;
  keyVersion: number;
}

interface ParsedCiphertext extends CiphertextHeader {
  header: Buffer;
  nonce: Buffer;
  commitment: Buffer;
  body: Buffer;
  tag: Buffer;
}

/** Seals `plaintext` under a fresh nonce; the result is self-describing (see the layout above). */
export function encryptField(plaintext: Uint8Array, context: EncryptionContext, dataKey: DataKey): Buffer {
  assertBytes(plaintext, 'plaintext');
  const encodedContext = encodeContext(context);
  const { keyId, material } = checkDataKey(dataKey);
  const nonce = randomBytes(AEAD_NONCE_LENGTH);
  const { encryptionKey, commitment } = deriveMessageKeys(material, nonce);
  const header = Buffer.concat([
    Buffer.of(AEAD_FORMAT_VERSION, AEAD_ALGORITHM_AES_256_GCM_HKDF_SHA256, keyId.length),
    keyId,
    uint32Bytes(dataKey.version),
    nonce,
    commitment,
  ]);
  try {
    const { ciphertext, tag } = aesGcmEncrypt(encryptionKey, nonce, Buffer.concat([header, encodedContext]), plaintext);
    return Buffer.concat([header, ciphertext, tag]);
  } finally {
    encryptionKey.fill(0);
  }
}

/**
 * Opens a ciphertext made by `encryptField` with the same context and key. Checks: format
 * (`UNSUPPORTED_FORMAT`), that the ciphertext names this key id and version and commits to these key
 * bytes (`KEY_COMMITMENT_MISMATCH`, reported first), and the GCM tag over header and context
 * (`INTEGRITY_CHECK_FAILED`). Both cryptographic checks always run.
 */
export function decryptField(ciphertext: Uint8Array, context: EncryptionContext, dataKey: DataKey): Buffer {
  const encodedContext = encodeContext(context);
  const { material } = checkDataKey(dataKey);
  const parsed = parseCiphertext(ciphertext);
  if (parsed.keyId !== dataKey.id || parsed.keyVersion !== dataKey.version) {
    throw new CryptoError('CRYPTO.KEY_COMMITMENT_MISMATCH', 'the ciphertext was sealed under another key id or version');
  }
  const { encryptionKey, commitment } = deriveMessageKeys(material, parsed.nonce);
  try {
    const committed = equalBytes(commitment, parsed.commitment);
    // The GCM check runs whether or not the commitment matched, so the time taken does not say which
    // of the two checks failed; a plaintext opened under an uncommitted key is zeroed, never returned.
    let plaintext: Buffer | undefined;
    let tagFailure: unknown;
    try {
      plaintext = aesGcmDecrypt(encryptionKey, parsed.nonce, Buffer.concat([parsed.header, encodedContext]), parsed.body, parsed.tag);
    } catch (error) {
      tagFailure = error;
    }
    if (!committed) {
      plaintext?.fill(0);
      throw new CryptoError('CRYPTO.KEY_COMMITMENT_MISMATCH', 'the ciphertext is not committed to the supplied key');
    }
    if (plaintext === undefined) throw tagFailure;
    return plaintext;
  } finally {
    encryptionKey.fill(0);
  }
}

/** The key reference of a ciphertext, to look the data key up before `decryptField`. Not authenticated until then. */
export function readCiphertextHeader(ciphertext: Uint8Array): CiphertextHeader {
  const { formatVersion, algorithm, keyId, keyVersion } = parseCiphertext(ciphertext);
  return { formatVersion, algorithm, keyId, keyVersion };
}

/** Canonical context bytes: the four names, each UTF-8 with a 4-byte length prefix, in a fixed order. */
export function encodeContext(context: EncryptionContext): Buffer {
  if (typeof context !== 'object' || context === null) throw new CryptoError('CRYPTO.BAD_INPUT', 'encryption context is required');
  return lengthPrefixed([
    nameBytes(context.tenant, 'context tenant'),
    nameBytes(context.keyring, 'context keyring'),
    nameBytes(context.field, 'context field'),
    nameBytes(context.recordId, 'context recordId'),
  ]);
}

/**
 * Per-message GCM key and key commitment, from one HKDF call (one call costs as much as the GCM
 * operation itself). Exported for the commitment tests, not from the lib.
 */
export function deriveMessageKeys(dataKey: Uint8Array, nonce: Uint8Array): { encryptionKey: Buffer; commitment: Buffer } {
  const okm = hkdfSha256(dataKey, nonce, MESSAGE_KEYS_INFO, DATA_KEY_LENGTH + KEY_COMMITMENT_LENGTH);
  return { encryptionKey: okm.subarray(0, DATA_KEY_LENGTH), commitment: okm.subarray(DATA_KEY_LENGTH) };
}

function checkDataKey(dataKey: DataKey): { keyId: Buffer; material: Uint8Array } {
  if (typeof dataKey !== 'object' || dataKey === null) throw new CryptoError('CRYPTO.BAD_INPUT', 'data key is required');
  const keyId = nameBytes(dataKey.id, 'data key id');
  assertUint32(dataKey.version, 'data key version');
  return { keyId, material: assertBytes(dataKey.material, 'data key', { exactly: DATA_KEY_LENGTH }) };
}

function parseCiphertext(input: Uint8Array): ParsedCiphertext {
  assertBytes(input, 'ciphertext');
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < 2) throw malformed('truncated');
  if (bytes[0] !== AEAD_FORMAT_VERSION) throw new CryptoError('CRYPTO.UNSUPPORTED_FORMAT', 'unknown ciphertext format version');
  if (bytes[1] !== AEAD_ALGORITHM_AES_256_GCM_HKDF_SHA256)
    throw new CryptoError('CRYPTO.UNSUPPORTED_FORMAT', 'unknown ciphertext algorithm');
  const keyIdLength = bytes[2] ?? 0;
  const headerLength = FIXED_HEADER_LENGTH + keyIdLength;
  if (bytes.length < headerLength + GCM_TAG_LENGTH) throw malformed('truncated');
  if (keyIdLength === 0) throw malformed('empty key id');
  const keyIdBytes = bytes.subarray(3, 3 + keyIdLength);
  const keyId = keyIdBytes.toString('utf8');
  if (!Buffer.from(keyId, 'utf8').equals(keyIdBytes)) throw malformed('key id is not UTF-8');
  const keyVersion = bytes.readUInt32BE(3 + keyIdLength);
  const nonceStart = 7 + keyIdLength;
  const nonce = bytes.subarray(nonceStart, nonceStart + AEAD_NONCE_LENGTH);
  const commitment = bytes.subarray(nonceStart + AEAD_NONCE_LENGTH, headerLength);
  return {
    formatVersion: AEAD_FORMAT_VERSION,
    algorithm: 'AES-256-GCM/HKDF-SHA256',
    keyId,
    keyVersion,
    header: bytes.subarray(0, headerLength),
    nonce,
    commitment,
    body: bytes.subarray(headerLength, bytes.length - GCM_TAG_LENGTH),
    tag: bytes.subarray(bytes.length - GCM_TAG_LENGTH),
  };
}

function malformed(reason: string): CryptoError {
  return new CryptoError('CRYPTO.UNSUPPORTED_FORMAT', `malformed ciphertext: ${reason}`);
}
