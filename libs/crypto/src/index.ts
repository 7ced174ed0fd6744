export {
  AEAD_ALGORITHM_AES_256_GCM_HKDF_SHA256,
  AEAD_FORMAT_VERSION,
  AEAD_LEGACY_FORMAT_VERSION,
  AEAD_NONCE_LENGTH,
  DATA_KEY_LENGTH,
  decryptField,
  encodeContext,
  encryptField,
  KEY_COMMITMENT_LENGTH,
  readCiphertextHeader,
  type CiphertextHeader,
  type DataKey,
  type EncryptionContext,
} from './aead';
export { aesGcmDecrypt, aesGcmEncrypt, GCM_MAX_IV_LENGTH, GCM_TAG_LENGTH, type AesGcmSealed } from './aes-gcm';
export {
  BLIND_INDEX_DEFAULT_TOKEN_BYTES,
  BLIND_INDEX_MIN_TOKEN_BYTES,
  BlindIndexer,
  normalizeForBlindIndex,
  type BlindIndexKind,
  type BlindIndexOptions,
} from './blind-index';
export { CryptoError, type CryptoErrorCode } from './crypto.errors';
export { FIELD_KEY_CACHE_MAX_ENTRIES, forgetDataKey } from './field-keys';
export { HKDF_MAX_INFO_BYTES, HKDF_SHA256_MAX_LENGTH, hkdfSha256 } from './hkdf';
export { HMAC_MIN_TAG_LENGTH, HMAC_SHA256_LENGTH, hmacSha256, verifyHmacSha256 } from './hmac';
export {
  forgetHybridSecretKey,
  hybridKem,
  KEY_WRAP_ALGORITHM_XWING_AES_256_GCM,
  KEY_WRAP_FORMAT_VERSION,
  nobleXWing,
  nodeXWing,
  unwrapKey,
  WRAPPED_DATA_KEY_LENGTH,
  WRAPPED_KEY_LENGTH,
  wrapKey,
  XWING_CIPHERTEXT_LENGTH,
  XWING_PUBLIC_KEY_LENGTH,
  XWING_SECRET_KEY_LENGTH,
  XWING_SHARED_SECRET_LENGTH,
  type HybridKem,
  type HybridKeyPair,
  type KeyWrapOptions,
} from './hybrid-kem';
export { MIN_INDEX_KEY_LENGTH, type IndexKeyScope } from './key-scope';
export {
  ML_KEM_768_CIPHERTEXT_LENGTH,
  ML_KEM_768_PUBLIC_KEY_LENGTH,
  ML_KEM_768_SEED_LENGTH,
  ML_KEM_768_SHARED_SECRET_LENGTH,
  nativeMlKemAvailable,
  nobleMlKem768,
  nodeMlKem768,
  type KemEncapsulation,
  type MlKem768,
} from './ml-kem';
export { RANGE_TOKEN_HEX_LENGTH, RangeTokenizer } from './range-token';
export { X25519_KEY_LENGTH, x25519, x25519PublicKey } from './x25519';
