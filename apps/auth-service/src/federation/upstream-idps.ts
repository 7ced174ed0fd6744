import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import * as oidc from 'openid-client';
import type { AuthConfig } from '../auth-service.config';
import { FederationError } from './federation.errors';
import type { UpstreamIdp } from './upstream-idps.config';

/** Upstream calls (discovery, JWKS, token) give up after this long. */
const UPSTREAM_TIMEOUT_SECONDS = 10;

/** Where every upstream IdP sends the browser back: `<issuer without /oidc>/federation/callback`. */
export function federationCallbackUri(issuer: string): string {
  const url = new URL(issuer);
  return `${url.origin}${url.pathname.replace(/\/oidc$/, '').replace(/\/$/, '')}/federation/callback`;
}

/**
 * The upstream IdPs of TRACEO_AUTH_UPSTREAM_IDPS and their openid-client configurations, discovered
 * on first use and kept (a failed discovery is retried on the next sign-in). Secrets come from the
 * configuration and live only in memory, as TRACEO_AUTH_CLIENTS' do before they are KEK-wrapped.
 */
@Injectable()
export class UpstreamIdps {
  readonly callbackUri: string;
  private readonly idps: readonly UpstreamIdp[];
  private readonly configurations = new Map<string, Promise<oidc.Configuration>>();

  constructor(@Inject(SERVICE_RUNTIME) runtime: ServiceRuntime<AuthConfig>) {
    this.idps = runtime.config.TRACEO_AUTH_UPSTREAM_IDPS ?? [];
    this.callbackUri = federationCallbackUri(runtime.config.TRACEO_AUTH_ISSUER);
  }

  /** The IdPs a tenant's sign-in page offers. */
  forTenant(tenantId: string): readonly UpstreamIdp[] {
    return this.idps.filter((idp) => idp.tenant_id === tenantId);
  }

  find(tenantId: string, idpId: string): UpstreamIdp | undefined {
    return this.idps.find((idp) => idp.tenant_id === tenantId && idp.id === idpId);
  }

  async configuration(idp: UpstreamIdp): Promise<oidc.Configuration> {
    const key = `${idp.tenant_id}/${idp.id}`;
    let pending = this.configurations.get(key);
    if (!pending) {
      pending = discover(idp);
      this.configurations.set(key, pending);
      pending.catch(() => this.configurations.delete(key));
    }
    try {
      return await pending;
    } catch {
      throw new FederationError('AUTH.FEDERATION_UPSTREAM_UNAVAILABLE');
    }
  }
}

async function discover(idp: UpstreamIdp): Promise<oidc.Configuration> {
  const auth = !idp.client_secret
    ? oidc.None()
    : idp.token_endpoint_auth_method === 'client_secret_post'
      ? oidc.ClientSecretPost(idp.client_secret)
      : oidc.ClientSecretBasic(idp.client_secret);
  const loopbackHttp = new URL(idp.issuer).protocol === 'http:';
  const configuration = await oidc.discovery(new URL(idp.issuer), idp.client_id, undefined, auth, {
    timeout: UPSTREAM_TIMEOUT_SECONDS,
    // Non-repudiation checks: the ID token's signature is verified against the upstream's JWKS even
    // though it comes straight from the token endpoint (openid-client skips that by default).
    execute: loopbackHttp ? [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks] : [oidc.enableNonRepudiationChecks],
  });
  configuration.timeout = UPSTREAM_TIMEOUT_SECONDS;
  return configuration;
}
