/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-call -- tests explore JSON response bodies loosely */
import { randomBytes } from 'node:crypto';
import { decryptField, encryptField, readCiphertextHeader } from '@traceo/crypto';
import { KeyringRepository } from '../src/keyrings/keyring.repository';
import { RotationScheduler } from '../src/keyrings/rotation.scheduler';
import {
  openEncryptionTestApp,
  openEncryptionTestRuntime,
  type EncryptionTestApp,
  type EncryptionTestRuntime,
} from './encryption-test-runtime';

interface OutboxEvent {
  type: string;
  tenantid: string;
  data: Record<string, any>;
}

/**
 * The encryption API end to end in-process: the real AppModule over HTTP, real PostgreSQL (scratch
 * schema) and the real SoftHSM2 KEK. Audit records and key events are read from the outbox table.
 */
describe('encryption-service keyrings over HTTP (PostgreSQL + SoftHSM2)', () => {
  let test: EncryptionTestRuntime;
  let api: EncryptionTestApp;
  const tenant = `tenant-${randomBytes(4).toString('hex')}`;
  let keyrings: string;
  /** A key custodian: manages keys, never sees plaintext. */
  let keyAdmin: string;
  const newId = (prefix = 'kr') => `${prefix}-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    test = await openEncryptionTestRuntime('enc_http');
    api = await openEncryptionTestApp(test);
    keyrings = api.keyrings(tenant);
    keyAdmin = await api.token(['key-admin']);
  });

  /** Key management calls, made by the key custodian. */
  const admin = (method: string, url: string, body?: unknown) => api.call(method, url, body, keyAdmin);

  afterAll(async () => {
    await api?.close();
    await test?.close();
  });

  async function createKeyring(body: Record<string, unknown>): Promise<Record<string, any>> {
    const response = await admin('POST', keyrings, body);
    expect(response.status).toBe(201);
    return response.body;
  }

  async function encrypt(keyringId: string, fields: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
    return api.call('POST', `${keyrings}/${keyringId}/encrypt`, { fields, ...extra });
  }

  async function decrypt(keyringId: string, fields: Record<string, unknown>[]) {
    return api.call('POST', `${keyrings}/${keyringId}/decrypt`, { fields });
  }

  async function outbox(action: string, keyringId: string): Promise<OutboxEvent[]> {
    const rows = await test.dataSource.query<{ payload: string }[]>(
      `SELECT payload FROM outbox WHERE payload LIKE $1 AND payload LIKE $2 ORDER BY seq`,
      [`%"action":"${action}"%`, `%${keyringId}%`],
    );
    return rows.map((row) => JSON.parse(row.payload) as OutboxEvent);
  }

  const email = (recordId: string, plaintext: string) => ({ field: 'email', recordId, plaintext });

  it('creates a keyring whose data key is stored only wrapped by the HSM KEK', async () => {
    const keyringId = newId();
    const created = await createKeyring({ keyringId });
    expect(created).toMatchObject({ tenantId: tenant, keyringId, purpose: 'field', wrapping: 'classic', activeVersion: 1 });
    expect(created.versions).toEqual([expect.objectContaining({ version: 1, state: 'active', encryptions: 0, outstanding: 0 })]);
    const [row] = await test.dataSource.query<{ kek_id: string; wrapped_key: Buffer }[]>(
      'SELECT kek_id, wrapped_key FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2',
      [tenant, keyringId],
    );
    expect(row!.kek_id).toBe('traceo-kek-v1');
    expect(row!.wrapped_key).toHaveLength(12 + 32 + 16);
    expect((await admin('POST', keyrings, { keyringId })).body.code).toBe('CRYPTO.KEYRING_EXISTS');
    expect(JSON.stringify(created)).not.toMatch(/wrappedKey|wrapped_key|pqSecret|material/i);
  });

  it('encrypts and decrypts a batch, counts the uses, and audits each call without the data', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId });
    const fields = [
      email('r1', 'ada@example.com'),
      email('r2', 'grace@example.com'),
      { field: 'note', recordId: 'r1', plaintext: 'é ✓ 𝄞' },
    ];
    const sealed = await encrypt(keyringId, fields);
    expect(sealed.status).toBe(200);
    expect(sealed.body.results).toHaveLength(3);
    for (const result of sealed.body.results) expect(result).toMatchObject({ ok: true, keyVersion: 1 });
    const ciphertexts = sealed.body.results.map((r: { ciphertext: string }) => r.ciphertext);
    expect(readCiphertextHeader(Buffer.from(ciphertexts[0], 'base64'))).toMatchObject({ keyId: keyringId, keyVersion: 1 });

    const opened = await decrypt(
      keyringId,
      fields.map((f, i) => ({ field: f.field, recordId: f.recordId, ciphertext: ciphertexts[i] })),
    );
    expect(opened.body.results.map((r: { plaintext: string }) => r.plaintext)).toEqual(fields.map((f) => f.plaintext));

    const view = (await api.call('GET', `${keyrings}/${keyringId}`)).body;
    expect(view.versions[0]).toMatchObject({ encryptions: 3, decryptions: 3, outstanding: 3 });

    const [audit] = (await outbox('crypto.encrypt', keyringId)).filter((e) => e.type === 'traceo.audit.record.v1');
    expect(audit!.data).toMatchObject({
      action: 'crypto.encrypt',
      status: 'success',
      keyVersion: '1',
      actor: { type: 'api-client', id: 'test' },
      details: { fields: 3, purpose: 'field' },
    });
    const [event] = (await outbox('crypto.decrypt', keyringId)).filter((e) => e.type === 'traceo.crypto.key-event.v1');
    expect(event!.data).toMatchObject({ action: 'crypto.decrypt', keyVersions: [1], fields: 3, status: 'success' });
    const everything = JSON.stringify(await outbox('crypto.', keyringId));
    for (const f of fields) expect(everything).not.toContain(f.plaintext);
    for (const c of ciphertexts) expect(everything).not.toContain(c);
  });

  it('reports each bad field of a batch and returns the rest; a batch of only bad fields is one problem+json', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId });
    const [good] = (await encrypt(keyringId, [email('r1', 'ada@example.com')])).body.results;
    const bytes = Buffer.from(good.ciphertext, 'base64');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1]! ^= 0x01;
    const batch = await decrypt(keyringId, [
      { field: 'email', recordId: 'r1', ciphertext: good.ciphertext },
      { field: 'email', recordId: 'r1', ciphertext: flipped.toString('base64') },
      { field: 'email', recordId: 'r1', ciphertext: 'not base64!' },
      { field: 'email', recordId: 'r2', ciphertext: good.ciphertext },
      { field: 'phone', recordId: 'r1', ciphertext: good.ciphertext },
      { field: 'email', recordId: 'r1', ciphertext: bytes.subarray(0, 20).toString('base64') },
      {
        field: 'email',
        recordId: 'r1',
        ciphertext: Buffer.concat([bytes.subarray(0, 2), Buffer.of(3), Buffer.from('zzz'), bytes.subarray(3 + keyringId.length)]).toString(
          'base64',
        ),
      },
    ]);
    expect(batch.status).toBe(200);
    expect(batch.body.results.map((r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error!.code))).toEqual([
      'ok',
      'CRYPTO.INTEGRITY_CHECK_FAILED',
      'CRYPTO.MALFORMED_BASE64',
      'CRYPTO.INTEGRITY_CHECK_FAILED',
      'CRYPTO.INTEGRITY_CHECK_FAILED',
      'CRYPTO.UNSUPPORTED_FORMAT',
      'CRYPTO.INTEGRITY_CHECK_FAILED',
    ]);
    expect(batch.body.results[0].plaintext).toBe('ada@example.com');
    for (const result of batch.body.results.slice(1)) expect(result.plaintext).toBeUndefined();

    const single = await decrypt(keyringId, [{ field: 'email', recordId: 'r1', ciphertext: flipped.toString('base64') }]);
    expect(single.status).toBe(422);
    expect(single.type).toContain('application/problem+json');
    expect(single.body).toMatchObject({ code: 'CRYPTO.INTEGRITY_CHECK_FAILED', status: 422 });
    expect(JSON.stringify(single.body)).not.toMatch(/stack|at \w+ \(/);

    const [failedAudit] = (await outbox('crypto.decrypt', keyringId)).filter(
      (e) => e.type === 'traceo.audit.record.v1' && e.data.details.outcome === 'partial',
    );
    expect(failedAudit!.data).toMatchObject({
      status: 'failure',
      details: {
        fields: 7,
        failures: { 'CRYPTO.INTEGRITY_CHECK_FAILED': 4, 'CRYPTO.MALFORMED_BASE64': 1, 'CRYPTO.UNSUPPORTED_FORMAT': 1 },
        reasons: expect.objectContaining({ 'authentication tag mismatch': expect.any(Number) }),
      },
    });
  });

  it('refuses every single-bit change of a ciphertext, never answering with plaintext', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId });
    const [good] = (await encrypt(keyringId, [email('r1', 'bits')])).body.results;
    const bytes = Buffer.from(good.ciphertext, 'base64');
    const fields = [];
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const tampered = Buffer.from(bytes);
      tampered[bit >> 3]! ^= 1 << (bit & 7);
      fields.push({ field: 'email', recordId: 'r1', ciphertext: tampered.toString('base64') });
    }
    for (let start = 0; start < fields.length; start += 1000) {
      const response = await decrypt(keyringId, fields.slice(start, start + 1000));
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(response.body.errors).toHaveLength(Math.min(1000, fields.length - start));
      expect(JSON.stringify(response.body)).not.toContain('"plaintext"');
    }
  });

  it('rotates manually; old ciphertexts still open; rewrap moves them; retiring is refused until nothing depends on the version', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId });
    const old = (await encrypt(keyringId, [email('r1', 'one'), email('r2', 'two')])).body.results;
    expect((await admin('POST', `${keyrings}/${keyringId}/rotate`)).body).toMatchObject({ activeVersion: 2 });
    const [fresh] = (await encrypt(keyringId, [email('r3', 'three')])).body.results;
    expect(fresh.keyVersion).toBe(2);
    expect((await decrypt(keyringId, [{ field: 'email', recordId: 'r1', ciphertext: old[0].ciphertext }])).body.results[0]).toMatchObject({
      plaintext: 'one',
      keyVersion: 1,
    });

    const refused = await admin('POST', `${keyrings}/${keyringId}/versions/1/retire`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('CRYPTO.KEY_VERSION_IN_USE');
    expect((await admin('POST', `${keyrings}/${keyringId}/versions/2/retire`, {})).body.code).toBe('CRYPTO.KEY_VERSION_STATE_CONFLICT');

    const rewrapped = await api.call('POST', `${keyrings}/${keyringId}/rewrap`, {
      fields: [
        { field: 'email', recordId: 'r1', ciphertext: old[0].ciphertext },
        { field: 'email', recordId: 'r2', ciphertext: old[1].ciphertext },
        { field: 'email', recordId: 'r3', ciphertext: fresh.ciphertext },
      ],
    });
    expect(rewrapped.body.results.map((r: { keyVersion: number; rewrapped: boolean }) => [r.keyVersion, r.rewrapped])).toEqual([
      [2, true],
      [2, true],
      [2, false],
    ]);
    expect(JSON.stringify(rewrapped.body)).not.toMatch(/"one"|"two"|plaintext/);
    expect(rewrapped.body.results[2].ciphertext).toBe(fresh.ciphertext);
    const reopened = await decrypt(keyringId, [{ field: 'email', recordId: 'r2', ciphertext: rewrapped.body.results[1].ciphertext }]);
    expect(reopened.body.results[0]).toMatchObject({ plaintext: 'two', keyVersion: 2 });

    const view = (await api.call('GET', `${keyrings}/${keyringId}`)).body;
    expect(view.versions[0]).toMatchObject({ version: 1, state: 'decrypt-only', encryptions: 2, rewrappedAway: 2, outstanding: 0 });
    const retired = await admin('POST', `${keyrings}/${keyringId}/versions/1/retire`, {});
    expect(retired.status).toBe(200);
    expect(retired.body.versions[0].state).toBe('retired');
    expect((await decrypt(keyringId, [{ field: 'email', recordId: 'r1', ciphertext: old[0].ciphertext }])).body.code).toBe(
      'CRYPTO.KEY_RETIRED',
    );

    const destroyed = await admin('POST', `${keyrings}/${keyringId}/versions/1/destroy`, {});
    expect(destroyed.body.versions[0].state).toBe('destroyed');
    const gone = await decrypt(keyringId, [{ field: 'email', recordId: 'r1', ciphertext: old[0].ciphertext }]);
    expect(gone.status).toBe(410);
    expect(gone.body.code).toBe('CRYPTO.KEY_DESTROYED');
    const [row] = await test.dataSource.query<{ wrapped_key: Buffer | null }[]>(
      'SELECT wrapped_key FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2 AND version = 1',
      [tenant, keyringId],
    );
    expect(row!.wrapped_key).toBeNull();
    expect((await outbox('crypto.key-destroyed', keyringId)).length).toBe(2);
  });

  it('seals under the version it last reserved and confirms after, in one statement; a refused confirmation leaves no count and no record', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId });
    const repository = api.app.get(KeyringRepository);
    const reserving = jest.spyOn(repository, 'findKeyringReserving');
    const confirming = jest.spyOn(repository, 'confirmEncryptions');
    try {
      // The first call reserves (nothing known yet); the second seals under version 1 and confirms.
      await encrypt(keyringId, [email('r1', 'one')]);
      const [second] = (await encrypt(keyringId, [email('r2', 'two'), email('r3', 'three')])).body.results;
      expect(second).toMatchObject({ ok: true, keyVersion: 1 });
      expect(reserving).toHaveBeenCalledTimes(1);
      expect(confirming).toHaveBeenCalledTimes(1);
      await expect(confirming.mock.results[0]!.value).resolves.toBe(true);

      // Rotated (this process's cache is not told, as another replica's would not be): the confirmation
      // is refused, the call reserves under version 2, and version 1 counts only what it really sealed.
      expect((await admin('POST', `${keyrings}/${keyringId}/rotate`)).body).toMatchObject({ activeVersion: 2 });
      const [third] = (await encrypt(keyringId, [email('r4', 'four')])).body.results;
      expect(third).toMatchObject({ ok: true, keyVersion: 2 });
      expect(confirming).toHaveBeenCalledTimes(2);
      await expect(confirming.mock.results[1]!.value).resolves.toBe(false);
      expect(reserving).toHaveBeenCalledTimes(2);
    } finally {
      reserving.mockRestore();
      confirming.mockRestore();
    }
    const view = (await api.call('GET', `${keyrings}/${keyringId}`)).body;
    expect(view.versions.map((v: { version: number; encryptions: number }) => [v.version, v.encryptions])).toEqual([
      [1, 3],
      [2, 1],
    ]);
    // One audit record and one key event per call, the refused attempt none.
    const records = await outbox('crypto.encrypt', keyringId);
    expect(records.filter((e) => e.type === 'traceo.audit.record.v1').map((e) => (e.data as { keyVersion: string }).keyVersion)).toEqual([
      '1',
      '1',
      '2',
    ]);
    expect(records.filter((e) => e.type === 'traceo.crypto.key-event.v1').map((e) => (e.data as { fields: number }).fields)).toEqual([
      1, 2, 1,
    ]);
  });

  it('enforces min_decryption_version, which can only rise', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId });
    const [old] = (await encrypt(keyringId, [email('r1', 'one')])).body.results;
    await admin('POST', `${keyrings}/${keyringId}/rotate`);
    expect((await admin('PATCH', `${keyrings}/${keyringId}`, { minDecryptionVersion: 3 })).body.code).toBe('CRYPTO.INVALID_KEY_POLICY');
    expect((await admin('PATCH', `${keyrings}/${keyringId}`, { minDecryptionVersion: 2 })).body.minDecryptionVersion).toBe(2);
    expect((await decrypt(keyringId, [{ field: 'email', recordId: 'r1', ciphertext: old.ciphertext }])).body.code).toBe(
      'CRYPTO.KEY_VERSION_BELOW_MINIMUM',
    );
    expect((await admin('PATCH', `${keyrings}/${keyringId}`, { minDecryptionVersion: 1 })).body.code).toBe('CRYPTO.INVALID_KEY_POLICY');
  });

  it('rotates by usage before a version passes its encryption limit', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId, maxEncryptionsPerVersion: 5 });
    const first = (await encrypt(keyringId, [email('a', '1'), email('b', '2'), email('c', '3')])).body.results;
    const second = (await encrypt(keyringId, [email('d', '4'), email('e', '5'), email('f', '6')])).body.results;
    expect(first.map((r: { keyVersion: number }) => r.keyVersion)).toEqual([1, 1, 1]);
    expect(second.map((r: { keyVersion: number }) => r.keyVersion)).toEqual([2, 2, 2]);
    const view = (await api.call('GET', `${keyrings}/${keyringId}`)).body;
    expect(view.versions).toEqual([
      expect.objectContaining({ version: 1, state: 'decrypt-only', encryptions: 3 }),
      expect.objectContaining({ version: 2, state: 'active', encryptions: 3, rotatedReason: 'usage-limit' }),
    ]);
  });

  it('counts concurrent calls exactly and keeps every version within its limit when their writes are grouped', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId, maxEncryptionsPerVersion: 10 });
    const calls = 12;
    const sealed = await Promise.all(
      Array.from({ length: calls }, (_, c) => encrypt(keyringId, [email(`a${c}`, `${c}@example.com`), email(`b${c}`, `${c}@example.org`)])),
    );
    const results = sealed.flatMap((response) => {
      expect(response.status).toBe(200);
      return response.body.results as { ok: boolean; ciphertext: string; keyVersion: number }[];
    });
    expect(results.every((r) => r.ok)).toBe(true);
    const view = (await api.call('GET', `${keyrings}/${keyringId}`)).body;
    const versions = view.versions as { version: number; encryptions: number }[];
    // Every field is counted under the version that sealed it, and no version passes 10.
    expect(versions.reduce((sum, v) => sum + v.encryptions, 0)).toBe(2 * calls);
    for (const v of versions) {
      expect(v.encryptions).toBeLessThanOrEqual(10);
      expect(v.encryptions).toBe(results.filter((r) => r.keyVersion === v.version).length);
    }

    const opened = await Promise.all(
      sealed.map((response, c) =>
        decrypt(
          keyringId,
          (response.body.results as { ciphertext: string }[]).map((r, i) => ({
            field: 'email',
            recordId: `${i === 0 ? 'a' : 'b'}${c}`,
            ciphertext: r.ciphertext,
          })),
        ),
      ),
    );
    for (const response of opened) expect(response.body.results.every((r: { ok: boolean }) => r.ok)).toBe(true);
    const after = (await api.call('GET', `${keyrings}/${keyringId}`)).body.versions as { decryptions: number }[];
    expect(after.reduce((sum, v) => sum + v.decryptions, 0)).toBe(2 * calls);
    // One audit record per call, though concurrent calls share outbox transactions.
    for (const action of ['crypto.encrypt', 'crypto.decrypt']) {
      expect((await outbox(action, keyringId)).filter((e) => e.type === 'traceo.audit.record.v1')).toHaveLength(calls);
    }
  });

  it('rotates on schedule when the active version is older than the keyring period', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId, rotationPeriodSeconds: 86_400 });
    const scheduler = api.app.get(RotationScheduler);
    await scheduler.rotateDue();
    expect((await api.call('GET', `${keyrings}/${keyringId}`)).body.activeVersion).toBe(1);
    await test.dataSource.query(
      `UPDATE key_versions SET created_at = created_at - interval '2 days' WHERE tenant_id = $1 AND keyring_id = $2`,
      [tenant, keyringId],
    );
    expect(await scheduler.rotateDue()).toBeGreaterThanOrEqual(1);
    const view = (await api.call('GET', `${keyrings}/${keyringId}`)).body;
    expect(view.activeVersion).toBe(2);
    expect(view.versions[1]).toMatchObject({ rotatedReason: 'scheduled' });
  });

  it('wraps hybrid-pq keyrings with X-Wing, and switching wrapping rewraps data keys without touching ciphertexts', async () => {
    const keyringId = newId();
    const created = await createKeyring({ keyringId, wrapping: 'hybrid-pq' });
    expect(created.versions[0].wrapping).toBe('hybrid-pq');
    const wrappedLength = async () =>
      (
        await test.dataSource.query<{ n: number }[]>(
          'SELECT length(wrapped_key) AS n FROM key_versions WHERE tenant_id = $1 AND keyring_id = $2',
          [tenant, keyringId],
        )
      )[0]!.n;
    expect(await wrappedLength()).toBe(1182);
    const [sealed] = (await encrypt(keyringId, [email('r1', 'post-quantum')])).body.results;

    const toClassic = await admin('PATCH', `${keyrings}/${keyringId}`, { wrapping: 'classic' });
    expect(toClassic.body).toMatchObject({ wrapping: 'classic', versions: [expect.objectContaining({ wrapping: 'classic' })] });
    expect(await wrappedLength()).toBe(60);
    expect((await decrypt(keyringId, [{ field: 'email', recordId: 'r1', ciphertext: sealed.ciphertext }])).body.results[0].plaintext).toBe(
      'post-quantum',
    );
    await admin('PATCH', `${keyrings}/${keyringId}`, { wrapping: 'hybrid-pq' });
    expect(await wrappedLength()).toBe(1182);
    expect((await decrypt(keyringId, [{ field: 'email', recordId: 'r1', ciphertext: sealed.ciphertext }])).body.results[0].plaintext).toBe(
      'post-quantum',
    );
    const [updated] = (await outbox('crypto.keyring-updated', keyringId)).filter((e) => e.type === 'traceo.audit.record.v1');
    expect(updated!.data.details).toMatchObject({ wrappingFrom: 'hybrid-pq', wrappingTo: 'classic', rewrappedKeys: 1 });
  });

  it('crypto-shreds one data subject: irreversible, audited, and other subjects unaffected', async () => {
    const keyringId = newId('people');
    await createKeyring({ keyringId, purpose: 'subject' });
    const sealed = (
      await encrypt(keyringId, [
        { field: 'name', recordId: 'r1', plaintext: 'Ada Lovelace', subjectId: 'user-ada' },
        { field: 'name', recordId: 'r2', plaintext: 'Grace Hopper', subjectId: 'user-grace' },
      ])
    ).body.results;
    expect(readCiphertextHeader(Buffer.from(sealed[0].ciphertext, 'base64')).keyId).toBe('user-ada');
    const missingSubject = await encrypt(keyringId, [{ field: 'name', recordId: 'r3', plaintext: 'x' }]);
    expect(missingSubject.body.code).toBe('CRYPTO.BAD_INPUT');

    const shred = await admin('POST', `${keyrings}/${keyringId}/subjects/user-ada/shred`);
    expect(shred.body).toEqual({ subjectId: 'user-ada', shredded: true, keyExisted: true, alreadyShredded: false });
    const after = await decrypt(keyringId, [
      { field: 'name', recordId: 'r1', ciphertext: sealed[0].ciphertext },
      { field: 'name', recordId: 'r2', ciphertext: sealed[1].ciphertext },
    ]);
    expect(after.body.results[0]).toMatchObject({ ok: false, error: { code: 'CRYPTO.KEY_DESTROYED', status: 410 } });
    expect(after.body.results[1]).toMatchObject({ ok: true, plaintext: 'Grace Hopper' });
    expect((await encrypt(keyringId, [{ field: 'name', recordId: 'r9', plaintext: 'again', subjectId: 'user-ada' }])).body.code).toBe(
      'CRYPTO.KEY_DESTROYED',
    );
    const rows = await test.dataSource.query<{ state: string; wrapped_key: Buffer | null }[]>(
      'SELECT state, wrapped_key FROM subject_keys WHERE tenant_id = $1 AND keyring_id = $2 AND subject_id = $3',
      [tenant, keyringId, 'user-ada'],
    );
    expect(rows).toEqual([{ state: 'destroyed', wrapped_key: null }]);
    expect((await admin('POST', `${keyrings}/${keyringId}/subjects/user-ada/shred`)).body).toMatchObject({ alreadyShredded: true });
    const [audit] = (await outbox('crypto.subject-shredded', keyringId)).filter((e) => e.type === 'traceo.audit.record.v1');
    expect(audit!.data).toMatchObject({ status: 'success', details: { subjects: 1, previousState: 'active' } });
    // A subject never seen before can be shredded too: nothing may be sealed for it afterwards.
    await admin('POST', `${keyrings}/${keyringId}/subjects/user-new/shred`);
    expect((await encrypt(keyringId, [{ field: 'name', recordId: 'r1', plaintext: 'x', subjectId: 'user-new' }])).body.code).toBe(
      'CRYPTO.KEY_DESTROYED',
    );
  });

  it('leases subject keys to a permitted caller: its own seals open here, seals are reserved and audited, a shredded subject gets none', async () => {
    const keyringId = newId('people');
    await createKeyring({ keyringId, purpose: 'subject' });
    const leases = `${keyrings}/${keyringId}/subject-keys/leases`;
    const leased = await api.call('POST', leases, { subjects: ['user-ada', 'user-grace'], seals: 500, seconds: 30 });
    expect(leased.status).toBe(200);
    expect(leased.body.leaseSeconds).toBe(30);
    const [ada, grace] = leased.body.leases;
    expect(ada).toMatchObject({ subjectId: 'user-ada', ok: true, keyId: 'user-ada', keyVersion: 1, seals: 500 });
    expect(Buffer.from(ada.key, 'base64')).toHaveLength(32);
    const context = (recordId: string) => ({ tenant, keyring: keyringId, field: 'name', recordId });
    const key = (lease: { keyId: string; key: string }) => ({ id: lease.keyId, version: 1, material: Buffer.from(lease.key, 'base64') });

    // Sealed in the caller's process with libs/crypto, opened by the service, and the other way round.
    const local = encryptField(Buffer.from('Ada Lovelace'), context('r1'), key(ada)).toString('base64');
    expect((await decrypt(keyringId, [{ field: 'name', recordId: 'r1', ciphertext: local }])).body.results[0]).toMatchObject({
      ok: true,
      plaintext: 'Ada Lovelace',
    });
    const remote = (await encrypt(keyringId, [{ field: 'name', recordId: 'r2', plaintext: 'Grace Hopper', subjectId: 'user-grace' }])).body
      .results[0].ciphertext;
    expect(decryptField(Buffer.from(remote, 'base64'), context('r2'), key(grace)).toString()).toBe('Grace Hopper');

    // The reserved seals are counted as encryptions before the keys leave.
    const counts = await test.dataSource.query<{ subject_id: string; encryptions: string }[]>(
      'SELECT subject_id, encryptions FROM subject_keys WHERE tenant_id = $1 AND keyring_id = $2 ORDER BY subject_id',
      [tenant, keyringId],
    );
    expect(counts.map((row) => [row.subject_id, Number(row.encryptions)])).toEqual([
      ['user-ada', 500],
      ['user-grace', 501],
    ]);
    const records = await outbox('crypto.subject-keys-leased', keyringId);
    expect(records.find((e) => e.type === 'traceo.audit.record.v1')!.data).toMatchObject({
      action: 'crypto.subject-keys-leased',
      status: 'success',
      actor: { type: 'api-client', id: 'test' },
      details: { subjectIds: ['user-ada', 'user-grace'], sealsPerSubject: 500, leaseSeconds: 30 },
    });
    expect(JSON.stringify(records)).not.toContain(ada.key);

    // Shredding publishes the event lease holders drop keys on; a shredded subject is leased no key.
    await admin('POST', `${keyrings}/${keyringId}/subjects/user-ada/shred`);
    const shredded = await test.dataSource.query<{ payload: string }[]>(
      `SELECT payload FROM outbox WHERE payload LIKE '%"type":"traceo.crypto.subject-shredded.v1"%' AND payload LIKE $1`,
      [`%${keyringId}%`],
    );
    expect(shredded.map((row) => JSON.parse(row.payload) as OutboxEvent)).toEqual([
      expect.objectContaining({ tenantid: tenant, data: expect.objectContaining({ keyringId, subjectId: 'user-ada' }) }),
    ]);
    const again = await api.call('POST', leases, { subjects: ['user-ada', 'user-grace'] });
    expect(again.body.leaseSeconds).toBe(60);
    expect(again.body.leases).toEqual([
      { subjectId: 'user-ada', ok: false, error: expect.objectContaining({ code: 'CRYPTO.KEY_DESTROYED', status: 410 }) },
      expect.objectContaining({ subjectId: 'user-grace', ok: true, seals: 10_000 }),
    ]);
    expect(JSON.stringify(again.body.leases[0])).not.toMatch(/"key"/);
  });

  it('leases to no one else: callers not in TRACEO_SUBJECT_KEY_LEASE_CLIENTS, roles without the permission, other purposes, bad bodies', async () => {
    const keyringId = newId('people');
    await createKeyring({ keyringId, purpose: 'subject' });
    const leases = `${keyrings}/${keyringId}/subject-keys/leases`;
    const body = { subjects: ['user-ada'] };
    // A token with role `service` holds the permission but is not a named lease client.
    expect(await api.call('POST', leases, body, await api.token(['service']))).toMatchObject({
      status: 403,
      body: { code: 'AUTH.FORBIDDEN' },
    });
    expect(await api.call('POST', leases, body, await api.token(['key-user']))).toMatchObject({
      status: 403,
      body: { code: 'AUTH.FORBIDDEN' },
    });
    expect(await api.call('POST', leases, body, keyAdmin)).toMatchObject({ status: 403, body: { code: 'AUTH.FORBIDDEN' } });
    const fieldKeyring = newId();
    await createKeyring({ keyringId: fieldKeyring });
    expect((await api.call('POST', `${keyrings}/${fieldKeyring}/subject-keys/leases`, body)).body.code).toBe(
      'CRYPTO.KEYRING_PURPOSE_MISMATCH',
    );
    expect((await api.call('POST', `${keyrings}/${newId()}/subject-keys/leases`, body)).body.code).toBe('CRYPTO.KEYRING_NOT_FOUND');
    for (const bad of [
      { subjects: [] },
      { subjects: Array.from({ length: 1001 }, (_, i) => `user-${i}`) },
      { subjects: ['user-ada'], seals: 0 },
      { subjects: ['user-ada'], seconds: 301 },
      { subjects: ['no|pipes'] },
      { subjects: ['user-ada'], extra: true },
    ]) {
      const refused = await api.call('POST', leases, bad);
      expect(refused).toMatchObject({ status: 400, type: expect.stringContaining('application/problem+json') });
    }
    // Nothing was leased, so no key was made for anyone.
    const rows = await test.dataSource.query<unknown[]>('SELECT 1 FROM subject_keys WHERE tenant_id = $1 AND keyring_id = $2', [
      tenant,
      keyringId,
    ]);
    expect(rows).toHaveLength(0);
  });

  it('returns equality and range tokens with the ciphertext, and turns searches into WHERE-clause tokens', async () => {
    const fieldKeyring = newId('people');
    const equalityKeyringId = newId('people-bi');
    const rangeKeyringId = newId('people-rt');
    await createKeyring({ keyringId: fieldKeyring });
    await createKeyring({ keyringId: equalityKeyringId, purpose: 'blind-index', blindIndexTokenBytes: 12 });
    await createKeyring({ keyringId: rangeKeyringId, purpose: 'range' });
    const sealed = await encrypt(
      fieldKeyring,
      [
        { field: 'email', recordId: 'r1', plaintext: 'Ada@Example.com ', equality: 'email' },
        { field: 'age', recordId: 'r1', plaintext: '36', range: 'integer' },
        { field: 'born', recordId: 'r1', plaintext: '1815-12-10T00:00:00Z', range: 'timestamp' },
        { field: 'age', recordId: 'r2', plaintext: 'thirty', range: 'integer' },
      ],
      { equalityKeyringId, rangeKeyringId },
    );
    const [mail, age, born, bad] = sealed.body.results;
    expect(mail.equalityToken).toMatch(/^v1:[A-Za-z0-9_-]{16}$/);
    expect(age.rangeToken).toMatch(/^v1:[0-9a-f]{24}$/);
    expect(born.rangeToken).toMatch(/^v1:[0-9a-f]{24}$/);
    expect(bad).toMatchObject({ ok: false, error: { code: 'CRYPTO.BAD_INPUT' } });

    const eq = await api.call('POST', `${keyrings}/${equalityKeyringId}/query-tokens`, {
      field: 'email',
      equals: 'ada@example.com',
      kind: 'email',
    });
    expect(eq.body.equalityTokens).toEqual([mail.equalityToken]);
    const range = await api.call('POST', `${keyrings}/${rangeKeyringId}/query-tokens`, {
      field: 'age',
      type: 'integer',
      gte: '18',
      lt: '65',
    });
    const [window] = range.body.ranges;
    expect(window.gte <= age.rangeToken && age.rangeToken <= window.lte).toBe(true);
    const older = await api.call('POST', `${keyrings}/${rangeKeyringId}/query-tokens`, { field: 'age', type: 'integer', gt: '36' });
    expect(older.body.ranges[0].gte > age.rangeToken).toBe(true);

    const direct = await api.call('POST', `${keyrings}/${equalityKeyringId}/tokens`, {
      values: [{ field: 'email', value: 'ADA@example.com', kind: 'email' }],
    });
    expect(direct.body.results[0]).toMatchObject({ ok: true, token: mail.equalityToken, keyVersion: 1 });

    // After the index key rotates, searches cover both versions until rewrap rebuilds the index.
    await admin('POST', `${keyrings}/${equalityKeyringId}/rotate`);
    const both = await api.call('POST', `${keyrings}/${equalityKeyringId}/query-tokens`, {
      field: 'email',
      equals: 'ada@example.com',
      kind: 'email',
    });
    expect(both.body.equalityTokens).toHaveLength(2);
    expect(both.body.equalityTokens[1]).toBe(mail.equalityToken);
    const rebuilt = await api.call('POST', `${keyrings}/${fieldKeyring}/rewrap`, {
      fields: [{ field: 'email', recordId: 'r1', ciphertext: mail.ciphertext, equality: 'email' }],
      equalityKeyringId,
    });
    expect(rebuilt.body.results[0]).toMatchObject({ rewrapped: false, equalityToken: both.body.equalityTokens[0] });

    expect((await encrypt(equalityKeyringId, [email('r1', 'x')])).body.code).toBe('CRYPTO.KEYRING_PURPOSE_MISMATCH');
    expect((await encrypt(fieldKeyring, [{ ...email('r1', 'x'), equality: 'email' }])).body.code).toBe('CRYPTO.KEYRING_PURPOSE_MISMATCH');
  });

  it('enforces roles: custodians never decrypt, auditors only read, users stay in their tenant, services cannot manage keys', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId });
    const [sealed] = (await encrypt(keyringId, [email('r1', 'rbac secret')])).body.results;
    const decryptBody = { fields: [{ field: 'email', recordId: 'r1', ciphertext: sealed.ciphertext }] };
    const [keyUser, otherTenantUser, auditor] = await Promise.all([
      api.token(['key-user'], tenant),
      api.token(['key-user'], `other-${tenant}`),
      api.token(['auditor']),
    ]);

    const custodian = await api.call('POST', `${keyrings}/${keyringId}/decrypt`, decryptBody, keyAdmin);
    expect(custodian).toMatchObject({ status: 403, body: { code: 'AUTH.FORBIDDEN' } });
    expect((await api.call('POST', `${keyrings}/${keyringId}/encrypt`, { fields: [email('r2', 'x')] }, auditor)).status).toBe(403);
    expect((await api.call('GET', `${keyrings}/${keyringId}`, undefined, auditor)).status).toBe(200);

    const opened = await api.call('POST', `${keyrings}/${keyringId}/decrypt`, decryptBody, keyUser);
    expect(opened.body.results[0].plaintext).toBe('rbac secret');
    const foreign = await api.call('POST', `${keyrings}/${keyringId}/decrypt`, decryptBody, otherTenantUser);
    expect(foreign).toMatchObject({ status: 403, body: { code: 'AUTH.TENANT_MISMATCH' } });
    expect((await api.call('POST', `${keyrings}/${keyringId}/rotate`, undefined, keyUser)).status).toBe(403);

    // The platform API key is a service: it uses keys and may provision subject keyrings, but manages nothing.
    expect((await api.call('POST', `${keyrings}/${keyringId}/rotate`)).body.code).toBe('AUTH.FORBIDDEN');
    expect((await api.call('POST', keyrings, { keyringId: newId() })).body.code).toBe('AUTH.FORBIDDEN');
    expect((await api.call('POST', keyrings, { keyringId: newId('people'), purpose: 'subject' })).status).toBe(201);
    expect((await api.call('POST', `${keyrings}/${keyringId}/subjects/someone/shred`)).status).toBe(403);

    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: 'mallory', tenant_id: '*', roles: ['key-user'], exp: Math.floor(Date.now() / 1000) + 600 }),
    ).toString('base64url')}.`;
    expect((await api.call('POST', `${keyrings}/${keyringId}/decrypt`, decryptBody, unsigned)).status).toBe(401);

    const [audit] = (await outbox('crypto.decrypt', keyringId)).filter(
      (e) => e.type === 'traceo.audit.record.v1' && e.data.status === 'success',
    );
    expect(audit!.data.actor).toEqual({ type: 'user', id: 'test-key-user' });
  });

  it('keeps tenants apart, and answers bad requests with problem+json codes', async () => {
    const keyringId = newId();
    await createKeyring({ keyringId });
    const other = api.keyrings(`other-${tenant}`);
    expect((await admin('POST', other, { keyringId })).status).toBe(201);
    const [sealed] = (await encrypt(keyringId, [email('r1', 'tenant a secret')])).body.results;
    const crossTenant = await api.call('POST', `${other}/${keyringId}/decrypt`, {
      fields: [{ field: 'email', recordId: 'r1', ciphertext: sealed.ciphertext }],
    });
    expect(crossTenant.body.code).toBe('CRYPTO.INTEGRITY_CHECK_FAILED');

    expect((await encrypt(newId(), [email('r1', 'x')])).body.code).toBe('CRYPTO.KEYRING_NOT_FOUND');
    expect((await encrypt(keyringId, [email('r1', 'x'.repeat(70_000))])).body).toMatchObject({
      code: 'CRYPTO.INPUT_TOO_LARGE',
      status: 413,
    });
    const tooMany = await encrypt(
      keyringId,
      Array.from({ length: 1001 }, (_, i) => email(`r${i}`, 'x')),
    );
    expect(tooMany.status).toBe(400);
    const fullBatch = await encrypt(
      keyringId,
      Array.from({ length: 1000 }, (_, i) => email(`r${i}`, `value ${i}`)),
    );
    expect(fullBatch.body.results.filter((r: { ok: boolean }) => r.ok)).toHaveLength(1000);
    const huge = await encrypt(
      keyringId,
      Array.from({ length: 200 }, (_, i) => email(`r${i}`, 'y'.repeat(60_000))),
    );
    expect(huge.status).toBe(413);
    expect(huge.type).toContain('application/problem+json');
    expect((await admin('POST', keyrings, { keyringId: 'Bad|Id' })).status).toBe(400);
    expect((await admin('PATCH', `${keyrings}/${keyringId}`, {})).status).toBe(400);
  });
});
