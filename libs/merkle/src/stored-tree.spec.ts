import { randomBytes } from 'node:crypto';
import { consistencyProof, inclusionProof, rootFromLeafHashes } from './index';
import {
  appendToFrontier,
  EMPTY_FRONTIER,
  frontierRoot,
  nodeKey,
  storedConsistencyProof,
  storedInclusionProof,
  type Frontier,
  type StoredNode,
} from './stored-tree';

function buildStoredTree(leaves: Buffer[]): { frontiers: Frontier[]; nodes: Map<string, Buffer> } {
  const nodes = new Map<string, Buffer>();
  const frontiers: Frontier[] = [EMPTY_FRONTIER];
  let frontier = EMPTY_FRONTIER;
  for (const leaf of leaves) {
    const appended = appendToFrontier(frontier, [leaf]);
    appended.nodes.forEach((node: StoredNode) => nodes.set(nodeKey(node), node.hash));
    frontier = appended.frontier;
    frontiers.push(frontier);
  }
  return { frontiers, nodes };
}

describe('stored tree (frontier and proofs from stored perfect-subtree nodes)', () => {
  const leaves = Array.from({ length: 70 }, () => randomBytes(32));
  const { frontiers, nodes } = buildStoredTree(leaves);
  const load = (ids: readonly { level: number; index: number }[]) =>
    Promise.resolve(new Map(ids.map((id) => [nodeKey(id), nodes.get(nodeKey(id))!])));

  it('keeps the same root as the RFC 6962 definition at every size', () => {
    for (let size = 0; size <= leaves.length; size += 1)
      expect(frontierRoot(frontiers[size]!)).toEqual(rootFromLeafHashes(leaves.slice(0, size)));
  });

  it('appending in batches gives the same frontier and nodes as one at a time', () => {
    const batched = appendToFrontier(appendToFrontier(EMPTY_FRONTIER, leaves.slice(0, 33)).frontier, leaves.slice(33));
    expect(batched.frontier).toEqual(frontiers[leaves.length]);
  });

  it('builds the same inclusion and consistency proofs as from all leaves', async () => {
    for (let size = 1; size <= leaves.length; size += 1) {
      for (let index = 0; index < size; index += 1) {
        expect(await storedInclusionProof(index, size, load)).toEqual(inclusionProof(leaves.slice(0, size), index));
      }
      for (let old = 0; old <= size; old += 1) {
        expect(await storedConsistencyProof(old, size, load)).toEqual(consistencyProof(leaves.slice(0, size), old, size));
      }
    }
  });

  it('refuses proofs for leaves or sizes outside the tree', async () => {
    await expect(storedInclusionProof(5, 5, load)).rejects.toMatchObject({ code: 'MERKLE.BAD_INPUT' });
    await expect(storedConsistencyProof(6, 5, load)).rejects.toMatchObject({ code: 'MERKLE.BAD_INPUT' });
  });
});
