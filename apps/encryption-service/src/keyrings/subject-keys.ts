import { Inject, Injectable } from '@nestjs/common';
import { KeyIntegrityError } from '@traceo/hsm';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { DataKeys, type KeyRef, type WrappedDataKey, type WrappingContext } from './data-keys';
import type { Keyring } from './keyring';
import { FieldFailure } from './keyring.errors';
import { KeyringRepository, type SubjectKeyRow } from './keyring.repository';

/** A stored subject key as the unwrapping code needs it. */
export interface WrappedKeyHolder {
  wrappedKey: Buffer | null;
  kekId: string;
  wrapping: WrappedDataKey['wrapping'];
}

/** The data subjects' keys in a subject keyring: one per person, made on first use. */
@Injectable()
export class SubjectKeys {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly keyrings: KeyringRepository,
    private readonly dataKeys: DataKeys,
  ) {}

  /**
   * The stored keys of `subjects`, creating (and wrapping) one for each subject that has none yet.
   * A subject whose key was shredded keeps its destroyed row: it is answered, never replaced.
   */
  async findOrCreate(tenantId: string, keyring: Keyring, subjects: readonly string[]): Promise<Map<string, SubjectKeyRow>> {
    const keys = await this.keyrings.findSubjectKeys(tenantId, keyring.keyringId, subjects);
    const missing = new Map(
      subjects
        .filter((s) => !keys.has(s))
        .map((subjectId) => [subjectId, this.dataKeys.create({ tenantId, keyringId: keyring.keyringId, subjectId }, keyring)]),
    );
    if (missing.size === 0) return keys;
    await this.runtime.dataSource.transaction((manager) => this.keyrings.insertSubjectKeys(manager, tenantId, keyring.keyringId, missing));
    return this.keyrings.findSubjectKeys(tenantId, keyring.keyringId, subjects);
  }
}

/** A subject's stored key, or why it cannot be used (for that field or subject alone). */
export function usableSubjectKey(row: SubjectKeyRow | undefined, use: 'encrypt' | 'decrypt' = 'encrypt'): WrappedKeyHolder {
  if (!row) {
    if (use === 'encrypt') throw new Error('subject key missing after insert');
    throw new FieldFailure('CRYPTO.KEY_VERSION_NOT_FOUND', 'no key exists for the data subject this ciphertext names');
  }
  if (row.state === 'destroyed' || !row.wrapped_key) {
    throw new FieldFailure('CRYPTO.KEY_DESTROYED', "the data subject's key was destroyed (crypto-shredded); the data cannot be recovered");
  }
  return { wrappedKey: row.wrapped_key, kekId: row.kek_id, wrapping: row.wrapping };
}

/**
 * A stored key's bytes (DataKeys' cached Buffer), or the field failure a caller reports: destroyed,
 * or wrapped bytes that do not authenticate (`cannotOpen` says what cannot be opened, to the caller).
 */
export function unwrapHeldKey(
  dataKeys: DataKeys,
  ref: KeyRef,
  key: WrappedKeyHolder,
  keyring: WrappingContext,
  cannotOpen: string,
): Buffer {
  if (!key.wrappedKey) throw new FieldFailure('CRYPTO.KEY_DESTROYED', 'the key was destroyed');
  try {
    return dataKeys.unwrap(ref, { wrappedKey: key.wrappedKey, kekId: key.kekId, wrapping: key.wrapping }, keyring);
  } catch (error) {
    if (error instanceof KeyIntegrityError) {
      throw new FieldFailure('CRYPTO.INTEGRITY_CHECK_FAILED', cannotOpen, 'wrapped data key failed authentication');
    }
    throw error;
  }
}
