import { isIP } from 'node:net';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { PLATFORM_TENANT } from '@traceo/contracts';
import { EventPublisher, SERVICE_RUNTIME, type AuditEntry, type ServiceRuntime } from '@traceo/service-kit';
import type Provider from 'oidc-provider';
import type { errors, KoaContextWithOIDC } from 'oidc-provider';
import { ClientAddress } from '../interactions/client-address';
import { OidcProviderHolder } from './oidc-provider.holder';
import { REUSE_DETAILS, revokeGrantFamily } from './pg-oidc.adapter';

type ProviderError = errors.OIDCProviderError;
const REUSED: ReadonlyMap<string, 'refresh_token' | 'authorization_code'> = new Map([
  [REUSE_DETAILS['RefreshToken']!, 'refresh_token'],
  [REUSE_DETAILS['AuthorizationCode']!, 'authorization_code'],
]);

/**
 * Turns oidc-provider's events into audit records (token issued, refused, grant revoked, sign-out,
 * refused authorization requests) and handles replay: a used refresh token or code that comes back
 * revokes its whole grant family and records `auth.refresh-token-reused` (audit record and security
 * event) in one PostgreSQL transaction with the revocation.
 */
@Injectable()
export class ProviderEventsListener implements OnModuleInit {
  /** The grant oidc-provider revoked in a request, by request (weakly held). */
  private readonly revokedIn = new WeakMap<object, string>();

  constructor(
    private readonly providers: OidcProviderHolder,
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly publisher: EventPublisher,
    private readonly address: ClientAddress,
  ) {}

  onModuleInit(): void {
    // Every instance the holder swaps in (signing-key reloads) gets the same listeners.
    this.providers.onEach((provider) => this.attach(provider));
  }

  private attach(provider: Provider): void {
    const emitter = provider as unknown as { on(event: string, listener: (...args: never[]) => void): void };
    const on = (event: string, handler: (ctx: KoaContextWithOIDC, ...rest: never[]) => Promise<void>) =>
      emitter.on(event, (ctx: KoaContextWithOIDC, ...rest: never[]) => {
        handler(ctx, ...rest).catch((error: unknown) =>
          this.runtime.logger.error({ err: error, event }, 'could not record an oidc-provider event'),
        );
      });
    on('grant.success', (ctx) => this.tokenIssued(ctx));
    on('grant.error', (ctx, error: ProviderError) => this.refused(ctx, 'auth.token.refused', error));
    on('authorization.error', (ctx, error: ProviderError) => this.refused(ctx, 'auth.authorization.refused', error));
    on('pushed_authorization_request.error', (ctx, error: ProviderError) => this.refused(ctx, 'auth.authorization.refused', error));
    on('revocation.error', (ctx, error: ProviderError) => this.refused(ctx, 'auth.revocation.refused', error));
    on('introspection.error', (ctx, error: ProviderError) => this.refused(ctx, 'auth.introspection.refused', error));
    on('end_session.error', (ctx, error: ProviderError) => this.refused(ctx, 'auth.sign-out.refused', error));
    on('grant.revoked', (ctx, grantId: string) => {
      // A replayed code is refused after oidc-provider revoked its grant (before it loads the code as
      // the request's entity): the reuse handler below takes the grant id from here.
      this.revokedIn.set(ctx, grantId);
      return this.record(ctx, { action: 'auth.grant.revoked', status: 'success', resource: { type: 'oauth-grant', id: grantId } });
    });
    on('end_session.success', (ctx) => this.record(ctx, { action: 'auth.sign-out', status: 'success', resource: { type: 'session' } }));
    emitter.on('server_error', (_ctx: unknown, error: unknown) => this.runtime.logger.error({ err: error }, 'oidc-provider server error'));
  }

  private async tokenIssued(ctx: KoaContextWithOIDC): Promise<void> {
    const given = ctx.oidc.params?.['grant_type'];
    const grantType = typeof given === 'string' ? given : 'unknown';
    const accountId = ctx.oidc.account?.accountId;
    await this.record(ctx, {
      action: grantType === 'refresh_token' ? 'auth.token.refreshed' : 'auth.token.issued',
      status: 'success',
      resource: { type: 'oauth-grant', ...(ctx.oidc.entities.Grant?.jti ? { id: ctx.oidc.entities.Grant.jti } : {}) },
      ...(accountId ? { subjectId: accountId } : {}),
      details: { grantType, rotations: ctx.oidc.entities.RefreshToken?.rotations ?? 0 },
    });
  }

  private async refused(ctx: KoaContextWithOIDC, action: string, error: ProviderError): Promise<void> {
    const credential = error.error_detail ? REUSED.get(error.error_detail) : undefined;
    if (credential && action === 'auth.token.refused') return this.reused(ctx, credential, error);
    await this.record(ctx, {
      action,
      status: error.error === 'invalid_client' ? 'denied' : 'failure',
      resultCode: error.error ?? 'server_error',
      resource: { type: 'oauth-client', ...(this.clientId(ctx) ? { id: this.clientId(ctx) } : {}) },
      details: {
        description: (error.error_detail ?? error.error_description ?? '').slice(0, 256),
        // What an investigator of a refused authorization request needs most: where the tokens were to go.
        ...(action === 'auth.authorization.refused' ? requestedRedirectUri(ctx) : {}),
      },
    });
  }

  /** A used refresh token or code came back: the family is revoked (again, to be sure) with the records, in one transaction. */
  private async reused(ctx: KoaContextWithOIDC, credential: 'refresh_token' | 'authorization_code', error: ProviderError): Promise<void> {
    const token = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AuthorizationCode;
    const grantId = token?.grantId ?? this.revokedIn.get(ctx);
    const accountId = token?.accountId;
    const clientId = this.clientId(ctx) ?? 'unknown';
    const tenantId = this.tenantOf(ctx);
    const { ip, userAgent } = this.origin(ctx);
    await this.runtime.dataSource.transaction(async (manager) => {
      const revokedEntries = grantId ? await revokeGrantFamily(manager, grantId) : 0;
      const rotations = ctx.oidc.entities.RefreshToken?.rotations;
      const security = this.publisher.event('traceo.auth.refresh-token-reused.v1', tenantId, {
        occurredAt: new Date().toISOString(),
        credential,
        clientId,
        ...(accountId ? { accountId } : {}),
        ...(grantId ? { grantId } : {}),
        ...(typeof rotations === 'number' ? { rotations } : {}),
        revokedEntries,
        ...(ip ? { ip } : {}),
        ...(userAgent ? { userAgent } : {}),
      });
      await this.publisher.publish([security], manager);
      await this.publisher.audit(
        {
          ...this.actor(ctx, accountId),
          action: 'auth.refresh-token-reused',
          resource: { type: 'oauth-grant', ...(grantId ? { id: grantId } : {}) },
          status: 'denied',
          resultCode: error.error,
          ...(accountId ? { subjectId: accountId } : {}),
          ...(ip ? { ip } : {}),
          ...(userAgent ? { userAgent } : {}),
          details: { credential, clientId, revokedEntries, family: 'revoked' },
        },
        { tenantId, manager },
      );
    });
    this.runtime.relay.notify();
  }

  private async record(ctx: KoaContextWithOIDC, entry: Omit<AuditEntry, 'actor'>): Promise<void> {
    const { ip, userAgent } = this.origin(ctx);
    await this.publisher.audit(
      {
        ...this.actor(ctx, ctx.oidc.account?.accountId),
        ...entry,
        ...(ip ? { ip } : {}),
        ...(userAgent ? { userAgent } : {}),
        details: { clientId: this.clientId(ctx), ...entry.details },
      },
      { tenantId: this.tenantOf(ctx) },
    );
  }

  private actor(ctx: KoaContextWithOIDC, accountId: string | undefined): Pick<AuditEntry, 'actor'> {
    if (accountId) return { actor: { type: 'user', id: accountId } };
    const clientId = this.clientId(ctx);
    return { actor: clientId ? { type: 'api-client', id: clientId } : { type: 'system', id: 'anonymous' } };
  }

  private clientId(ctx: KoaContextWithOIDC): string | undefined {
    return ctx.oidc.client?.clientId?.slice(0, 128);
  }

  private tenantOf(ctx: KoaContextWithOIDC): string {
    const tenant = ctx.oidc.client?.['tenant_id'];
    return typeof tenant === 'string' ? tenant : PLATFORM_TENANT;
  }

  private origin(ctx: KoaContextWithOIDC): { ip?: string; userAgent?: string } {
    const ip = this.address.of(ctx.req);
    const userAgent = ctx.get('user-agent');
    return { ...(ip && isIP(ip) ? { ip } : {}), ...(userAgent ? { userAgent: userAgent.slice(0, 1024) } : {}) };
  }
}

/** The `redirect_uri` an authorization request asked for, as sent (at most 512 characters), when it had one. */
function requestedRedirectUri(ctx: KoaContextWithOIDC): { redirectUri?: string } {
  const value = ctx.oidc?.params?.['redirect_uri'];
  return typeof value === 'string' && value.length > 0 ? { redirectUri: value.slice(0, 512) } : {};
}
