import type { ServiceRuntime } from '@traceo/service-kit';
import { ClientRepository } from './client.repository';

/** A KEK stand-in whose "wrapping" is a version prefix, counting unwraps. */
function fakeKek() {
  const kek = {
    id: 'kek-1',
    unwraps: 0,
    wrap: (key: Buffer) => key,
    unwrap(wrapped: Buffer): Buffer {
      kek.unwraps += 1;
      return wrapped.subarray(2);
    },
    close: () => undefined,
  };
  return kek;
}

function repositoryWith(rows: { secret_wrapped: Buffer }[]) {
  const kek = fakeKek();
  const runtime = {
    dataSource: { query: () => Promise.resolve([{ metadata: { client_id: 'app-1' }, secret_wrapped: rows[0]!.secret_wrapped }]) },
  } as unknown as ServiceRuntime;
  return { repository: new ClientRepository(runtime, kek), kek };
}

describe('ClientRepository', () => {
  it('unwraps a client secret once while its stored wrapping stays the same', async () => {
    const rows = [{ secret_wrapped: Buffer.from('v1first-secret') }];
    const { repository, kek } = repositoryWith(rows);
    expect(await repository.find('app-1')).toMatchObject({ client_secret: 'first-secret' });
    expect(await repository.find('app-1')).toMatchObject({ client_secret: 'first-secret' });
    expect(kek.unwraps).toBe(1);
  });

  it('unwraps again when the stored secret changed (a new registration or rotation)', async () => {
    const rows = [{ secret_wrapped: Buffer.from('v1first-secret') }];
    const { repository, kek } = repositoryWith(rows);
    await repository.find('app-1');
    rows[0] = { secret_wrapped: Buffer.from('v2other-secret') };
    expect(await repository.find('app-1')).toMatchObject({ client_secret: 'other-secret' });
    expect(kek.unwraps).toBe(2);
  });
});
