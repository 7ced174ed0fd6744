import { EMPTY_ROOT, nodeHash } from './hashing';
import { MerkleProofError } from './merkle.errors';

/**
 * A Merkle tree kept in storage as its perfect subtree roots ("nodes"), the way an append-only log
 * stores it: appending a leaf yields the nodes it completes; roots and RFC 6962 proofs for any tree
 * size are computed from a handful of stored nodes, never from all leaves.
 */

/** A perfect subtree: `level` 0 is a leaf; it covers leaves [index * 2^level, (index + 1) * 2^level). */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

export interface StoredNode extends NodeId {
  readonly hash: Buffer;
}

/** Tree size plus the roots of the perfect subtrees it decomposes into, largest (leftmost) first. */
export interface Frontier {
  readonly size: number;
  readonly roots: readonly Buffer[];
}

export const EMPTY_FRONTIER: Frontier = { size: 0, roots: [] };

/** Appends leaf hashes; returns the new frontier and every node completed (leaves included). */
export function appendToFrontier(frontier: Frontier, leafHashes: readonly Buffer[]): { frontier: Frontier; nodes: StoredNode[] } {
  const roots = [...frontier.roots];
  const nodes: StoredNode[] = [];
  let size = frontier.size;
  for (const leaf of leafHashes) {
    let hash = leaf;
    let index = size;
    let level = 0;
    nodes.push({ level, index, hash });
    while (index % 2 === 1) {
      hash = nodeHash(roots.pop()!, hash);
      index = (index - 1) / 2;
      level += 1;
      nodes.push({ level, index, hash });
    }
    roots.push(hash);
    size += 1;
  }
  return { frontier: { size, roots }, nodes };
}

/** The RFC 6962 root of the tree the frontier describes. */
export function frontierRoot(frontier: Frontier): Buffer {
  if (frontier.roots.length === 0) return Buffer.from(EMPTY_ROOT);
  let root = frontier.roots[frontier.roots.length - 1]!;
  for (let i = frontier.roots.length - 2; i >= 0; i -= 1) root = nodeHash(frontier.roots[i]!, root);
  return root;
}

/** The perfect subtrees covering leaves [lo, hi), left to right, each as large as alignment allows. */
export function decomposeRange(lo: number, hi: number): NodeId[] {
  const ids: NodeId[] = [];
  while (lo < hi) {
    let level = 0;
    while (lo % 2 ** (level + 1) === 0 && lo + 2 ** (level + 1) <= hi) level += 1;
    ids.push({ level, index: lo / 2 ** level });
    lo += 2 ** level;
  }
  return ids;
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

type RangeHash = (lo: number, hi: number) => Buffer;

/** RFC 6962 section 2.1.1 PATH(m, D[lo:hi]) with `mth` giving MTH of a leaf range. */
function path(m: number, lo: number, hi: number, mth: RangeHash): Buffer[] {
  if (hi - lo <= 1) return [];
  const k = largestPowerOfTwoBelow(hi - lo);
  return m < lo + k ? [...path(m, lo, lo + k, mth), mth(lo + k, hi)] : [...path(m, lo + k, hi, mth), mth(lo, lo + k)];
}

/** RFC 6962 section 2.1.2 SUBPROOF(m, D[lo:hi], b), m being the absolute old tree size. */
function subproof(m: number, lo: number, hi: number, complete: boolean, mth: RangeHash): Buffer[] {
  if (m === hi) return complete ? [] : [mth(lo, hi)];
  const k = largestPowerOfTwoBelow(hi - lo);
  return m <= lo + k
    ? [...subproof(m, lo, lo + k, complete, mth), mth(lo + k, hi)]
    : [...subproof(m, lo + k, hi, false, mth), mth(lo, lo + k)];
}

/**
 * Builds a proof from stored nodes in two passes: the first records which leaf ranges the RFC
 * algorithm needs, `load` fetches the nodes covering them in one go, the second computes.
 */
async function fromStoredNodes(
  build: (mth: RangeHash) => Buffer[],
  load: (ids: readonly NodeId[]) => Promise<Map<string, Buffer>>,
): Promise<Buffer[]> {
  const wanted = new Map<string, NodeId>();
  build((lo, hi) => {
    for (const id of decomposeRange(lo, hi)) wanted.set(nodeKey(id), id);
    return Buffer.alloc(32);
  });
  const nodes = await load([...wanted.values()]);
  return build((lo, hi) => {
    const hashes = decomposeRange(lo, hi).map((id) => {
      const hash = nodes.get(nodeKey(id));
      if (!hash) throw new Error(`stored tree is missing node ${nodeKey(id)}`);
      return hash;
    });
    let root = hashes[hashes.length - 1]!;
    for (let i = hashes.length - 2; i >= 0; i -= 1) root = nodeHash(hashes[i]!, root);
    return root;
  });
}

export function nodeKey(id: NodeId): string {
  return `${id.level}/${id.index}`;
}

/** Inclusion proof (audit path) of leaf `index` in the tree of `size` leaves, from stored nodes. */
export function storedInclusionProof(
  index: number,
  size: number,
  load: (ids: readonly NodeId[]) => Promise<Map<string, Buffer>>,
): Promise<Buffer[]> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    return Promise.reject(new MerkleProofError('MERKLE.BAD_INPUT', `leaf ${index} is not in a tree of size ${size}`));
  }
  return fromStoredNodes((mth) => path(index, 0, size, mth), load);
}

/** Consistency proof between tree sizes `oldSize` and `newSize`, from stored nodes. */
export function storedConsistencyProof(
  oldSize: number,
  newSize: number,
  load: (ids: readonly NodeId[]) => Promise<Map<string, Buffer>>,
): Promise<Buffer[]> {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) {
    return Promise.reject(new MerkleProofError('MERKLE.BAD_INPUT', `no consistency proof from size ${oldSize} to ${newSize}`));
  }
  if (oldSize === 0 || oldSize === newSize) return Promise.resolve([]);
  return fromStoredNodes((mth) => subproof(oldSize, 0, newSize, true, mth), load);
}
