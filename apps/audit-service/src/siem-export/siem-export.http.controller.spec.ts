import type { PersonalDataProtector } from '../personal-data/personal-data.protector';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Module, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { canonicalJson } from '@traceo/contracts';
import type { Principal } from '@traceo/security';
import { ProblemDetailsFilter, type EventPublisher, type ServiceRuntime } from '@traceo/service-kit';
import type { LogEntry } from '../audit-log/merkle-log.repository';
import { SiemExportHttpController } from './siem-export.http.controller';
import { SiemExportUseCase } from './siem-export.usecase';

const logEntry = (index: number): LogEntry => ({
  v: 1,
  tenant: 'acme',
  index,
  eventId: `evt-${index}`,
  source: '/traceo/auth-service',
  occurredAt: '2026-11-24T12:00:00.000Z',
  receivedAt: '2026-11-24T12:00:00.250Z',
  record: {
    occurredAt: '2026-11-24T12:00:00.000Z',
    actor: { type: 'user', id: 'u-1' },
    action: 'user.signed-in',
    resource: { type: 'session', id: `s-${index}` },
    status: 'success',
  },
});

// The database is replaced by a stub that answers with stored entries; the SQL itself was checked
// against PostgreSQL by hand (see docs/siem-mapping.md). What is under test is the HTTP contract.
const query = jest.fn<Promise<{ entry: string }[]>, [string, unknown[]]>();
const audit = jest.fn<Promise<void>, Parameters<EventPublisher['audit']>>().mockResolvedValue();

@Module({
  controllers: [SiemExportHttpController],
  providers: [
    {
      provide: SiemExportUseCase,
      useValue: new SiemExportUseCase(
        { dataSource: { query } } as unknown as ServiceRuntime,
        { audit } as unknown as EventPublisher,
        // Records without sealed personal data come back as they are.
        {
          reveal: (_tenant: string, records: { record: unknown }[]) => Promise.resolve(records.map((r) => ({ record: r.record }))),
        } as unknown as PersonalDataProtector,
      ),
    },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
  ],
})
class TestModule {}

const AUDITOR: Principal = {
  subject: 'auditor-1',
  tenantId: 'acme',
  roles: ['auditor'],
  permissions: new Set(['audit:read', 'audit:export']),
  via: 'jwt',
};

describe('GET /v1/audit/tenants/:tenantId/siem/export', () => {
  let app: INestApplication;
  let base: string;
  const exportWindow = 'from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z';

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [TestModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    // What the auth guard attaches for an auditor's token (the guard itself is tested in libs/security).
    app.use((request: { principal?: Principal }, _response: unknown, next: () => void) => {
      request.principal = AUDITOR;
      next();
    });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}/v1/audit/tenants`;
  });

  afterAll(() => app.close());

  beforeEach(() => {
    query.mockReset().mockResolvedValue([logEntry(0), logEntry(1)].map((entry) => ({ entry: canonicalJson(entry) })));
  });

  it('answers OCSF as NDJSON, one event per line', async () => {
    const response = await fetch(`${base}/acme/siem/export?format=ocsf&${exportWindow}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(response.headers.get('traceo-next-after-index')).toBeNull();
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { metadata: { uid: string } }).metadata.uid)).toEqual(['evt-0', 'evt-1']);
  });

  it('answers CEF as text/plain lines and gives the paging cursor when the page is full', async () => {
    const response = await fetch(`${base}/acme/siem/export?format=cef&${exportWindow}&limit=2`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('traceo-next-after-index')).toBe('1');
    expect(
      (await response.text())
        .split('\n')
        .filter(Boolean)
        .every((line) => line.startsWith('CEF:0|Traceo|Traceo|1.0|')),
    ).toBe(true);
    expect(query.mock.calls[0]![1]).toEqual(['acme', '2026-11-24T00:00:00Z', '2026-11-25T00:00:00Z', -1, 2]);
    // The export is recorded with the caller as its actor.
    expect(audit).toHaveBeenLastCalledWith(
      expect.objectContaining({ actor: { type: 'user', id: 'auditor-1' }, action: 'audit.siem-exported' }),
      { tenantId: 'acme' },
    );
  });

  it('answers CEF in RFC 5424 syslog messages, one per line', async () => {
    const response = await fetch(`${base}/acme/siem/export?format=cef-syslog&${exportWindow}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines)
      expect(line).toMatch(/^<\d+>1 2026-11-24T12:00:00\.000Z \S+ traceo-audit - user\.signed-in - CEF:0\|Traceo\|/);
  });

  it.each([
    ['an unknown format', `/acme/siem/export?format=leef&${exportWindow}`],
    ['a missing exportWindow', '/acme/siem/export?format=ocsf'],
    ['a limit over 10000', `/acme/siem/export?format=ocsf&${exportWindow}&limit=10001`],
    ['an unknown parameter', `/acme/siem/export?format=ocsf&${exportWindow}&tenant=other`],
    ['a malformed tenant id', `/ACME!/siem/export?format=ocsf&${exportWindow}`],
  ])('refuses %s with 400 problem+json', async (_case, path) => {
    const response = await fetch(base + path);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await response.json()) as { code: string }).code).toBe('REQUEST.VALIDATION_FAILED');
    expect(query).not.toHaveBeenCalled();
  });

  it('refuses a exportWindow that ends before it starts with SIEM.INVALID_WINDOW', async () => {
    const response = await fetch(`${base}/acme/siem/export?format=ocsf&from=2026-11-25T00:00:00Z&to=2026-11-24T00:00:00Z`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ code: 'SIEM.INVALID_WINDOW', status: 400 });
  });
});
