import { hash, timingSafeEqual } from 'node:crypto';

import { MerkleProofError } from './merkle.errors';

/** Length in bytes of every tree hash (SHA-256). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

// Reused by every nodeHash call: hashing is synchronous, so calls cannot interleave, and a tree of a
// million leaves would otherwise allocate a million throwaway 65-byte buffers.
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);

/** RFC 6962 leaf hash: SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + data.length);
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  return hash('sha256', input, 'buffer');
}

/**
 * leafHash of a text's UTF-8 bytes, without making them a Buffer first: one native call hashes the
 * prefix and the text together (the audit log hashes every record it appends this way).
 */
export function leafHashOfText(text: string): Buffer {
  return hash('sha256', `\u0000${text}`, 'buffer');
}

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right), for two 32-byte child hashes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    throw new MerkleProofError('MERKLE.BAD_INPUT', `node children must be ${HASH_SIZE}-byte hashes`);
  }
  nodeInput[0] = NODE_PREFIX;
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return hash('sha256', nodeInput, 'buffer');
}

/** Root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1). Do not mutate it. */
export const EMPTY_ROOT: Buffer = hash('sha256', Buffer.alloc(0), 'buffer');

export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

/** Equality of two hashes without leaking where they differ; differing lengths are simply unequal. */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
