import { IncrementalMerkleTree } from './incremental-merkle-tree';

/**
 * MTH(D[n]) of RFC 6962 §2.1 over leaf hashes (each already `leafHash(data)`). Iterative and O(n):
 * the leaves go through the same frontier as `IncrementalMerkleTree`, which yields exactly the
 * "split at the largest power of two smaller than n" tree of the RFC.
 */
export function rootFromLeafHashes(leaves: readonly Uint8Array[]): Buffer {
  return subtreeHash(leaves, 0, leaves.length);
}

/** MTH of leaves[start, end); callers keep 0 <= start <= end <= leaves.length. */
export function subtreeHash(leaves: readonly Uint8Array[], start: number, end: number): Buffer {
  const tree = new IncrementalMerkleTree();
  for (let i = start; i < end; i++) tree.append(leaves[i] as Uint8Array);
  return tree.root();
}

/** The k of RFC 6962 §2.1: the largest power of two smaller than n, for n > 1. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
