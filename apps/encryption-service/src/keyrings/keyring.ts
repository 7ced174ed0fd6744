/** What a keyring's keys are for; a key never serves two purposes. */
export const KEYRING_PURPOSES = ['field', 'blind-index', 'range', 'subject'] as const;
export type KeyringPurpose = (typeof KEYRING_PURPOSES)[number];

/**
 * How a keyring's data keys are wrapped at rest. classic: AES-256-GCM in the HSM under the KEK.
 * hybrid-pq: X-Wing (ML-KEM-768 + X25519) to the keyring's key pair, whose secret half is wrapped
 * classically by the HSM (the HSM has no ML-KEM; the KEM runs in software on the unwrapped secret).
 */
export const WRAPPINGS = ['classic', 'hybrid-pq'] as const;
export type Wrapping = (typeof WRAPPINGS)[number];

export type KeyVersionState = 'active' | 'decrypt-only' | 'retired' | 'destroyed';

/** Default and ceiling of encryptions under one version: far under the 2^32 GCM invocation bound of NIST SP 800-38D. */
export const DEFAULT_MAX_ENCRYPTIONS_PER_VERSION = 1_000_000_000;
export const MAX_ENCRYPTIONS_PER_VERSION_CEILING = 2 ** 31;
export const MIN_ROTATION_PERIOD_SECONDS = 3600;

export interface KeyringPolicy {
  wrapping: Wrapping;
  /** Rotate when the active version is this old; null: only usage-based and manual rotation. */
  rotationPeriodSeconds: number | null;
  maxEncryptionsPerVersion: number;
  minDecryptionVersion: number;
  /** Length of blind-index tokens (blind-index keyrings), fixed at creation: 8..32 bytes. */
  blindIndexTokenBytes: number;
}

/** The row of a keyring, as the use cases need it. */
export interface Keyring extends KeyringPolicy {
  tenantId: string;
  keyringId: string;
  purpose: KeyringPurpose;
  pqPublicKey: Buffer | null;
  pqSecretKeyWrapped: Buffer | null;
}

/** A key version with its wrapped key; `wrappedKey` is null once destroyed. */
export interface KeyVersion {
  version: number;
  state: KeyVersionState;
  wrapping: Wrapping;
  wrappedKey: Buffer | null;
  kekId: string;
}

export interface KeyVersionView {
  version: number;
  state: KeyVersionState;
  wrapping: Wrapping;
  createdAt: string;
  rotatedReason: string | null;
  /** Fields sealed under this version. */
  encryptions: number;
  decryptions: number;
  /** Ciphertexts moved from this version to a newer one by rewrap. */
  rewrappedAway: number;
  /** encryptions − rewrappedAway: ciphertexts that may still depend on this version. */
  outstanding: number;
  lastUsedAt: string | null;
  retiredAt: string | null;
  destroyedAt: string | null;
}

/** A keyring's public view: never carries key material, wrapped or not. */
export interface KeyringView extends KeyringPolicy {
  tenantId: string;
  keyringId: string;
  purpose: KeyringPurpose;
  activeVersion: number | null;
  createdAt: string;
  updatedAt: string;
  versions: KeyVersionView[];
}

/** Who asked, for audit records and events. */
export interface Actor {
  type: 'user' | 'service' | 'api-client' | 'system';
  id: string;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: 'encryption-service' };
