import { canonicalJson, type AuditRecordV1 } from '@traceo/contracts';
import { appendToFrontier, leafHash, nodeKey, type Frontier, type NodeId, type StoredNode } from '@traceo/merkle';
import type { EntityManager } from 'typeorm';
import { retentionClassOf } from '../retention/retention-class';

/** What is hashed into the tenant's tree for one record (RFC 8785 canonical JSON of this object). */
export interface LogEntry {
  readonly v: 1;
  readonly tenant: string;
  readonly index: number;
  readonly eventId: string;
  readonly source: string;
  readonly occurredAt: string;
  /** When audit-service received it; kept beside occurredAt so late or future-dated records are visible. */
  readonly receivedAt: string;
  readonly record: AuditRecordV1;
}

export interface NewLogRecord {
  readonly eventId: string;
  readonly source: string;
  readonly record: AuditRecordV1;
}

type Querier = Pick<EntityManager, 'query'>;

/**
 * Appends to a tenant's Merkle log inside the caller's transaction: locks the tenant's head, gives
 * the records the next leaf indexes, stores leaves, completed nodes and the new frontier together.
 */
export async function appendToLog(
  manager: EntityManager,
  tenant: string,
  records: readonly NewLogRecord[],
  receivedAt = new Date(),
): Promise<number> {
  if (records.length === 0) return 0;
  await manager.query(`INSERT INTO audit_log_heads (tenant_id, size, frontier) VALUES ($1, 0, '{}') ON CONFLICT (tenant_id) DO NOTHING`, [
    tenant,
  ]);
  const [head] = await manager.query<{ size: string; frontier: Buffer[] }[]>(
    'SELECT size, frontier FROM audit_log_heads WHERE tenant_id = $1 FOR UPDATE',
    [tenant],
  );
  const frontier: Frontier = { size: Number(head!.size), roots: head!.frontier };
  const received = receivedAt.toISOString();
  const entries = records.map((item, offset): LogEntry => ({
    v: 1,
    tenant,
    index: frontier.size + offset,
    eventId: item.eventId,
    source: item.source,
    occurredAt: item.record.occurredAt,
    receivedAt: received,
    record: item.record,
  }));
  const texts = entries.map((entry) => canonicalJson(entry));
  const leaves = texts.map((text) => leafHash(Buffer.from(text, 'utf8')));
  const appended = appendToFrontier(frontier, leaves);

  await manager.query(
    `INSERT INTO audit_records (tenant_id, leaf_index, event_id, source, occurred_at, received_at, actor_type, actor_id, action,
                                resource_type, resource_id, status, request_id, entry, leaf_hash, retention_class)
     SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[], $8::text[],
                              $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::bytea[], $16::text[])`,
    [
      tenant,
      entries.map((e) => e.index),
      entries.map((e) => e.eventId),
      entries.map((e) => e.source),
      entries.map((e) => e.occurredAt),
      entries.map((e) => e.receivedAt),
      entries.map((e) => e.record.actor.type),
      entries.map((e) => e.record.actor.id),
      entries.map((e) => e.record.action),
      entries.map((e) => e.record.resource.type),
      entries.map((e) => e.record.resource.id ?? null),
      entries.map((e) => e.record.status),
      entries.map((e) => e.record.requestId ?? null),
      texts,
      leaves,
      entries.map((e) => retentionClassOf(e.record.action)),
    ],
  );
  await insertNodes(manager, tenant, appended.nodes);
  await manager.query('UPDATE audit_log_heads SET size = $2, frontier = $3, updated_at = clock_timestamp() WHERE tenant_id = $1', [
    tenant,
    appended.frontier.size,
    appended.frontier.roots,
  ]);
  return appended.frontier.size;
}

async function insertNodes(manager: Querier, tenant: string, nodes: readonly StoredNode[]): Promise<void> {
  await manager.query(
    'INSERT INTO audit_tree_nodes (tenant_id, level, node_index, hash) SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])',
    [tenant, nodes.map((n) => n.level), nodes.map((n) => n.index), nodes.map((n) => n.hash)],
  );
}

/** Loads stored nodes by id, for proofs. */
export async function loadNodes(querier: Querier, tenant: string, ids: readonly NodeId[]): Promise<Map<string, Buffer>> {
  const rows = await querier.query<{ level: number; node_index: string; hash: Buffer }[]>(
    `SELECT n.level, n.node_index, n.hash
       FROM audit_tree_nodes n
       JOIN unnest($2::smallint[], $3::bigint[]) AS wanted(level, node_index) USING (level, node_index)
      WHERE n.tenant_id = $1`,
    [tenant, ids.map((id) => id.level), ids.map((id) => id.index)],
  );
  return new Map(rows.map((row) => [nodeKey({ level: row.level, index: Number(row.node_index) }), row.hash]));
}

export async function readHead(querier: Querier, tenant: string): Promise<Frontier | undefined> {
  const [head] = await querier.query<{ size: string; frontier: Buffer[] }[]>(
    'SELECT size, frontier FROM audit_log_heads WHERE tenant_id = $1',
    [tenant],
  );
  return head ? { size: Number(head.size), roots: head.frontier } : undefined;
}
