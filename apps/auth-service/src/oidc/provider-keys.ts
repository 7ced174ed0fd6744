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
  /** The signing key first (oidc-provider signs with the first key of an algorithm); the rest are only published. */
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
 * A new signing key is in the JWKS this long before it signs. Every replica reloads its keys hourly
 * (KEY_RELOAD_MS), so by the time one replica signs with a new key every replica publishes it, and a
 * resource server that fetched the JWKS from any of them knows it.
 */
export const KEY_PREPUBLICATION_MS = DAY_MS;
/** How often a running auth-service reloads its keys (rotation and other replicas' keys; OidcMaintenance). */
export const KEY_RELOAD_MS = 3_600_000;

/**
 * The provider's private keys, stored in PostgreSQL only wrapped by the HSM key-encryption key
 * (AES-256-GCM inside the token, the key id bound as additional data) and unwrapped into memory.
 * Loaded at start-up and again every KEY_RELOAD_MS, which is how rotation happens in a running
 * service. Rotation: a successor is created KEY_PREPUBLICATION_MS before the signing key reaches
 * `maxAgeDays`; it is published at once and signs once it is that old (the first key of a new
 * installation signs at once: no token exists yet); a superseded key stays in the JWKS for a day after
 * its successor began signing (tokens live 15 minutes), then it is retired. `signingKeys[0]` signs.
 */
export async function loadProviderKeys(dataSource: DataSource, kek: KeyEncryptionKey, maxAgeDays: number): Promise<ProviderKeys> {
  return dataSource.transaction(async (manager) => {
    await manager.query(`SELECT pg_advisory_xact_lock(${KEY_LOCK})`);
    const now = Date.now();
    let rows = await activeSigningKeys(manager);
    let signing = signingKeyOf(rows, now);
    if (!signing || (signing === rows[0] && now - signing.created_at.getTime() > maxAgeDays * DAY_MS - KEY_PREPUBLICATION_MS)) {
      await insertSigningKey(manager, kek);
      rows = await activeSigningKeys(manager);
      signing = signingKeyOf(rows, now)!;
    }
    const signingSince = signing === rows.at(-1) ? signing.created_at.getTime() : signing.created_at.getTime() + KEY_PREPUBLICATION_MS;
    const superseded = rows.slice(rows.indexOf(signing) + 1);
    const retire = now - signingSince > DAY_MS ? superseded : [];
    if (retire.length > 0)
      await manager.query('UPDATE signing_keys SET retired_at = now() WHERE kid = ANY($1)', [retire.map((row) => row.kid)]);
    const signingKeys = [signing, ...rows.filter((row) => row !== signing && !retire.includes(row))].map((row) => {
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

/**
 * The key that signs: the newest one published for at least KEY_PREPUBLICATION_MS, else (a new
 * installation, whose only keys are new) the oldest. `rows` are newest first.
 */
function signingKeyOf(rows: readonly SigningKeyRow[], now: number): SigningKeyRow | undefined {
  return rows.find((row) => now - row.created_at.getTime() >= KEY_PREPUBLICATION_MS) ?? rows.at(-1);
}

/** The key ids in the order a provider built from these keys uses them (the first signs). */
export function keyIdsOf(keys: ProviderKeys): readonly string[] {
  return keys.signingKeys.map((key) => key.kid);
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
