import { join } from 'node:path';
import { canonicalJson, type AuditRecordV1 } from '@traceo/contracts';
import { leafHash, storedConsistencyProof, storedInclusionProof, verifyConsistency, verifyInclusion } from '@traceo/merkle';
import type { EventPublisher } from '@traceo/service-kit';
import { loadInfraEnv, startProcess, WORKSPACE_ROOT } from '@traceo/testing';
import type { DataSource } from 'typeorm';
import type { CheckpointSigner } from '../src/audit-log/checkpoint-note';
import { issueCheckpoints } from '../src/audit-log/checkpoints';
import { appendToLog, loadNodes, type LogEntry } from '../src/audit-log/merkle-log.repository';
import { verifyAuditLog, type ReadQuery } from '../src/verification/audit-log-verifier';
import { openAuditTestRuntime, type AuditTestRuntime } from './audit-test-runtime';

const record = (n: number, action = 'user.signed-in'): AuditRecordV1 => ({
  occurredAt: new Date(Date.UTC(2026, 10, 24, 12, 0, n)).toISOString(),
  actor: { type: 'user', id: `user-${n % 5}` },
  action,
  resource: { type: 'session', id: `s-${n}` },
  status: n % 7 === 0 ? 'denied' : 'success',
  ip: '203.0.113.7',
});

describe('audit log: Merkle tree, signed checkpoints, proofs and tamper detection against real PostgreSQL', () => {
  const env = loadInfraEnv();
  let audit: AuditTestRuntime;
  let dataSource: DataSource;
  let publisher: EventPublisher;
  let signer: CheckpointSigner;
  let sequence = 0;
  const query: ReadQuery = (sql, params) => dataSource.query(sql, params);

  beforeAll(async () => {
    audit = await openAuditTestRuntime('it_audit');
    ({ dataSource, publisher, signer } = audit);
  });

  afterAll(() => audit?.close());

  async function append(tenant: string, count: number): Promise<void> {
    const records = Array.from({ length: count }, () => {
      sequence += 1;
      return { eventId: `evt-${tenant}-${sequence}`, source: '/traceo/auth-service', record: record(sequence) };
    });
    await dataSource.transaction((manager) => appendToLog(manager, tenant, records));
  }

  async function checkpointRoot(tenant: string, size: number): Promise<Buffer> {
    const [row] = await dataSource.query<{ root_hash: Buffer }[]>(
      'SELECT root_hash FROM audit_checkpoints WHERE tenant_id = $1 AND tree_size = $2',
      [tenant, size],
    );
    if (!row) throw new Error(`no checkpoint of size ${size}`);
    return row.root_hash;
  }

  /** Runs an attacker's statements with the append-only triggers switched off, as a table owner could. */
  async function tamper(statements: string[], params: unknown[][] = []): Promise<void> {
    await dataSource.transaction(async (manager) => {
      for (const table of ['audit_records', 'audit_tree_tiles', 'audit_checkpoints'])
        await manager.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
      for (const [i, sql] of statements.entries()) await manager.query(sql, params[i] ?? []);
      for (const table of ['audit_records', 'audit_tree_tiles', 'audit_checkpoints'])
        await manager.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    });
  }

  async function logOf(tenant: string, sizes: number[]): Promise<void> {
    let size = 0;
    for (const target of sizes) {
      await append(tenant, target - size);
      await issueCheckpoints(dataSource, signer, publisher);
      size = target;
    }
  }

  it('serves inclusion and consistency proofs that verify against the signed checkpoints', async () => {
    await logOf('acme', [1, 13, 37]);
    await logOf('globex', [5]);
    const sizes = [1, 13, 37];
    for (const size of sizes) {
      const root = await checkpointRoot('acme', size);
      const leaves = await dataSource.query<{ entry: string; leaf_index: string }[]>(
        'SELECT entry, leaf_index FROM audit_records WHERE tenant_id = $1 AND leaf_index < $2 ORDER BY leaf_index',
        ['acme', size],
      );
      for (const leaf of leaves) {
        const index = Number(leaf.leaf_index);
        const proof = await storedInclusionProof(index, size, (ids) => loadNodes(dataSource, 'acme', ids));
        expect(() => verifyInclusion(index, size, leafHash(Buffer.from(leaf.entry, 'utf8')), proof, root)).not.toThrow();
      }
    }
    for (const [from, to] of [
      [1, 13],
      [13, 37],
      [1, 37],
    ] as const) {
      const proof = await storedConsistencyProof(from, to, (ids) => loadNodes(dataSource, 'acme', ids));
      const [oldRoot, newRoot] = [await checkpointRoot('acme', from), await checkpointRoot('acme', to)];
      expect(() => verifyConsistency(from, to, oldRoot, newRoot, proof)).not.toThrow();
    }
    const published = await dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM outbox WHERE topic = 'traceo.audit.checkpoint.v1'`,
    );
    expect(published[0]!.n).toBe(4);
    expect(await verifyAuditLog(query, 'acme')).toEqual({ tenant: 'acme', ok: true, records: 37, checkpointsVerified: 3 });
  });

  it('stores each record as RFC 8785 canonical JSON carrying its tenant, index and receive time', async () => {
    const [row] = await dataSource.query<{ entry: string }[]>(
      `SELECT entry FROM audit_records WHERE tenant_id = 'globex' AND leaf_index = 2`,
    );
    const entry = JSON.parse(row!.entry) as LogEntry;
    expect(canonicalJson(entry)).toBe(row!.entry);
    expect(entry).toMatchObject({ v: 1, tenant: 'globex', index: 2, source: '/traceo/auth-service' });
    expect(Date.parse(entry.receivedAt)).toBeGreaterThan(Date.parse(entry.occurredAt));
  });

  it('refuses UPDATE, DELETE and TRUNCATE of log rows, nodes and checkpoints', async () => {
    await expect(dataSource.query(`UPDATE audit_records SET action = 'x' WHERE tenant_id = 'acme'`)).rejects.toThrow(/append-only/);
    await expect(dataSource.query(`DELETE FROM audit_records WHERE tenant_id = 'acme' AND leaf_index = 0`)).rejects.toThrow(/append-only/);
    await expect(dataSource.query('TRUNCATE audit_records')).rejects.toThrow(/append-only/);
    await expect(dataSource.query(`UPDATE audit_tree_tiles SET hashes = hashes WHERE tenant_id = 'acme'`)).rejects.toThrow(/append-only/);
    await expect(dataSource.query(`DELETE FROM audit_tree_tiles WHERE tenant_id = 'acme'`)).rejects.toThrow(/append-only/);
    await expect(dataSource.query(`DELETE FROM audit_checkpoints WHERE tenant_id = 'acme'`)).rejects.toThrow(/append-only/);
  });

  describe('the verifier detects tampering and names the first bad record', () => {
    it('verifies an untouched log', async () => {
      await logOf('untouched', [20]);
      expect(await verifyAuditLog(query, 'untouched')).toMatchObject({ ok: true, records: 20, checkpointsVerified: 1 });
    });

    it("an updated row's payload", async () => {
      await logOf('t-update', [20]);
      await tamper([
        `UPDATE audit_records SET entry = replace(entry, '"status":"success"', '"status":"failure"') WHERE tenant_id = 't-update' AND leaf_index = 8`,
      ]);
      expect(await verifyAuditLog(query, 't-update')).toMatchObject({ ok: false, firstBadIndex: 8 });
    });

    it('a searchable column edited to hide a record from forensic search', async () => {
      await logOf('t-column', [10]);
      await tamper([`UPDATE audit_records SET actor_id = 'someone-else' WHERE tenant_id = 't-column' AND leaf_index = 4`]);
      expect(await verifyAuditLog(query, 't-column')).toMatchObject({
        ok: false,
        firstBadIndex: 4,
        problem: 'record 4: column actor_id differs from the hashed entry',
      });
    });

    it('a deleted row', async () => {
      await logOf('t-delete', [20]);
      await tamper([`DELETE FROM audit_records WHERE tenant_id = 't-delete' AND leaf_index = 5`]);
      expect(await verifyAuditLog(query, 't-delete')).toMatchObject({ ok: false, firstBadIndex: 5, problem: 'record 5 is missing' });
    });

    it('two swapped rows', async () => {
      await logOf('t-swap', [20]);
      await tamper([
        `UPDATE audit_records SET leaf_index = leaf_index + 1000000 WHERE tenant_id = 't-swap' AND leaf_index IN (3, 9)`,
        `UPDATE audit_records SET leaf_index = CASE leaf_index WHEN 1000003 THEN 9 ELSE 3 END WHERE tenant_id = 't-swap' AND leaf_index IN (1000003, 1000009)`,
      ]);
      expect(await verifyAuditLog(query, 't-swap')).toMatchObject({ ok: false, firstBadIndex: 3 });
    });

    it('a truncated tail', async () => {
      await logOf('t-truncate', [20]);
      await tamper([`DELETE FROM audit_records WHERE tenant_id = 't-truncate' AND leaf_index >= 15`]);
      expect(await verifyAuditLog(query, 't-truncate')).toMatchObject({ ok: false, firstBadIndex: 15 });
    });

    it('a fork: history rewritten with recomputed hashes, then extended', async () => {
      await logOf('t-fork', [12, 20]);
      const [row] = await dataSource.query<{ entry: string }[]>(
        `SELECT entry FROM audit_records WHERE tenant_id = 't-fork' AND leaf_index = 12`,
      );
      const forged = canonicalJson({ ...(JSON.parse(row!.entry) as LogEntry), record: { ...record(12), action: 'user.deleted' } });
      const forgedHash = leafHash(Buffer.from(forged, 'utf8'));
      // The attacker rewrites the entry, its indexed columns, its leaf hash and every stored copy of the
      // leaf tile holding it, consistently.
      await tamper(
        [
          `UPDATE audit_records SET entry = $1, action = 'user.deleted', leaf_hash = $2 WHERE tenant_id = 't-fork' AND leaf_index = 12`,
          `UPDATE audit_tree_tiles SET hashes = overlay(hashes PLACING $1 FROM 12 * 32 + 1 FOR 32)
            WHERE tenant_id = 't-fork' AND level = 0 AND tile_index = 0 AND width > 12`,
        ],
        [[forged, forgedHash], [forgedHash]],
      );
      await append('t-fork', 5);
      expect(await verifyAuditLog(query, 't-fork')).toMatchObject({ ok: false, firstBadIndex: 12, checkpointsVerified: 1 });
    });

    it('a stored subtree root (the tiles proofs are built from) rewritten', async () => {
      await logOf('t-tile', [300]);
      await tamper([
        `UPDATE audit_tree_tiles SET hashes = overlay(hashes PLACING decode(repeat('00', 32), 'hex') FROM 1 FOR 32)
          WHERE tenant_id = 't-tile' AND level = 8`,
      ]);
      expect(await verifyAuditLog(query, 't-tile')).toMatchObject({
        ok: false,
        firstBadIndex: 0,
        problem: expect.stringMatching(/stored subtree root 8\/0 .* differs from the recomputed tree/),
      });
    });

    it('a forged checkpoint signature', async () => {
      await logOf('t-signature', [4]);
      await tamper([`UPDATE audit_checkpoints SET signature = decode(repeat('00', 64), 'hex') WHERE tenant_id = 't-signature'`]);
      expect(await verifyAuditLog(query, 't-signature')).toMatchObject({
        ok: false,
        problem: 'checkpoint of size 4 does not carry a valid signature',
      });
    });
  });

  it('traceo-audit verify (the built command) exits 0 for a good log and 2 naming the first bad record of a tampered one', async () => {
    await logOf('cli-good', [6]);
    await logOf('cli-bad', [6]);
    await tamper([`DELETE FROM audit_records WHERE tenant_id = 'cli-bad' AND leaf_index = 2`]);
    const verify = async (tenant: string) => {
      const run = startProcess([process.execPath, join(WORKSPACE_ROOT, 'dist/apps/audit-service/verify.js'), '--tenant', tenant], {
        TRACEO_AUDIT_VERIFIER_DATABASE_URL: env.databaseUrl,
        TRACEO_DATABASE_SCHEMA: audit.schema,
      });
      const { code } = await run.exited;
      return { code, report: JSON.parse(run.output().trim()) as { tenant: string; ok: boolean; firstBadIndex?: number } };
    };
    expect(await verify('cli-good')).toEqual({ code: 0, report: { tenant: 'cli-good', ok: true, records: 6, checkpointsVerified: 1 } });
    expect(await verify('cli-bad')).toMatchObject({ code: 2, report: { tenant: 'cli-bad', ok: false, firstBadIndex: 2 } });
  });
});
