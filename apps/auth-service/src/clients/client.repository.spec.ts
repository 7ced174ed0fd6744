import type { ServiceRuntime } from '@traceo/service-kit';
import { clientRegistrationSchema } from './client-policy';
import { CLIENT_REREAD_MS, ClientRepository } from './client.repository';

/** A KEK stand-in whose "wrapping" is a two-byte version prefix, counting unwraps. */
function fakeKek() {
  const kek = {
    id: 'kek-1',
    unwraps: 0,
    wrap: (key: Buffer) => Buffer.concat([Buffer.from('v9'), key]),
    unwrap(wrapped: Buffer): Buffer {
      kek.unwraps += 1;
      return wrapped.subarray(2);
    },
    close: () => undefined,
  };
  return kek;
}

/** The stored row is `stored.wrapped`; a save replaces it. */
function repositoryWith(stored: { wrapped: Buffer }) {
  const kek = fakeKek();
  const query = (sql: string, params: unknown[]) => {
    if (sql.startsWith('INSERT')) stored.wrapped = params[4] as Buffer;
    return Promise.resolve([{ metadata: { client_id: 'app-1' }, secret_wrapped: stored.wrapped }]);
  };
  const runtime = { dataSource: { query } } as unknown as ServiceRuntime;
  return { repository: new ClientRepository(runtime, kek), kek };
}

describe('ClientRepository', () => {
  let now = 1_000_000;
  beforeEach(() => {
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  it('unwraps a client secret once while its stored wrapping stays the same, also after the client is read again', async () => {
    const { repository, kek } = repositoryWith({ wrapped: Buffer.from('v1first-secret') });
    expect(await repository.find('app-1')).toMatchObject({ client_secret: 'first-secret' });
    now += CLIENT_REREAD_MS + 1;
    expect(await repository.find('app-1')).toMatchObject({ client_secret: 'first-secret' });
    expect(kek.unwraps).toBe(1);
  });

  it('answers a changed client after CLIENT_REREAD_MS at the latest, unwrapping its new secret', async () => {
    const stored = { wrapped: Buffer.from('v1first-secret') };
    const { repository, kek } = repositoryWith(stored);
    await repository.find('app-1');
    stored.wrapped = Buffer.from('v2other-secret'); // registered again through another replica
    expect(await repository.find('app-1')).toMatchObject({ client_secret: 'first-secret' });
    now += CLIENT_REREAD_MS + 1;
    expect(await repository.find('app-1')).toMatchObject({ client_secret: 'other-secret' });
    expect(kek.unwraps).toBe(2);
  });

  it('answers a client registered again through this replica at once', async () => {
    const { repository } = repositoryWith({ wrapped: Buffer.from('v1first-secret') });
    await repository.find('app-1');
    await repository.save(
      clientRegistrationSchema.parse({
        client_id: 'app-1',
        tenant_id: 'acme',
        client_secret: 'a-new-secret-of-at-least-32-characters',
        grant_types: ['client_credentials'],
      }),
    );
    expect(await repository.find('app-1')).toMatchObject({ client_secret: 'a-new-secret-of-at-least-32-characters' });
  });
});
