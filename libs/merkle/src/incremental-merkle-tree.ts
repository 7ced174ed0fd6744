import { EMPTY_ROOT, HASH_SIZE, isHash, nodeHash } from './hashing';
import { MerkleProofError } from './merkle.errors';
import { requireArrayIndex } from './tree-size';

/**
 * An append-only RFC 6962 tree that keeps only its frontier: the roots of the perfect subtrees that
 * the leaves so far decompose into, largest (leftmost) first — one per set bit of the size, so
 * O(log n) hashes. Appending costs amortised O(1) hashes; `root()` costs O(log n).
 */
export class IncrementalMerkleTree {
  private readonly frontier: Buffer[] = [];
  private leafCount = 0;

  /**
   * Resumes a tree from a frontier saved with `snapshot()`, e.g. after a restart, without re-reading
   * its leaves. The frontier must hold exactly one 32-byte hash per set bit of `size`.
   */
  static restore(size: number, frontier: readonly Uint8Array[]): IncrementalMerkleTree {
    requireArrayIndex(size, 'size', Number.MAX_SAFE_INTEGER);
    if (frontier.length !== setBits(size) || !frontier.every(isHash)) {
      throw new MerkleProofError('MERKLE.BAD_INPUT', `a tree of size ${size} has ${setBits(size)} frontier hashes of ${HASH_SIZE} bytes`);
    }
    const tree = new IncrementalMerkleTree();
    tree.frontier.push(...frontier.map((node) => Buffer.from(node)));
    tree.leafCount = size;
    return tree;
  }

  get size(): number {
    return this.leafCount;
  }

  /** Appends one leaf hash (already `leafHash(data)`, 32 bytes). */
  append(leaf: Uint8Array): void {
    if (!isHash(leaf)) throw new MerkleProofError('MERKLE.BAD_INPUT', `a leaf hash must be ${HASH_SIZE} bytes`);
    let node: Uint8Array = leaf;
    // Each trailing 1-bit of the old size is a perfect subtree the same height as `node`: merge them.
    for (let size = this.leafCount; size % 2 === 1; size = (size - 1) / 2) {
      node = nodeHash(this.popFrontier(), node);
    }
    // A leaf kept as it is gets copied, so the caller may reuse its buffer.
    this.frontier.push(node === leaf ? Buffer.from(leaf) : (node as Buffer));
    this.leafCount += 1;
  }

  /** MTH of the leaves appended so far (RFC 6962 §2.1): the frontier folded from right to left. */
  root(): Buffer {
    let root: Buffer | undefined;
    for (let i = this.frontier.length - 1; i >= 0; i--) {
      const subtree = this.frontier[i] as Buffer;
      root = root === undefined ? subtree : nodeHash(subtree, root);
    }
    return Buffer.from(root ?? EMPTY_ROOT);
  }

  /** Copy of the frontier, for persisting the tree and resuming it with `restore()`. */
  snapshot(): { size: number; frontier: Buffer[] } {
    return { size: this.leafCount, frontier: this.frontier.map((node) => Buffer.from(node)) };
  }

  private popFrontier(): Buffer {
    const node = this.frontier.pop();
    if (node === undefined) throw new Error('IncrementalMerkleTree frontier is out of step with its size');
    return node;
  }
}

function setBits(size: number): number {
  let count = 0;
  for (let rest = size; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}
