import { randomBytes } from 'node:crypto';
import { readCiphertextHeader } from '@traceo/crypto';
import { CreateKeyringUseCase } from '../src/keyrings/create-keyring.usecase';
import { DataKeys } from '../src/keyrings/data-keys';
import { DecryptFieldUseCase } from '../src/keyrings/decrypt-field.usecase';
import { EncryptFieldUseCase, type FieldRef } from '../src/keyrings/encrypt-field.usecase';
import { KeyringRepository } from '../src/keyrings/keyring.repository';
import { RotateKeyringUseCase } from '../src/keyrings/rotate-keyring.usecase';
import { openEncryptionTestRuntime, type EncryptionTestRuntime } from './encryption-test-runtime';

interface OutboxAudit {
  tenantid: string;
  data: { action: string; status: string; resultCode?: string; keyVersion?: string; resource: { id?: string } };
}

describe('keyrings: envelope encryption under the SoftHSM2 key-encryption key', () => {
  let test: EncryptionTestRuntime;
  let dataKeys: DataKeys;
  let createKeyring: CreateKeyringUseCase;
  let rotateKeyring: RotateKeyringUseCase;
  let encrypt: EncryptFieldUseCase;
  let decrypt: DecryptFieldUseCase;
  const tenantId = `tenant-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    test = await openEncryptionTestRuntime('enc_keyrings');
    const repository = new KeyringRepository(test.runtime);
    dataKeys = new DataKeys(test.kek);
    createKeyring = new CreateKeyringUseCase(test.runtime, test.publisher, repository, dataKeys);
    rotateKeyring = new RotateKeyringUseCase(test.runtime, test.publisher, repository, dataKeys);
    encrypt = new EncryptFieldUseCase(repository, dataKeys);
    decrypt = new DecryptFieldUseCase(test.publisher, repository, dataKeys);
  });

  afterAll(async () => {
    dataKeys.clear();
    await test.close();
  });

  const newKeyringId = () => `customers-${randomBytes(4).toString('hex')}`;
  const email = (keyringId: string, recordId = 'rec-1'): FieldRef => ({ tenantId, keyringId, field: 'email', recordId });

  async function outboxAudits(action: string): Promise<OutboxAudit[]> {
    const rows = await test.dataSource.query<{ payload: string }[]>(
      `SELECT payload FROM outbox WHERE topic = 'traceo.audit.record.v1' AND payload LIKE $1 ORDER BY seq`,
      [`%"action":"${action}"%`],
    );
    return rows.map((row) => JSON.parse(row.payload) as OutboxAudit);
  }

  it('creates a keyring, encrypts a field and decrypts it back', async () => {
    const keyringId = newKeyringId();
    await expect(createKeyring.execute(tenantId, keyringId)).resolves.toEqual({ tenantId, keyringId, activeVersion: 1 });

    const { ciphertext, keyVersion } = await encrypt.execute(email(keyringId), Buffer.from('ada@example.com'));
    expect(keyVersion).toBe(1);
    expect(ciphertext.includes(Buffer.from('ada@example.com'))).toBe(false);
    expect(readCiphertextHeader(ciphertext)).toMatchObject({ keyId: keyringId, keyVersion: 1 });
    await expect(decrypt.execute(email(keyringId), ciphertext)).resolves.toEqual({
      plaintext: Buffer.from('ada@example.com'),
      keyVersion: 1,
    });

    const created = await outboxAudits('crypto.keyring-created');
    expect(created.filter((event) => event.data.resource.id === keyringId)).toEqual([
      expect.objectContaining({ tenantid: tenantId, data: expect.objectContaining({ status: 'success', keyVersion: '1' }) }),
    ]);
  });

  it('stores the data key only wrapped, with the KEK id, and counts its uses', async () => {
    const keyringId = newKeyringId();
    await createKeyring.execute(tenantId, keyringId);
    await encrypt.execute(email(keyringId), Buffer.from('a'));
    await encrypt.execute(email(keyringId, 'rec-2'), Buffer.from('b'));
    const [row] = await test.dataSource.query<{ state: string; kek_id: string; wrapped_key: Buffer; usage_count: string }[]>(
      'SELECT state, kek_id, wrapped_key, usage_count FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2',
      [tenantId, keyringId],
    );
    expect(row).toMatchObject({ state: 'active', kek_id: 'traceo-kek-v1', usage_count: '2' });
    expect(row!.wrapped_key).toHaveLength(12 + 32 + 16);
  });

  it('refuses a second keyring with the same id (409 CRYPTO.KEYRING_EXISTS)', async () => {
    const keyringId = newKeyringId();
    await createKeyring.execute(tenantId, keyringId);
    await expect(createKeyring.execute(tenantId, keyringId)).rejects.toMatchObject({ code: 'CRYPTO.KEYRING_EXISTS', status: 409 });
  });

  it('answers 404 CRYPTO.KEYRING_NOT_FOUND for a keyring that does not exist', async () => {
    const missing = newKeyringId();
    await expect(rotateKeyring.execute(tenantId, missing)).rejects.toMatchObject({ code: 'CRYPTO.KEYRING_NOT_FOUND', status: 404 });
    await expect(encrypt.execute(email(missing), Buffer.from('x'))).rejects.toMatchObject({
      code: 'CRYPTO.KEYRING_NOT_FOUND',
      status: 404,
    });
    await expect(decrypt.execute(email(missing), Buffer.from('x'))).rejects.toMatchObject({
      code: 'CRYPTO.KEYRING_NOT_FOUND',
      status: 404,
    });
  });

  it('after rotation, seals with version 2 and still opens version 1 ciphertexts', async () => {
    const keyringId = newKeyringId();
    await createKeyring.execute(tenantId, keyringId);
    const before = await encrypt.execute(email(keyringId), Buffer.from('old value'));

    await expect(rotateKeyring.execute(tenantId, keyringId)).resolves.toEqual({ tenantId, keyringId, activeVersion: 2 });
    const after = await encrypt.execute(email(keyringId), Buffer.from('new value'));

    expect(after.keyVersion).toBe(2);
    expect(readCiphertextHeader(after.ciphertext).keyVersion).toBe(2);
    await expect(decrypt.execute(email(keyringId), before.ciphertext)).resolves.toEqual({
      plaintext: Buffer.from('old value'),
      keyVersion: 1,
    });
    await expect(decrypt.execute(email(keyringId), after.ciphertext)).resolves.toEqual({
      plaintext: Buffer.from('new value'),
      keyVersion: 2,
    });
    const states = await test.dataSource.query<{ version: number; state: string }[]>(
      'SELECT version, state FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2 ORDER BY version',
      [tenantId, keyringId],
    );
    expect(states).toEqual([
      { version: 1, state: 'decrypt-only' },
      { version: 2, state: 'active' },
    ]);
    const rotated = await outboxAudits('crypto.key-rotated');
    expect(rotated.filter((event) => event.data.resource.id === keyringId)).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ keyVersion: '2' }) }),
    ]);
  });

  it('refuses a ciphertext presented for another field or record with a stable 422 code, and audits it', async () => {
    const keyringId = newKeyringId();
    await createKeyring.execute(tenantId, keyringId);
    const { ciphertext } = await encrypt.execute(email(keyringId), Buffer.from('ada@example.com'));

    for (const ref of [{ ...email(keyringId), field: 'phone' }, email(keyringId, 'rec-2')]) {
      await expect(decrypt.execute(ref, ciphertext)).rejects.toMatchObject({ code: 'CRYPTO.INTEGRITY_CHECK_FAILED', status: 422 });
    }
    const failed = await outboxAudits('crypto.decrypt-failed');
    expect(failed.filter((event) => event.data.resource.id === keyringId)).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ status: 'failure', resultCode: 'CRYPTO.INTEGRITY_CHECK_FAILED' }) }),
      expect.objectContaining({ data: expect.objectContaining({ status: 'failure', resultCode: 'CRYPTO.INTEGRITY_CHECK_FAILED' }) }),
    ]);
  });

  it('refuses tampered, foreign and malformed ciphertexts with 422 codes, never a 500', async () => {
    const keyringId = newKeyringId();
    const otherKeyringId = newKeyringId();
    await createKeyring.execute(tenantId, keyringId);
    await createKeyring.execute(tenantId, otherKeyringId);
    const { ciphertext } = await encrypt.execute(email(keyringId), Buffer.from('ada@example.com'));

    const tampered = Buffer.from(ciphertext);
    tampered[tampered.length - 1]! ^= 0x01;
    await expect(decrypt.execute(email(keyringId), tampered)).rejects.toMatchObject({ code: 'CRYPTO.INTEGRITY_CHECK_FAILED', status: 422 });
    await expect(decrypt.execute(email(otherKeyringId), ciphertext)).rejects.toMatchObject({
      code: 'CRYPTO.KEY_COMMITMENT_MISMATCH',
      status: 422,
    });
    await expect(decrypt.execute(email(keyringId), Buffer.from('not a ciphertext'))).rejects.toMatchObject({
      code: 'CRYPTO.UNSUPPORTED_FORMAT',
      status: 422,
    });
    // Re-stamp version 1 as version 9 (offset 3 + key id length): no such version in the keyring.
    const unknownVersion = Buffer.from(ciphertext);
    unknownVersion.writeUInt32BE(9, 3 + keyringId.length);
    await expect(decrypt.execute(email(keyringId), unknownVersion)).rejects.toMatchObject({
      code: 'CRYPTO.KEY_VERSION_NOT_FOUND',
      status: 422,
    });
  });

  it('refuses a wrapped data key moved to another keyring (the wrapping aad binds it)', async () => {
    const source = newKeyringId();
    const target = newKeyringId();
    await createKeyring.execute(tenantId, source);
    await createKeyring.execute(tenantId, target);
    await test.dataSource.query(
      `UPDATE key_versions SET wrapped_key = (SELECT wrapped_key FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2 AND version = 1)
        WHERE tenant_id = $1 AND keyring_id = $3 AND version = 1`,
      [tenantId, source, target],
    );
    await expect(encrypt.execute(email(target), Buffer.from('x'))).rejects.toMatchObject({
      code: 'CRYPTO.INTEGRITY_CHECK_FAILED',
      status: 422,
    });
  });
});
