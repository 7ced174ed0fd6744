import { isUtf8 } from 'node:buffer';
import { createCipheriv, createDecipheriv } from 'node:crypto';

import { aesGcmDecrypt, GCM_TAG_LENGTH } from './aes-gcm';
import { CryptoError } from './crypto.errors';
import { assertBytes, assertUint32, equalBytes, lengthPrefixed, MAX_NAME_BYTES, nameBytes } from './encoding';
import { fieldKeys } from './field-keys';
import { hkdfSha256 } from './hkdf';
import { NoncePool } from './nonce-pool';

/**
 * Field ciphertext (all integers big-endian):
 *
 * | offset    | bytes | content                                                        |
 * |-----------|-------|----------------------------------------------------------------|
 * | 0         | 1     | format version, 0x02 (0x01 is still opened)                    |
 * | 1         | 1     | algorithm, 0x01 = AES-256-GCM, HKDF-SHA256 key + commitment    |
 * | 2         | 1     | key id length L, 1..255                                        |
 * | 3         | L     | key id, UTF-8                                                  |
 * | 3+L       | 4     | key version, uint32                                            |
 * | 7+L       | 12    | nonce (random)                                                 |
 * | 19+L      | 32    | key commitment                                                 |
 * | 51+L      | n     | AES-256-GCM ciphertext                                         |
 * | 51+L+n    | 16    | GCM tag                                                        |
 *
 * Bytes 0..51+L are the header. HKDF-SHA256 of the data key gives 64 bytes: the GCM key, then the
 * 32-byte commitment. Format 2 derives them once per column: no salt, info "traceo/aead/v2
 * key+commitment" ‖ length-prefixed (tenant, keyring, field), cached per data key (field-keys.ts).
 * Format 1 derived them per message: salt = nonce, info "traceo/aead/v1 key+commitment".
 * The GCM nonce is the header nonce and the additional data is header ‖ encoded context, so the key
 * reference, nonce, commitment and context (record id included) are all authenticated. The commitment
 * is checked before decrypting: GCM alone is not key-committing, and a ciphertext can be crafted to
 * open under two keys.
 *
 * Nonce uniqueness: nonces are 96 random bits (from a pooled CSPRNG buffer, nonce-pool.ts). Under one
 * column key, a repeat among q messages has probability below q²/2^97, so NIST SP 800-38D's bound of
 * 2^32 random-IV invocations per key holds while a data key version seals at most 2^32 values; the
 * service's usage counters stop each version at 2^31 or less, and the column keys split that further.
 * Format 1's per-message key did not widen this margin: its key was derived from the same 96-bit nonce.
 */
export const AEAD_FORMAT_VERSION = 0x02;
export const AEAD_LEGACY_FORMAT_VERSION = 0x01;
export const AEAD_ALGORITHM_AES_256_GCM_HKDF_SHA256 = 0x01;
export const DATA_KEY_LENGTH = 32;
export const AEAD_NONCE_LENGTH = 12;
export const KEY_COMMITMENT_LENGTH = 32;

const MESSAGE_KEYS_INFO = 'traceo/aead/v1 key+commitment';
/** Bytes around the key id: version, algorithm, id length, key version, nonce, commitment. */
const FIXED_HEADER_LENGTH = 3 + 4 + AEAD_NONCE_LENGTH + KEY_COMMITMENT_LENGTH;
const nonces = new NoncePool(AEAD_NONCE_LENGTH);

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
  formatVersion: typeof AEAD_FORMAT_VERSION | typeof AEAD_LEGACY_FORMAT_VERSION;
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

/** Seals `plaintext` (format 2) under a fresh nonce; the result is self-describing (see the layout above). */
export function encryptField(plaintext: Uint8Array, context: EncryptionContext, dataKey: DataKey): Buffer {
  assertBytes(plaintext, 'plaintext');
  const { keyId, material } = checkDataKey(dataKey);
  const recordId = checkRecordId(context);
  const { encryptionKey, commitment, contextPrefix } = fieldKeys(material, context);
  const headerLength = FIXED_HEADER_LENGTH + keyId.length;
  const out = Buffer.allocUnsafe(headerLength + plaintext.length + GCM_TAG_LENGTH);
  out[0] = AEAD_FORMAT_VERSION;
  out[1] = AEAD_ALGORITHM_AES_256_GCM_HKDF_SHA256;
  out[2] = keyId.length;
  keyId.copy(out, 3);
  out.writeUInt32BE(dataKey.version, 3 + keyId.length);
  const nonce = nonces.writeNext(out, 7 + keyId.length);
  commitment.copy(out, 19 + keyId.length);
  const cipher = createCipheriv('aes-256-gcm', encryptionKey, nonce, { authTagLength: GCM_TAG_LENGTH });
  cipher.setAAD(additionalData(out, headerLength, contextPrefix, recordId));
  const body = cipher.update(plaintext);
  body.copy(out, headerLength);
  cipher.final();
  cipher.getAuthTag().copy(out, headerLength + plaintext.length);
  return out;
}

/**
 * Opens a ciphertext made by `encryptField` (format 2, or format 1 from earlier releases) with the same
 * context and key. Checks: format (`UNSUPPORTED_FORMAT`), that the ciphertext names this key id and
 * version and commits to these key bytes (`KEY_COMMITMENT_MISMATCH`, reported first), and the GCM tag
 * over header and context (`INTEGRITY_CHECK_FAILED`). Both cryptographic checks always run.
 */
export function decryptField(ciphertext: Uint8Array, context: EncryptionContext, dataKey: DataKey): Buffer {
  const material = checkDataKeyForDecryption(dataKey);
  const parsed = parseCiphertext(ciphertext);
  if (parsed.keyId !== dataKey.id || parsed.keyVersion !== dataKey.version) {
    throw new CryptoError('CRYPTO.KEY_COMMITMENT_MISMATCH', 'the ciphertext was sealed under another key id or version');
  }
  if (parsed.formatVersion === AEAD_LEGACY_FORMAT_VERSION) return decryptLegacy(parsed, encodeContext(context), material);
  const recordId = checkRecordId(context);
  const { encryptionKey, commitment, contextPrefix } = fieldKeys(material, context);
  const committed = equalBytes(commitment, parsed.commitment);
  // The GCM check runs whether or not the commitment matched, so the time taken does not say which
  // of the two checks failed; a plaintext opened under an uncommitted key is zeroed, never returned.
  // parseCiphertext always cuts a full 16-byte tag, so no authTagLength option is needed to refuse short ones.
  const decipher = createDecipheriv('aes-256-gcm', encryptionKey, parsed.nonce);
  decipher.setAuthTag(parsed.tag);
  decipher.setAAD(additionalData(parsed.header, parsed.header.length, contextPrefix, recordId));
  const plaintext = decipher.update(parsed.body);
  let authentic = true;
  try {
    decipher.final();
  } catch {
    authentic = false;
  }
  if (!committed || !authentic) plaintext.fill(0);
  if (!committed) throw new CryptoError('CRYPTO.KEY_COMMITMENT_MISMATCH', 'the ciphertext is not committed to the supplied key');
  if (!authentic) throw new CryptoError('CRYPTO.INTEGRITY_CHECK_FAILED', 'AES-GCM authentication failed');
  return plaintext;
}

/** Format 1: the GCM key and commitment come from an HKDF per message, salted with the nonce. */
function decryptLegacy(parsed: ParsedCiphertext, encodedContext: Buffer, material: Uint8Array): Buffer {
  const { encryptionKey, commitment } = deriveMessageKeys(material, parsed.nonce);
  try {
    const committed = equalBytes(commitment, parsed.commitment);
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
  checkContext(context);
  return lengthPrefixed([
    nameBytes(context.tenant, 'context tenant'),
    nameBytes(context.keyring, 'context keyring'),
    nameBytes(context.field, 'context field'),
    nameBytes(context.recordId, 'context recordId'),
  ]);
}

/** The record id, checked as `nameBytes` checks names (well-formed, 1..255 UTF-8 bytes) without encoding it yet. */
function checkRecordId(context: EncryptionContext): string {
  checkContext(context);
  const { recordId } = context;
  if (
    typeof recordId !== 'string' ||
    recordId.length === 0 ||
    !recordId.isWellFormed() ||
    Buffer.byteLength(recordId, 'utf8') > MAX_NAME_BYTES
  ) {
    nameBytes(recordId, 'context recordId'); // throws, with the reason
    throw new CryptoError('CRYPTO.BAD_INPUT', 'context recordId is not a valid name');
  }
  return recordId;
}

// Room for the additional data: a header with a 255-byte key id, then four names of at most 255
// bytes, each after its 4-byte length.
const aadScratch = Buffer.allocUnsafeSlow(FIXED_HEADER_LENGTH + 255 + 4 * (4 + 255));

/**
 * header ‖ `encodeContext(context)`, from the column's cached prefix, in a scratch Buffer reused by
 * every call: GCM reads it synchronously in `setAAD`, before any other call can write it. One more
 * `setAAD` call would cost more than copying the header.
 */
function additionalData(header: Buffer, headerLength: number, contextPrefix: Buffer, recordId: string): Buffer {
  header.copy(aadScratch, 0, 0, headerLength);
  contextPrefix.copy(aadScratch, headerLength);
  const lengthAt = headerLength + contextPrefix.length;
  const written = aadScratch.write(recordId, lengthAt + 4, 'utf8');
  aadScratch.writeUInt32BE(written, lengthAt);
  return aadScratch.subarray(0, lengthAt + 4 + written);
}

function checkContext(context: EncryptionContext): void {
  if (typeof context !== 'object' || context === null) throw new CryptoError('CRYPTO.BAD_INPUT', 'encryption context is required');
}

/** Format 1's per-message GCM key and key commitment. Exported for the commitment tests, not from the lib. */
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

/** Decryption compares the id with the ciphertext's, so it is checked, not encoded. */
function checkDataKeyForDecryption(dataKey: DataKey): Uint8Array {
  if (typeof dataKey !== 'object' || dataKey === null) throw new CryptoError('CRYPTO.BAD_INPUT', 'data key is required');
  if (typeof dataKey.id !== 'string' || dataKey.id.length === 0)
    throw new CryptoError('CRYPTO.BAD_INPUT', 'data key id must be a non-empty string');
  assertUint32(dataKey.version, 'data key version');
  return assertBytes(dataKey.material, 'data key', { exactly: DATA_KEY_LENGTH });
}

function parseCiphertext(input: Uint8Array): ParsedCiphertext {
  assertBytes(input, 'ciphertext');
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < 2) throw malformed('truncated');
  const formatVersion = bytes[0];
  if (formatVersion !== AEAD_FORMAT_VERSION && formatVersion !== AEAD_LEGACY_FORMAT_VERSION) {
    throw new CryptoError('CRYPTO.UNSUPPORTED_FORMAT', 'unknown ciphertext format version');
  }
  if (bytes[1] !== AEAD_ALGORITHM_AES_256_GCM_HKDF_SHA256)
    throw new CryptoError('CRYPTO.UNSUPPORTED_FORMAT', 'unknown ciphertext algorithm');
  const keyIdLength = bytes[2] ?? 0;
  const headerLength = FIXED_HEADER_LENGTH + keyIdLength;
  if (bytes.length < headerLength + GCM_TAG_LENGTH) throw malformed('truncated');
  if (keyIdLength === 0) throw malformed('empty key id');
  const keyIdBytes = bytes.subarray(3, 3 + keyIdLength);
  if (!isUtf8(keyIdBytes)) throw malformed('key id is not UTF-8');
  const keyId = keyIdBytes.toString('utf8');
  const keyVersion = bytes.readUInt32BE(3 + keyIdLength);
  const nonceStart = 7 + keyIdLength;
  const nonce = bytes.subarray(nonceStart, nonceStart + AEAD_NONCE_LENGTH);
  const commitment = bytes.subarray(nonceStart + AEAD_NONCE_LENGTH, headerLength);
  return {
    formatVersion,
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
