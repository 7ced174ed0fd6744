import { clientRegistrationSchema, parseClientRegistrations, redirectUriProblem } from './client-policy';

describe('client registration policy', () => {
  it.each([
    ['https://app.example.com/callback', 'web'],
    ['https://app.example.com:8443/cb?tenant=a', 'web'],
    ['http://127.0.0.1/callback', 'native'],
    ['http://[::1]:8080/callback', 'native'],
    ['com.example.app:/oauth2redirect', 'native'],
    ['https://app.example.com/callback', 'native'],
  ] as const)('accepts %s for a %s client', (uri, type) => {
    expect(redirectUriProblem(uri, type)).toBeUndefined();
  });

  it.each([
    ['http://app.example.com/callback', 'web', /https/],
    ['http://127.0.0.1/callback', 'web', /https/],
    ['http://localhost/callback', 'native', /loopback IP literal/],
    ['https://*.example.com/callback', 'web', /wildcard/],
    ['https://app.example.com/callback#x', 'web', /fragment/],
    ['https://user:pw@app.example.com/callback', 'web', /userinfo/],
    ['/callback', 'web', /absolute/],
    ['myapp:/callback', 'native', /reverse-domain/],
    ['javascript:alert(1)', 'native', /reverse-domain/],
  ] as const)('refuses %s for a %s client', (uri, type, message) => {
    expect(redirectUriProblem(uri, type)).toMatch(message);
  });

  const base = { client_id: 'web-app', tenant_id: 'acme', client_secret: 's'.repeat(32), redirect_uris: ['https://app.example.com/cb'] };

  it('applies code flow defaults: authorization_code + refresh_token, confidential, web', () => {
    expect(clientRegistrationSchema.parse(base)).toMatchObject({
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'web',
      dpop_bound_access_tokens: false,
    });
  });

  it.each([
    ['implicit', { grant_types: ['implicit'] }],
    ['password', { grant_types: ['password'] }],
    [
      'a public machine client',
      { grant_types: ['client_credentials'], token_endpoint_auth_method: 'none', client_secret: undefined, redirect_uris: [] },
    ],
    ['a code client without redirect URIs', { redirect_uris: [] }],
    ['a short secret', { client_secret: 'short' }],
    ['a secret on a public client', { token_endpoint_auth_method: 'none' }],
    ['roles on a user-facing client', { roles: ['platform-admin'] }],
    ['an unknown role', { grant_types: ['client_credentials'], redirect_uris: [], roles: ['root'] }],
    ['an unknown field', { response_types: ['token'] }],
  ])('refuses %s', (_case, change) => {
    expect(clientRegistrationSchema.safeParse({ ...base, ...change }).success).toBe(false);
  });

  it('parses TRACEO_AUTH_CLIENTS and names problems without echoing secrets', () => {
    expect(parseClientRegistrations(JSON.stringify([base]))).toHaveLength(1);
    expect(() => parseClientRegistrations(JSON.stringify([base, base]))).toThrow(/registered twice/);
    expect(() => parseClientRegistrations('{')).toThrow(/JSON array/);
    const secret = 'x'.repeat(40);
    expect(() => parseClientRegistrations(JSON.stringify([{ ...base, client_secret: secret, redirect_uris: ['http://a.test/'] }]))).toThrow(
      /redirect_uris\.0 must be an https URI/,
    );
    try {
      parseClientRegistrations(JSON.stringify([{ ...base, client_secret: secret, redirect_uris: ['http://a.test/'] }]));
    } catch (error) {
      expect(String(error)).not.toContain(secret);
    }
  });
});
