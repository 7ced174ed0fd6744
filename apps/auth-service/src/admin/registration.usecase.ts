import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { EventPublisher, RequestValidationError, SERVICE_RUNTIME, type AuditEntry, type ServiceRuntime } from '@traceo/service-kit';
import type { Role } from '@traceo/security';
import { AccountRepository } from '../accounts/account.repository';
import { clientRegistrationSchema, type ClientRegistration } from '../clients/client-policy';
import { ClientRepository } from '../clients/client.repository';
import { AccountExistsError, ClientExistsError, ClientNotFoundError } from './admin.errors';

export type Actor = AuditEntry['actor'];

/** What the API shows of a client: its metadata, never its secret. */
export type ClientView = Omit<ClientRegistration, 'client_secret'>;

const UNIQUE_VIOLATION = '23505';
const isUniqueViolation = (error: unknown) => (error as { code?: unknown }).code === UNIQUE_VIOLATION;

/**
 * Registers OAuth clients and local accounts for a tenant (platform admins). A confidential client
 * without a given secret gets a generated 256-bit one, returned once in the response (RFC 7591 §3.2.1)
 * and stored only wrapped by the HSM KEK. Every registration is an audit record.
 */
@Injectable()
export class RegistrationUseCase {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly clients: ClientRepository,
    private readonly accounts: AccountRepository,
    private readonly publisher: EventPublisher,
  ) {}

  async registerClient(
    tenantId: string,
    input: Readonly<Record<string, unknown>>,
    actor: Actor,
  ): Promise<ClientView & { client_secret?: string }> {
    const method = typeof input['token_endpoint_auth_method'] === 'string' ? input['token_endpoint_auth_method'] : 'client_secret_basic';
    const generated =
      method.startsWith('client_secret_') && input['client_secret'] === undefined ? randomBytes(32).toString('base64url') : undefined;
    const parsed = clientRegistrationSchema.safeParse({
      ...input,
      tenant_id: tenantId,
      ...(generated ? { client_secret: generated } : {}),
    });
    if (!parsed.success)
      throw new RequestValidationError('the client registration does not meet the policy', {
        issues: parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`),
      });
    const client = parsed.data;
    const [existing] = await this.runtime.dataSource.query<unknown[]>('SELECT 1 FROM oauth_clients WHERE client_id = $1', [
      client.client_id,
    ]);
    if (existing) throw new ClientExistsError(`client ${client.client_id} is already registered`);
    await this.clients.save(client);
    const { client_secret: secret, ...view } = client;
    await this.publisher.audit(
      {
        actor,
        action: 'auth.client.registered',
        resource: { type: 'oauth-client', id: client.client_id },
        status: 'success',
        after: { ...view, client_secret: secret ? '(set)' : undefined },
      },
      { tenantId },
    );
    return generated ? { ...view, client_secret: generated } : view;
  }

  async findClient(tenantId: string, clientId: string): Promise<ClientView> {
    const [row] = await this.runtime.dataSource.query<{ metadata: Record<string, unknown>; roles: Role[] }[]>(
      'SELECT metadata, roles FROM oauth_clients WHERE client_id = $1 AND tenant_id = $2',
      [clientId, tenantId],
    );
    if (!row) throw new ClientNotFoundError(`client ${clientId} is not registered for this tenant`);
    const {
      tenant_id: _tenant,
      traceo_roles: _roles,
      response_types: _types,
      id_token_signed_response_alg: _alg,
      ...metadata
    } = row.metadata;
    return { ...metadata, tenant_id: tenantId, roles: row.roles } as ClientView;
  }

  async createAccount(
    tenantId: string,
    input: { username: string; password: string; roles: Role[] },
    actor: Actor,
  ): Promise<{ accountId: string; tenantId: string; username: string; roles: readonly Role[] }> {
    try {
      const account = await this.accounts.create({ tenantId, ...input });
      await this.publisher.audit(
        {
          actor,
          action: 'auth.account.created',
          resource: { type: 'account', id: account.accountId },
          subjectId: account.accountId,
          status: 'success',
          after: { username: account.username, roles: account.roles },
        },
        { tenantId },
      );
      return { accountId: account.accountId, tenantId, username: account.username, roles: account.roles };
    } catch (error) {
      if (isUniqueViolation(error)) throw new AccountExistsError('an account with this username exists in the tenant');
      throw error;
    }
  }
}
