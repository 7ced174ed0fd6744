import type { AuditRecordV1 } from '@traceo/contracts';
import type { EventPublisher } from '@traceo/service-kit';
import type { DataSource } from 'typeorm';
import type { CheckpointSigner } from '../src/audit-log/checkpoint-note';
import { issueCheckpoints } from '../src/audit-log/checkpoints';
import { appendToLog } from '../src/audit-log/merkle-log.repository';
import { ensureMonthlyPartitions, listMonthlyPartitions } from '../src/retention/audit-partitions';
import { ExpirePartitionsUseCase } from '../src/retention/expire-partitions.usecase';
import { LegalHoldsUseCase } from '../src/retention/legal-holds.usecase';
import { verifyAuditLog, type ReadQuery } from '../src/verification/audit-log-verifier';
import { openAuditTestRuntime, type AuditTestRuntime } from './audit-test-runtime';

const NOW = new Date('2026-11-24T12:00:00Z');

describe('audit retention: monthly partitions dropped by policy, legal hold, and a log that still verifies', () => {
  let audit: AuditTestRuntime;
  let dataSource: DataSource;
  let publisher: EventPublisher;
  let signer: CheckpointSigner;
  let expire: ExpirePartitionsUseCase;
  let holds: LegalHoldsUseCase;
  let sequence = 0;
  const query: ReadQuery = (sql, params) => dataSource.query(sql, params);

  beforeAll(async () => {
    audit = await openAuditTestRuntime('it_retention');
    ({ dataSource, publisher, signer } = audit);
    expire = new ExpirePartitionsUseCase(audit.runtime, publisher);
    holds = new LegalHoldsUseCase(audit.runtime, publisher);
    await ensureMonthlyPartitions(dataSource, new Date('2025-01-01T00:00:00Z'), NOW);
  });

  afterAll(() => audit?.close());

  async function append(tenant: string, actions: string[], receivedAt: Date): Promise<void> {
    const records = actions.map((action) => {
      sequence += 1;
      const record: AuditRecordV1 = {
        occurredAt: receivedAt.toISOString(),
        actor: { type: 'user', id: `u-${sequence % 3}` },
        action,
        resource: { type: 'session' },
        status: 'success',
      };
      return { eventId: `evt-${sequence}`, source: '/traceo/auth-service', record };
    });
    await dataSource.transaction((manager) => appendToLog(manager, tenant, records, receivedAt));
    await issueCheckpoints(dataSource, signer, publisher);
  }

  const partitionRows = async (name: string) => (await dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${name}`))[0]!.n;

  it('routes records to monthly partitions by retention class and month of receipt', async () => {
    await append(
      'acme',
      ['api.request', 'user.signed-in', 'api.request', 'user.signed-in', 'api.request'],
      new Date('2025-01-10T00:00:00Z'),
    );
    await append('acme', ['api.request', 'user.signed-in', 'api.request'], new Date('2025-02-10T00:00:00Z'));
    await append('acme', ['audit.searched', 'api.request', 'user.signed-in'], new Date('2026-11-20T00:00:00Z'));
    await append('globex', ['api.request', 'api.request'], new Date('2025-01-15T00:00:00Z'));
    expect(await partitionRows('audit_records_security_operations_2025_01')).toBe(5);
    expect(await partitionRows('audit_records_default_2025_01')).toBe(2);
    expect(await partitionRows('audit_records_compliance_2026_11')).toBe(1);
    expect(await partitionRows('audit_records_security_operations_unscheduled')).toBe(0);
  });

  it('drops expired partitions except those under legal hold, recording every expiry in the affected tenant logs', async () => {
    const hold = await holds.place(
      {
        tenantId: 'globex',
        from: '2025-01-01T00:00:00Z',
        to: '2025-02-01T00:00:00Z',
        reason: 'litigation 2026-17',
      },
      { type: 'user', id: 'platform-admin-1' },
    );
    const first = await expire.execute(NOW);
    expect(first.held).toEqual([{ partition: 'audit_records_security_operations_2025_01', holds: [hold.holdId] }]);
    // Every expired month goes, empty or not; these are the ones that held records.
    expect(first.dropped.filter((d) => d.records > 0).sort((a, b) => a.partition.localeCompare(b.partition))).toEqual([
      { partition: 'audit_records_default_2025_01', records: 2 },
      { partition: 'audit_records_default_2025_02', records: 1 },
      { partition: 'audit_records_security_operations_2025_02', records: 2 },
    ]);
    expect(first.dropped.map((d) => d.partition)).toContain('audit_records_security_operations_2026_07');
    expect(first.dropped.map((d) => d.partition)).not.toContain('audit_records_security_operations_2026_09');
    expect(await partitionRows('audit_records_security_operations_2025_01')).toBe(5);

    await holds.release(hold.holdId, { type: 'api-client', id: 'legal-ops' });
    const second = await expire.execute(NOW);
    expect(second).toEqual({ dropped: [{ partition: 'audit_records_security_operations_2025_01', records: 5 }], held: [] });
    const names = (await listMonthlyPartitions(dataSource)).map((p) => p.name);
    expect(names).not.toContain('audit_records_security_operations_2025_01');
    expect(names).toContain('audit_records_security_operations_2026_11');

    const expiries = await dataSource.query<{ payload: string }[]>(
      `SELECT payload FROM outbox WHERE payload LIKE '%audit.retention-expired%'`,
    );
    const tenants = expiries.map((row) => (JSON.parse(row.payload) as { tenantid: string }).tenantid).sort();
    expect(tenants).toEqual(['acme', 'acme', 'acme', 'acme', 'globex']);
    const holdEvents = await dataSource.query<{ payload: string }[]>(
      `SELECT payload FROM outbox WHERE payload ~ 'legal-hold\\.(placed|released)' ORDER BY seq`,
    );
    // Each names who placed or released the hold.
    expect(holdEvents.map((row) => (JSON.parse(row.payload) as { data: { action: string; actor: unknown } }).data)).toEqual([
      expect.objectContaining({ action: 'legal-hold.placed', actor: { type: 'user', id: 'platform-admin-1' } }),
      expect.objectContaining({ action: 'legal-hold.released', actor: { type: 'api-client', id: 'legal-ops' } }),
    ]);
  });

  it('still verifies both tenant logs against every signed checkpoint after the drops', async () => {
    expect(await verifyAuditLog(query, 'acme')).toEqual({
      tenant: 'acme',
      ok: true,
      records: 11,
      checkpointsVerified: 3,
      prunedRecords: 8,
    });
    expect(await verifyAuditLog(query, 'globex')).toEqual({
      tenant: 'globex',
      ok: true,
      records: 2,
      checkpointsVerified: 1,
      prunedRecords: 2,
    });
  });

  it('still detects a record deleted outside retention', async () => {
    await dataSource.transaction(async (manager) => {
      await manager.query('ALTER TABLE audit_records DISABLE TRIGGER USER');
      await manager.query(`DELETE FROM audit_records WHERE tenant_id = 'acme' AND leaf_index = 9`);
      await manager.query('ALTER TABLE audit_records ENABLE TRIGGER USER');
    });
    expect(await verifyAuditLog(query, 'acme')).toMatchObject({ ok: false, firstBadIndex: 9, problem: 'record 9 is missing' });
  });
});
