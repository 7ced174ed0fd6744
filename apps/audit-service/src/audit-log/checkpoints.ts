import { frontierRoot } from '@traceo/merkle';
import type { EventPublisher } from '@traceo/service-kit';
import type { DataSource, EntityManager } from 'typeorm';
import { formatNote, type CheckpointSigner } from './checkpoint-note';

export interface CheckpointRow {
  tenant_id: string;
  tree_size: string;
  root_hash: Buffer;
  issued_at: Date;
  key_id: string;
  note: string;
  signature: Buffer;
}

/** Registers the signer's public key so checkpoints can reference it (idempotent). */
export async function registerSigningKey(dataSource: DataSource, signer: CheckpointSigner): Promise<void> {
  await dataSource.query(
    `INSERT INTO audit_signing_keys (key_id, algorithm, public_key) VALUES ($1, 'Ed25519', $2) ON CONFLICT (key_id) DO NOTHING`,
    [signer.keyId, signer.publicKeyRaw],
  );
}

/**
 * Signs the current head of every tenant log that grew since its last checkpoint, stores the
 * checkpoint and publishes it (traceo.audit.checkpoint.v1) through the outbox in one transaction.
 */
export async function issueCheckpoints(dataSource: DataSource, signer: CheckpointSigner, publisher: EventPublisher): Promise<number> {
  const heads = await dataSource.query<{ tenant_id: string }[]>(
    `SELECT h.tenant_id FROM audit_log_heads h
      WHERE h.size > COALESCE((SELECT max(c.tree_size) FROM audit_checkpoints c WHERE c.tenant_id = h.tenant_id), 0)`,
  );
  let issued = 0;
  for (const { tenant_id: tenant } of heads) {
    issued += await dataSource.transaction((manager) => issueCheckpoint(manager, tenant, signer, publisher));
  }
  return issued;
}

async function issueCheckpoint(
  manager: EntityManager,
  tenant: string,
  signer: CheckpointSigner,
  publisher: EventPublisher,
): Promise<number> {
  const [head] = await manager.query<{ size: string; frontier: Buffer[] }[]>(
    'SELECT size, frontier FROM audit_log_heads WHERE tenant_id = $1 FOR SHARE',
    [tenant],
  );
  const treeSize = Number(head!.size);
  const rootHash = frontierRoot({ size: treeSize, roots: head!.frontier });
  const issuedAt = new Date().toISOString();
  const note = formatNote({ tenantId: tenant, treeSize, rootHash, issuedAt });
  const signature = signer.sign(note);
  const inserted = await manager.query<unknown[]>(
    `INSERT INTO audit_checkpoints (tenant_id, tree_size, root_hash, issued_at, key_id, note, signature)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, tree_size) DO NOTHING RETURNING tree_size`,
    [tenant, treeSize, rootHash, issuedAt, signer.keyId, note, signature],
  );
  if (inserted.length === 0) return 0;
  await publisher.publish(
    [
      publisher.event('traceo.audit.checkpoint.v1', tenant, {
        tenantId: tenant,
        treeSize,
        rootHash: rootHash.toString('base64'),
        issuedAt,
        keyId: signer.keyId,
        algorithm: 'Ed25519',
        note,
        signature: signature.toString('base64'),
      }),
    ],
    manager,
  );
  return 1;
}
