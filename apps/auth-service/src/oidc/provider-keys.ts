import { createPrivateKey, generateKeyPairSync, randomBytes, randomUUID, type JsonWebKey } from 'node:crypto';
import type { KeyEncryptionKey } from '@traceo/hsm';
import type { DataSource, EntityManager } from 'typeorm';

/** A private signing JWK as oidc-provider takes it (`jwks.keys`), and its public half for the JWKS. */
export interface SigningKey {
  readonly kid: string;
  readonly createdAt: Date;
  readonly privateJwk: JsonWebKey & { kid: string; alg: 'ES256'; use: 'sig' };
}

export interface ProviderKeys {
  /** Newest first: oidc-provider signs with the first key of an algorithm; the rest stay in the JWKS. */
  readonly signingKeys: readonly SigningKey[];
  /** Cookie-signing keys (newest first; oidc-provider signs with the first, verifies with all). */
  readonly cookieKeys: readonly string[];
  /** A secret derived for this service's own form tokens (interaction CSRF). */
  readonly formKey: Buffer;
}

const signingAad = (kid: string) => Buffer.from(`traceo-auth:signing-key:${kid}`, 'utf8');
const secretAad = (name: string) => Buffer.from(`traceo-auth:provider-secret:${name}`, 'utf8');
/** Serialises key generation between replicas starting at once. */
const KEY_LOCK = "hashtext('traceo.auth.provider-keys')";
const DAY_MS = 86_400_000;

/**
 * The provider's private keys, stored in PostgreSQL only wrapped by the HSM key-encryption key
 * (AES-256-GCM inside the token, the key id bound as additional data) and unwrapped into memory at
 * start-up. A signing key older than `maxAgeDays` is superseded by a new one at start-up; the old key
 * stays in the JWKS for another 15-minute access-token lifetime plus one day, then it is retired.
 */
export async function loadProviderKeys(dataSource: DataSource, kek: KeyEncryptionKey, maxAgeDays: number): Promise<ProviderKeys> {
  return dataSource.transaction(async (manager) => {
    await manager.query(`SELECT pg_advisory_xact_lock(${KEY_LOCK})`);
    let rows = await activeSigningKeys(manager);
    const newest = rows[0];
    if (!newest || Date.now() - newest.created_at.getTime() > maxAgeDays * DAY_MS) {
      await insertSigningKey(manager, kek);
      rows = await activeSigningKeys(manager);
    }
    // A superseded key stays in the JWKS for a day after its successor appeared (tokens live 15 minutes).
    const grace = Date.now() - DAY_MS;
    const retire = rows.filter((_, index) => index > 0 && rows[index - 1]!.created_at.getTime() < grace);
    if (retire.length > 0)
      await manager.query('UPDATE signing_keys SET retired_at = now() WHERE kid = ANY($1)', [retire.map((row) => row.kid)]);
    const signingKeys = rows
      .filter((row) => !retire.includes(row))
      .map((row) => {
        const pkcs8 = kek.unwrap(row.private_wrapped, signingAad(row.kid));
        try {
          const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
          return {
            kid: row.kid,
            createdAt: row.created_at,
            privateJwk: { ...jwk, kid: row.kid, alg: 'ES256' as const, use: 'sig' as const },
          };
        } finally {
          pkcs8.fill(0);
        }
      });
    const cookieKey = await providerSecret(manager, kek, 'cookie-key-1');
    const formKey = await providerSecret(manager, kek, 'form-key-1');
    return { signingKeys, cookieKeys: [cookieKey.toString('base64url')], formKey };
  });
}

interface SigningKeyRow {
  kid: string;
  private_wrapped: Buffer;
  created_at: Date;
}

async function activeSigningKeys(manager: EntityManager): Promise<SigningKeyRow[]> {
  return manager.query<SigningKeyRow[]>(
    'SELECT kid, private_wrapped, created_at FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid',
  );
}

async function insertSigningKey(manager: EntityManager, kek: KeyEncryptionKey): Promise<void> {
  const kid = randomUUID();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    const wrapped = kek.wrap(pkcs8, signingAad(kid));
    await manager.query('INSERT INTO signing_keys (kid, alg, public_jwk, private_wrapped, kek_id) VALUES ($1, $2, $3::jsonb, $4, $5)', [
      kid,
      'ES256',
      JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }),
      wrapped,
      kek.id,
    ]);
  } finally {
    pkcs8.fill(0);
  }
}

/** A 256-bit provider secret, generated (and stored wrapped) the first time it is asked for. */
async function providerSecret(manager: EntityManager, kek: KeyEncryptionKey, name: string): Promise<Buffer> {
  const [row] = await manager.query<{ secret_wrapped: Buffer }[]>('SELECT secret_wrapped FROM provider_secrets WHERE name = $1', [name]);
  if (row) return kek.unwrap(row.secret_wrapped, secretAad(name));
  const secret = randomBytes(32);
  await manager.query('INSERT INTO provider_secrets (name, secret_wrapped, kek_id) VALUES ($1, $2, $3)', [
    name,
    kek.wrap(secret, secretAad(name)),
    kek.id,
  ]);
  return secret;
}
