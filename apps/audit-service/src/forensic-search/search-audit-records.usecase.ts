import type { AuditActor } from '@traceo/security';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AuditRecordV1 } from '@traceo/contracts';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { LogEntry } from '../audit-log/merkle-log.repository';
import type { PersonalDataState } from '../personal-data/personal-data';
import { PersonalDataProtector, type RevealedRecord } from '../personal-data/personal-data.protector';
import type { AuditConfig } from '../audit-service.config';
import { InvalidFilterError } from './forensic-search.errors';
import type { ForensicFilters, SearchQuery } from './forensic-search.query';
import { SearchCursorCodec, type SearchCursor } from './search-cursor';

export const EXPORT_MAX_RECORDS = 1_000_000;
const EXPORT_PAGE_SIZE = 1000;

/** One record as it was hashed into the tenant's log, with its position and time of receipt. */
export interface AuditRecordView {
  tenantId: string;
  leafIndex: number;
  eventId: string;
  source: string;
  occurredAt: string;
  receivedAt: string;
  record: AuditRecordV1;
  /** Only for records with personal data: whether it could be shown (`erased` after crypto-shredding). */
  personalData?: PersonalDataState;
}

export interface AuditSearchPage {
  records: AuditRecordView[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export interface ExportOutcome {
  count: number;
  /** The filtered result had more than the export cap; the oldest records were left out. */
  truncated: boolean;
}

/** Who searches (recorded as the actor of audit.searched / audit.exported) and the request's id. */
export interface SearchRequestContext {
  readonly actor: AuditActor;
  readonly requestId?: string;
}

const EQUALITY_FILTERS = {
  actorId: 'actor_id',
  actorType: 'actor_type',
  sessionId: 'session_id',
  requestId: 'request_id',
  resourceType: 'resource_type',
  resourceId: 'resource_id',
  action: 'action',
  status: 'status',
  country: 'country',
} as const satisfies Partial<Record<keyof ForensicFilters, string>>;

interface RecordRow {
  /** bigint: node-postgres returns it as a string. */
  leaf_index: string;
  occurred_key: string;
  received_at: Date;
  entry: string;
}

/** Rules between filters that the query schema checks one by one. */
export function assertConsistentFilters(filters: ForensicFilters): void {
  if (filters.from !== undefined && filters.to !== undefined && Date.parse(filters.from) > Date.parse(filters.to))
    throw new InvalidFilterError('from must not be after to');
  if (filters.minRiskScore !== undefined && filters.maxRiskScore !== undefined && filters.minRiskScore > filters.maxRiskScore)
    throw new InvalidFilterError('minRiskScore must not exceed maxRiskScore');
  if (filters.resourceId !== undefined && filters.resourceType === undefined)
    throw new InvalidFilterError('resourceId needs resourceType: resource ids are only unique within their type');
}

/**
 * The SQL of one page: newest first, keyset-paginated. The tenant is fixed by the WHERE clause, so
 * the (occurred_at, tenant_id, leaf_index) key compares as (occurred_at, leaf_index), which the
 * (tenant_id, …, occurred_at DESC, leaf_index DESC) indexes answer in order. Fetches one row more
 * than the page to learn whether another page follows.
 */
export function searchStatement(
  tenantId: string,
  filters: ForensicFilters,
  after: SearchCursor | undefined,
  pageSize: number,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [tenantId];
  const bind = (value: unknown, type: string) => `$${params.push(value)}::${type}`;
  const where = ['tenant_id = $1::text'];
  for (const [filter, column] of Object.entries(EQUALITY_FILTERS)) {
    const value = filters[filter as keyof typeof EQUALITY_FILTERS];
    if (value !== undefined) where.push(`${column} = ${bind(value, 'text')}`);
  }
  if (filters.from !== undefined) where.push(`occurred_at >= ${bind(filters.from, 'timestamptz')}`);
  if (filters.to !== undefined) where.push(`occurred_at < ${bind(filters.to, 'timestamptz')}`);
  if (filters.minRiskScore !== undefined) where.push(`risk_score >= ${bind(filters.minRiskScore, 'real')}`);
  if (filters.maxRiskScore !== undefined) where.push(`risk_score <= ${bind(filters.maxRiskScore, 'real')}`);
  if (after) where.push(`(occurred_at, leaf_index) < (${bind(after.occurredAt, 'timestamptz')}, ${bind(after.leafIndex, 'bigint')})`);
  const sql = `SELECT leaf_index, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_key,
                      received_at, entry
                 FROM audit_records
                WHERE ${where.join(' AND ')}
                ORDER BY occurred_at DESC, leaf_index DESC
                LIMIT ${bind(pageSize + 1, 'integer')}`;
  return { sql, params };
}

function view(row: RecordRow, entry: LogEntry, revealed: RevealedRecord): AuditRecordView {
  return {
    tenantId: entry.tenant,
    leafIndex: Number(row.leaf_index),
    eventId: entry.eventId,
    source: entry.source,
    occurredAt: entry.occurredAt,
    receivedAt: row.received_at.toISOString(),
    record: revealed.record,
    ...(revealed.personalData ? { personalData: revealed.personalData } : {}),
  };
}

/**
 * Forensic search over one tenant's audit log: filtered pages (newest first) and a streamed export
 * of the whole filtered result. Every search and export is itself recorded in that tenant's log.
 * Rows appended before migration 1764000000200 have no session id, risk score or country columns
 * and are not matched by those three filters.
 */
@Injectable()
export class SearchAuditRecordsUseCase {
  private readonly cursors: SearchCursorCodec;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime<AuditConfig>,
    private readonly publisher: EventPublisher,
    private readonly personalData: PersonalDataProtector,
  ) {
    // Every replica holds the checkpoint key, so a cursor from one replica is accepted by another.
    this.cursors = new SearchCursorCodec(
      runtime.config.TRACEO_AUDIT_CURSOR_KEY ? Buffer.from(runtime.config.TRACEO_AUDIT_CURSOR_KEY, 'base64') : randomBytes(32),
    );
  }

  async search(tenantId: string, query: SearchQuery, context: SearchRequestContext): Promise<AuditSearchPage> {
    const { limit, cursor, ...filters } = query;
    assertConsistentFilters(filters);
    const after = cursor === undefined ? undefined : this.cursors.decode(cursor, tenantId);
    // The search is recorded while the page's personal fields are being revealed (it is recorded even
    // if revealing then fails: an attempted search is still a search).
    const page = await this.page(tenantId, filters, after, limit, (count) =>
      this.record('audit.searched', tenantId, filters, context, { count }),
    );
    return { records: page.records, nextCursor: page.next ? this.cursors.encode(page.next) : null };
  }

  /**
   * The whole filtered result (at most maxRecords), page by page. Filters are checked now, before
   * the caller starts a response; the export is recorded when the generator ends, however it ends,
   * with the number of records handed out.
   */
  export(
    tenantId: string,
    filters: ForensicFilters,
    context: SearchRequestContext,
    maxRecords = EXPORT_MAX_RECORDS,
  ): AsyncGenerator<AuditRecordView[], ExportOutcome | undefined> {
    assertConsistentFilters(filters);
    return this.exportPages(tenantId, filters, context, maxRecords);
  }

  private async *exportPages(
    tenantId: string,
    filters: ForensicFilters,
    context: SearchRequestContext,
    maxRecords: number,
  ): AsyncGenerator<AuditRecordView[], ExportOutcome | undefined> {
    const outcome: ExportOutcome = { count: 0, truncated: false };
    let completed = false;
    try {
      let after: SearchCursor | undefined;
      for (;;) {
        const page = await this.page(tenantId, filters, after, Math.min(EXPORT_PAGE_SIZE, maxRecords - outcome.count));
        outcome.count += page.records.length;
        if (page.records.length > 0) yield page.records;
        if (!page.next) break;
        if (outcome.count >= maxRecords) {
          outcome.truncated = true;
          break;
        }
        after = page.next;
      }
      completed = true;
      return outcome;
    } finally {
      await this.record('audit.exported', tenantId, filters, context, { ...outcome, completed }, completed ? 'success' : 'failure');
    }
  }

  private async page(
    tenantId: string,
    filters: ForensicFilters,
    after: SearchCursor | undefined,
    pageSize: number,
    alongside?: (count: number) => Promise<void>,
  ): Promise<{ records: AuditRecordView[]; next: SearchCursor | undefined }> {
    const { sql, params } = searchStatement(tenantId, filters, after, pageSize);
    const rows = await this.runtime.dataSource.query<RecordRow[]>(sql, params);
    const more = rows.length > pageSize;
    const kept = more ? rows.slice(0, pageSize) : rows;
    const last = kept.at(-1);
    const entries = kept.map((row) => JSON.parse(row.entry) as LogEntry);
    const [revealed] = await Promise.all([this.personalData.reveal(tenantId, entries), alongside?.(kept.length)]);
    return {
      records: kept.map((row, i) => view(row, entries[i]!, revealed[i]!)),
      next: more && last ? { occurredAt: last.occurred_key, tenantId, leafIndex: Number(last.leaf_index) } : undefined,
    };
  }

  private async record(
    action: 'audit.searched' | 'audit.exported',
    tenantId: string,
    filters: ForensicFilters,
    context: SearchRequestContext,
    result: Record<string, unknown>,
    status: 'success' | 'failure' = 'success',
  ): Promise<void> {
    await this.publisher.audit(
      {
        actor: context.actor,
        action,
        resource: { type: 'audit-log', id: tenantId },
        status,
        ...(context.requestId ? { requestId: context.requestId } : {}),
        details: { filters, ...result },
      },
      { tenantId },
    );
  }
}
