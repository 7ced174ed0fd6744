import type { PersonalDataProtector } from '../personal-data/personal-data.protector';
import { canonicalJson } from '@traceo/contracts';
import type { EventPublisher, ServiceRuntime } from '@traceo/service-kit';
import type { LogEntry } from '../audit-log/merkle-log.repository';
import { syslogSeverity } from './cef.formatter';
import { InvalidExportWindowError } from './siem-export.errors';
import { renderSiemExport, siemExportQuerySchema, SiemExportUseCase, type SiemExportQuery } from './siem-export.usecase';

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
    actor: { type: 'user', id: `u-${index}` },
    action: 'user.signed-in',
    resource: { type: 'session', id: `s-${index}` },
    status: index % 2 === 0 ? 'success' : 'denied',
    ip: '203.0.113.7',
  },
});

const AUDITOR_ACTOR = { type: 'user', id: 'auditor-1' } as const;

const exportWindow = { from: '2026-11-24T00:00:00Z', to: '2026-11-25T00:00:00+01:00' };

describe('SIEM export query', () => {
  it('accepts a exportWindow and a format, coerces numbers and defaults the limit', () => {
    expect(siemExportQuerySchema.parse({ format: 'ocsf', ...exportWindow })).toEqual({ format: 'ocsf', ...exportWindow, limit: 1000 });
    expect(siemExportQuerySchema.parse({ format: 'cef', ...exportWindow, limit: '10000', afterIndex: '41' })).toEqual({
      format: 'cef',
      ...exportWindow,
      limit: 10000,
      afterIndex: 41,
    });
  });

  it.each([
    { ...exportWindow },
    { format: 'json', ...exportWindow },
    { format: 'ocsf', from: exportWindow.from },
    { format: 'ocsf', ...exportWindow, from: 'yesterday' },
    { format: 'ocsf', ...exportWindow, to: '2026-11-25' },
    { format: 'ocsf', ...exportWindow, limit: '0' },
    { format: 'ocsf', ...exportWindow, limit: '10001' },
    { format: 'ocsf', ...exportWindow, limit: 'all' },
    { format: 'ocsf', ...exportWindow, afterIndex: '-1' },
    { format: 'ocsf', ...exportWindow, tenant: 'other' },
  ])('rejects %j', (query) => {
    expect(siemExportQuerySchema.safeParse(query).success).toBe(false);
  });
});

describe('SIEM export rendering', () => {
  const entries = [logEntry(0), logEntry(1), logEntry(2)];

  it('writes one OCSF JSON object per line, each line ending with a newline', () => {
    const body = renderSiemExport(entries, 'ocsf');
    expect(body.endsWith('\n')).toBe(true);
    const events = body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { metadata: { uid: string }; class_uid: number });
    expect(events.map((event) => event.metadata.uid)).toEqual(['evt-0', 'evt-1', 'evt-2']);
    expect(events.every((event) => event.class_uid === 3002)).toBe(true);
  });

  it('writes one CEF line per entry', () => {
    const lines = renderSiemExport(entries, 'cef').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
    expect(lines.every((line) => line.startsWith('CEF:0|Traceo|Traceo|1.0|user.signed-in|'))).toBe(true);
  });

  it('writes one RFC 5424 syslog message per entry, carrying its CEF line, stamped with the record time', () => {
    const cef = renderSiemExport(entries, 'cef').split('\n');
    const lines = renderSiemExport(entries, 'cef-syslog', 'audit-1.example').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
    lines.forEach((line, i) => {
      // authpriv (10) × 8 + the syslog severity of the CEF line's.
      const pri = 10 * 8 + syslogSeverity(Number(cef[i]!.split('|')[6]));
      expect(line).toBe(`<${pri}>1 2026-11-24T12:00:00.000Z audit-1.example traceo-audit - user.signed-in - ${cef[i]}`);
    });
    // A success and a denial differ in severity.
    expect(new Set(lines.map((line) => line.slice(0, 4))).size).toBe(2);
  });

  it('writes nothing for an empty exportWindow', () => {
    expect(renderSiemExport([], 'ocsf')).toBe('');
    expect(renderSiemExport([], 'cef')).toBe('');
    expect(renderSiemExport([], 'cef-syslog')).toBe('');
  });
});

describe('SIEM export use case', () => {
  function useCase(rows: { entry: string }[]) {
    const query = jest.fn<Promise<{ entry: string }[]>, [string, unknown[]]>().mockResolvedValue(rows);
    const audit = jest.fn<Promise<void>, Parameters<EventPublisher['audit']>>().mockResolvedValue();
    const runtime = { dataSource: { query } } as unknown as ServiceRuntime;
    const publisher = { audit } as unknown as EventPublisher;
    const personalData = {
      reveal: (_tenant: string, records: { record: unknown }[]) => Promise.resolve(records.map((r) => ({ record: r.record }))),
    } as unknown as PersonalDataProtector;
    return { siemExport: new SiemExportUseCase(runtime, publisher, personalData), query, audit };
  }

  const request = (overrides: Partial<SiemExportQuery> = {}): SiemExportQuery => ({
    format: 'ocsf',
    ...exportWindow,
    limit: 2,
    ...overrides,
  });

  it('refuses a exportWindow that ends before it starts with SIEM.INVALID_WINDOW, before reading anything', async () => {
    const { siemExport, query, audit } = useCase([]);
    const failure = siemExport.execute('acme', request({ from: '2026-11-25T00:00:00Z', to: '2026-11-24T00:00:00Z' }), AUDITOR_ACTOR);
    await expect(failure).rejects.toBeInstanceOf(InvalidExportWindowError);
    await expect(failure).rejects.toMatchObject({ code: 'SIEM.INVALID_WINDOW', status: 400 });
    expect(query).not.toHaveBeenCalled();
    expect(audit).not.toHaveBeenCalled();
  });

  it('compares exportWindow bounds as instants, not as text', async () => {
    const { siemExport } = useCase([]);
    // 00:30+01:00 is 23:30Z the day before: earlier than from.
    await expect(
      siemExport.execute('acme', request({ from: '2026-11-24T00:00:00Z', to: '2026-11-24T00:30:00+01:00' }), AUDITOR_ACTOR),
    ).rejects.toBeInstanceOf(InvalidExportWindowError);
    await expect(
      siemExport.execute('acme', request({ from: '2026-11-24T00:00:00Z', to: '2026-11-24T00:00:00Z' }), AUDITOR_ACTOR),
    ).resolves.toMatchObject({
      count: 0,
    });
  });

  it('reads the tenant exportWindow in log order, renders it, audits the export and offers a cursor when the page is full', async () => {
    const { siemExport, query, audit } = useCase([logEntry(4), logEntry(5)].map((entry) => ({ entry: canonicalJson(entry) })));
    const result = await siemExport.execute('acme', request({ format: 'cef', afterIndex: 3 }), AUDITOR_ACTOR);
    expect(query).toHaveBeenCalledWith(expect.stringMatching(/ORDER BY leaf_index\s+LIMIT \$5/), [
      'acme',
      exportWindow.from,
      exportWindow.to,
      3,
      2,
    ]);
    expect(result).toMatchObject({ contentType: 'text/plain; charset=utf-8', count: 2, nextAfterIndex: 5 });
    expect(result.body.split('\n')).toHaveLength(3);
    expect(audit).toHaveBeenCalledWith(
      {
        actor: AUDITOR_ACTOR,
        action: 'audit.siem-exported',
        resource: { type: 'audit-log', id: 'acme' },
        status: 'success',
        details: { format: 'cef', count: 2, from: exportWindow.from, to: exportWindow.to },
      },
      { tenantId: 'acme' },
    );
  });

  it('gives no cursor when the exportWindow is exhausted', async () => {
    const { siemExport, query } = useCase([{ entry: canonicalJson(logEntry(0)) }]);
    const result = await siemExport.execute('acme', request(), AUDITOR_ACTOR);
    expect(query.mock.calls[0]![1][3]).toBe(-1);
    expect(result).toMatchObject({ contentType: 'application/x-ndjson; charset=utf-8', count: 1 });
    expect(result.nextAfterIndex).toBeUndefined();
  });
});
