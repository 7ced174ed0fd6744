import { isValidTenantId } from '@traceo/contracts';
import { ROLES } from '@traceo/security';
import { z } from 'zod';

/** Loopback IP literals a native app may redirect to (RFC 8252 §7.3; `localhost` is not recommended, §8.3). */
const LOOPBACK_IPS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]']);
/** A private-use URI scheme in reverse-domain form (RFC 8252 §7.1), e.g. `com.example.app:/callback`. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9][a-z0-9+-]*)+:$/;

/**
 * Why a redirect URI is not acceptable for a client of this application type, or undefined. URIs are
 * compared by exact string match at the authorization and token endpoints (oidc-provider), so this
 * only decides which strings may be registered: absolute, no fragment (RFC 6749 §3.1.2), no userinfo,
 * no wildcard; https for web clients; for native clients also loopback IP http URIs and private-use
 * schemes (RFC 8252 §7). Plain http elsewhere is refused (RFC 9700 §4.1, RFC 6749 §3.1.2.1).
 */
export function redirectUriProblem(value: string, applicationType: 'web' | 'native'): string | undefined {
  if (value.length > 2048) return 'is longer than 2048 characters';
  if (value.includes('*')) return 'must not contain a wildcard';
  if (value.includes('#')) return 'must not contain a fragment';
  if (/\s/.test(value)) return 'must not contain whitespace';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URI';
  }
  if (url.username || url.password) return 'must not contain userinfo';
  if (url.protocol === 'https:') return undefined;
  if (applicationType === 'native') {
    if (url.protocol === 'http:' && LOOPBACK_IPS.has(url.hostname)) return undefined;
    if (url.protocol !== 'http:' && PRIVATE_USE_SCHEME.test(url.protocol)) return undefined;
    return 'must be https, http on a loopback IP literal (127.0.0.1 or [::1]), or a reverse-domain private-use scheme';
  }
  return 'must be an https URI (web clients)';
}

const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;

/**
 * A client registration (RFC 7591 metadata names, plus `tenant_id` and `roles`), as given in
 * TRACEO_AUTH_CLIENTS. Implicit and password grants do not exist here; every code flow uses PKCE S256.
 */
export const clientRegistrationSchema = z
  .strictObject({
    client_id: z.string().regex(/^[a-z0-9][a-z0-9._-]{2,127}$/, 'must be 3-128 characters of a-z 0-9 . _ -'),
    tenant_id: z.string().refine(isValidTenantId, 'must be a tenant id'),
    client_name: z.string().min(1).max(128).optional(),
    application_type: z.enum(['web', 'native']).default('web'),
    grant_types: z.array(z.enum(GRANT_TYPES)).min(1).default(['authorization_code', 'refresh_token']),
    token_endpoint_auth_method: z.enum(AUTH_METHODS).default('client_secret_basic'),
    /** For client_secret_*: at least 32 characters. Stored only wrapped by the HSM key-encryption key. */
    client_secret: z.string().min(32).max(512).optional(),
    /** For private_key_jwt: the client's public keys. */
    jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
    redirect_uris: z.array(z.string()).max(32).default([]),
    post_logout_redirect_uris: z.array(z.string()).max(32).default([]),
    /** Roles carried by this client's own (client_credentials) tokens. */
    roles: z.array(z.enum(ROLES)).max(ROLES.length).default([]),
    /** RFC 9449 §5.2: access tokens of this client must be DPoP-bound. */
    dpop_bound_access_tokens: z.boolean().default(false),
    /** RFC 9126 §6: this client must use pushed authorization requests. */
    require_pushed_authorization_requests: z.boolean().default(false),
  })
  .superRefine((client, context) => {
    const problem = (path: string, message: string) => context.addIssue({ code: 'custom', path: [path], message });
    const usesCode = client.grant_types.includes('authorization_code');
    const confidential = client.token_endpoint_auth_method !== 'none';
    if (client.grant_types.includes('refresh_token') && !usesCode) problem('grant_types', 'refresh_token needs authorization_code');
    if (client.grant_types.includes('client_credentials') && !confidential)
      problem('grant_types', 'client_credentials needs a confidential client (token_endpoint_auth_method other than none)');
    if (usesCode && client.redirect_uris.length === 0) problem('redirect_uris', 'at least one is required for authorization_code');
    if (!usesCode && client.redirect_uris.length > 0) problem('redirect_uris', 'only clients using authorization_code redirect');
    for (const [index, uri] of client.redirect_uris.entries()) {
      const message = redirectUriProblem(uri, client.application_type);
      if (message) context.addIssue({ code: 'custom', path: ['redirect_uris', index], message });
    }
    for (const [index, uri] of client.post_logout_redirect_uris.entries()) {
      const message = redirectUriProblem(uri, client.application_type);
      if (message) context.addIssue({ code: 'custom', path: ['post_logout_redirect_uris', index], message });
    }
    const secretMethod = client.token_endpoint_auth_method.startsWith('client_secret_');
    if (secretMethod && !client.client_secret) problem('client_secret', `is required for ${client.token_endpoint_auth_method}`);
    if (!secretMethod && client.client_secret) problem('client_secret', `is not used with ${client.token_endpoint_auth_method}`);
    if (client.token_endpoint_auth_method === 'private_key_jwt' && !client.jwks) problem('jwks', 'is required for private_key_jwt');
    if (client.roles.length > 0 && !client.grant_types.includes('client_credentials'))
      problem('roles', 'only client_credentials clients carry roles of their own');
  });

export type ClientRegistration = z.output<typeof clientRegistrationSchema>;
export type ClientRegistrationInput = z.input<typeof clientRegistrationSchema>;

/** Parses TRACEO_AUTH_CLIENTS; messages name the client index and field, never a secret. */
export function parseClientRegistrations(text: string): ClientRegistration[] {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    throw new Error('must be a JSON array of client registrations');
  }
  const result = z.array(clientRegistrationSchema).max(1000).safeParse(input);
  if (!result.success) throw new Error(result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; '));
  const ids = result.data.map((client) => client.client_id);
  const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
  if (duplicate) throw new Error(`client_id ${duplicate} is registered twice`);
  return result.data;
}

/** The metadata oidc-provider sees (response type code only; ES256 ID tokens). */
export function providerMetadata(client: ClientRegistration): Record<string, unknown> {
  const usesCode = client.grant_types.includes('authorization_code');
  return {
    client_id: client.client_id,
    ...(client.client_name ? { client_name: client.client_name } : {}),
    application_type: client.application_type,
    grant_types: client.grant_types,
    response_types: usesCode ? ['code'] : [],
    token_endpoint_auth_method: client.token_endpoint_auth_method,
    ...(client.jwks ? { jwks: client.jwks } : {}),
    redirect_uris: client.redirect_uris,
    post_logout_redirect_uris: client.post_logout_redirect_uris,
    id_token_signed_response_alg: 'ES256',
    dpop_bound_access_tokens: client.dpop_bound_access_tokens,
    require_pushed_authorization_requests: client.require_pushed_authorization_requests,
    tenant_id: client.tenant_id,
    traceo_roles: client.roles,
  };
}
