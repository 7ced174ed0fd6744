import { Inject, Injectable } from '@nestjs/common';
import { storedConsistencyProof, storedInclusionProof } from '@traceo/merkle';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { AuditLogNotFoundError, AuditRecordNotFoundError, CheckpointNotFoundError, InvalidProofRequestError } from './audit-log.errors';
import type { CheckpointRow } from './checkpoints';
import { loadNodes, readHead } from './merkle-log.repository';

export interface CheckpointView {
  tenantId: string;
  treeSize: number;
  rootHash: string;
  issuedAt: string;
  keyId: string;
  algorithm: 'Ed25519';
  publicKey: string;
  note: string;
  signature: string;
}

export interface InclusionProofView {
  tenantId: string;
  leafIndex: number;
  treeSize: number;
  eventId: string;
  entry: string;
  leafHash: string;
  proof: string[];
}

export interface ConsistencyProofView {
  tenantId: string;
  fromSize: number;
  toSize: number;
  proof: string[];
}

const b64 = (hash: Buffer) => hash.toString('base64');

/** Signed checkpoints and RFC 6962 proofs, computed from the stored tree nodes. */
@Injectable()
export class AuditProofsUseCase {
  constructor(@Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime) {}

  private get db() {
    return this.runtime.dataSource;
  }

  async checkpoint(tenantId: string, treeSize?: number): Promise<CheckpointView> {
    const [row] = await this.db.query<(CheckpointRow & { public_key: Buffer })[]>(
      `SELECT c.*, k.public_key FROM audit_checkpoints c JOIN audit_signing_keys k USING (key_id)
        WHERE c.tenant_id = $1 AND ($2::bigint IS NULL OR c.tree_size = $2)
        ORDER BY c.tree_size DESC LIMIT 1`,
      [tenantId, treeSize ?? null],
    );
    if (!row)
      throw new CheckpointNotFoundError(
        treeSize ? `no checkpoint of size ${treeSize} for this tenant` : 'this tenant has no checkpoint yet',
      );
    return {
      tenantId,
      treeSize: Number(row.tree_size),
      rootHash: b64(row.root_hash),
      issuedAt: row.issued_at.toISOString(),
      keyId: row.key_id,
      algorithm: 'Ed25519',
      publicKey: b64(row.public_key),
      note: row.note,
      signature: b64(row.signature),
    };
  }

  async inclusion(tenantId: string, target: { leafIndex?: number; eventId?: string }, treeSize?: number): Promise<InclusionProofView> {
    // The tree size and the record are looked up at the same time (two round trips, not four); the
    // tree size's error wins when both fail.
    const [sized, found] = await Promise.allSettled([this.provenTreeSize(tenantId, treeSize), this.findRecord(tenantId, target)]);
    if (sized.status === 'rejected') throw sized.reason;
    if (found.status === 'rejected') throw found.reason;
    const size = sized.value;
    const record = found.value;
    const leafIndex = Number(record.leaf_index);
    if (leafIndex >= size) throw new InvalidProofRequestError(`record ${leafIndex} is not in the tree of size ${size}`);
    const proof = await storedInclusionProof(leafIndex, size, (ids) => loadNodes(this.db, tenantId, ids));
    return {
      tenantId,
      leafIndex,
      treeSize: size,
      eventId: record.event_id,
      entry: record.entry,
      leafHash: b64(record.leaf_hash),
      proof: proof.map(b64),
    };
  }

  async consistency(tenantId: string, fromSize: number, toSize: number): Promise<ConsistencyProofView> {
    if (fromSize > toSize) throw new InvalidProofRequestError('from must not exceed to');
    await this.assertWithinLog(tenantId, toSize);
    const proof = await storedConsistencyProof(fromSize, toSize, (ids) => loadNodes(this.db, tenantId, ids));
    return { tenantId, fromSize, toSize, proof: proof.map(b64) };
  }

  /** The requested tree size (which must exist), or the latest checkpoint's (which always does). */
  private async provenTreeSize(tenantId: string, treeSize: number | undefined): Promise<number> {
    if (treeSize === undefined) return (await this.checkpoint(tenantId)).treeSize;
    await this.assertWithinLog(tenantId, treeSize);
    return treeSize;
  }

  private async findRecord(tenantId: string, target: { leafIndex?: number; eventId?: string }) {
    const [record] = await this.db.query<{ leaf_index: string; event_id: string; entry: string; leaf_hash: Buffer }[]>(
      `SELECT leaf_index, event_id, entry, leaf_hash FROM audit_records
        WHERE tenant_id = $1 AND ($2::bigint IS NULL OR leaf_index = $2) AND ($3::text IS NULL OR event_id = $3)`,
      [tenantId, target.leafIndex ?? null, target.eventId ?? null],
    );
    if (!record) throw new AuditRecordNotFoundError('no such record in this tenant log');
    return record;
  }

  private async assertWithinLog(tenantId: string, size: number): Promise<void> {
    const head = await readHead(this.db, tenantId);
    if (!head) throw new AuditLogNotFoundError('this tenant has no audit log');
    if (size > head.size) throw new InvalidProofRequestError(`the log has ${head.size} records; a tree of size ${size} does not exist yet`);
  }
}
