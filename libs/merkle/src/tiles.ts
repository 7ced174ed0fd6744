import { HASH_SIZE, nodeHash } from './hashing';
import type { NodeId, StoredNode } from './stored-tree';

/**
 * A stored tree kept as tiles, the layout of Trillian Tessera and the C2SP tlog-tiles spec: a tile
 * holds up to 256 consecutive nodes of one level that is a multiple of 8 (level 0 = leaf hashes,
 * level 8 = roots of 256-leaf subtrees, ...), concatenated. Any perfect subtree root is computed from
 * the one tile below it, so an inclusion proof in a tree of 10 million leaves reads 3 tiles, and an
 * append writes about one row per 256 leaves instead of two per leaf.
 *
 * A tile that is not full yet is stored with its width (number of nodes); a later append stores the
 * same tile again, wider. Readers use the widest stored copy of a tile.
 */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 1 << TILE_HEIGHT;

/** One tile: `width` nodes of `level`, from node index `index * TILE_WIDTH`. */
export interface TileId {
  readonly level: number;
  readonly index: number;
}

export interface Tile extends TileId {
  readonly width: number;
  /** `width` hashes of HASH_SIZE bytes, concatenated. */
  readonly hashes: Buffer;
}

export function tileKey(id: TileId): string {
  return `${id.level}/${id.index}`;
}

/** The tile a perfect subtree root is computed from, and how wide that tile has to be. */
export function tileOf(node: NodeId): { tile: TileId; from: number; count: number } {
  const level = node.level - (node.level % TILE_HEIGHT);
  const span = 2 ** (node.level - level);
  const first = node.index * span;
  const tileIndex = Math.floor(first / TILE_WIDTH);
  return { tile: { level, index: tileIndex }, from: first - tileIndex * TILE_WIDTH, count: span };
}

/** The root of a perfect subtree, from its tile (which must be wide enough). */
export function nodeFromTile(node: NodeId, tile: Tile): Buffer {
  const { from, count } = tileOf(node);
  if (from + count > tile.width) {
    throw new Error(`stored tree: tile ${tileKey(tile)} holds ${tile.width} nodes; node ${node.level}/${node.index} needs ${from + count}`);
  }
  let layer: Buffer[] = [];
  for (let i = from; i < from + count; i += 1) layer.push(tile.hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  while (layer.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < layer.length; i += 2) next.push(nodeHash(layer[i]!, layer[i + 1]!));
    layer = next;
  }
  return Buffer.from(layer[0]!);
}

/**
 * The tiles an append changes. `sizeBefore` is the tree size before the append; `completed` are the
 * nodes the append completed (appendToFrontier's output, leaves included). `continues` lists the
 * tiles that were already partly filled, each at the width it had (the stored copy whose hashes
 * `finish` needs, keyed by tileKey); `finish` returns every changed tile at its new width.
 */
export function planTileWrites(
  sizeBefore: number,
  completed: readonly StoredNode[],
): { continues: (TileId & { width: number })[]; finish(prefixes: ReadonlyMap<string, Buffer>): Tile[] } {
  const byTile = new Map<string, { id: TileId; first: number; hashes: Buffer[] }>();
  for (const node of completed) {
    if (node.level % TILE_HEIGHT !== 0) continue;
    const id = { level: node.level, index: Math.floor(node.index / TILE_WIDTH) };
    const key = tileKey(id);
    let entry = byTile.get(key);
    if (!entry) {
      entry = { id, first: node.index - id.index * TILE_WIDTH, hashes: [] };
      byTile.set(key, entry);
    }
    entry.hashes.push(node.hash);
  }
  // A tile whose first new node is not at its start continues a stored tile of exactly that width:
  // the nodes of a level before the append are the first floor(sizeBefore / 2^level) of it.
  const continues = [...byTile.values()].filter((t) => t.first > 0).map((t) => ({ ...t.id, width: t.first }));
  for (const t of continues) {
    const expected = Math.floor(sizeBefore / 2 ** t.level) - t.index * TILE_WIDTH;
    if (expected !== t.width) throw new Error(`stored tree: tile ${tileKey(t)} continues at ${t.width}, the tree holds ${expected}`);
  }
  return {
    continues,
    finish: (prefixes) =>
      [...byTile.values()].map(({ id, first, hashes }) => {
        const prefix = first > 0 ? prefixes.get(tileKey(id)) : undefined;
        if (first > 0 && prefix?.length !== first * HASH_SIZE) {
          throw new Error(`stored tree: tile ${tileKey(id)} of width ${first} is not stored`);
        }
        return { ...id, width: first + hashes.length, hashes: Buffer.concat(prefix ? [prefix, ...hashes] : hashes) };
      }),
  };
}

/** planTileWrites for one tree, with the stored prefixes read through `prefixOf`. */
export async function tilesAfterAppend(
  sizeBefore: number,
  completed: readonly StoredNode[],
  prefixOf: (tiles: readonly (TileId & { width: number })[]) => Promise<ReadonlyMap<string, Buffer>>,
): Promise<Tile[]> {
  const plan = planTileWrites(sizeBefore, completed);
  return plan.finish(plan.continues.length > 0 ? await prefixOf(plan.continues) : new Map());
}

/** Loads perfect subtree roots through a tile reader (which returns the widest stored copy of each tile asked for). */
export async function nodesFromTiles(
  ids: readonly NodeId[],
  readTiles: (tiles: readonly TileId[]) => Promise<readonly Tile[]>,
): Promise<Map<string, Buffer>> {
  const wanted = new Map<string, TileId>();
  for (const id of ids) {
    const { tile } = tileOf(id);
    wanted.set(tileKey(tile), tile);
  }
  const tiles = new Map((await readTiles([...wanted.values()])).map((tile) => [tileKey(tile), tile]));
  const nodes = new Map<string, Buffer>();
  for (const id of ids) {
    const tile = tiles.get(tileKey(tileOf(id).tile));
    if (!tile) continue;
    const { from, count } = tileOf(id);
    if (from + count <= tile.width) nodes.set(`${id.level}/${id.index}`, nodeFromTile(id, tile));
  }
  return nodes;
}
