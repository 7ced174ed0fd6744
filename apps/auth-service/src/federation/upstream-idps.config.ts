import { isValidTenantId } from '@traceo/contracts';
import { ROLES, type Role } from '@traceo/security';
import { z } from 'zod';

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** Roles an upstream IdP can never confer: machines sign in with client credentials, not through a browser. */
const NEVER_FEDERATED: ReadonlySet<Role> = new Set(['service']);

const role = z.enum(ROLES).refine((value) => !NEVER_FEDERATED.has(value), 'cannot be granted through federation');

/** An upstream issuer: https (http only on a loopback host, for development and tests), no query or fragment. */
const issuer = z.string().superRefine((value, context) => {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url) return context.addIssue({ code: 'custom', message: 'must be an absolute URL' });
  if (url.search || url.hash || url.username || url.password)
    context.addIssue({ code: 'custom', message: 'must not have a query, fragment or credentials' });
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))
    context.addIssue({ code: 'custom', message: 'must be https (http only on 127.0.0.1 or localhost)' });
});

export const upstreamIdpSchema = z
  .object({
    /** Stable identifier in URLs and audit records, unique per tenant. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 of a-z 0-9 -'),
    tenant_id: z.string().refine(isValidTenantId, 'must be a valid tenant id'),
    /** Shown on the sign-in button: "Sign in with <display_name>". */
    display_name: z.string().min(1).max(64),
    issuer,
    client_id: z.string().min(1).max(255),
    /** Secret; without one Traceo is a public client of the upstream (PKCE still applies). */
    client_secret: z.string().min(16, 'must be at least 16 characters').max(1024).optional(),
    token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    scope: z
      .string()
      .default('openid')
      .refine((value) => value.split(' ').includes('openid'), 'must include openid'),
    /** ID-token claim holding the upstream's groups or roles (a string or an array of strings). */
    roles_claim: z.string().min(1).max(128).optional(),
    /** Upstream claim value → Traceo roles. Only values listed here confer anything beyond `default_roles`. */
    role_mapping: z.record(z.string().min(1).max(256), z.array(role).max(ROLES.length)).default({}),
    /** Roles every account of this IdP has. */
    default_roles: z.array(role).max(ROLES.length).default(['end-user']),
    /**
     * `amr` values (RFC 8176) by which the upstream asserts a multi-factor sign-in that Traceo accepts
     * instead of its own TOTP step. Empty: Traceo's TOTP is always asked when the roles require MFA.
     */
    mfa_amr_values: z.array(z.string().min(1).max(64)).max(16).default(['mfa']),
  })
  .strict();

export type UpstreamIdp = z.infer<typeof upstreamIdpSchema>;

/** Parses TRACEO_AUTH_UPSTREAM_IDPS (a JSON array); the error names the offending entry and field. */
export function parseUpstreamIdps(text: string): UpstreamIdp[] {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    throw new Error('must be a JSON array of upstream identity providers');
  }
  const result = z.array(upstreamIdpSchema).max(100).safeParse(input);
  if (!result.success) throw new Error(result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; '));
  const keys = result.data.map((idp) => `${idp.tenant_id}/${idp.id}`);
  const duplicate = keys.find((key, index) => keys.indexOf(key) !== index);
  if (duplicate) throw new Error(`upstream IdP ${duplicate} is configured twice`);
  return result.data;
}
