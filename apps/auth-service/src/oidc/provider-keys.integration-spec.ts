import { MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { Pkcs11KeyEncryptionKey } from '@traceo/hsm';
import { openServiceDatabase } from '@traceo/persistence';
import { createScratchSchema, loadInfraEnv } from '@traceo/testing';
import type { DataSource } from 'typeorm';
import { AUTH_MIGRATIONS } from '../migrations';
import { loadProviderKeys } from './provider-keys';

/** Signing and cookie keys on the real PostgreSQL, wrapped by the real SoftHSM2 KEK. */
describe('provider keys (PostgreSQL + SoftHSM2)', () => {
  let dataSource: DataSource;
  let kek: Pkcs11KeyEncryptionKey;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const env = loadInfraEnv();
    const scratch = await createScratchSchema(env.databaseUrl, 'auth_keys');
    drop = scratch.drop;
    dataSource = await openServiceDatabase({
      url: env.databaseUrl,
      schema: scratch.schema,
      applicationName: 'auth_keys',
      migrations: [...MESSAGING_MIGRATIONS, ...AUTH_MIGRATIONS],
    });
    process.env.SOFTHSM2_CONF = env.raw['SOFTHSM2_CONF'];
    kek = Pkcs11KeyEncryptionKey.open({
      modulePath: env.raw['TRACEO_PKCS11_MODULE']!,
      tokenLabel: env.raw['TRACEO_PKCS11_TOKEN_LABEL']!,
      pin: env.raw['TRACEO_PKCS11_PIN']!,
    });
  });

  afterAll(async () => {
    kek?.close();
    if (dataSource?.isInitialized) await dataSource.destroy();
    await drop?.();
  });

  it('generates an ES256 key once, stores it only wrapped and gives the same keys to every start', async () => {
    const first = await loadProviderKeys(dataSource, kek, 90);
    const second = await loadProviderKeys(dataSource, kek, 90);
    expect(first.signingKeys).toHaveLength(1);
    expect(second.signingKeys.map((key) => key.kid)).toEqual(first.signingKeys.map((key) => key.kid));
    expect(second.signingKeys[0]!.privateJwk.d).toBe(first.signingKeys[0]!.privateJwk.d);
    expect(second.cookieKeys).toEqual(first.cookieKeys);
    expect(first.signingKeys[0]!.privateJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    const [row] =
      await dataSource.query<{ public_jwk: Record<string, unknown>; private_wrapped: Buffer; kek_id: string }[]>(
        'SELECT * FROM signing_keys',
      );
    expect(row!.public_jwk).not.toHaveProperty('d');
    expect(row!.kek_id).toBe(kek.id);
    expect(row!.private_wrapped.includes(Buffer.from(first.signingKeys[0]!.privateJwk.d!, 'base64url'))).toBe(false);
  });

  it('rotates: a successor is published a day before the key ages out, signs a day later, and the old key retires a day after that', async () => {
    const [current] = await dataSource.query<{ kid: string }[]>('SELECT kid FROM signing_keys WHERE retired_at IS NULL');
    const oldKid = current!.kid;
    // 88.5 days old: not due yet (a successor is due at 89 days for a 90-day maximum).
    await dataSource.query(`UPDATE signing_keys SET created_at = now() - interval '88 days 12 hours'`);
    expect((await loadProviderKeys(dataSource, kek, 90)).signingKeys.map((key) => key.kid)).toEqual([oldKid]);
    // 89.5 days: the successor is created and published, the old key still signs.
    await dataSource.query(`UPDATE signing_keys SET created_at = now() - interval '89 days 12 hours'`);
    const published = await loadProviderKeys(dataSource, kek, 90);
    expect(published.signingKeys).toHaveLength(2);
    expect(published.signingKeys[0]!.kid).toBe(oldKid);
    const newKid = published.signingKeys[1]!.kid;
    expect(newKid).not.toBe(oldKid);
    // Loading again within the day changes nothing (every replica sees the same two keys, the same one signing).
    expect((await loadProviderKeys(dataSource, kek, 90)).signingKeys.map((key) => key.kid)).toEqual([oldKid, newKid]);
    // A day later the successor signs; the old key stays published.
    await dataSource.query(`UPDATE signing_keys SET created_at = created_at - interval '25 hours'`);
    expect((await loadProviderKeys(dataSource, kek, 90)).signingKeys.map((key) => key.kid)).toEqual([newKid, oldKid]);
    // A day after that the old key is retired.
    await dataSource.query(`UPDATE signing_keys SET created_at = created_at - interval '25 hours'`);
    expect((await loadProviderKeys(dataSource, kek, 90)).signingKeys.map((key) => key.kid)).toEqual([newKid]);
    const [retired] = await dataSource.query<{ retired_at: Date | null }[]>('SELECT retired_at FROM signing_keys WHERE kid = $1', [oldKid]);
    expect(retired!.retired_at).toBeInstanceOf(Date);
  });

  it('refuses a wrapped key that was moved to another key id (additional data binds it)', async () => {
    const [a] = await dataSource.query<{ kid: string; private_wrapped: Buffer }[]>(
      'SELECT kid, private_wrapped FROM signing_keys WHERE retired_at IS NULL',
    );
    await dataSource.query(
      `INSERT INTO signing_keys (kid, alg, public_jwk, private_wrapped, kek_id) VALUES ('moved', 'ES256', '{}', $1, $2)`,
      [a!.private_wrapped, kek.id],
    );
    await expect(loadProviderKeys(dataSource, kek, 90)).rejects.toMatchObject({ name: 'KeyIntegrityError' });
    await dataSource.query(`DELETE FROM signing_keys WHERE kid = 'moved'`);
  });
});
