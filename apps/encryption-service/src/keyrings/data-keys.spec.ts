import type { KeyEncryptionKey } from '@traceo/hsm';
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
  const classic = {
    tenantId: 'tenant-a',
    keyringId: 'customers',
    wrapping: 'classic' as const,
    pqPublicKey: null,
    pqSecretKeyWrapped: null,
  };

  afterEach(() => jest.useRealTimers());

  it('binds the wrapped key to tenant, keyring and version', () => {
    expect(wrappingAad(ref).toString()).toBe('tenant-a|customers|1');
    const dataKeys = new DataKeys(countingKek());
    const wrapped = dataKeys.create(ref, classic);
    expect(wrapped.kekId).toBe('test-kek');
    expect(() => dataKeys.unwrap({ ...ref, version: 2 }, wrapped, classic)).toThrow('aad mismatch');
  });

  it('unwraps each key version once per cache period, then asks the KEK again', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const kek = countingKek();
    const dataKeys = new DataKeys(kek);
    const wrapped = dataKeys.create(ref, classic);
    const first = dataKeys.unwrap(ref, wrapped, classic);
    expect(first).toHaveLength(32);
    expect(dataKeys.unwrap(ref, wrapped, classic)).toBe(first);
    expect(kek.unwraps).toBe(1);

    jest.setSystemTime(1_000_000 + DATA_KEY_CACHE_TTL_MS);
    expect(dataKeys.unwrap(ref, wrapped, classic)).toHaveLength(32);
    expect(kek.unwraps).toBe(2);
    // The expired copy was zeroed when it was evicted.
    expect(first.equals(Buffer.alloc(32))).toBe(true);
  });

  it('binds a subject key to its subject, and wraps hybrid-pq keys to the keyring X-Wing key pair', () => {
    expect(wrappingAad({ tenantId: 't', keyringId: 'people', subjectId: 'user-1' }).toString()).toBe('t|people|subject:user-1');
    const kek = countingKek();
    const dataKeys = new DataKeys(kek);
    const pair = dataKeys.newKeyPair('tenant-a', 'customers');
    const hybrid = { ...classic, wrapping: 'hybrid-pq' as const, ...pair };
    const wrapped = dataKeys.create(ref, hybrid);
    expect(wrapped.wrapping).toBe('hybrid-pq');
    expect(wrapped.wrappedKey).toHaveLength(1182);
    const material = Buffer.from(dataKeys.unwrap(ref, wrapped, hybrid));
    expect(material).toHaveLength(32);
    // Rewrapping the same bytes classically yields a key that opens to the same material.
    const reclassic = dataKeys.wrap(material, ref, classic);
    dataKeys.clear();
    expect(dataKeys.unwrap(ref, reclassic, classic).equals(material)).toBe(true);
    expect(() => dataKeys.unwrap({ ...ref, version: 2 }, wrapped, hybrid)).toThrow('failed authentication');
  });
});
