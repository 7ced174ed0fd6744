import { newEventId, type AuditRecordV1 } from '@traceo/contracts';
import type { DataSource } from 'typeorm';
import { appendToLog } from '../src/audit-log/merkle-log.repository';
import { ListAuditRecordsUseCase } from '../src/audit-log/list-audit-records.usecase';
import { openAuditTestRuntime, type AuditTestRuntime } from './audit-test-runtime';

// The cross-tenant list (GET /v1/audit/records) against real PostgreSQL: the newest records by
// occurredAt across every tenant, filtered by source or action, limited, and answered from the
// per-tenant indexes (there is no index on seq).

describe('listing the newest audit records across tenants (PostgreSQL)', () => {
  let audit: AuditTestRuntime;
  let dataSource: DataSource;
  let list: ListAuditRecordsUseCase;
  /** event id → occurredAt, tenant, source and action of everything appended. */
  const appended: { eventId: string; tenant: string; occurredAt: string; source: string; action: string }[] = [];

  beforeAll(async () => {
    audit = await openAuditTestRuntime('it_list_records');
    dataSource = audit.dataSource;
    list = new ListAuditRecordsUseCase(audit.runtime);
    // Three tenants; occurredAt interleaves across them and, within a tenant, is not in receipt order.
    const tenants = ['acme', 'globex', 'initech'];
    for (let batch = 0; batch < 4; batch += 1) {
      for (const [t, tenant] of tenants.entries()) {
        const records = Array.from({ length: 5 }, (_, n) => {
          const minute = ((batch * 17 + t * 7 + n * 11) % 60) + 0.001 * (batch * 15 + t * 5 + n);
          const source = n % 2 === 0 ? '/traceo/auth-service' : '/traceo/risk-service';
          const record: AuditRecordV1 = {
            action: n % 3 === 0 ? 'user.signed-in' : 'api.request',
            actor: { id: `user-${n}`, type: 'user' },
            occurredAt: new Date(Date.UTC(2026, 10, 25, 10, 0) + minute * 60_000).toISOString(),
            resource: { type: 'session' },
            status: 'success',
          };
          return { eventId: newEventId(), source, record };
        });
        await dataSource.transaction((manager) => appendToLog(manager, tenant, records));
        for (const { eventId, source, record } of records)
          appended.push({ eventId, tenant, occurredAt: record.occurredAt, source, action: record.action });
      }
    }
  });

  afterAll(() => audit?.close());

  const newest = (filter: (r: (typeof appended)[number]) => boolean, limit: number) =>
    appended
      .filter(filter)
      .sort((a, b) => b.occurredAt.localeCompare(a.occurredAt))
      .slice(0, limit)
      .map((r) => r.eventId);

  it('answers the newest records of every tenant, newest first', async () => {
    const records = await list.execute({ limit: 12 });
    expect(records.map((r) => r.eventId)).toEqual(newest(() => true, 12));
    expect(new Set(records.map((r) => r.tenantId))).toEqual(new Set(['acme', 'globex', 'initech']));
    const all = await list.execute({ limit: 500 });
    expect(all).toHaveLength(60);
    expect(all.map((r) => r.eventId)).toEqual(newest(() => true, 500));
  });

  it('filters by source and by action', async () => {
    const bySource = await list.execute({ limit: 7, source: '/traceo/risk-service' });
    expect(bySource.map((r) => r.eventId)).toEqual(newest((r) => r.source === '/traceo/risk-service', 7));
    const byAction = await list.execute({ limit: 50, action: 'user.signed-in' });
    expect(byAction.map((r) => r.eventId)).toEqual(newest((r) => r.action === 'user.signed-in', 50));
    expect(await list.execute({ limit: 5, action: 'nothing.here' })).toEqual([]);
  });

  it('can read each tenant through an index in order, without sorting the tenant', async () => {
    // A table this small is cheaper to scan, so the planner is told not to: what is checked is that an
    // index serves each tenant's newest records in order (as on a large log).
    const plan = await dataSource.transaction(async (manager) => {
      await manager.query('SET LOCAL enable_seqscan = off');
      const rows = await manager.query<{ 'QUERY PLAN': string }[]>(
        `EXPLAIN SELECT seq FROM audit_log_heads h CROSS JOIN LATERAL (
           SELECT seq, occurred_at, leaf_index FROM audit_records WHERE tenant_id = h.tenant_id ORDER BY occurred_at DESC, leaf_index DESC LIMIT 50) r`,
      );
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    // Each partition's copy of audit_records_tenant_time_desc, merged in order: no Sort node, no scan of a table.
    expect(plan).toMatch(/Merge Append/);
    expect(plan).toMatch(/Index Scan using \S+tenant_id_occurred_at_leaf\S* on audit_records_/);
    expect(plan).not.toMatch(/-> {2}Sort {2}/);
    expect(plan).not.toMatch(/Seq Scan on audit_records/);
  });
});
