import type { KeyEncryptionKey } from '@traceo/hsm';
import { PERMISSIONS } from '@traceo/security';
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { DataSource } from 'typeorm';
import type { AccountRepository } from '../accounts/account.repository';
import type { ClientRepository } from '../clients/client.repository';
import { errorPage, logoutPage, PAGE_CSP } from '../interactions/pages';
import { ACR_MFA, ACR_VALUES } from '../mfa';
import { PgOidcAdapter, revokeGrantFamily } from './pg-oidc.adapter';
import type { ProviderKeys } from './provider-keys';
import type { SignInRecord, TokenIssuanceHooks } from '../risk/token-issuance.hooks';

/** Lifetimes (seconds). */
export const TOKEN_LIFETIMES = Object.freeze({
  /** RFC 9700 §2.2.2/§4.10: short-lived access tokens. */
  accessToken: 15 * 60,
  /** RFC 9700 §4.14: refresh tokens rotate on every use; a family lives at most this long without use. */
  refreshToken: 30 * 24 * 3600,
  /** RFC 6749 §4.1.2 recommends at most 10 minutes; one is plenty for a back-channel exchange. */
  authorizationCode: 60,
  idToken: 15 * 60,
  interaction: 10 * 60,
  session: 12 * 3600,
  pushedAuthorizationRequest: 60,
});

/** Scopes a client may ask for besides those of resource servers. */
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile'] as const;
/** The scope of the Traceo APIs as a resource server: everything the token's roles permit. */
export const API_SCOPE = 'api';
/**
 * Every scope the Traceo APIs offer: `api`, and each permission by name (`crypto:encrypt`, `audit:read`,
 * …), with which a client asks for less. Roles grant, scopes narrow (libs/security effectivePermissions):
 * a token whose scope names permissions holds only those of its roles' permissions.
 */
export const RESOURCE_SCOPES = [API_SCOPE, ...PERMISSIONS].join(' ');

export interface ProviderDependencies {
  readonly issuer: string;
  readonly resources: readonly string[];
  readonly keys: ProviderKeys;
  readonly dataSource: DataSource;
  readonly kek: KeyEncryptionKey;
  readonly clients: ClientRepository;
  readonly accounts: AccountRepository;
  readonly trustProxy: boolean;
  /** Risk decision before a refresh, and the session record after a sign-in (src/risk). */
  readonly hooks: TokenIssuanceHooks;
}

/** Whether the authorization request asks for multi-factor authentication (`acr_values`, OpenID Connect Core §3.1.2.1). */
export function requestsMfa(acrValues: unknown): boolean {
  return typeof acrValues === 'string' && acrValues.split(' ').includes(ACR_MFA);
}

/**
 * oidc-provider's prompts, plus step-up: a request with `acr_values=urn:traceo:acr:mfa` whose session
 * was not established with a second factor goes back to sign-in, which then asks for one.
 */
function signInPolicy(): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  policy
    .get('login')!
    .checks.add(
      new interactionPolicy.Check('acr_mfa', 'multi-factor authentication requested', (ctx) =>
        requestsMfa(ctx.oidc.params?.['acr_values']) && ctx.oidc.session?.acr !== ACR_MFA
          ? interactionPolicy.Check.REQUEST_PROMPT
          : interactionPolicy.Check.NO_NEED_TO_PROMPT,
      ),
    );
  return policy;
}

/** Browser clients must send `state`, and `nonce` whenever they ask for an ID token (docs/auth.md). */
const requireState = (_ctx: KoaContextWithOIDC, value: string | undefined): void => {
  if (!value) throw new errors.InvalidRequest('missing required parameter state');
  if (value.length > 512) throw new errors.InvalidRequest('state must be at most 512 characters');
};
const requireNonce = (ctx: KoaContextWithOIDC, value: string | undefined): void => {
  const scope = typeof ctx.oidc.params?.['scope'] === 'string' ? ctx.oidc.params['scope'] : '';
  if (!value && scope.split(' ').includes('openid')) throw new errors.InvalidRequest('missing required parameter nonce');
  if (value && value.length > 512) throw new errors.InvalidRequest('nonce must be at most 512 characters');
};

/**
 * oidc-provider with Traceo's defaults (docs/auth.md lists each with its RFC): code flow only with
 * PKCE S256 for every client, exact redirect URIs, `state` and `nonce` required, `iss` in every
 * authorization response, ES256 JWT access tokens (RFC 9068) of 15 minutes for the requested
 * resource, refresh tokens rotated on every use with replay revoking the family, revocation,
 * introspection, RP-initiated logout, PAR, DPoP (per client), no dynamic registration.
 */
export function createProvider(deps: ProviderDependencies): Provider {
  const { resources, keys, accounts, clients, dataSource } = deps;
  const defaultResource = resources[0]!;

  const configuration: Configuration = {
    adapter: (name: string) =>
      name === 'Client'
        ? {
            find: (id: string) => clients.find(id),
            upsert: () => Promise.reject(new Error('clients are registered through auth-service, not by oidc-provider')),
            findByUid: () => Promise.resolve(undefined),
            findByUserCode: () => Promise.resolve(undefined),
            consume: () => Promise.resolve(),
            destroy: () => Promise.resolve(),
            revokeByGrantId: () => Promise.resolve(),
          }
        : new PgOidcAdapter(name, dataSource),
    clients: [],
    jwks: { keys: keys.signingKeys.map((key) => key.privateJwk) },
    cookies: {
      keys: [...keys.cookieKeys],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    async findAccount(_ctx, sub) {
      const account = await accounts.findById(sub);
      if (!account || account.disabled) return undefined;
      return {
        accountId: account.accountId,
        // Read again by extraTokenClaims for the access token of the same request (no second query).
        tenantId: account.tenantId,
        roles: [...account.roles],
        claims: () => ({
          sub: account.accountId,
          preferred_username: account.username,
          tenant_id: account.tenantId,
          roles: [...account.roles],
        }),
      };
    },
    // ID tokens always say how the user signed in (acr/amr: RFC 8176, src/mfa's values) and when.
    claims: { sid: null, openid: ['sub', 'acr', 'amr', 'auth_time'], profile: ['preferred_username', 'tenant_id', 'roles'] },
    scopes: [...OIDC_SCOPES],
    acrValues: [...ACR_VALUES],
    responseTypes: ['code'],
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    extraParams: { state: requireState, nonce: requireNonce },
    extraClientMetadata: { properties: ['tenant_id', 'traceo_roles'] },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    enabledJWA: {
      authorizationSigningAlgValues: ['ES256'],
      idTokenSigningAlgValues: ['ES256'],
      introspectionSigningAlgValues: ['ES256'],
      userinfoSigningAlgValues: ['ES256'],
      requestObjectSigningAlgValues: ['ES256', 'EdDSA'],
      clientAuthSigningAlgValues: ['ES256', 'EdDSA'],
      dPoPSigningAlgValues: ['ES256', 'EdDSA'],
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    ttl: {
      AccessToken: TOKEN_LIFETIMES.accessToken,
      ClientCredentials: TOKEN_LIFETIMES.accessToken,
      AuthorizationCode: TOKEN_LIFETIMES.authorizationCode,
      IdToken: TOKEN_LIFETIMES.idToken,
      RefreshToken: TOKEN_LIFETIMES.refreshToken,
      Grant: TOKEN_LIFETIMES.refreshToken,
      Interaction: TOKEN_LIFETIMES.interaction,
      Session: TOKEN_LIFETIMES.session,
      PushedAuthorizationRequest: TOKEN_LIFETIMES.pushedAuthorizationRequest,
    },
    // Called for every refresh grant after the token, client and account were checked and before
    // anything is consumed or issued: the risk decision refuses here (src/risk), else the token rotates.
    async rotateRefreshToken(ctx) {
      await deps.hooks.beforeRefresh(ctx);
      return true;
    },
    issueRefreshToken: (_ctx, client) => Promise.resolve(client.grantTypeAllowed('refresh_token')),
    // A refresh token outlives the browser session (30 days); RP-initiated logout revokes the grant.
    expiresWithSession: () => Promise.resolve(false),
    revokeGrantPolicy: () => true,
    async extraTokenClaims(ctx, token) {
      if (token.kind === 'ClientCredentials') {
        const client = ctx.oidc.client;
        return { tenant_id: client?.['tenant_id'], roles: client?.['traceo_roles'] ?? [] };
      }
      const accountId = (token as { accountId?: string }).accountId;
      if (!accountId) return undefined;
      // The grant it comes from: resource servers refuse it once that grant is revoked for a replayed
      // code or refresh token (libs/security RevokedGrants, fed by traceo.auth.refresh-token-reused.v1).
      const grantId = (token as { grantId?: string }).grantId;
      const grant = typeof grantId === 'string' ? { grant_id: grantId } : {};
      // How and when the user signed in (RFC 9068 §2.2.1), as in the ID token: from the authorization
      // code or refresh token being exchanged; a rotated refresh token copies the original's values.
      const grantedBy = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
      const authentication = {
        ...(grantedBy?.acr ? { acr: grantedBy.acr } : {}),
        ...(grantedBy?.amr ? { amr: [...grantedBy.amr] } : {}),
        ...(typeof grantedBy?.authTime === 'number' ? { auth_time: grantedBy.authTime } : {}),
      };
      // The code and refresh grants loaded (and checked) the account through findAccount moments ago.
      const loaded = ctx.oidc.account;
      if (loaded?.accountId === accountId && typeof loaded['tenantId'] === 'string' && Array.isArray(loaded['roles']))
        return { tenant_id: loaded['tenantId'], roles: [...(loaded['roles'] as string[])], ...authentication, ...grant };
      const account = await accounts.findById(accountId);
      if (!account) return undefined;
      return { tenant_id: account.tenantId, roles: [...account.roles], ...authentication, ...grant };
    },
    interactions: { policy: signInPolicy(), url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: false },
      clientCredentials: { enabled: true },
      // A client introspects and revokes only its own tokens.
      introspection: { enabled: true, allowedPolicy: (ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: (ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => (oneOf && oneOf.length > 0 ? oneOf[0]! : defaultResource),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (!resources.includes(resource)) throw new errors.InvalidTarget();
          return {
            scope: RESOURCE_SCOPES,
            audience: resource,
            accessTokenTTL: TOKEN_LIFETIMES.accessToken,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.set('content-security-policy', PAGE_CSP);
          ctx.type = 'html';
          ctx.body = logoutPage({ form, clientName: ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId });
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.set('content-security-policy', PAGE_CSP);
          ctx.type = 'html';
          ctx.body = errorPage({ title: 'Signed out', message: 'You have been signed out.' });
        },
      },
    },
    renderError: (ctx, out) => {
      // Browser-facing errors (no usable redirect URI): the spec error code and description, escaped; never a stack.
      ctx.set('content-security-policy', PAGE_CSP);
      ctx.type = 'html';
      ctx.body = errorPage({ title: 'Sign-in request refused', message: `${out.error}: ${out.error_description ?? ''}` });
    },
  };

  const provider = new Provider(deps.issuer, configuration);
  provider.proxy = deps.trustProxy;
  // RFC 6749 §5.2: a client using a grant type it is not registered for is `unauthorized_client`;
  // oidc-provider says `invalid_request` with this description, so the code is corrected here.
  provider.use(async (koa, next) => {
    await next();
    const body = koa.body as { error?: string; error_description?: string } | undefined;
    if (body?.error === 'invalid_request' && body.error_description === 'requested grant type is not allowed for this client')
      koa.body = { ...body, error: 'unauthorized_client' };
  });
  // A finished sign-in lands here (`resume`): the browser session now exists, so its context, handed
  // over by the sign-in pages as `traceo` in the interaction result, is recorded against its uid.
  provider.use(async (koa, next) => {
    await next();
    const ctx = koa as KoaContextWithOIDC;
    if (ctx.oidc?.route !== 'resume') return;
    const result = ctx.oidc.result as { login?: { accountId: string; acr?: string; amr?: string[] }; traceo?: SignInRecord } | undefined;
    const sessionId = ctx.oidc.session?.uid;
    if (result?.login && result.traceo && sessionId) await deps.hooks.signedIn(sessionId, result.login, result.traceo);
  });
  // Signing out ends what the session authorized: refresh tokens outlive the session (30 days), so
  // oidc-provider would keep their grants; the confirmed logout revokes them before the redirect.
  provider.use(async (koa, next) => {
    await next();
    const ctx = koa as KoaContextWithOIDC;
    if (ctx.oidc?.route !== 'end_session_confirm' || ctx.status !== 303 || !ctx.oidc.params?.['logout']) return;
    const authorizations: Record<string, { grantId?: string }> = ctx.oidc.session?.authorizations ?? {};
    for (const { grantId } of Object.values(authorizations)) if (grantId) await revokeGrantFamily(dataSource, grantId);
    const sessionId = ctx.oidc.session?.uid;
    if (sessionId) await deps.hooks.signedOut(sessionId);
  });
  return provider;
}
