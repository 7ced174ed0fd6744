import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newEventId, type AuditRecordV1 } from '@traceo/contracts';
import { startSyslogCollector, waitFor, type SyslogCollector } from '@traceo/testing';
import type { DataSource } from 'typeorm';
import { appendToLog, type NewLogRecord } from '../src/audit-log/merkle-log.repository';
import { SiemCollectorError, SiemForwarder } from '../src/siem-export/siem-forwarder';
import { destinationName, SyslogSender, type SyslogDestination } from '../src/siem-export/syslog-sender';
import { openAuditTestRuntime, type AuditTestRuntime } from './audit-test-runtime';

// The continuous SIEM export against real PostgreSQL and a real syslog collector (a TCP and a TLS
// server that read RFC 6587 octet-counted frames): every record once, in log order per tenant, across
// restarts, a collector outage, personal data that cannot be revealed yet, and both start positions.

/** A collector and the destination that names it. */
interface Collector extends SyslogCollector {
  readonly destination: SyslogDestination;
}

async function tcpCollector(messages: string[] = [], port?: number): Promise<Collector> {
  const collector = await startSyslogCollector({ messages, ...(port ? { port } : {}) });
  return Object.assign(collector, { destination: { protocol: 'tcp' as const, host: collector.host, port: collector.port } });
}

const record = (n: number, overrides: Partial<AuditRecordV1> = {}): AuditRecordV1 => ({
  action: 'user.signed-in',
  actor: { id: `user-${n}`, type: 'user' },
  occurredAt: new Date(Date.UTC(2026, 10, 25, 12, 0, n)).toISOString(),
  resource: { id: `s-${n}`, type: 'session' },
  status: 'success',
  ...overrides,
});

/** Until the collector has read `count` messages (a pass ends when the bytes are handed to the socket). */
const arrived = (messages: readonly string[], count: number) =>
  waitFor(() => Promise.resolve(messages.length >= count || undefined), `${count} syslog messages at the collector`, 5000, 10);

/** The event ids (CEF externalId) of the messages, in order. */
const eventIds = (messages: readonly string[]) => messages.map((message) => /externalId=(\S+)/.exec(message)?.[1]);

describe('SIEM forwarding to a syslog collector (PostgreSQL, TCP and TLS)', () => {
  let audit: AuditTestRuntime;
  let dataSource: DataSource;
  const appended: Record<string, string[]> = {};

  async function append(tenant: string, count: number, overrides: Partial<NewLogRecord> = {}): Promise<string[]> {
    const records = Array.from({ length: count }, (_, n) => ({
      eventId: newEventId(),
      source: '/traceo/auth-service',
      record: record(n),
      ...overrides,
    }));
    await dataSource.transaction((manager) => appendToLog(manager, tenant, records));
    (appended[tenant] ??= []).push(...records.map((r) => r.eventId));
    return records.map((r) => r.eventId);
  }

  const forwarder = (collector: Collector | SyslogDestination, start: 'beginning' | 'end' = 'beginning', sender?: SyslogSender) => {
    const destination = 'destination' in collector ? collector.destination : collector;
    return new SiemForwarder({
      dataSource,
      personalData: audit.personalData,
      sender: sender ?? new SyslogSender(destination),
      destination: destinationName(destination),
      start,
      hostname: 'audit-1.test',
      batchSize: 4,
    });
  };

  beforeAll(async () => {
    audit = await openAuditTestRuntime('it_siem_forwarding');
    dataSource = audit.dataSource;
  });

  afterAll(() => audit?.close());

  it('sends every record once, in log order per tenant, as CEF in RFC 5424 messages, and resumes from its cursor', async () => {
    await append('acme', 6);
    await append('globex', 3);
    const collector = await tcpCollector();
    try {
      expect(await forwarder(collector).forwardPass()).toEqual({ sent: 9, deferred: [] });
      await arrived(collector.messages, 9);
      expect(collector.messages).toHaveLength(9);
      for (const message of collector.messages)
        expect(message).toMatch(
          /^<\d{1,3}>1 2026-11-25T12:00:0\d\.000Z audit-1\.test traceo-audit - user\.signed-in - CEF:0\|Traceo\|Traceo\|/,
        );
      expect(eventIds(collector.messages)).toEqual([...appended.acme!, ...appended.globex!]);

      // A new forwarder (a restart) continues from the stored cursors: nothing again, then only the new records.
      const restarted = forwarder(collector);
      expect(await restarted.forwardPass()).toEqual({ sent: 0, deferred: [] });
      const more = await append('acme', 2);
      expect(await restarted.forwardPass()).toEqual({ sent: 2, deferred: [] });
      await arrived(collector.messages, 11);
      expect(eventIds(collector.messages.slice(9))).toEqual(more);
      const cursors = await dataSource.query<{ tenant_id: string; next_index: string }[]>(
        'SELECT tenant_id, next_index FROM audit_siem_cursors WHERE destination = $1 ORDER BY tenant_id',
        [destinationName(collector.destination)],
      );
      expect(collector.malformed).toBe(0);
      expect(cursors).toEqual([
        { tenant_id: 'acme', next_index: '8' },
        { tenant_id: 'globex', next_index: '3' },
      ]);
    } finally {
      await collector.close();
    }
  });

  it('loses nothing while the collector is down: the pass fails, the cursor stays, and the records go once it is back', async () => {
    const messages: string[] = [];
    let collector = await tcpCollector(messages);
    const { port } = collector.destination;
    const sender = new SyslogSender(collector.destination, { connectTimeoutMs: 2000 });
    const forwarding = forwarder(collector, 'beginning', sender);
    const before = (await forwarding.forwardPass()).sent;
    await arrived(messages, before);
    await collector.close();

    const waiting = await append('globex', 5);
    await expect(forwarding.forwardPass()).rejects.toBeInstanceOf(SiemCollectorError);
    await expect(forwarding.forwardPass()).rejects.toBeInstanceOf(SiemCollectorError);
    expect(messages).toHaveLength(before);

    collector = await tcpCollector(messages, port);
    try {
      expect(await forwarding.forwardPass()).toEqual({ sent: 5, deferred: [] });
      await arrived(messages, before + 5);
      expect(eventIds(messages.slice(before))).toEqual(waiting);
    } finally {
      sender.close();
      await collector.close();
    }
  });

  it('holds back a tenant whose personal data cannot be revealed yet, and sends nothing of its batch', async () => {
    const collector = await tcpCollector();
    try {
      const forwarding = forwarder(collector);
      const { sent } = await forwarding.forwardPass();
      await arrived(collector.messages, sent);
      // Sealed personal data; the test's encryption-service is not running, so it cannot be revealed now.
      await append('initech', 1, {
        record: record(1, { ip: undefined }),
        personal: { ciphertext: 'AAAA', keyring: 'subjects', subjectId: 'user-1' },
      });
      const acme = await append('acme', 1);
      expect(await forwarding.forwardPass()).toEqual({ sent: 1, deferred: ['initech'] });
      await arrived(collector.messages, sent + 1);
      expect(eventIds(collector.messages.slice(sent))).toEqual(acme);
      const [cursor] = await dataSource.query<{ next_index: string }[]>(
        `SELECT next_index FROM audit_siem_cursors WHERE destination = $1 AND tenant_id = 'initech'`,
        [destinationName(collector.destination)],
      );
      expect(cursor).toEqual({ next_index: '0' });
    } finally {
      await collector.close();
    }
  });

  it('starts a new destination at the end of the logs there are, and a log that appears later at its beginning', async () => {
    const collector = await tcpCollector();
    try {
      const forwarding = forwarder(collector, 'end');
      expect(await forwarding.forwardPass()).toEqual({ sent: 0, deferred: [] });
      const acme = await append('acme', 2);
      const hooli = await append('hooli', 3);
      expect(await forwarding.forwardPass()).toEqual({ sent: 5, deferred: [] });
      await arrived(collector.messages, 5);
      expect(eventIds(collector.messages)).toEqual([...acme, ...hooli]);
    } finally {
      await collector.close();
    }
  });

  it('sends over TLS to a collector whose certificate it trusts, and refuses one it does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'traceo-syslog-tls-'));
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ], { stdio: 'ignore' }); // prettier-ignore
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const collector = await startSyslogCollector({ tls: { key: readFileSync(join(dir, 'key.pem')), cert } });
      const { messages } = collector;
      const destination: SyslogDestination = { protocol: 'tls', host: 'localhost', port: collector.port };
      try {
        const untrusting = new SyslogSender(destination, { connectTimeoutMs: 2000 });
        await expect(forwarder(destination, 'beginning', untrusting).forwardPass()).rejects.toThrow(/self-signed certificate/);
        expect(messages).toHaveLength(0);

        const trusting = new SyslogSender(destination, { ca: cert });
        const total = Object.values(appended).reduce((n, ids) => n + ids.length, 0);
        // Everything but the record held back for its personal data.
        expect(await forwarder(destination, 'beginning', trusting).forwardPass()).toEqual({ sent: total - 1, deferred: ['initech'] });
        await arrived(messages, total - 1);
        expect(eventIds(messages)).toEqual(['acme', 'globex', 'hooli'].flatMap((tenant) => appended[tenant]!));
        trusting.close();
        expect(collector.malformed).toBe(0);
      } finally {
        await collector.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
