import { Coalescer } from './coalescer';

describe('Coalescer', () => {
  it('flushes the first submission at once and groups the ones that arrive while it runs', async () => {
    const flushes: number[][] = [];
    const coalescer = new Coalescer<number, number>(async (_key, items) => {
      flushes.push([...items]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return items.map((n) => n * 10);
    });
    const answers = await Promise.all([1, 2, 3, 4].map((n) => coalescer.submit('k', n)));
    expect(answers).toEqual([10, 20, 30, 40]);
    expect(flushes).toEqual([[1], [2, 3, 4]]);
  });

  it('keeps keys apart and caps a flush at maxBatch items', async () => {
    const flushes: string[] = [];
    const coalescer = new Coalescer<number, number>(async (key, items) => {
      flushes.push(`${key}:${items.join(',')}`);
      await Promise.resolve();
      return [...items];
    }, 2);
    await Promise.all([
      coalescer.submit('a', 1),
      coalescer.submit('b', 2),
      coalescer.submit('a', 3),
      coalescer.submit('a', 4),
      coalescer.submit('a', 5),
    ]);
    expect(flushes).toEqual(['a:1', 'b:2', 'a:3,4', 'a:5']);
  });

  it('fails every submission of a failed flush, and carries on with the next', async () => {
    let calls = 0;
    const coalescer = new Coalescer<number, number>(async (_key, items) => {
      calls += 1;
      await Promise.resolve();
      if (calls === 2) throw new Error('database unavailable');
      return [...items];
    });
    const results = await Promise.allSettled([1, 2, 3].map((n) => coalescer.submit('k', n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    await expect(coalescer.submit('k', 4)).resolves.toBe(4);
  });
});
