import { Inject, Injectable } from '@nestjs/common';
import { KEY_ENCRYPTION_KEY, type KeyEncryptionKey } from '@traceo/hsm';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { AdapterPayload } from 'oidc-provider';
import { providerMetadata, type ClientRegistration } from './client-policy';

const secretAad = (clientId: string) => Buffer.from(`traceo-auth:client-secret:${clientId}`, 'utf8');

/** Clients whose unwrapped secret is remembered (bench/auth: the PKCS#11 unwrap was ~6% of a client_credentials grant's time). */
const UNWRAPPED_SECRETS_MAX = 1000;
/**
 * How long a loaded client is answered from memory: every token request loads its client, and at a
 * few hundred grants per second one query in six was this one. A registration through this replica
 * takes effect at once; one through another replica after at most this long.
 */
export const CLIENT_REREAD_MS = 1000;

interface ClientRow {
  metadata: Record<string, unknown>;
  secret_wrapped: Buffer | null;
}

/**
 * Registered OAuth clients in PostgreSQL. A client secret is stored only wrapped by the HSM KEK (the
 * client id bound as additional data) and unwrapped when oidc-provider loads the client to
 * authenticate it; it is never logged or returned.
 */
@Injectable()
export class ClientRepository {
  /**
   * The last unwrapped secret of each client, keyed by client id and valid only while the stored
   * wrapped value is byte-for-byte the same: a new secret (a new wrapping) is unwrapped again. The
   * plaintext is no longer-lived than before: oidc-provider keeps every loaded client, secret
   * included, in its own cache.
   */
  private readonly secrets = new Map<string, { wrapped: Buffer; secret: string }>();
  /** Clients loaded in the last CLIENT_REREAD_MS (found ones only, at most UNWRAPPED_SECRETS_MAX). */
  private readonly recent = new Map<string, { until: number; payload: AdapterPayload }>();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(KEY_ENCRYPTION_KEY) private readonly kek: KeyEncryptionKey,
  ) {}

  /** Registers or replaces a client (validated by `clientRegistrationSchema`). */
  async save(client: ClientRegistration): Promise<void> {
    const wrapped = client.client_secret ? this.kek.wrap(Buffer.from(client.client_secret, 'utf8'), secretAad(client.client_id)) : null;
    await this.runtime.dataSource.query(
      `INSERT INTO oauth_clients (client_id, tenant_id, metadata, roles, secret_wrapped, kek_id)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6)
       ON CONFLICT (client_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, metadata = EXCLUDED.metadata, roles = EXCLUDED.roles,
         secret_wrapped = EXCLUDED.secret_wrapped, kek_id = EXCLUDED.kek_id, updated_at = clock_timestamp()`,
      [client.client_id, client.tenant_id, JSON.stringify(providerMetadata(client)), client.roles, wrapped, wrapped ? this.kek.id : null],
    );
    this.recent.delete(client.client_id);
  }

  /** The client's metadata as oidc-provider expects it, secret included, or undefined. */
  async find(clientId: string): Promise<AdapterPayload | undefined> {
    if (clientId.length > 128) return undefined;
    const now = Date.now();
    const recent = this.recent.get(clientId);
    if (recent && recent.until > now) return { ...recent.payload };
    const [row] = await this.runtime.dataSource.query<ClientRow[]>(
      'SELECT metadata, secret_wrapped FROM oauth_clients WHERE client_id = $1',
      [clientId],
    );
    if (!row) return undefined;
    const secret = row.secret_wrapped ? this.secretOf(clientId, row.secret_wrapped) : undefined;
    const payload = { ...row.metadata, ...(secret ? { client_secret: secret } : {}) };
    this.recent.delete(clientId);
    if (this.recent.size >= UNWRAPPED_SECRETS_MAX) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(clientId, { until: now + CLIENT_REREAD_MS, payload });
    return { ...payload };
  }

  private secretOf(clientId: string, wrapped: Buffer): string {
    const known = this.secrets.get(clientId);
    if (known?.wrapped.equals(wrapped)) return known.secret;
    const secret = this.kek.unwrap(wrapped, secretAad(clientId)).toString('utf8');
    this.secrets.delete(clientId);
    if (this.secrets.size >= UNWRAPPED_SECRETS_MAX) this.secrets.delete(this.secrets.keys().next().value!);
    this.secrets.set(clientId, { wrapped: Buffer.from(wrapped), secret });
    return secret;
  }
}
