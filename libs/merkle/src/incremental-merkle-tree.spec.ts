import { EMPTY_ROOT, IncrementalMerkleTree, leafHash, MerkleProofError, rootFromLeafHashes } from './index';

const leaves = Array.from({ length: 300 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));

describe('IncrementalMerkleTree', () => {
  it('starts empty with the empty root', () => {
    const tree = new IncrementalMerkleTree();
    expect(tree.size).toBe(0);
    expect(tree.root()).toEqual(EMPTY_ROOT);
  });

  it('has the same root as the whole-tree computation after every append up to 300 leaves', () => {
    const tree = new IncrementalMerkleTree();
    for (let size = 1; size <= leaves.length; size++) {
      tree.append(leaves[size - 1] as Buffer);
      expect(tree.size).toBe(size);
      expect(tree.root()).toEqual(rootFromLeafHashes(leaves.slice(0, size)));
    }
  });

  it('keeps one frontier hash per set bit of its size', () => {
    const tree = new IncrementalMerkleTree();
    for (const leaf of leaves.slice(0, 300)) tree.append(leaf);
    expect(tree.snapshot().frontier).toHaveLength(4); // 300 = 0b100101100
  });

  it('resumes from a snapshot and keeps appending as if it had never stopped', () => {
    const first = new IncrementalMerkleTree();
    for (const leaf of leaves.slice(0, 77)) first.append(leaf);
    const { size, frontier } = first.snapshot();

    const resumed = IncrementalMerkleTree.restore(size, frontier);
    for (const leaf of leaves.slice(77)) resumed.append(leaf);
    expect(resumed.size).toBe(leaves.length);
    expect(resumed.root()).toEqual(rootFromLeafHashes(leaves));
  });

  it('refuses a snapshot whose frontier does not fit its size', () => {
    const hash = leaves[0] as Buffer;
    expect(() => IncrementalMerkleTree.restore(3, [hash])).toThrow(MerkleProofError);
    expect(() => IncrementalMerkleTree.restore(1, [Buffer.alloc(31)])).toThrow(MerkleProofError);
    expect(() => IncrementalMerkleTree.restore(-1, [])).toThrow(MerkleProofError);
  });

  it('refuses a leaf hash that is not 32 bytes', () => {
    const tree = new IncrementalMerkleTree();
    expect(() => tree.append(Buffer.from('raw data, not a leaf hash'))).toThrow(MerkleProofError);
    expect(tree.size).toBe(0);
  });

  it('is not affected by later changes to an appended buffer or a returned root', () => {
    const tree = new IncrementalMerkleTree();
    const leaf = Buffer.from(leaves[0] as Buffer);
    tree.append(leaf);
    leaf.fill(0);
    tree.root().fill(0);
    expect(tree.root()).toEqual(leaves[0]);
  });
});
