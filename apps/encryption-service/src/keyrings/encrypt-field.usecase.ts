import { Injectable } from '@nestjs/common';
import { CryptoError, encryptField } from '@traceo/crypto';
import { DataKeys } from './data-keys';
import { EncryptionRejectedError, KeyringNotFoundError } from './keyring.errors';
import { KeyringRepository } from './keyring.repository';

export interface FieldRef {
  tenantId: string;
  keyringId: string;
  field: string;
  recordId: string;
}

/** Seals one field value under the keyring's active data key, bound to tenant, keyring, field and record. */
@Injectable()
export class EncryptFieldUseCase {
  constructor(
    private readonly keyrings: KeyringRepository,
    private readonly dataKeys: DataKeys,
  ) {}

  async execute(ref: FieldRef, plaintext: Buffer): Promise<{ ciphertext: Buffer; keyVersion: number }> {
    const { tenantId, keyringId } = ref;
    const row = await this.keyrings.useActiveVersion(tenantId, keyringId);
    if (!row) throw new KeyringNotFoundError('no such keyring');
    const material = this.dataKeys.unwrap(
      { tenantId, keyringId, version: row.version },
      { wrappedKey: row.wrapped_key, kekId: row.kek_id },
    );
    try {
      const ciphertext = encryptField(
        plaintext,
        { tenant: tenantId, keyring: keyringId, field: ref.field, recordId: ref.recordId },
        { id: keyringId, version: row.version, material },
      );
      return { ciphertext, keyVersion: row.version };
    } catch (error) {
      if (error instanceof CryptoError) throw new EncryptionRejectedError(error.code, error.message);
      throw error;
    }
  }
}
