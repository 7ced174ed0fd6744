import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import type { AuditActor } from '@traceo/security';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { z } from 'zod';
import type { LogEntry } from '../audit-log/merkle-log.repository';
import { PersonalDataProtector } from '../personal-data/personal-data.protector';
import { toCef, toCefSyslog } from './cef.formatter';
import { toOcsf } from './ocsf.mapper';
import { InvalidExportWindowError } from './siem-export.errors';

export const SIEM_FORMATS = ['ocsf', 'cef', 'cef-syslog'] as const;
export type SiemFormat = (typeof SIEM_FORMATS)[number];

export const SIEM_EXPORT_MAX_LIMIT = 10_000;

export const siemExportQuerySchema = z.strictObject({
  format: z.enum(SIEM_FORMATS),
  /** Inclusive lower bound on occurredAt. */
  from: z.iso.datetime({ offset: true }),
  /** Exclusive upper bound on occurredAt. */
  to: z.iso.datetime({ offset: true }),
  limit: z.coerce.number().int().min(1).max(SIEM_EXPORT_MAX_LIMIT).default(1000),
  /** Paging cursor: only entries with a larger leaf index (the Traceo-Next-After-Index of the previous page). */
  afterIndex: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

export type SiemExportQuery = z.infer<typeof siemExportQuerySchema>;

export interface SiemExport {
  readonly contentType: string;
  readonly body: string;
  readonly count: number;
  /** Set when the page is full: pass it as afterIndex to read on. */
  readonly nextAfterIndex?: number;
}

export const SIEM_CONTENT_TYPES: Readonly<Record<SiemFormat, string>> = {
  ocsf: 'application/x-ndjson; charset=utf-8',
  cef: 'text/plain; charset=utf-8',
  'cef-syslog': 'text/plain; charset=utf-8',
};

/** The HOSTNAME of exported syslog messages: the audit-service replica that wrote them. */
const SYSLOG_HOSTNAME = hostname();

/**
 * One OCSF JSON object, CEF line, or RFC 5424 syslog message carrying a CEF line per entry, each ending
 * with a newline (RFC 6587 non-transparent framing, what a collector reading a file or a TCP stream
 * line by line takes). A syslog message's TIMESTAMP is the record's occurredAt, its MSGID the action,
 * its PRI facility authpriv with the severity of the CEF line.
 */
export function renderSiemExport(entries: readonly LogEntry[], format: SiemFormat, syslogHostname = SYSLOG_HOSTNAME): string {
  let lines: string[];
  switch (format) {
    case 'ocsf':
      lines = entries.map((entry) => JSON.stringify(toOcsf(entry)));
      break;
    case 'cef':
      lines = entries.map(toCef);
      break;
    case 'cef-syslog':
      lines = entries.map((entry) => toCefSyslog(entry, syslogHostname));
      break;
  }
  return lines.map((line) => `${line}\n`).join('');
}

/**
 * Exports one tenant's audit log entries whose occurredAt lies in [from, to), in log order (leaf
 * index), as OCSF NDJSON, CEF lines or CEF in RFC 5424 syslog messages. The entries are the exact canonical JSON that was hashed into
 * the tenant's Merkle tree. The export itself is audited (audit.siem-exported) in the tenant's log.
 */
@Injectable()
export class SiemExportUseCase {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly publisher: EventPublisher,
    private readonly personalData: PersonalDataProtector,
  ) {}

  async execute(tenantId: string, query: SiemExportQuery, actor: AuditActor): Promise<SiemExport> {
    if (Date.parse(query.from) > Date.parse(query.to))
      throw new InvalidExportWindowError('the export window ends before it starts: from must not be after to', {
        from: query.from,
        to: query.to,
      });
    const rows = await this.runtime.dataSource.query<{ entry: string }[]>(
      `SELECT entry FROM audit_records
        WHERE tenant_id = $1 AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz AND leaf_index > $4::bigint
        ORDER BY leaf_index
        LIMIT $5`,
      [tenantId, query.from, query.to, query.afterIndex ?? -1, query.limit],
    );
    const stored = rows.map((row) => JSON.parse(row.entry) as LogEntry);
    // The SIEM gets personal fields where the subject's key still exists; erased subjects' records go out without them.
    const revealed = await this.personalData.reveal(tenantId, stored);
    const entries = stored.map((entry, i): LogEntry => ({ ...entry, record: revealed[i]!.record }));
    await this.publisher.audit(
      {
        actor,
        action: 'audit.siem-exported',
        resource: { type: 'audit-log', id: tenantId },
        status: 'success',
        details: { format: query.format, count: entries.length, from: query.from, to: query.to },
      },
      { tenantId },
    );
    const last = entries.at(-1);
    return {
      contentType: SIEM_CONTENT_TYPES[query.format],
      body: renderSiemExport(entries, query.format),
      count: entries.length,
      ...(last && entries.length === query.limit ? { nextAfterIndex: last.index } : {}),
    };
  }
}
