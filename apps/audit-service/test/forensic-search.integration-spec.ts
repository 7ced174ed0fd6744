import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { AuditRecordV1 } from '@traceo/contracts';
import type { Principal } from '@traceo/security';
import { EventPublisher, ProblemDetailsFilter, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { DataSource } from 'typeorm';
import { appendToLog, type NewLogRecord } from '../src/audit-log/merkle-log.repository';
import { ForensicSearchModule } from '../src/forensic-search/forensic-search.module';
import type { ForensicFilters } from '../src/forensic-search/forensic-search.query';
import {
  SearchAuditRecordsUseCase,
  searchStatement,
  type AuditRecordView,
  type ExportOutcome,
} from '../src/forensic-search/search-audit-records.usecase';
import { FORENSIC_SEARCH_MIGRATIONS } from '../src/migrations/1764000000200-AddForensicSearchColumns';
import { openAuditTestRuntime, type AuditTestRuntime } from './audit-test-runtime';

const TENANT_SIZES = { acme: 260, globex: 140 } as const;
type Tenant = keyof typeof TENANT_SIZES;
const BASE = Date.UTC(2026, 10, 24, 0, 0, 0);
const ACTIONS = ['user.signed-in', 'user.signed-out', 'document.read', 'role.granted', 'risk.score-changed'];
const COUNTRIES = ['DE', 'US', 'FR', 'DE', undefined];

interface Appended {
  tenant: Tenant;
  leafIndex: number;
  /** occurredAt in microseconds since the epoch, the search order. */
  micros: bigint;
  record: AuditRecordV1;
}

/** Microseconds since the epoch of an ISO 8601 instant with up to six fractional digits and any offset. */
function micros(iso: string): bigint {
  const match = /^(.+T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
  if (!match) throw new Error(`not an instant: ${iso}`);
  return BigInt(Date.parse(`${match[1]}${match[3]}`)) * 1000n + BigInt((match[2] ?? '').padEnd(6, '0'));
}

/** An ISO instant with microseconds; some records are written with a +02:00 offset, as producers may. */
function occurredAt(i: number): string {
  const slot = (i * 37) % 150; // scrambles time against leaf order; records i and i + 150 share a slot
  const date = new Date(BASE + slot * 60_000 + (i % 50 === 25 ? 2 * 3_600_000 : 0));
  const micro = String((i % 3) * 300).padStart(6, '0'); // three records per millisecond, apart by microseconds
  return `${date.toISOString().slice(0, 19)}.${micro}${i % 50 === 25 ? '+02:00' : 'Z'}`;
}

function recordOf(i: number): AuditRecordV1 {
  const risk = i % 5 === 4 ? undefined : Math.min(100, ((i * 13) % 101) + (i % 2) * 0.5);
  const country = COUNTRIES[(i * 3) % 5];
  return {
    occurredAt: occurredAt(i),
    actor: i % 10 === 0 ? { type: 'service', id: 'auth-service' } : { type: 'user', id: `user-${i % 5}` },
    action: ACTIONS[Math.floor(i / 3) % ACTIONS.length]!,
    resource: i % 17 === 0 ? { type: 'session' } : { type: i % 2 ? 'document' : 'session', id: `r-${i % 13}` },
    status: i % 7 === 0 ? 'denied' : i % 11 === 0 ? 'failure' : 'success',
    ...(i % 6 === 0 ? {} : { requestId: `req-${Math.floor(i / 2)}` }),
    ...(i % 4 === 3 ? {} : { sessionId: `sess-${i % 9}` }),
    ...(risk === undefined ? {} : { riskScore: risk }),
    ...(country === undefined ? {} : { country }),
    ip: '203.0.113.7',
  };
}

/** What the search must answer, computed from what was appended. */
function expected(tenant: Tenant, f: ForensicFilters, log: readonly Appended[]): number[] {
  return log
    .filter((a) => a.tenant === tenant)
    .filter(({ record: r, micros: at }) => {
      if (f.actorId !== undefined && r.actor.id !== f.actorId) return false;
      if (f.actorType !== undefined && r.actor.type !== f.actorType) return false;
      if (f.sessionId !== undefined && r.sessionId !== f.sessionId) return false;
      if (f.requestId !== undefined && r.requestId !== f.requestId) return false;
      if (f.resourceType !== undefined && r.resource.type !== f.resourceType) return false;
      if (f.resourceId !== undefined && r.resource.id !== f.resourceId) return false;
      if (f.action !== undefined && r.action !== f.action) return false;
      if (f.status !== undefined && r.status !== f.status) return false;
      if (f.from !== undefined && at < micros(f.from)) return false;
      if (f.to !== undefined && at >= micros(f.to)) return false;
      if (f.minRiskScore !== undefined && (r.riskScore === undefined || r.riskScore < f.minRiskScore)) return false;
      if (f.maxRiskScore !== undefined && (r.riskScore === undefined || r.riskScore > f.maxRiskScore)) return false;
      if (f.country !== undefined && r.country !== f.country) return false;
      return true;
    })
    .sort((a, b) => (a.micros === b.micros ? b.leafIndex - a.leafIndex : a.micros > b.micros ? -1 : 1))
    .map((a) => a.leafIndex);
}

interface OutboxAudit {
  tenantid: string;
  data: AuditRecordV1 & { details: { filters: ForensicFilters; count: number; truncated?: boolean; completed?: boolean } };
}

@Module({})
class TestServiceKit {
  static with(runtime: ServiceRuntime, publisher: EventPublisher): DynamicModule {
    return {
      module: TestServiceKit,
      global: true,
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime },
        { provide: EventPublisher, useValue: publisher },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
      ],
      exports: [SERVICE_RUNTIME, EventPublisher],
    };
  }
}

/** The callers: an auditor, and a security analyst. */
const AUDITOR = { type: 'user', id: 'auditor-1' } as const;
const ANALYST = { actor: { type: 'user', id: 'analyst-1' } } as const;

describe('forensic search over the audit log against real PostgreSQL', () => {
  let audit: AuditTestRuntime;
  let dataSource: DataSource;
  let search: SearchAuditRecordsUseCase;
  const log: Appended[] = [];

  beforeAll(async () => {
    audit = await openAuditTestRuntime('it_forensic');
    dataSource = audit.dataSource;
    // Until the lead lists FORENSIC_SEARCH_MIGRATIONS in AUDIT_MIGRATIONS, apply them here.
    for (const Migration of FORENSIC_SEARCH_MIGRATIONS) {
      const migration = new Migration();
      const [applied] = await dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM schema_migrations WHERE name = $1', [
        migration.name,
      ]);
      if (applied!.n > 0) continue;
      const runner = dataSource.createQueryRunner();
      try {
        await runner.startTransaction();
        await migration.up(runner);
        await runner.commitTransaction();
      } finally {
        await runner.release();
      }
    }
    search = new SearchAuditRecordsUseCase(audit.runtime, audit.publisher, audit.personalData);

    // Interleaved batches of both tenants, as the consumer would append them.
    const next: Record<Tenant, number> = { acme: 0, globex: 0 };
    while (next.acme < TENANT_SIZES.acme || next.globex < TENANT_SIZES.globex) {
      for (const tenant of ['acme', 'globex'] as const) {
        const batch: NewLogRecord[] = [];
        for (let n = 0; n < 40 && next[tenant] < TENANT_SIZES[tenant]; n += 1) {
          const i = next[tenant]++;
          const record = recordOf(i);
          log.push({ tenant, leafIndex: i, micros: micros(record.occurredAt), record });
          batch.push({ eventId: `evt-${tenant}-${i}`, source: '/traceo/auth-service', record });
        }
        if (batch.length > 0) await dataSource.transaction((manager) => appendToLog(manager, tenant, batch));
      }
    }
    await dataSource.query('ANALYZE audit_records');
  });

  afterAll(() => audit?.close());

  async function walk(tenant: string, filters: ForensicFilters, limit = 1000): Promise<{ records: AuditRecordView[]; pages: number[] }> {
    const records: AuditRecordView[] = [];
    const pages: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await search.search(tenant, { ...filters, limit, ...(cursor ? { cursor } : {}) }, ANALYST);
      records.push(...page.records);
      pages.push(page.records.length);
      cursor = page.nextCursor ?? undefined;
      if (pages.length > 10_000) throw new Error('pagination does not end');
    } while (cursor);
    return { records, pages };
  }

  async function outboxAudits(action: string): Promise<OutboxAudit[]> {
    const rows = await dataSource.query<{ payload: string }[]>(
      `SELECT payload FROM outbox WHERE topic = 'traceo.audit.record.v1' AND payload LIKE $1 ORDER BY seq`,
      [`%"action":"${action}"%`],
    );
    return rows.map((row) => JSON.parse(row.payload) as OutboxAudit);
  }

  async function collect(pages: AsyncGenerator<AuditRecordView[], ExportOutcome | undefined>) {
    const records: AuditRecordView[] = [];
    for (;;) {
      const next = await pages.next();
      if (next.done) return { records, outcome: next.value };
      records.push(...next.value);
    }
  }

  describe('each filter narrows the result to exactly the matching records, newest first', () => {
    it.each<[string, ForensicFilters]>([
      ['actor id', { actorId: 'user-3' }],
      ['actor type', { actorType: 'service' }],
      ['session id', { sessionId: 'sess-4' }],
      ['request id', { requestId: 'req-10' }],
      ['resource type and id', { resourceType: 'document', resourceId: 'r-5' }],
      ['resource type alone', { resourceType: 'session' }],
      ['action', { action: 'role.granted' }],
      ['status', { status: 'denied' }],
      ['time range, bounds with offsets and microseconds', { from: '2026-11-24T03:00:00+02:00', to: '2026-11-24T02:00:00.000300Z' }],
      ['risk score range', { minRiskScore: 30, maxRiskScore: 60.5 }],
      ['the top risk score', { minRiskScore: 100 }],
      ['country', { country: 'FR' }],
      ['several filters at once', { actorId: 'user-1', status: 'success', from: '2026-11-24T00:30:00Z' }],
    ])('%s', async (_name, filters) => {
      const want = expected('acme', filters, log);
      expect(want.length).toBeGreaterThan(0);
      expect(want.length).toBeLessThan(TENANT_SIZES.acme);
      const { records } = await walk('acme', filters);
      expect(records.map((r) => r.leafIndex)).toEqual(want);
    });

    it('returns each record as it was hashed into the log, with its leaf index and receive time', async () => {
      const { records } = await search.search('acme', { requestId: 'req-10', limit: 100 }, ANALYST);
      for (const view of records) {
        const appended = log.find((a) => a.tenant === 'acme' && a.leafIndex === view.leafIndex)!;
        expect(view).toEqual({
          tenantId: 'acme',
          leafIndex: appended.leafIndex,
          eventId: `evt-acme-${appended.leafIndex}`,
          source: '/traceo/auth-service',
          occurredAt: appended.record.occurredAt,
          receivedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
          record: appended.record,
        });
      }
    });

    it('refuses from after to with AUDIT.INVALID_FILTER', async () => {
      await expect(
        search.search('acme', { from: '2026-11-25T00:00:00Z', to: '2026-11-24T00:00:00Z', limit: 10 }, ANALYST),
      ).rejects.toMatchObject({
        code: 'AUDIT.INVALID_FILTER',
        status: 400,
      });
    });
  });

  describe('keyset pagination', () => {
    it.each([7, 13, 1000])('walks every record of the tenant exactly once, in order, with pages of %i', async (limit) => {
      const want = expected('acme', {}, log);
      const { records, pages } = await walk('acme', {}, limit);
      const indexes = records.map((r) => r.leafIndex);
      expect(indexes).toEqual(want);
      expect(new Set(indexes).size).toBe(TENANT_SIZES.acme);
      expect(pages.length).toBe(Math.ceil(TENANT_SIZES.acme / limit));
      expect(pages.slice(0, -1).every((size) => size === limit)).toBe(true);
    });

    it('walks a filtered result in small pages, including records that share an instant', async () => {
      const filters = { actorType: 'user' as const };
      const want = expected('acme', filters, log);
      const shared = new Set(log.filter((a) => a.tenant === 'acme').map((a) => a.micros)).size;
      expect(shared).toBeLessThan(TENANT_SIZES.acme); // some records really do share an instant
      expect((await walk('acme', filters, 3)).records.map((r) => r.leafIndex)).toEqual(want);
    });

    it('defaults to pages of 100 and says null after the last page', async () => {
      const first = await search.search('globex', { limit: 100 }, ANALYST);
      expect(first.records).toHaveLength(100);
      const second = await search.search('globex', { limit: 100, cursor: first.nextCursor! }, ANALYST);
      expect(second.records).toHaveLength(TENANT_SIZES.globex - 100);
      expect(second.nextCursor).toBeNull();
    });
  });

  describe('tenant isolation', () => {
    it("never returns another tenant's records, even for the same actor", async () => {
      const { records } = await walk('globex', { actorId: 'user-1' }, 10);
      expect(records.length).toBeGreaterThan(0);
      expect(records.every((r) => r.tenantId === 'globex' && r.eventId.startsWith('evt-globex-'))).toBe(true);
      expect(records.map((r) => r.leafIndex)).toEqual(expected('globex', { actorId: 'user-1' }, log));
      expect((await walk('globex', {}, 1000)).records).toHaveLength(TENANT_SIZES.globex);
      expect((await walk('initech', {}, 1000)).records).toEqual([]);
    });

    it("refuses a cursor issued for another tenant's search", async () => {
      const { nextCursor } = await search.search('acme', { limit: 5 }, ANALYST);
      await expect(search.search('globex', { limit: 5, cursor: nextCursor! }, ANALYST)).rejects.toMatchObject({
        code: 'AUDIT.INVALID_CURSOR',
      });
    });
  });

  it('refuses a tampered or malformed cursor with AUDIT.INVALID_CURSOR', async () => {
    const { nextCursor } = await search.search('acme', { limit: 5 }, ANALYST);
    const cursor = nextCursor!;
    const tampered = [
      `${cursor.slice(0, -3)}${cursor.at(-3) === 'A' ? 'B' : 'A'}${cursor.slice(-2)}`,
      `${cursor.slice(0, 5)}${cursor[5] === 'x' ? 'y' : 'x'}${cursor.slice(6)}`,
      cursor.slice(0, -4),
      Buffer.from('["2026-11-24T01:00:00.000000Z","acme",3]').toString('base64url'),
      'not a cursor',
    ];
    for (const bad of tampered) {
      await expect(search.search('acme', { limit: 5, cursor: bad }, ANALYST)).rejects.toMatchObject({
        code: 'AUDIT.INVALID_CURSOR',
        status: 400,
      });
    }
  });

  it('answers the actor search from the (tenant_id, actor_id, occurred_at DESC) index', async () => {
    const partitionIndexes = await dataSource.query<{ name: string }[]>(
      `WITH RECURSIVE tree(oid) AS (
         SELECT 'audit_records_tenant_actor_time'::regclass::oid
         UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid)
       SELECT c.relname AS name FROM tree JOIN pg_class c ON c.oid = tree.oid`,
    );
    const names = partitionIndexes.map((row) => row.name);
    expect(names.length).toBeGreaterThan(1);
    for (const after of [undefined, { occurredAt: '2026-11-24T01:00:00.000300Z', tenantId: 'acme', leafIndex: 42 }]) {
      const { sql, params } = searchStatement('acme', { actorId: 'user-3' }, after, 100);
      const plan = await dataSource.transaction(async (manager) => {
        // A few hundred rows fit in a handful of pages, where a sequential scan is rightly cheaper (on a
        // real log the planner picks the index unaided); what is checked is that it can use the index.
        await manager.query('SET LOCAL enable_seqscan = off');
        const rows = await manager.query<{ 'QUERY PLAN': string }[]>(`EXPLAIN ${sql}`, params);
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      });
      expect(plan).not.toMatch(/Seq Scan/);
      expect(names.some((name) => plan.includes(name))).toBe(true);
    }
  });

  describe('every search and export is itself audited in the searched tenant log', () => {
    it('records audit.searched with the filters (no cursor) and the number of records returned', async () => {
      const filters: ForensicFilters = { actorId: 'user-2', status: 'success', from: '2026-11-24T00:00:00Z' };
      const first = await search.search('acme', { ...filters, limit: 4 }, { actor: AUDITOR, requestId: 'req-forensic-1' });
      const second = await search.search(
        'acme',
        { ...filters, limit: 4, cursor: first.nextCursor! },
        { actor: AUDITOR, requestId: 'req-forensic-2' },
      );
      const audits = (await outboxAudits('audit.searched')).filter((a) => a.data.requestId?.startsWith('req-forensic-'));
      expect(audits).toHaveLength(2);
      for (const [n, entry] of audits.entries()) {
        expect(entry.tenantid).toBe('acme');
        expect(entry.data).toMatchObject({
          actor: AUDITOR,
          action: 'audit.searched',
          resource: { type: 'audit-log', id: 'acme' },
          status: 'success',
          requestId: `req-forensic-${n + 1}`,
        });
        expect(entry.data.details.filters).toEqual(filters);
      }
      expect(audits.map((a) => a.data.details.count)).toEqual([first.records.length, second.records.length]);
    });

    it('does not audit a search that was refused', async () => {
      const before = (await outboxAudits('audit.searched')).length;
      await expect(search.search('acme', { limit: 5, cursor: 'bogus' }, ANALYST)).rejects.toThrow();
      expect(await outboxAudits('audit.searched')).toHaveLength(before);
    });

    it('exports the whole filtered result page by page and records audit.exported with the count', async () => {
      const filters: ForensicFilters = { actorType: 'user', status: 'success' };
      const { records, outcome } = await collect(search.export('acme', filters, { actor: AUDITOR, requestId: 'req-export-1' }));
      const want = expected('acme', filters, log);
      expect(want.length).toBeGreaterThan(0);
      expect(records.map((r) => r.leafIndex)).toEqual(want);
      expect(outcome).toEqual({ count: want.length, truncated: false });
      const [entry] = (await outboxAudits('audit.exported')).filter((a) => a.data.requestId === 'req-export-1');
      expect(entry).toMatchObject({
        tenantid: 'acme',
        data: {
          actor: AUDITOR,
          action: 'audit.exported',
          resource: { type: 'audit-log', id: 'acme' },
          status: 'success',
          details: { filters, count: want.length, truncated: false, completed: true },
        },
      });
    });

    it('stops an export at its cap, says it was truncated, and audits an abandoned export as a failure', async () => {
      const capped = await collect(search.export('globex', {}, { actor: AUDITOR, requestId: 'req-export-cap' }, 25));
      expect(capped.records.map((r) => r.leafIndex)).toEqual(expected('globex', {}, log).slice(0, 25));
      expect(capped.outcome).toEqual({ count: 25, truncated: true });

      const abandoned = search.export('globex', {}, { actor: AUDITOR, requestId: 'req-export-gone' }, 5000);
      expect((await abandoned.next()).value).toHaveLength(TENANT_SIZES.globex);
      await abandoned.return(undefined);

      const audits = await outboxAudits('audit.exported');
      expect(audits.find((a) => a.data.requestId === 'req-export-cap')?.data).toMatchObject({
        status: 'success',
        details: { count: 25, truncated: true, completed: true },
      });
      expect(audits.find((a) => a.data.requestId === 'req-export-gone')?.data).toMatchObject({
        status: 'failure',
        details: { count: TENANT_SIZES.globex, completed: false },
      });
    });
  });

  describe('over HTTP', () => {
    let app: INestApplication;
    let base: string;

    beforeAll(async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [TestServiceKit.with(audit.runtime, audit.publisher), ForensicSearchModule],
      }).compile();
      app = moduleRef.createNestApplication({ logger: false });
      // What the auth guard attaches for an analyst's token (the guard itself is tested in libs/security).
      app.use((request: { principal?: Principal }, _response: unknown, next: () => void) => {
        request.principal = {
          subject: 'analyst-1',
          tenantId: 'acme',
          roles: ['security-analyst'],
          permissions: new Set(['audit:read', 'audit:export']),
          via: 'jwt',
        };
        next();
      });
      await app.listen(0, '127.0.0.1');
      base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}/v1/audit/tenants`;
    });

    afterAll(() => app?.close());

    /** GET with node:http, which (unlike fetch) exposes HTTP trailers. */
    function get(url: string): Promise<{ status: number; type: string; body: string; trailers: NodeJS.Dict<string> }> {
      return new Promise((resolve, reject) => {
        httpRequest(url, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'] ?? '', body, trailers: res.trailers }));
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      });
    }

    it('serves a page of JSON and the cursor of the next one', async () => {
      const response = await get(`${base}/acme/records/search?actorId=user-3&limit=5`);
      expect(response.status).toBe(200);
      const page = JSON.parse(response.body) as { records: AuditRecordView[]; nextCursor: string };
      expect(page.records.map((r) => r.leafIndex)).toEqual(expected('acme', { actorId: 'user-3' }, log).slice(0, 5));
      const next = JSON.parse((await get(`${base}/acme/records/search?actorId=user-3&limit=5&cursor=${page.nextCursor}`)).body) as {
        records: AuditRecordView[];
      };
      expect(next.records.map((r) => r.leafIndex)).toEqual(expected('acme', { actorId: 'user-3' }, log).slice(5, 10));
    });

    it('streams the export as NDJSON, one record per line, with a trailer saying nothing was left out', async () => {
      const response = await get(`${base}/acme/records/export?actorId=user-4&from=2026-11-24T00:00:00%2B00:00`);
      expect(response.status).toBe(200);
      expect(response.type).toMatch(/^application\/x-ndjson/);
      expect(response.body.endsWith('\n')).toBe(true);
      const lines = response.body.trimEnd().split('\n');
      const want = expected('acme', { actorId: 'user-4' }, log);
      expect(lines.map((line) => (JSON.parse(line) as AuditRecordView).leafIndex)).toEqual(want);
      expect(response.trailers['traceo-export-truncated']).toBe('false');
    });

    it('answers an export without matches with an empty body', async () => {
      const response = await get(`${base}/acme/records/export?actorId=nobody`);
      expect(response).toMatchObject({ status: 200, body: '', trailers: { 'traceo-export-truncated': 'false' } });
    });

    it.each([
      ['/acme/records/search?actorID=user-3', 'REQUEST.VALIDATION_FAILED'],
      ['/acme/records/search?limit=1001', 'REQUEST.VALIDATION_FAILED'],
      ['/acme/records/search?actorId=a&actorId=b', 'REQUEST.VALIDATION_FAILED'],
      ['/acme/records/export?cursor=abc', 'REQUEST.VALIDATION_FAILED'],
      ['/ACME/records/search', 'REQUEST.VALIDATION_FAILED'],
      ['/acme/records/search?from=2026-11-25T00:00:00Z&to=2026-11-24T00:00:00Z', 'AUDIT.INVALID_FILTER'],
      ['/acme/records/export?minRiskScore=90&maxRiskScore=10', 'AUDIT.INVALID_FILTER'],
      ['/acme/records/search?cursor=bm90LWEtY3Vyc29y', 'AUDIT.INVALID_CURSOR'],
    ])('answers %s with 400 %s as problem+json', async (path, code) => {
      const response = await get(`${base}${path}`);
      expect(response.status).toBe(400);
      expect(response.type).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(response.body)).toMatchObject({ status: 400, code });
    });
  });
});
