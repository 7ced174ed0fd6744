import { loadConfig } from '@traceo/service-kit';
import { authConfigSchema } from './auth-service.config';

const env = {
  TRACEO_HTTP_PORT: '4101',
  TRACEO_DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  TRACEO_KAFKA_BROKERS: '127.0.0.1:9092',
  TRACEO_API_KEYS: `k:${'a'.repeat(32)}`,
  TRACEO_PKCS11_MODULE: process.execPath, // any existing file
  TRACEO_PKCS11_TOKEN_LABEL: 'traceo-dev',
  TRACEO_PKCS11_PIN: 'pin',
};

describe('auth-service configuration', () => {
  it('takes an https issuer, defaults the resource and parses configured clients', () => {
    const config = loadConfig(authConfigSchema, {
      ...env,
      TRACEO_AUTH_ISSUER: 'https://auth.example.com/oidc',
      TRACEO_AUTH_CLIENTS: JSON.stringify([
        { client_id: 'svc', tenant_id: 'acme', client_secret: 's'.repeat(32), grant_types: ['client_credentials'] },
      ]),
    });
    expect(config.TRACEO_AUTH_RESOURCES).toEqual(['urn:traceo:api']);
    expect(config.TRACEO_AUTH_CLIENTS?.[0]).toMatchObject({ client_id: 'svc', token_endpoint_auth_method: 'client_secret_basic' });
  });

  it.each([
    ['http://auth.example.com/oidc', /https/],
    ['https://auth.example.com/oidc?x=1', /query or fragment/],
    ['https://auth.example.com/oidc/', /slash/],
    ['not a url', /absolute/],
  ])('refuses the issuer %s, naming the variable', (issuer, message) => {
    expect(() => loadConfig(authConfigSchema, { ...env, TRACEO_AUTH_ISSUER: issuer })).toThrow(message);
    expect(() => loadConfig(authConfigSchema, { ...env, TRACEO_AUTH_ISSUER: issuer })).toThrow(/TRACEO_AUTH_ISSUER/);
  });

  it('allows a plain-http issuer on the loopback host only (development)', () => {
    expect(loadConfig(authConfigSchema, { ...env, TRACEO_AUTH_ISSUER: 'http://127.0.0.1:4101/oidc' }).TRACEO_AUTH_ISSUER).toBe(
      'http://127.0.0.1:4101/oidc',
    );
  });

  it('requires the issuer and the HSM settings', () => {
    expect(() => loadConfig(authConfigSchema, { ...env, TRACEO_PKCS11_PIN: undefined })).toThrow(
      /TRACEO_AUTH_ISSUER is required.*TRACEO_PKCS11_PIN is required|TRACEO_PKCS11_PIN is required.*TRACEO_AUTH_ISSUER/,
    );
  });
});
