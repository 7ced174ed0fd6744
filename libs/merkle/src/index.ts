export { consistencyProof, verifyConsistency } from './consistency-proof';
export { EMPTY_ROOT, HASH_SIZE, leafHash, leafHashOfText, nodeHash } from './hashing';
export { inclusionProof, rootFromInclusionProof, verifyInclusion } from './inclusion-proof';
export { IncrementalMerkleTree } from './incremental-merkle-tree';
export { MerkleProofError, type MerkleErrorCode } from './merkle.errors';
export { rootFromLeafHashes } from './tree-hash';
export { type TreeSize } from './tree-size';
export {
  appendToFrontier,
  decomposeRange,
  EMPTY_FRONTIER,
  frontierRoot,
  nodeKey,
  storedConsistencyProof,
  storedInclusionProof,
  type Frontier,
  type NodeId,
  type StoredNode,
} from './stored-tree';
export {
  nodeFromTile,
  nodesFromTiles,
  TILE_HEIGHT,
  TILE_WIDTH,
  tileKey,
  tileOf,
  planTileWrites,
  tilesAfterAppend,
  type Tile,
  type TileId,
} from './tiles';
