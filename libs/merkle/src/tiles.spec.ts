import { createHash } from 'node:crypto';
import { consistencyProof, inclusionProof, rootFromLeafHashes } from './index';
import { appendToFrontier, EMPTY_FRONTIER, frontierRoot, storedConsistencyProof, storedInclusionProof, type Frontier } from './stored-tree';
import { nodesFromTiles, TILE_WIDTH, tileKey, tileOf, tilesAfterAppend, type Tile, type TileId } from './tiles';

/** Deterministic leaf hashes (no randomness, so a failure reproduces). */
const leaves = Array.from({ length: 70_000 }, (_, i) => createHash('sha256').update(`leaf ${i}`).digest());

/** A tile store the way the audit log keeps one: every stored width of every tile, widest wins on read. */
class TileStore {
  readonly rows = new Map<string, Map<number, Buffer>>();
  frontier: Frontier = EMPTY_FRONTIER;

  async append(batch: readonly Buffer[]): Promise<Tile[]> {
    const appended = appendToFrontier(this.frontier, batch);
    const tiles = await tilesAfterAppend(this.frontier.size, appended.nodes, (wanted) =>
      Promise.resolve(new Map(wanted.map((t) => [tileKey(t), this.rows.get(tileKey(t))?.get(t.width) ?? Buffer.alloc(0)]))),
    );
    for (const tile of tiles) {
      const widths = this.rows.get(tileKey(tile)) ?? new Map<number, Buffer>();
      widths.set(tile.width, tile.hashes);
      this.rows.set(tileKey(tile), widths);
    }
    this.frontier = appended.frontier;
    return tiles;
  }

  read = (ids: readonly TileId[]): Promise<Tile[]> =>
    Promise.resolve(
      ids.flatMap((id) => {
        const widths = this.rows.get(tileKey(id));
        if (!widths) return [];
        const width = Math.max(...widths.keys());
        return [{ ...id, width, hashes: widths.get(width)! }];
      }),
    );
}

describe('tiles (perfect subtree roots stored 256 to a row, every 8 levels)', () => {
  it('places a node in the tile 0–7 levels below it', () => {
    expect(tileOf({ level: 0, index: 300 })).toEqual({ tile: { level: 0, index: 1 }, from: 44, count: 1 });
    expect(tileOf({ level: 3, index: 40 })).toEqual({ tile: { level: 0, index: 1 }, from: 64, count: 8 });
    expect(tileOf({ level: 8, index: 5 })).toEqual({ tile: { level: 8, index: 0 }, from: 5, count: 1 });
    expect(tileOf({ level: 15, index: 1 })).toEqual({ tile: { level: 8, index: 0 }, from: 128, count: 128 });
    expect(tileOf({ level: 16, index: 0 })).toEqual({ tile: { level: 16, index: 0 }, from: 0, count: 1 });
  });

  it('gives the same roots and RFC 6962 proofs as the full tree, appended in uneven batches', async () => {
    const store = new TileStore();
    const batchSizes = [1, 255, 1, 3000, 7, 256, 512, 61_000, 4968];
    let at = 0;
    let checked = 0;
    for (const n of batchSizes) {
      await store.append(leaves.slice(at, at + n));
      at += n;
      const size = at;
      const load = (ids: readonly { level: number; index: number }[]) => nodesFromTiles(ids, store.read);
      for (const index of [0, 1, size >> 1, size - 2, size - 1].filter((i) => i >= 0 && i < size)) {
        expect(await storedInclusionProof(index, size, load)).toEqual(inclusionProof(leaves.slice(0, size), index));
        checked += 1;
      }
      for (const old of [1, 255, 256, 257, size - 1].filter((s) => s > 0 && s < size)) {
        expect(await storedConsistencyProof(old, size, load)).toEqual(consistencyProof(leaves.slice(0, size), old, size));
        checked += 1;
      }
    }
    expect(at).toBe(leaves.length);
    expect(checked).toBeGreaterThan(60);
    expect(frontierRoot(store.frontier)).toEqual(rootFromLeafHashes(leaves));
  });

  it('writes about one row per 256 leaves, each tile continuing the stored copy of the width the tree had', async () => {
    const store = new TileStore();
    const written: Tile[] = [];
    for (let at = 0; at < 5000; at += 100) written.push(...(await store.append(leaves.slice(at, at + 100))));
    // 50 appends of 100: each writes its level-0 tile(s) (one more when it crosses a tile edge), and a
    // level-8 tile whenever it completes a 256-leaf subtree.
    expect(written.filter((t) => t.level === 0)).toHaveLength(50 + Math.floor(5000 / TILE_WIDTH));
    expect(written.filter((t) => t.level === 8)).toHaveLength(Math.floor(5000 / TILE_WIDTH));
    expect(written.every((t) => t.hashes.length === t.width * 32)).toBe(true);
  });

  it('refuses to continue a tile whose stored copy is missing', async () => {
    const store = new TileStore();
    await store.append(leaves.slice(0, 10));
    store.rows.clear();
    await expect(store.append(leaves.slice(10, 20))).rejects.toThrow(/tile 0\/0 of width 10 is not stored/);
  });

  it('leaves out nodes a stored tile is too narrow for, so the proof reports them missing', async () => {
    const store = new TileStore();
    await store.append(leaves.slice(0, 10));
    const nodes = await nodesFromTiles(
      [
        { level: 0, index: 9 },
        { level: 0, index: 10 },
        { level: 3, index: 1 },
      ],
      store.read,
    );
    expect([...nodes.keys()]).toEqual(['0/9']);
    await expect(storedInclusionProof(3, 20, (ids) => nodesFromTiles(ids, store.read))).rejects.toThrow(/missing node/);
  });
});
