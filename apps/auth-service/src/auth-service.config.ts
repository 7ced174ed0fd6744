import { pkcs11ConfigShape } from '@traceo/hsm';
import { baseConfigSchema } from '@traceo/service-kit';
import { z } from 'zod';
import { parseClientRegistrations } from './clients/client-policy';
import { parseUpstreamIdps } from './federation/upstream-idps.config';

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An issuer identifier (RFC 8414 §2): https, no query or fragment; http only for a loopback development issuer. */
function issuerProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute https:// URL';
  }
  if (url.search || url.hash || value.includes('#') || value.includes('?')) return 'must not have a query or fragment';
  if (url.username || url.password) return 'must not carry credentials';
  if (value.endsWith('/')) return 'must not end with a slash';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return 'must be an https:// URL (http:// only for 127.0.0.1 or localhost)';
}

export const authConfigSchema = baseConfigSchema.extend({
  /**
   * The issuer identifier (`iss`). The provider answers under the issuer's path on this service
   * (`/oidc` by default: `https://auth.example.com/oidc`), so discovery is `<issuer>/.well-known/openid-configuration`.
   */
  TRACEO_AUTH_ISSUER: z.string({ error: 'is required' }).superRefine((value, context) => {
    const problem = issuerProblem(value);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  }),
  /**
   * Resource servers (RFC 8707 resource indicators) access tokens can be issued for, comma-separated
   * absolute URIs; the first is the default when a client asks for none. Access tokens carry it as `aud`.
   */
  TRACEO_AUTH_RESOURCES: z
    .string()
    .default('urn:traceo:api')
    .transform((value) => value.split(',').map((entry) => entry.trim()))
    .refine(
      (values) => values.length > 0 && values.every((value) => URL.canParse(value) && !value.includes('#')),
      'must be a comma-separated list of absolute URIs without fragments',
    ),
  /**
   * Clients registered from configuration (JSON array; docs/auth.md "Registering a client"). Each is
   * validated against the same policy as clients registered through the API. Client secrets are secret.
   */
  TRACEO_AUTH_CLIENTS: z
    .string()
    .transform((text, context) => {
      try {
        return parseClientRegistrations(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'must be a JSON array of clients' });
        return z.NEVER;
      }
    })
    .optional(),
  /**
   * Upstream enterprise IdPs users of a tenant may sign in with (JSON array; docs/auth.md "Federation").
   * Client secrets are secret.
   */
  TRACEO_AUTH_UPSTREAM_IDPS: z
    .string()
    .transform((text, context) => {
      try {
        return parseUpstreamIdps(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'must be a JSON array of upstream IdPs' });
        return z.NEVER;
      }
    })
    .optional(),
  /** Trust X-Forwarded-Proto/Host from the gateway (only behind Kong or another proxy that sets them). */
  TRACEO_AUTH_TRUST_PROXY: z.stringbool({ error: 'must be true or false' }).default(false),
  /** Days after which a new ES256 signing key is generated at start-up; the previous stays in the JWKS for verification. */
  TRACEO_AUTH_SIGNING_KEY_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /**
   * Where risk decisions before token issuance come from (docs/auth-risk.md): `kafka` asks the risk
   * service (request-reply) and falls back to the local policy at the deadline; `local` only uses the
   * local policy (no risk service deployed).
   */
  TRACEO_AUTH_RISK_DECISIONS: z.enum(['kafka', 'local'], { error: 'must be kafka or local' }).default('kafka'),
  /** How long a sign-in or refresh waits for the risk service before the local policy decides (milliseconds). */
  TRACEO_AUTH_RISK_DEADLINE_MS: z.coerce.number().int().min(5).max(5000).default(50),
  /**
   * Request header with the client's ISO 3166-1 country code, set by the gateway or CDN (e.g.
   * `cf-ipcountry`); believed only from TRACEO_TRUSTED_PROXIES. Unset: sessions record no country.
   */
  TRACEO_AUTH_COUNTRY_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name')
    .optional(),
  /** The HSM holding the key-encryption key that wraps signing keys, cookie keys and client secrets. */
  ...pkcs11ConfigShape,
});

export type AuthConfig = z.infer<typeof authConfigSchema>;
