import { timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '@traceo/contracts';
import {
  appendToFrontier,
  EMPTY_FRONTIER,
  frontierRoot,
  HASH_SIZE,
  leafHashOfText,
  TILE_HEIGHT,
  TILE_WIDTH,
  type Frontier,
} from '@traceo/merkle';
import { parseNote, verifyNoteSignature } from '../audit-log/checkpoint-note';
import { searchableColumnsOf, type LogEntry } from '../audit-log/merkle-log.repository';

/** Runs one parameterised query; the verifier only ever reads. */
export type ReadQuery = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

export interface VerificationReport {
  readonly tenant: string;
  readonly ok: boolean;
  readonly records: number;
  readonly checkpointsVerified: number;
  /** Records dropped by retention whose leaf hashes stood in for them. */
  readonly prunedRecords?: number;
  /** Leaf index of the first record that is missing, altered or out of place. */
  readonly firstBadIndex?: number;
  readonly problem?: string;
}

type SearchableColumns = ReturnType<typeof searchableColumnsOf>;

interface RecordRow extends Omit<SearchableColumns, 'occurred_at' | 'received_at'> {
  leaf_index: string;
  occurred_at: Date;
  received_at: Date;
  entry: string;
  leaf_hash: Buffer;
}

interface CheckpointRow {
  tree_size: string;
  root_hash: Buffer;
  note: string;
  signature: Buffer;
  public_key: Buffer | null;
  key_id: string;
}

const PAGE = 5000;

/** Searchable columns whose stored value is not what the hashed entry says (so searches would lie). */
function columnsDifferingFromEntry(row: RecordRow, entry: LogEntry): string[] {
  const expected = searchableColumnsOf(entry);
  return (Object.keys(expected) as (keyof SearchableColumns)[]).filter((column) => {
    const want = expected[column];
    const have = row[column];
    if (have instanceof Date) return typeof want !== 'string' || have.getTime() !== Date.parse(want);
    // risk_score is a PostgreSQL real: compare at single precision.
    if (column === 'risk_score')
      return (want === null) !== (have === null) || (want !== null && Math.fround(Number(want)) !== Math.fround(Number(have)));
    return want !== have;
  });
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Recomputes a tenant's tree from the database and checks it against every signed checkpoint.
 * Each record must be the canonical JSON it claims to be, carry its own index and tenant, hash to
 * its stored leaf hash and to the leaf hash stored in the tree's tiles when it was appended; every
 * stored subtree root above the leaves (the tiles proofs are built from, widest copy of each) must
 * equal the recomputed one; the recomputed root at each checkpoint size must equal the signed root.
 * Reports the first index that breaks any of it.
 */
export async function verifyAuditLog(
  query: ReadQuery,
  tenant: string,
  trustedKeys?: ReadonlyMap<string, Buffer>,
): Promise<VerificationReport> {
  const checkpoints = await query<CheckpointRow>(
    `SELECT c.tree_size, c.root_hash, c.note, c.signature, k.public_key, c.key_id
       FROM audit_checkpoints c LEFT JOIN audit_signing_keys k USING (key_id)
      WHERE c.tenant_id = $1 ORDER BY c.tree_size`,
    [tenant],
  );
  const keyOf = (row: CheckpointRow) => (trustedKeys ? trustedKeys.get(row.key_id) : (row.public_key ?? undefined));
  for (const checkpoint of checkpoints) {
    const key = keyOf(checkpoint);
    const body = (() => {
      try {
        return parseNote(checkpoint.note);
      } catch {
        return undefined;
      }
    })();
    const valid =
      key !== undefined &&
      body !== undefined &&
      body.tenantId === tenant &&
      body.treeSize === Number(checkpoint.tree_size) &&
      same(body.rootHash, checkpoint.root_hash) &&
      verifyNoteSignature(checkpoint.note, checkpoint.signature, key);
    if (!valid) {
      return {
        tenant,
        ok: false,
        records: 0,
        checkpointsVerified: 0,
        problem: `checkpoint of size ${checkpoint.tree_size} does not carry a valid signature`,
      };
    }
  }

  let frontier: Frontier = EMPTY_FRONTIER;
  let nextCheckpoint = 0;
  let lastGoodCheckpointSize = 0;
  const bad = (index: number, problem: string): VerificationReport => ({
    tenant,
    ok: false,
    records: frontier.size,
    checkpointsVerified: nextCheckpoint,
    firstBadIndex: index,
    problem,
  });

  // The stored tree: tiles of 256 nodes at levels 0, 8, 16, ... (widest copy of each). Level 0 holds
  // the leaf hashes, read a page at a time; the levels above are few (one node per 256 leaves).
  const readTiles = async (where: string, params: unknown[]) => {
    const rows = await query<{ level: number; tile_index: string; width: number; hashes: Buffer }>(
      `SELECT DISTINCT ON (level, tile_index) level, tile_index, width, hashes FROM audit_tree_tiles
        WHERE tenant_id = $1 AND ${where} ORDER BY level, tile_index, width DESC`,
      [tenant, ...params],
    );
    const nodes = new Map<string, Buffer>();
    for (const row of rows) {
      for (let i = 0; i < row.width; i += 1) {
        nodes.set(`${row.level}/${Number(row.tile_index) * TILE_WIDTH + i}`, row.hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
      }
    }
    return nodes;
  };
  const leafHashesBetween = (first: number, last: number) =>
    readTiles('level = 0 AND tile_index BETWEEN $2 AND $3', [Math.floor(first / TILE_WIDTH), Math.floor(last / TILE_WIDTH)]);
  const upperNodes = await readTiles('level > 0', []);

  /** Adds the next leaf, checks the stored subtree roots it completes and the signed checkpoint of that size, if there is one. */
  const addLeaf = (leaf: Buffer): VerificationReport | undefined => {
    const appended = appendToFrontier(frontier, [leaf]);
    for (const node of appended.nodes) {
      if (node.level === 0 || node.level % TILE_HEIGHT !== 0) continue;
      const stored = upperNodes.get(`${node.level}/${node.index}`);
      if (!stored || !same(stored, node.hash)) {
        const first = node.index * 2 ** node.level;
        return bad(
          first,
          `stored subtree root ${node.level}/${node.index} (records ${first}..${frontier.size}) differs from the recomputed tree`,
        );
      }
    }
    frontier = appended.frontier;
    const checkpoint = checkpoints[nextCheckpoint];
    if (!checkpoint || Number(checkpoint.tree_size) !== frontier.size) return undefined;
    if (!same(frontierRoot(frontier), checkpoint.root_hash)) {
      return bad(
        lastGoodCheckpointSize,
        `tree of size ${frontier.size} does not match its signed checkpoint; divergence at or after record ${lastGoodCheckpointSize}`,
      );
    }
    lastGoodCheckpointSize = frontier.size;
    nextCheckpoint += 1;
    return undefined;
  };

  // Records dropped by retention: their leaf hashes were kept as level-0 nodes.
  const pruned = await query<{ first_index: string; last_index: string }>(
    'SELECT first_index, last_index FROM audit_pruned_ranges WHERE tenant_id = $1 ORDER BY first_index',
    [tenant],
  );
  let prunedRecords = 0;
  const addPrunedUpTo = async (end: number): Promise<VerificationReport | undefined> => {
    while (frontier.size < end) {
      const range = pruned.find((r) => Number(r.first_index) <= frontier.size && frontier.size <= Number(r.last_index));
      if (!range) return Number.isFinite(end) ? bad(frontier.size, `record ${frontier.size} is missing`) : undefined;
      const last = Math.min(Number(range.last_index), end - 1);
      while (frontier.size <= last) {
        const chunkEnd = Math.min(last, frontier.size + PAGE - 1);
        const leaves = await leafHashesBetween(frontier.size, chunkEnd);
        while (frontier.size <= chunkEnd) {
          const leaf = leaves.get(`0/${frontier.size}`);
          if (!leaf) return bad(frontier.size, `pruned record ${frontier.size} has no leaf hash`);
          prunedRecords += 1;
          const failure = addLeaf(leaf);
          if (failure) return failure;
        }
      }
    }
    return undefined;
  };

  for (;;) {
    const rows = await query<RecordRow>(
      `SELECT r.leaf_index, r.event_id, r.source, r.occurred_at, r.received_at, r.actor_type, r.actor_id, r.action, r.resource_type,
              r.resource_id, r.status, r.request_id, r.session_id, r.risk_score, r.country, r.entry, r.leaf_hash
         FROM audit_records r
        WHERE r.tenant_id = $1 AND r.leaf_index >= $2
        ORDER BY r.leaf_index LIMIT $3`,
      [tenant, frontier.size, PAGE],
    );
    const storedLeaves =
      rows.length > 0
        ? await leafHashesBetween(Number(rows[0]!.leaf_index), Number(rows[rows.length - 1]!.leaf_index))
        : new Map<string, Buffer>();
    for (const row of rows) {
      const gap = await addPrunedUpTo(Number(row.leaf_index));
      if (gap) return gap;
      const index = frontier.size;
      if (Number(row.leaf_index) !== index) return bad(index, `record ${index} is missing`);
      let entry: LogEntry;
      try {
        entry = JSON.parse(row.entry) as LogEntry;
      } catch {
        return bad(index, `record ${index} is not valid JSON`);
      }
      if (canonicalJson(entry) !== row.entry) return bad(index, `record ${index} is not in canonical form`);
      if (entry.index !== index || entry.tenant !== tenant)
        return bad(index, `record ${index} carries index ${entry.index} of tenant ${entry.tenant}`);
      const differing = columnsDifferingFromEntry(row, entry);
      if (differing.length > 0) return bad(index, `record ${index}: column ${differing.join(', ')} differs from the hashed entry`);
      const leaf = leafHashOfText(row.entry);
      if (!same(leaf, row.leaf_hash)) return bad(index, `record ${index}: entry does not hash to its stored leaf hash`);
      const stored = storedLeaves.get(`0/${index}`);
      if (!stored || !same(leaf, stored)) return bad(index, `record ${index}: differs from the leaf recorded when it was appended`);
      const failure = addLeaf(leaf);
      if (failure) return failure;
    }
    if (rows.length < PAGE) break;
  }
  const tail = await addPrunedUpTo(Number.POSITIVE_INFINITY);
  if (tail) return tail;

  const signedSize = checkpoints.length > 0 ? Number(checkpoints[checkpoints.length - 1]!.tree_size) : 0;
  if (frontier.size < signedSize)
    return bad(frontier.size, `log ends at ${frontier.size} records but a signed checkpoint covers ${signedSize}`);
  return { tenant, ok: true, records: frontier.size, checkpointsVerified: nextCheckpoint, ...(prunedRecords > 0 ? { prunedRecords } : {}) };
}
