import { randomBytes } from 'node:crypto';
import type { AuditRecordV1 } from '@traceo/contracts';
import { Pkcs11Ed25519Signer } from '@traceo/hsm';
import { loadInfraEnv } from '@traceo/testing';
import { HsmCheckpointSigner, verifyNoteSignature } from '../src/audit-log/checkpoint-note';
import { issueCheckpoints, registerSigningKey } from '../src/audit-log/checkpoints';
import { appendToLog } from '../src/audit-log/merkle-log.repository';
import { verifyAuditLog, type ReadQuery } from '../src/verification/audit-log-verifier';
import { openAuditTestRuntime, type AuditTestRuntime } from './audit-test-runtime';

describe('checkpoints signed by the Ed25519 key in the SoftHSM2 token', () => {
  let audit: AuditTestRuntime;
  let signer: HsmCheckpointSigner;
  const label = `traceo-audit-test-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    audit = await openAuditTestRuntime('it_audit_hsm');
    const { raw } = loadInfraEnv();
    signer = new HsmCheckpointSigner(
      Pkcs11Ed25519Signer.open(
        { modulePath: raw.TRACEO_PKCS11_MODULE!, tokenLabel: raw.TRACEO_PKCS11_TOKEN_LABEL!, pin: raw.TRACEO_PKCS11_PIN! },
        label,
      ),
    );
    await registerSigningKey(audit.dataSource, signer);
  });

  afterAll(async () => {
    signer?.close();
    await audit?.close();
  });

  it('issues checkpoints whose signatures verify with the registered public key, and the verifier accepts the log', async () => {
    const record = (n: number): AuditRecordV1 => ({
      occurredAt: new Date(Date.UTC(2026, 10, 24, 12, 0, n)).toISOString(),
      actor: { type: 'service', id: 'auth-service' },
      action: 'user.signed-in',
      resource: { type: 'session', id: `s-${n}` },
      status: 'success',
    });
    for (const batch of [3, 9]) {
      const records = Array.from({ length: batch }, (_, i) => ({
        eventId: `evt-${batch}-${i}`,
        source: '/traceo/auth-service',
        record: record(i),
      }));
      await audit.dataSource.transaction((manager) => appendToLog(manager, 'hsm-tenant', records));
      expect(await issueCheckpoints(audit.dataSource, signer, audit.publisher)).toBe(1);
    }
    const checkpoints = await audit.dataSource.query<{ key_id: string; note: string; signature: Buffer }[]>(
      `SELECT key_id, note, signature FROM audit_checkpoints WHERE tenant_id = 'hsm-tenant' ORDER BY tree_size`,
    );
    expect(checkpoints).toHaveLength(2);
    const [key] = await audit.dataSource.query<{ public_key: Buffer }[]>('SELECT public_key FROM audit_signing_keys WHERE key_id = $1', [
      signer.keyId,
    ]);
    for (const checkpoint of checkpoints) {
      expect(checkpoint.key_id).toBe(signer.keyId);
      expect(verifyNoteSignature(checkpoint.note, checkpoint.signature, key!.public_key)).toBe(true);
      expect(verifyNoteSignature(`${checkpoint.note}tampered`, checkpoint.signature, key!.public_key)).toBe(false);
    }
    const query: ReadQuery = (sql, params) => audit.dataSource.query(sql, params);
    expect(await verifyAuditLog(query, 'hsm-tenant')).toEqual({ tenant: 'hsm-tenant', ok: true, records: 12, checkpointsVerified: 2 });
  });
});
