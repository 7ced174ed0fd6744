import { canonicalJson, type AuditRecordV1 } from '@traceo/contracts';
import { appendToFrontier, leafHash, nodeKey, type Frontier, type NodeId, type StoredNode } from '@traceo/merkle';
import type { EntityManager } from 'typeorm';
import type { SealedPersonalData } from '../personal-data/personal-data';
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
  /** The record's personal fields, sealed under the data subject's key (they are not in `record`). */
  readonly personal?: SealedPersonalData;
}

/**
 * The columns copied out of a hashed entry so the log can be searched. The entry stays the source of
 * truth: the verifier recomputes these from it and reports any row whose columns disagree.
 */
export function searchableColumnsOf(entry: LogEntry) {
  return {
    event_id: entry.eventId,
    source: entry.source,
    occurred_at: entry.occurredAt,
    received_at: entry.receivedAt,
    actor_type: entry.record.actor.type,
    actor_id: entry.record.actor.id,
    action: entry.record.action,
    resource_type: entry.record.resource.type,
    resource_id: entry.record.resource.id ?? null,
    status: entry.record.status,
    request_id: entry.record.requestId ?? null,
    session_id: entry.record.sessionId ?? null,
    risk_score: entry.record.riskScore ?? null,
    country: entry.record.country ?? null,
  };
}

export interface NewLogRecord {
  readonly eventId: string;
  readonly source: string;
  readonly record: AuditRecordV1;
  readonly personal?: SealedPersonalData;
}

type Querier = Pick<EntityManager, 'query'>;

/**
 * Appends to tenants' Merkle logs inside the caller's transaction: locks the tenants' heads (in a
 * fixed order, so concurrent batches cannot deadlock), gives the records the next leaf indexes, and
 * stores leaves, completed nodes and new frontiers for all tenants in a constant number of statements.
 * Returns each tenant's new log size.
 */
export async function appendToLogs(
  manager: EntityManager,
  recordsByTenant: ReadonlyMap<string, readonly NewLogRecord[]>,
  receivedAt = new Date(),
): Promise<Map<string, number>> {
  const tenants = [...recordsByTenant.keys()].filter((tenant) => recordsByTenant.get(tenant)!.length > 0).sort();
  const sizes = new Map<string, number>();
  if (tenants.length === 0) return sizes;
  await manager.query(
    `INSERT INTO audit_log_heads (tenant_id, size, frontier) SELECT unnest($1::text[]), 0, '{}' ON CONFLICT (tenant_id) DO NOTHING`,
    [tenants],
  );
  const heads = await manager.query<{ tenant_id: string; size: string; frontier: Buffer[] }[]>(
    'SELECT tenant_id, size, frontier FROM audit_log_heads WHERE tenant_id = ANY($1::text[]) ORDER BY tenant_id FOR UPDATE',
    [tenants],
  );
  const received = receivedAt.toISOString();
  const entries: LogEntry[] = [];
  const texts: string[] = [];
  const leaves: Buffer[] = [];
  const nodes: { tenant: string; node: StoredNode }[] = [];
  const frontiers: { tenant: string; frontier: Frontier }[] = [];
  for (const head of heads) {
    const tenant = head.tenant_id;
    const start: Frontier = { size: Number(head.size), roots: head.frontier };
    const tenantLeaves: Buffer[] = [];
    recordsByTenant.get(tenant)!.forEach((item, offset) => {
      const entry: LogEntry = {
        v: 1,
        tenant,
        index: start.size + offset,
        eventId: item.eventId,
        source: item.source,
        occurredAt: item.record.occurredAt,
        receivedAt: received,
        record: item.record,
        ...(item.personal ? { personal: item.personal } : {}),
      };
      const text = canonicalJson(entry);
      const leaf = leafHash(Buffer.from(text, 'utf8'));
      entries.push(entry);
      texts.push(text);
      leaves.push(leaf);
      tenantLeaves.push(leaf);
    });
    const appended = appendToFrontier(start, tenantLeaves);
    for (const node of appended.nodes) nodes.push({ tenant, node });
    frontiers.push({ tenant, frontier: appended.frontier });
    sizes.set(tenant, appended.frontier.size);
  }

  const columns = entries.map(searchableColumnsOf);
  await manager.query(
    `INSERT INTO audit_records (tenant_id, leaf_index, event_id, source, occurred_at, received_at, actor_type, actor_id, action,
                                resource_type, resource_id, status, request_id, entry, leaf_hash, retention_class,
                                session_id, risk_score, country)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[], $8::text[],
                          $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::bytea[], $16::text[],
                          $17::text[], $18::real[], $19::text[])`,
    [
      entries.map((e) => e.tenant),
      entries.map((e) => e.index),
      columns.map((c) => c.event_id),
      columns.map((c) => c.source),
      columns.map((c) => c.occurred_at),
      columns.map((c) => c.received_at),
      columns.map((c) => c.actor_type),
      columns.map((c) => c.actor_id),
      columns.map((c) => c.action),
      columns.map((c) => c.resource_type),
      columns.map((c) => c.resource_id),
      columns.map((c) => c.status),
      columns.map((c) => c.request_id),
      texts,
      leaves,
      entries.map((e) => retentionClassOf(e.record.action)),
      columns.map((c) => c.session_id),
      columns.map((c) => c.risk_score),
      columns.map((c) => c.country),
    ],
  );
  await manager.query(
    'INSERT INTO audit_tree_nodes (tenant_id, level, node_index, hash) SELECT * FROM unnest($1::text[], $2::smallint[], $3::bigint[], $4::bytea[])',
    [nodes.map((n) => n.tenant), nodes.map((n) => n.node.level), nodes.map((n) => n.node.index), nodes.map((n) => n.node.hash)],
  );
  // A frontier is a bytea[] per tenant; arrays of arrays must be rectangular, so they travel as hex lists.
  await manager.query(
    `UPDATE audit_log_heads h
        SET size = u.size,
            frontier = ARRAY(SELECT decode(root, 'hex') FROM unnest(string_to_array(u.roots, ',')) WITH ORDINALITY AS r(root, n) ORDER BY n),
            updated_at = clock_timestamp()
       FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(tenant_id, size, roots)
      WHERE h.tenant_id = u.tenant_id`,
    [
      frontiers.map((f) => f.tenant),
      frontiers.map((f) => f.frontier.size),
      frontiers.map((f) => f.frontier.roots.map((root) => root.toString('hex')).join(',')),
    ],
  );
  return sizes;
}

/** Appends to one tenant's log; see appendToLogs. */
export async function appendToLog(
  manager: EntityManager,
  tenant: string,
  records: readonly NewLogRecord[],
  receivedAt = new Date(),
): Promise<number> {
  if (records.length === 0) return 0;
  return (await appendToLogs(manager, new Map([[tenant, records]]), receivedAt)).get(tenant)!;
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
