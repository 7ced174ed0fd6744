import { createPublicKey, verify } from 'node:crypto';
import { verifyConsistency, verifyInclusion, leafHash } from '@traceo/merkle';
import type { AuditRecordV1 } from '@traceo/contracts';
import { createKafka } from '@traceo/messaging';
import {
  loadInfraEnv,
  startGroupAtEnd,
  startSyslogCollector,
  waitFor,
  withClient,
  type RunningProcess,
  type SyslogCollector,
} from '@traceo/testing';
import { MachineClients, newRunId, serviceEnv, startAuthService, startBuiltService, waitForReady } from './services';

interface Checkpoint {
  treeSize: number;
  rootHash: string;
  publicKey: string;
  note: string;
  signature: string;
}

const PORT = 4311;
const ENCRYPTION_PORT = 4312;
const base = `http://127.0.0.1:${PORT}`;
const b = (value: string) => Buffer.from(value, 'base64');

/** An auditor of the platform tenant, whose log holds the services' own records: the role that reads the audit log. */
let AUDITOR: Record<string, string> = {};

async function json<T>(path: string, headers = AUDITOR): Promise<{ status: number; body: T }> {
  const response = await fetch(base + path, { headers });
  return { status: response.status, body: (await response.json()) as T };
}

function checkSignature(checkpoint: Checkpoint): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b(checkpoint.publicKey).toString('base64url') }, format: 'jwk' });
  return verify(null, Buffer.from(checkpoint.note, 'utf8'), key, b(checkpoint.signature));
}

describe('audit-service: signed checkpoints and proofs over HTTP, and a crash between append and checkpoint', () => {
  const infra = loadInfraEnv();
  const run = newRunId();
  // The auditor's own calls are audited with the auditor as data subject: their IP and user agent are
  // sealed through encryption-service, which runs beside audit-service here as in production.
  const encryptionEnv = serviceEnv('encryption-service', ENCRYPTION_PORT, run);
  const env: Record<string, string> = {
    ...serviceEnv('audit-service', PORT, run, `http://127.0.0.1:${ENCRYPTION_PORT}`),
    TRACEO_AUDIT_CHECKPOINT_INTERVAL_MS: '1500',
  };
  const emptyTenant = `nobody-${run}`;
  const clients = new MachineClients({
    auditor: { tenant: 'platform', roles: ['auditor'] },
    // An auditor of a tenant that has no audit log (yet).
    'empty-tenant-auditor': { tenant: emptyTenant, roles: ['auditor'] },
  });
  let service: RunningProcess;
  let siem: SyslogCollector | undefined;
  let encryption: RunningProcess;
  let auth: { process: RunningProcess; schema: string } | undefined;

  beforeAll(async () => {
    auth = await startAuthService(run, clients);
    AUDITOR = await clients.bearer('auditor');
    await startGroupAtEnd(
      createKafka({ brokers: infra.kafkaBrokers, clientId: 'e2e-audit' }),
      env.TRACEO_KAFKA_CONSUMER_GROUP!,
      'traceo.audit.record.v1',
    );
    // The SIEM: audit-service forwards the log to it continuously, as CEF in syslog messages.
    siem = await startSyslogCollector();
    env.TRACEO_AUDIT_SIEM_SYSLOG_URL = `tcp://${siem.host}:${siem.port}`;
    env.TRACEO_AUDIT_SIEM_INTERVAL_MS = '300';
    encryption = startBuiltService('encryption-service', encryptionEnv);
    service = startBuiltService('audit-service', env);
    await Promise.all([waitForReady(base, service), waitForReady(`http://127.0.0.1:${ENCRYPTION_PORT}`, encryption)]);
  });

  afterAll(async () => {
    await service?.stop('SIGKILL');
    await siem?.close();
    await encryption?.stop('SIGKILL');
    await auth?.process.stop('SIGKILL');
    await withClient(infra.databaseUrl, async (client) => {
      for (const schema of [env.TRACEO_DATABASE_SCHEMA!, encryptionEnv.TRACEO_DATABASE_SCHEMA!, auth?.schema])
        if (schema) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });
  });

  const latest = () => json<Checkpoint>('/v1/audit/tenants/platform/checkpoint');
  const search = (query: string) => `/v1/audit/tenants/platform/records/search?${query}`;

  it('loses nothing when killed between append and checkpoint, and the next checkpoint is consistent with the last', async () => {
    const first = await waitFor(
      async () => ((await latest()).status === 200 ? (await latest()).body : undefined),
      'a first checkpoint',
      30000,
      200,
    );
    expect(checkSignature(first)).toBe(true);

    // Records appended after the first checkpoint; the process dies before the next one.
    for (let i = 0; i < 5; i += 1) await fetch(`${base}/v1/audit/info`);
    await waitFor(
      async () => (await json<{ records: unknown[] }>(search('action=api.request&limit=500'))).body.records.length >= 5 || undefined,
      'the API calls to reach the log',
      10000,
      50,
    );
    // The services' own records go to the platform tenant's log; other tenants' may share the topic.
    const { body: before } = await json<{ records: { eventId: string }[] }>(search('limit=500'));
    expect((await latest()).body.treeSize).toBe(first.treeSize);
    expect((await service.stop('SIGKILL')).signal).toBe('SIGKILL');

    service = startBuiltService('audit-service', env);
    await waitForReady(base, service);
    const next = await waitFor(
      async () => {
        const { status, body } = await latest();
        return status === 200 && body.treeSize >= first.treeSize + before.records.length - first.treeSize ? body : undefined;
      },
      'a checkpoint covering the records appended before the crash',
      30000,
      200,
    );
    expect(checkSignature(next)).toBe(true);
    // Every record seen before the crash is still in the log, inside the new checkpoint. (Asked one by one:
    // other producers on the shared topic may have pushed them out of a newest-first page since.)
    for (const { eventId } of before.records) {
      const { status: found } = await json(`/v1/audit/tenants/platform/proofs/inclusion?eventId=${eventId}&treeSize=${next.treeSize}`);
      expect({ eventId, found }).toEqual({ eventId, found: 200 });
    }

    const { body: consistency } = await json<{ proof: string[] }>(
      `/v1/audit/tenants/platform/proofs/consistency?from=${first.treeSize}&to=${next.treeSize}`,
    );
    expect(() =>
      verifyConsistency(first.treeSize, next.treeSize, b(first.rootHash), b(next.rootHash), consistency.proof.map(b)),
    ).not.toThrow();

    const target = before.records[0]!.eventId;
    const { status, body: inclusion } = await json<{ leafIndex: number; treeSize: number; entry: string; proof: string[] }>(
      `/v1/audit/tenants/platform/proofs/inclusion?eventId=${target}&treeSize=${next.treeSize}`,
    );
    expect(status).toBe(200);
    expect(() =>
      verifyInclusion(
        inclusion.leafIndex,
        next.treeSize,
        leafHash(Buffer.from(inclusion.entry, 'utf8')),
        inclusion.proof.map(b),
        b(next.rootHash),
      ),
    ).not.toThrow();
  });

  it('exports the tenant log to a SIEM as OCSF and as CEF', async () => {
    const window = `from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;
    const ocsf = await fetch(`${base}/v1/audit/tenants/platform/siem/export?format=ocsf&${window}`, { headers: AUDITOR });
    expect(ocsf.status).toBe(200);
    const events = (await ocsf.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { class_uid: number; metadata: { product: { name: string } } });
    expect(events.length).toBeGreaterThan(0);
    expect(events.some((event) => event.class_uid === 6003)).toBe(true);
    expect(events.every((event) => event.metadata.product.name === 'Traceo')).toBe(true);
    const cef = await fetch(`${base}/v1/audit/tenants/platform/siem/export?format=cef&${window}`, { headers: AUDITOR });
    expect(cef.status).toBe(200);
    expect((await cef.text()).split('\n')[0]).toMatch(/^CEF:0\|Traceo\|Traceo\|/);
    const syslog = await fetch(`${base}/v1/audit/tenants/platform/siem/export?format=cef-syslog&${window}`, { headers: AUDITOR });
    expect(syslog.status).toBe(200);
    expect((await syslog.text()).split('\n')[0]).toMatch(/^<\d{1,3}>1 \S+ \S+ traceo-audit - \S+ - CEF:0\|Traceo\|Traceo\|/);
  });

  it('streams the log to the SIEM: CEF in RFC 5424 syslog messages, starting with the record of its own start', async () => {
    // A destination seen for the first time starts at the end of the logs: the first record it gets is
    // the one that says which replica forwards, then the services' records as they are appended.
    const started = await waitFor(
      () => Promise.resolve(siem!.messages.find((message) => message.includes('act=audit.siem-forwarding-started'))),
      'the forwarding start to reach the collector',
      30_000,
      100,
    );
    expect(started).toMatch(/^<\d{1,3}>1 \S+ \S+ traceo-audit - audit\.siem-forwarding-started - CEF:0\|Traceo\|Traceo\|/);
    expect(started).toContain(`cs1=platform`);
    // Records appended later follow: this test's own searches are audited.
    await json('/v1/audit/tenants/platform/records/search?action=audit.siem-forwarding-started&limit=1');
    await waitFor(
      () => Promise.resolve(siem!.messages.some((message) => message.includes('act=audit.searched')) || undefined),
      'an audited search to reach the collector',
      30_000,
      100,
    );
    expect(siem!.malformed).toBe(0);
  });

  it('searches the log with keyset pagination and exports it as NDJSON, auditing both', async () => {
    const first = await json<{ records: { leafIndex: number }[]; nextCursor: string | null }>(
      '/v1/audit/tenants/platform/records/search?action=api.request&limit=2',
    );
    expect(first.status).toBe(200);
    expect(first.body.records).toHaveLength(2);
    expect(first.body.nextCursor).not.toBeNull();
    const second = await json<{ records: { leafIndex: number }[] }>(
      `/v1/audit/tenants/platform/records/search?action=api.request&limit=2&cursor=${first.body.nextCursor!}`,
    );
    expect(second.body.records.map((r) => r.leafIndex)).not.toContain(first.body.records[0]!.leafIndex);
    const exported = await fetch(`${base}/v1/audit/tenants/platform/records/export?action=api.request`, { headers: AUDITOR });
    expect(exported.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect((await exported.text()).trim().split('\n').length).toBeGreaterThanOrEqual(4);
    expect(await json('/v1/audit/tenants/platform/records/search?cursor=not-a-cursor')).toMatchObject({
      status: 400,
      body: { code: 'AUDIT.INVALID_CURSOR' },
    });
    const audited = await waitFor(
      async () =>
        (await json<{ records: { record: AuditRecordV1 }[] }>(search('action=audit.exported&limit=5'))).body.records[0] ?? undefined,
      'the export to be audited',
      10000,
      100,
    );
    // Recorded with the caller as its actor: the subject of the auditor's token.
    const token = AUDITOR.authorization!.replace(/^Bearer /, '');
    const { sub } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string };
    expect(audited.record.actor).toEqual({ type: expect.stringMatching(/^(user|service)$/), id: sub });
  });

  it('answers bad proof requests with problem+json codes', async () => {
    // A malformed tenant id in the path is refused before it is validated (400) unless the caller is
    // platform-wide (tenant `*`), which auth-service's tokens never are: every token names one valid
    // tenant, so the guard answers 403 for any other. Still problem+json with a stable code.
    expect(await json('/v1/audit/tenants/Not_A_Tenant/checkpoint')).toMatchObject({
      status: 403,
      body: { code: 'AUTH.TENANT_MISMATCH' },
    });
    expect(await json(`/v1/audit/tenants/${emptyTenant}/checkpoint`, await clients.bearer('empty-tenant-auditor'))).toMatchObject({
      status: 404,
      body: { code: 'AUDIT.CHECKPOINT_NOT_FOUND' },
    });
    expect(await json('/v1/audit/tenants/platform/proofs/consistency?from=5&to=2')).toMatchObject({
      status: 400,
      body: { code: 'AUDIT.INVALID_PROOF_REQUEST' },
    });
    expect(await json('/v1/audit/tenants/platform/proofs/consistency?from=1&to=999999999')).toMatchObject({
      status: 400,
      body: { code: 'AUDIT.INVALID_PROOF_REQUEST' },
    });
    expect(await json('/v1/audit/tenants/platform/proofs/inclusion?leafIndex=0&eventId=x')).toMatchObject({
      status: 400,
      body: { code: 'REQUEST.VALIDATION_FAILED' },
    });
  });
});
