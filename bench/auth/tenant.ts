// The bench's tenant on the real auth-service: a platform-admin client from configuration, and the
// confidential app client and end-user it registers through the service's API (as an operator would).
import { randomBytes } from 'node:crypto';
import { basicCredentials, postJson, TokenClient } from './http-load';
import type { BenchAuthService } from './service-process';

export interface BenchTenant {
  readonly id: string;
  readonly admin: { readonly id: string; readonly secret: string };
  readonly app: { readonly id: string; readonly secret: string };
  readonly redirect: string;
  readonly user: { readonly username: string; readonly password: string };
}

export function benchTenant(run: string): BenchTenant {
  return {
    id: `bench-${run}`,
    admin: { id: `bench-admin-${run}`, secret: randomBytes(24).toString('hex') },
    app: { id: `bench-app-${run}`, secret: randomBytes(24).toString('hex') },
    redirect: 'https://bench.traceo.test/callback',
    user: { username: 'bench-user@example.com', password: randomBytes(12).toString('hex') },
  };
}

/** TRACEO_AUTH_CLIENTS for startAuthService: the tenant's platform admin. */
export function adminClients(tenant: BenchTenant): Record<string, unknown>[] {
  return [
    {
      client_id: tenant.admin.id,
      tenant_id: tenant.id,
      client_secret: tenant.admin.secret,
      grant_types: ['client_credentials'],
      roles: ['platform-admin'],
    },
  ];
}

/** Registers the app client (with these grant types and roles) and the end-user through the API, as the platform admin. */
export async function registerAppAndUser(
  auth: BenchAuthService,
  tenant: BenchTenant,
  client: { readonly grant_types: readonly string[]; readonly roles?: readonly string[] },
): Promise<void> {
  const admin = new TokenClient(`${auth.issuer}/token`, basicCredentials(tenant.admin.id, tenant.admin.secret), 1);
  const granted = await admin.post({ grant_type: 'client_credentials' });
  admin.close();
  if (granted.status !== 200) throw new Error(`admin token: ${granted.status} ${JSON.stringify(granted.body)}`);
  const token = String(granted.body['access_token']);
  const base = `${auth.origin}/v1/auth/tenants/${tenant.id}`;
  await postJson(`${base}/clients`, token, {
    client_id: tenant.app.id,
    client_name: 'bench app',
    client_secret: tenant.app.secret,
    ...client,
    redirect_uris: [tenant.redirect],
  });
  const { username, password } = tenant.user;
  await postJson(`${base}/accounts`, token, { username, password, roles: ['end-user'] });
}
