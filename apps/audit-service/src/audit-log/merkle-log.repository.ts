import { canonicalJson, type AuditRecordV1 } from '@traceo/contracts';
import {
  appendToFrontier,
  leafHashOfText,
  nodesFromTiles,
  planTileWrites,
  tileKey,
  type Frontier,
  type NodeId,
  type Tile,
  type TileId,
} from '@traceo/merkle';
import { copyRowsIn, type CopyColumn } from '@traceo/persistence';
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

/** The columns appendToLogs writes, in the order of its rows (COPY, binary: no text to escape or parse). */
const RECORD_COLUMNS: readonly CopyColumn[] = (
  [
    ['tenant_id', 'text'],
    ['leaf_index', 'int8'],
    ['event_id', 'text'],
    ['source', 'text'],
    ['occurred_at', 'timestamptz'],
    ['received_at', 'timestamptz'],
    ['actor_type', 'text'],
    ['actor_id', 'text'],
    ['action', 'text'],
    ['resource_type', 'text'],
    ['resource_id', 'text'],
    ['status', 'text'],
    ['request_id', 'text'],
    ['entry', 'text'],
    ['leaf_hash', 'bytea'],
    ['retention_class', 'text'],
    ['session_id', 'text'],
    ['risk_score', 'float4'],
    ['country', 'text'],
  ] as const
).map(([name, type]) => ({ name, type }));

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
  const plans: { tenant: string; plan: ReturnType<typeof planTileWrites> }[] = [];
  const frontiers: { tenant: string; frontier: Frontier }[] = [];
  for (const head of heads) {
    const tenant = head.tenant_id;
    const start: Frontier = { size: Number(head.size), roots: head.frontier };
    const tenantLeaves: Buffer[] = [];
    recordsByTenant.get(tenant)!.forEach((item, offset) => {
      // Members in RFC 8785 order, so canonicalJson hands the entry to JSON.stringify as it is (two
      // literals rather than a spread, which would build each entry member by member).
      const index = start.size + offset;
      const { eventId, personal, record, source } = item;
      const { occurredAt } = record;
      const entry: LogEntry = personal
        ? { eventId, index, occurredAt, personal, receivedAt: received, record, source, tenant, v: 1 }
        : { eventId, index, occurredAt, receivedAt: received, record, source, tenant, v: 1 };
      const text = canonicalJson(entry);
      const leaf = leafHashOfText(text);
      entries.push(entry);
      texts.push(text);
      leaves.push(leaf);
      tenantLeaves.push(leaf);
    });
    const appended = appendToFrontier(start, tenantLeaves);
    plans.push({ tenant, plan: planTileWrites(start.size, appended.nodes) });
    frontiers.push({ tenant, frontier: appended.frontier });
    sizes.set(tenant, appended.frontier.size);
  }

  if (!manager.queryRunner) throw new Error('appendToLogs runs inside a transaction');
  await copyRowsIn(
    manager.queryRunner,
    'audit_records',
    RECORD_COLUMNS,
    entries.map((entry, i) => {
      const columns = searchableColumnsOf(entry);
      return [
        entry.tenant,
        entry.index,
        columns.event_id,
        columns.source,
        columns.occurred_at,
        columns.received_at,
        columns.actor_type,
        columns.actor_id,
        columns.action,
        columns.resource_type,
        columns.resource_id,
        columns.status,
        columns.request_id,
        texts[i],
        leaves[i],
        retentionClassOf(entry.record.action),
        columns.session_id,
        columns.risk_score,
        columns.country,
      ];
    }),
  );
  await writeTiles(manager, plans);
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

/**
 * Stores the tiles an append changed: one read of the partly filled tiles it continues (all tenants
 * at once), one insert of every changed tile at its new width.
 */
async function writeTiles(manager: Querier, plans: readonly { tenant: string; plan: ReturnType<typeof planTileWrites> }[]): Promise<void> {
  const continued = plans.flatMap(({ tenant, plan }) => plan.continues.map((tile) => ({ tenant, tile })));
  const prefixes = new Map<string, Map<string, Buffer>>();
  if (continued.length > 0) {
    const rows = await manager.query<{ tenant_id: string; level: number; tile_index: string; hashes: Buffer }[]>(
      `SELECT t.tenant_id, t.level, t.tile_index, t.hashes
         FROM audit_tree_tiles t
         JOIN unnest($1::text[], $2::smallint[], $3::bigint[], $4::smallint[]) AS wanted(tenant_id, level, tile_index, width)
        USING (tenant_id, level, tile_index, width)`,
      [
        continued.map((c) => c.tenant),
        continued.map((c) => c.tile.level),
        continued.map((c) => c.tile.index),
        continued.map((c) => c.tile.width),
      ],
    );
    for (const row of rows) {
      const forTenant = prefixes.get(row.tenant_id) ?? new Map<string, Buffer>();
      forTenant.set(tileKey({ level: row.level, index: Number(row.tile_index) }), row.hashes);
      prefixes.set(row.tenant_id, forTenant);
    }
  }
  const tiles = plans.flatMap(({ tenant, plan }) => plan.finish(prefixes.get(tenant) ?? new Map()).map((tile) => ({ tenant, tile })));
  await manager.query(
    `INSERT INTO audit_tree_tiles (tenant_id, level, tile_index, width, hashes)
     SELECT * FROM unnest($1::text[], $2::smallint[], $3::bigint[], $4::smallint[], $5::bytea[])`,
    [
      tiles.map((t) => t.tenant),
      tiles.map((t) => t.tile.level),
      tiles.map((t) => t.tile.index),
      tiles.map((t) => t.tile.width),
      tiles.map((t) => t.tile.hashes),
    ],
  );
}

/** The widest stored copy of each tile asked for (tiles never stored are left out). */
export async function readTiles(querier: Querier, tenant: string, ids: readonly TileId[]): Promise<Tile[]> {
  const rows = await querier.query<{ level: number; tile_index: string; width: number; hashes: Buffer }[]>(
    // One backward primary-key probe per tile (its widest copy), no sort over the narrower copies.
    `SELECT wanted.level, wanted.tile_index, t.width, t.hashes
       FROM unnest($2::smallint[], $3::bigint[]) AS wanted(level, tile_index)
      CROSS JOIN LATERAL (
        SELECT width, hashes FROM audit_tree_tiles
         WHERE tenant_id = $1 AND level = wanted.level AND tile_index = wanted.tile_index
         ORDER BY width DESC LIMIT 1) AS t`,
    [tenant, ids.map((id) => id.level), ids.map((id) => id.index)],
  );
  return rows.map((row) => ({ level: row.level, index: Number(row.tile_index), width: row.width, hashes: row.hashes }));
}

/** Loads stored perfect subtree roots by id (computed from their tiles), for proofs. */
export function loadNodes(querier: Querier, tenant: string, ids: readonly NodeId[]): Promise<Map<string, Buffer>> {
  return nodesFromTiles(ids, (tiles) => readTiles(querier, tenant, tiles));
}

export async function readHead(querier: Querier, tenant: string): Promise<Frontier | undefined> {
  const [head] = await querier.query<{ size: string; frontier: Buffer[] }[]>(
    'SELECT size, frontier FROM audit_log_heads WHERE tenant_id = $1',
    [tenant],
  );
  return head ? { size: Number(head.size), roots: head.frontier } : undefined;
}
