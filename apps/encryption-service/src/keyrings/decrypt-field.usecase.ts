import { Injectable } from '@nestjs/common';
import { CryptoError, decryptField, readCiphertextHeader } from '@traceo/crypto';
import { EventPublisher } from '@traceo/service-kit';
import { KeyIntegrityError } from '../hsm/hsm.errors';
import { DataKeys } from './data-keys';
import type { FieldRef } from './encrypt-field.usecase';
import { SYSTEM_ACTOR } from './keyring';
import { DecryptionFailedError, KeyringNotFoundError } from './keyring.errors';
import { KeyringRepository } from './keyring.repository';

/**
 * Opens a field ciphertext with the key version its header names. Every way the bytes can fail to
 * open (format, key reference, commitment, tag, wrapped key) is a 422 with a stable code, audited as
 * `crypto.decrypt-failed`; an unreachable HSM stays a retryable 503.
 */
@Injectable()
export class DecryptFieldUseCase {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly keyrings: KeyringRepository,
    private readonly dataKeys: DataKeys,
  ) {}

  async execute(ref: FieldRef, ciphertext: Buffer): Promise<{ plaintext: Buffer; keyVersion: number }> {
    const { tenantId, keyringId } = ref;
    if (!(await this.keyrings.keyringExists(tenantId, keyringId))) throw new KeyringNotFoundError('no such keyring');
    let keyVersion: number | undefined;
    try {
      keyVersion = readCiphertextHeader(ciphertext).keyVersion;
      const row = await this.keyrings.findVersion(tenantId, keyringId, keyVersion);
      if (!row)
        throw new DecryptionFailedError('CRYPTO.KEY_VERSION_NOT_FOUND', 'the ciphertext names a key version this keyring does not have');
      const material = this.dataKeys.unwrap(
        { tenantId, keyringId, version: keyVersion },
        { wrappedKey: row.wrapped_key, kekId: row.kek_id },
      );
      const plaintext = decryptField(
        ciphertext,
        { tenant: tenantId, keyring: keyringId, field: ref.field, recordId: ref.recordId },
        { id: keyringId, version: keyVersion, material },
      );
      return { plaintext, keyVersion };
    } catch (error) {
      const failure = asDecryptionFailure(error);
      if (!failure) throw error;
      await this.publisher.audit(
        {
          actor: SYSTEM_ACTOR,
          action: 'crypto.decrypt-failed',
          resource: { type: 'keyring', id: keyringId },
          status: 'failure',
          resultCode: failure.code,
          ...(keyVersion === undefined ? {} : { keyVersion: String(keyVersion) }),
          details: { field: ref.field },
        },
        { tenantId },
      );
      throw failure;
    }
  }
}

function asDecryptionFailure(error: unknown): DecryptionFailedError | undefined {
  if (error instanceof DecryptionFailedError) return error;
  if (error instanceof CryptoError) return new DecryptionFailedError(error.code, error.message);
  if (error instanceof KeyIntegrityError) return new DecryptionFailedError('CRYPTO.INTEGRITY_CHECK_FAILED', error.message);
  return undefined;
}
