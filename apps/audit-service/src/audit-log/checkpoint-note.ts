import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Ed25519Signer } from '@traceo/hsm';

/**
 * Signed checkpoints. The signed bytes are a short text note (format version, tenant, tree size,
 * base64 root hash, issue time, one per line), signed with Ed25519. A third party needs only the
 * note, the signature and the public key (raw 32 bytes) to check it, and then RFC 6962 proofs
 * against the root it names.
 */
export const NOTE_HEADER = 'traceo.audit.checkpoint.v1';

export interface CheckpointBody {
  readonly tenantId: string;
  readonly treeSize: number;
  readonly rootHash: Buffer;
  readonly issuedAt: string;
}

export function formatNote(body: CheckpointBody): string {
  return `${NOTE_HEADER}\n${body.tenantId}\n${body.treeSize}\n${body.rootHash.toString('base64')}\n${body.issuedAt}\n`;
}

export function parseNote(note: string): CheckpointBody {
  const lines = note.split('\n');
  if (lines.length !== 6 || lines[0] !== NOTE_HEADER || lines[5] !== '') throw new Error('not a Traceo checkpoint note');
  const treeSize = Number(lines[2]);
  const rootHash = Buffer.from(lines[3]!, 'base64');
  if (!Number.isSafeInteger(treeSize) || treeSize < 1 || rootHash.length !== 32) throw new Error('malformed checkpoint note');
  return { tenantId: lines[1]!, treeSize, rootHash, issuedAt: lines[4]! };
}

/** Key id: the first 8 bytes of SHA-256 over the raw public key, in hex. */
export function keyIdOf(publicKeyRaw: Buffer): string {
  return createHash('sha256').update(publicKeyRaw).digest('hex').slice(0, 16);
}

/** Signs checkpoint notes with Ed25519; the public key (raw 32 bytes) is registered in audit_signing_keys. */
export interface CheckpointSigner {
  readonly publicKeyRaw: Buffer;
  readonly keyId: string;
  sign(note: string): Buffer;
  close?(): void;
}

/** The signing key handed in by the deployment's secret store (PKCS#8). */
export class SoftwareCheckpointSigner implements CheckpointSigner {
  private readonly privateKey: KeyObject;
  readonly publicKeyRaw: Buffer;
  readonly keyId: string;

  /** @param pkcs8Base64 an Ed25519 private key, PKCS#8 DER, base64 (a secret: never logged). */
  constructor(pkcs8Base64: string) {
    this.privateKey = createPrivateKey({ key: Buffer.from(pkcs8Base64, 'base64'), format: 'der', type: 'pkcs8' });
    if (this.privateKey.asymmetricKeyType !== 'ed25519') throw new Error('checkpoint signing key must be Ed25519');
    this.publicKeyRaw = Buffer.from(createPublicKey(this.privateKey).export({ format: 'jwk' }).x!, 'base64url');
    this.keyId = keyIdOf(this.publicKeyRaw);
  }

  sign(note: string): Buffer {
    return sign(null, Buffer.from(note, 'utf8'), this.privateKey);
  }
}

/** The signing key held in the HSM: the note is signed inside the token (CKM_EDDSA); the private key never leaves it. */
export class HsmCheckpointSigner implements CheckpointSigner {
  readonly publicKeyRaw: Buffer;
  readonly keyId: string;

  constructor(private readonly key: Ed25519Signer) {
    this.publicKeyRaw = key.publicKeyRaw;
    this.keyId = keyIdOf(this.publicKeyRaw);
  }

  sign(note: string): Buffer {
    return this.key.sign(Buffer.from(note, 'utf8'));
  }

  close(): void {
    this.key.close();
  }
}

export function verifyNoteSignature(note: string, signature: Buffer, publicKeyRaw: Buffer): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKeyRaw.toString('base64url') }, format: 'jwk' });
  return verify(null, Buffer.from(note, 'utf8'), key, signature);
}
