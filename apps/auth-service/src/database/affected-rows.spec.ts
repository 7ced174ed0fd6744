import { affectedRows } from './affected-rows';

describe('affectedRows', () => {
  it("reads the row count of TypeORM's [rows, rowCount] answer to UPDATE and DELETE", async () => {
    await expect(affectedRows({ query: () => Promise.resolve([[], 0] as never) }, 'UPDATE t SET a = 1')).resolves.toBe(0);
    await expect(affectedRows({ query: () => Promise.resolve([[{}, {}], 2] as never) }, ' delete from t')).resolves.toBe(2);
  });

  it('refuses other statements and unexpected shapes rather than guessing', async () => {
    await expect(affectedRows({ query: () => Promise.resolve([] as never) }, 'SELECT 1')).rejects.toThrow(TypeError);
    await expect(affectedRows({ query: () => Promise.resolve([{ a: 1 }] as never) }, 'UPDATE t SET a = 1')).rejects.toThrow(/unexpected/);
  });
});
