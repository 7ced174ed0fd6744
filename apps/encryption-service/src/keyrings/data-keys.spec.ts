import type { KeyEncryptionKey } from '../hsm/key-encryption-key.port';
import { DATA_KEY_CACHE_TTL_MS, DataKeys, wrappingAad } from './data-keys';

/** A stand-in KEK that records its calls; wrapping is a reversible tag so the aad binding is visible. */
function countingKek(): KeyEncryptionKey & { unwraps: number } {
  const kek = {
    id: 'test-kek',
    unwraps: 0,
    wrap: (dataKey: Buffer, aad: Buffer) => Buffer.concat([aad, Buffer.of(0), dataKey]),
    unwrap: (wrapped: Buffer, aad: Buffer) => {
      kek.unwraps += 1;
      if (!wrapped.subarray(0, aad.length).equals(aad)) throw new Error('aad mismatch');
      return Buffer.from(wrapped.subarray(aad.length + 1));
    },
    close: () => undefined,
  };
  return kek;
}

describe('DataKeys', () => {
  const ref = { tenantId: 'tenant-a', keyringId: 'customers', version: 1 };

  afterEach(() => jest.useRealTimers());

  it('binds the wrapped key to tenant, keyring and version', () => {
    expect(wrappingAad(ref).toString()).toBe('tenant-a|customers|1');
    const dataKeys = new DataKeys(countingKek());
    const wrapped = dataKeys.create(ref);
    expect(wrapped.kekId).toBe('test-kek');
    expect(() => dataKeys.unwrap({ ...ref, version: 2 }, wrapped)).toThrow('aad mismatch');
  });

  it('unwraps each key version once per cache period, then asks the KEK again', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const kek = countingKek();
    const dataKeys = new DataKeys(kek);
    const wrapped = dataKeys.create(ref);
    const first = dataKeys.unwrap(ref, wrapped);
    expect(first).toHaveLength(32);
    expect(dataKeys.unwrap(ref, wrapped)).toBe(first);
    expect(kek.unwraps).toBe(1);

    jest.setSystemTime(1_000_000 + DATA_KEY_CACHE_TTL_MS);
    expect(dataKeys.unwrap(ref, wrapped)).toHaveLength(32);
    expect(kek.unwraps).toBe(2);
    // The expired copy was zeroed when it was evicted.
    expect(first.equals(Buffer.alloc(32))).toBe(true);
  });
});
