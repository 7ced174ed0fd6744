import { parseUpstreamIdps } from './upstream-idps.config';
import { federationCallbackUri } from './upstream-idps';

const idp = {
  id: 'corp',
  tenant_id: 'acme',
  display_name: 'Corp',
  issuer: 'https://login.corp.example',
  client_id: 'traceo',
  client_secret: 'x'.repeat(32),
};

describe('TRACEO_AUTH_UPSTREAM_IDPS', () => {
  it('accepts an IdP and fills in end-user only, openid scope and amr mfa as defaults', () => {
    expect(parseUpstreamIdps(JSON.stringify([idp]))).toEqual([
      expect.objectContaining({
        default_roles: ['end-user'],
        role_mapping: {},
        scope: 'openid',
        mfa_amr_values: ['mfa'],
        token_endpoint_auth_method: 'client_secret_basic',
      }),
    ]);
  });

  it.each([
    [{ ...idp, issuer: 'http://login.corp.example' }, /^0\.issuer must be https/],
    [{ ...idp, issuer: 'https://login.corp.example/?x=1' }, /^0\.issuer must not have a query/],
    [{ ...idp, id: 'Corp IdP' }, /^0\.id /],
    [{ ...idp, client_secret: 'short' }, /^0\.client_secret must be at least 16/],
    [{ ...idp, scope: 'profile' }, /^0\.scope must include openid/],
    [{ ...idp, role_mapping: { admins: ['service'] } }, /^0\.role_mapping\.admins\.0 cannot be granted through federation/],
    [{ ...idp, role_mapping: { admins: ['root'] } }, /^0\.role_mapping\.admins\.0 /],
    [{ ...idp, default_roles: ['god'] }, /^0\.default_roles\.0 /],
    [{ ...idp, surprise: true }, /surprise/],
  ])('names the bad field of %j', (entry, message) => {
    expect(() => parseUpstreamIdps(JSON.stringify([entry]))).toThrow(message);
  });

  it('refuses text that is not JSON and the same IdP twice in a tenant', () => {
    expect(() => parseUpstreamIdps('{')).toThrow('must be a JSON array');
    expect(() => parseUpstreamIdps(JSON.stringify([idp, idp]))).toThrow('upstream IdP acme/corp is configured twice');
  });

  it('allows http only for a loopback development issuer', () => {
    expect(parseUpstreamIdps(JSON.stringify([{ ...idp, issuer: 'http://127.0.0.1:9000' }]))[0]!.issuer).toBe('http://127.0.0.1:9000');
  });

  it('puts the callback beside the provider: <issuer without /oidc>/federation/callback', () => {
    expect(federationCallbackUri('https://auth.example.com/oidc')).toBe('https://auth.example.com/federation/callback');
    expect(federationCallbackUri('https://example.com/auth/oidc')).toBe('https://example.com/auth/federation/callback');
  });
});
