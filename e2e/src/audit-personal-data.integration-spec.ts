import { join } from 'node:path';
import { createEvent, EventTypes, encodeEvent, type AuditRecordV1 } from '@traceo/contracts';
import { createKafka } from '@traceo/messaging';
import { loadInfraEnv, startGroupAtEnd, startProcess, waitFor, withClient, WORKSPACE_ROOT, type RunningProcess } from '@traceo/testing';
import { MachineClients, newRunId, serviceEnv, startAuthService, startBuiltService, waitForReady } from './services';

const ENCRYPTION_PORT = 4341;
const AUDIT_PORT = 4342;
const encryption = `http://127.0.0.1:${ENCRYPTION_PORT}`;
const audit = `http://127.0.0.1:${AUDIT_PORT}`;

interface SearchPage {
  records: { eventId: string; leafIndex: number; record: AuditRecordV1; personalData?: string }[];
}

/**
 * Erasable yet verifiable: audit-service seals each record's personal fields under the data subject's
 * key, leased from encryption-service; shredding that key (once, in encryption-service) makes them
 * unreadable in the audit log while the log still verifies, and audit-service drops its leased copy
 * on the shred event. Real processes, PostgreSQL, Kafka and SoftHSM2.
 */
describe('audit log personal data under data-subject keys, and crypto-shredding', () => {
  const infra = loadInfraEnv();
  const run = newRunId();
  const tenant = `pd-${run}`;
  const encryptionEnv = serviceEnv('encryption-service', ENCRYPTION_PORT, run);
  const auditEnv = serviceEnv('audit-service', AUDIT_PORT, run, encryption);
  // The auditor and the compliance officer handling the erasure request act in the tenant under test.
  const clients = new MachineClients({
    auditor: { tenant, roles: ['auditor'] },
    'compliance-officer': { tenant, roles: ['compliance-officer'] },
  });
  let encryptionService: RunningProcess;
  let auditService: RunningProcess;
  let auth: { process: RunningProcess; schema: string } | undefined;

  beforeAll(async () => {
    // Start the consumer at the topic's end: the records this test publishes, not the topic's history.
    await startGroupAtEnd(
      createKafka({ brokers: infra.kafkaBrokers, clientId: `e2e-pd-group-${run}` }),
      auditEnv.TRACEO_KAFKA_CONSUMER_GROUP!,
      EventTypes.auditRecord,
    );
    encryptionService = startBuiltService('encryption-service', encryptionEnv);
    auditService = startBuiltService('audit-service', auditEnv);
    [auth] = await Promise.all([
      startAuthService(run, clients),
      waitForReady(encryption, encryptionService),
      waitForReady(audit, auditService),
    ]);
  });

  afterAll(async () => {
    await auditService?.stop('SIGKILL');
    await encryptionService?.stop('SIGKILL');
    await auth?.process.stop('SIGKILL');
    await withClient(infra.databaseUrl, async (client) => {
      for (const schema of [encryptionEnv.TRACEO_DATABASE_SCHEMA!, auditEnv.TRACEO_DATABASE_SCHEMA!, auth?.schema])
        if (schema) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });
  });

  const search = async (): Promise<SearchPage> => {
    const response = await fetch(`${audit}/v1/audit/tenants/${tenant}/records/search?limit=50&action=account.email-changed`, {
      headers: await clients.bearer('auditor'),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as SearchPage;
  };

  /** One of audit-service's Prometheus figures (0 when the series does not exist yet). */
  const metric = async (series: RegExp): Promise<number> => {
    const metrics = await (await fetch(`${audit}/metrics`)).text();
    const line = metrics.split('\n').find((l) => series.test(l.split(' ')[0]!));
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };
  const keysHeld = () => metric(/^traceo_audit_subject_keys_held(\{|$)/);
  const droppedOnShred = () => metric(/^traceo_audit_subject_keys_dropped_total\{.*reason="shredded"/);

  it('seals IP, user agent and before/after per subject; shredding one subject erases only theirs; the log still verifies', async () => {
    const record = (user: string, ip: string): AuditRecordV1 => ({
      occurredAt: new Date().toISOString(),
      actor: { type: 'user', id: user },
      action: 'account.email-changed',
      resource: { type: 'account', id: user },
      status: 'success',
      ip,
      userAgent: `Mozilla/5.0 (${user})`,
      before: { email: `${user}@old.example` },
      after: { email: `${user}@new.example` },
    });
    const events = [
      createEvent({ type: EventTypes.auditRecord, source: '/traceo/auth-service', tenantid: tenant, data: record('ada', '203.0.113.10') }),
      createEvent({
        type: EventTypes.auditRecord,
        source: '/traceo/auth-service',
        tenantid: tenant,
        data: record('grace', '203.0.113.11'),
      }),
      createEvent({
        type: EventTypes.auditRecord,
        source: '/traceo/auth-service',
        tenantid: tenant,
        data: { ...record('ops-robot', '198.51.100.1'), actor: { type: 'service', id: 'ops-robot' } },
      }),
    ];
    const producer = createKafka({ brokers: infra.kafkaBrokers, clientId: `e2e-pd-${run}` }).producer();
    await producer.connect();
    await producer.send({
      topic: EventTypes.auditRecord,
      messages: events.map((event) => ({ key: event.tenantid, value: encodeEvent(event) })),
    });
    await producer.disconnect();

    const before = await waitFor(
      async () => ((await search()).records.length === 3 ? search() : undefined),
      'the three records in the log',
      30000,
      200,
    );
    const byActor = new Map(before.records.map((r) => [r.record.actor.id, r]));
    expect(byActor.get('ada')).toMatchObject({
      personalData: 'revealed',
      record: { ip: '203.0.113.10', before: { email: 'ada@old.example' } },
    });
    expect(byActor.get('grace')).toMatchObject({ personalData: 'revealed', record: { ip: '203.0.113.11' } });
    // A service actor has no data subject: its fields describe a machine and are kept as they are.
    expect(byActor.get('ops-robot')!.personalData).toBeUndefined();
    expect(byActor.get('ops-robot')!.record.ip).toBe('198.51.100.1');

    // At rest, the hashed entries hold ciphertext, never the personal values.
    const stored = await withClient(infra.databaseUrl, async (client) =>
      (
        await client.query<{ entry: string }>(
          `SELECT entry FROM "${auditEnv.TRACEO_DATABASE_SCHEMA!}".audit_records WHERE tenant_id = $1 AND action = 'account.email-changed'`,
          [tenant],
        )
      ).rows.map((row) => row.entry),
    );
    expect(stored).toHaveLength(3);
    const joined = stored.join('\n');
    for (const secret of ['203.0.113.10', '203.0.113.11', 'ada@old.example', 'grace@new.example', 'Mozilla/5.0 (ada)'])
      expect(joined).not.toContain(secret);
    expect(stored.filter((entry) => entry.includes('"ciphertext"'))).toHaveLength(2);
    // Sealed in audit-service with keys leased from encryption-service, which audited the lease.
    // (Other records, such as those about the people whose tokens this test uses, may hold keys too.)
    expect(await keysHeld()).toBeGreaterThanOrEqual(2);
    expect(await droppedOnShred()).toBe(0);
    const leases = await waitFor(
      async () => {
        const response = await fetch(`${audit}/v1/audit/tenants/${tenant}/records/search?limit=10&action=crypto.subject-keys-leased`, {
          headers: await clients.bearer('auditor'),
        });
        const page = (await response.json()) as SearchPage;
        return page.records.length > 0 ? page : undefined;
      },
      'the audit record of the lease',
      30000,
      200,
    );
    expect(leases.records[0]!.record).toMatchObject({
      actor: { type: 'api-client', id: 'e2e' },
      details: { subjectIds: expect.arrayContaining(['ada', 'grace']) },
    });

    // Erase Ada: one call, to encryption-service's subject keyring, by a compliance officer handling her erasure request.
    const shred = await fetch(`${encryption}/v1/encryption/tenants/${tenant}/keyrings/subjects/subjects/ada/shred`, {
      method: 'POST',
      headers: await clients.bearer('compliance-officer'),
    });
    expect(shred.status).toBe(200);
    // audit-service drops Ada's leased key when the shred event reaches it.
    await waitFor(async () => ((await droppedOnShred()) === 1 ? true : undefined), "Ada's leased key dropped", 10000, 100);
    const after = new Map((await search()).records.map((r) => [r.record.actor.id, r]));
    expect(after.get('ada')!.personalData).toBe('erased');
    for (const field of ['ip', 'userAgent', 'before', 'after'] as const) expect(after.get('ada')!.record[field]).toBeUndefined();
    expect(after.get('ada')!.record.action).toBe('account.email-changed');
    expect(after.get('grace')).toMatchObject({ personalData: 'revealed', record: { ip: '203.0.113.11' } });

    // A later record about Ada is stored without her personal data at all.
    const late = createEvent({
      type: EventTypes.auditRecord,
      source: '/traceo/auth-service',
      tenantid: tenant,
      data: record('ada', '203.0.113.99'),
    });
    const again = createKafka({ brokers: infra.kafkaBrokers, clientId: `e2e-pd2-${run}` }).producer();
    await again.connect();
    await again.send({ topic: EventTypes.auditRecord, messages: [{ key: tenant, value: encodeEvent(late) }] });
    await again.disconnect();
    const withLate = await waitFor(
      async () => ((await search()).records.length === 4 ? search() : undefined),
      'the late record',
      30000,
      200,
    );
    const lateView = withLate.records.find((r) => r.eventId === late.id)!;
    expect(lateView).toMatchObject({ personalData: 'erased' });
    const [lateEntry] = await withClient(infra.databaseUrl, async (client) =>
      (
        await client.query<{ entry: string }>(`SELECT entry FROM "${auditEnv.TRACEO_DATABASE_SCHEMA!}".audit_records WHERE event_id = $1`, [
          late.id,
        ])
      ).rows.map((row) => row.entry),
    );
    expect(lateEntry).toContain('"withheld":"subject-erased"');
    expect(lateEntry).not.toContain('"ciphertext"');

    // The log, which hashed the ciphertexts, still verifies end to end with the verifier command.
    await waitFor(
      async () => {
        const response = await fetch(`${audit}/v1/audit/tenants/${tenant}/checkpoint`, { headers: await clients.bearer('auditor') });
        return response.status === 200 && ((await response.json()) as { treeSize: number }).treeSize > lateView.leafIndex
          ? true
          : undefined;
      },
      'a checkpoint covering the late record',
      30000,
      200,
    );
    const verifier = startProcess(
      [process.execPath, join(WORKSPACE_ROOT, 'dist', 'apps', 'audit-service', 'verify.js'), '--tenant', tenant],
      {
        TRACEO_AUDIT_VERIFIER_DATABASE_URL: infra.databaseUrl,
        TRACEO_DATABASE_SCHEMA: auditEnv.TRACEO_DATABASE_SCHEMA,
      },
    );
    const exit = await verifier.exited;
    expect(verifier.output()).toContain('"ok":true');
    expect(exit.code).toBe(0);
  });
});
