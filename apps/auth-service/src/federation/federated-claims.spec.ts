import { federatedContext, mapUpstreamRoles, upstreamAssertsMfa } from './federated-claims';
import { federatedUsername } from './federated-identity.repository';
import { parseUpstreamIdps } from './upstream-idps.config';

const [idp] = parseUpstreamIdps(
  JSON.stringify([
    {
      id: 'corp',
      tenant_id: 'acme',
      display_name: 'Corp',
      issuer: 'https://login.corp.example',
      client_id: 'traceo',
      roles_claim: 'groups',
      role_mapping: { 'crypto-users': ['key-user'], 'traceo-admins': ['platform-admin'] },
    },
  ]),
);

describe('federated claims', () => {
  it('gives end-user only when the upstream sends nothing mapped, whatever it claims', () => {
    expect(mapUpstreamRoles(idp!, {})).toEqual(['end-user']);
    expect(mapUpstreamRoles(idp!, { groups: ['platform-admin', 'admins', 'key-admin'], roles: ['platform-admin'] })).toEqual(['end-user']);
  });

  it('adds the roles mapped to the values of the roles claim (a string or an array)', () => {
    expect(mapUpstreamRoles(idp!, { groups: ['crypto-users', 42] })).toEqual(['end-user', 'key-user']);
    expect(mapUpstreamRoles(idp!, { groups: 'traceo-admins' })).toEqual(['end-user', 'platform-admin']);
  });

  it('does not read mapping keys inherited from Object.prototype', () => {
    expect(mapUpstreamRoles(idp!, { groups: ['constructor', '__proto__', 'toString'] })).toEqual(['end-user']);
  });

  it('accepts the upstream MFA only through a configured amr value', () => {
    expect(upstreamAssertsMfa(idp!, { amr: ['pwd', 'mfa'] })).toBe(true);
    expect(upstreamAssertsMfa(idp!, { amr: ['pwd'] })).toBe(false);
    expect(upstreamAssertsMfa(idp!, { amr: 'mfa' })).toBe(false);
    expect(upstreamAssertsMfa(idp!, { acr: 'mfa' })).toBe(false);
  });

  it('says fed (RFC 8176) in amr, and the MFA acr only with a second factor', () => {
    expect(federatedContext(false, false)).toEqual({ amr: ['fed'], acr: 'urn:traceo:acr:pwd' });
    expect(federatedContext(true, false)).toEqual({ amr: ['fed', 'mfa'], acr: 'urn:traceo:acr:mfa' });
    expect(federatedContext(false, true)).toEqual({ amr: ['fed', 'otp'], acr: 'urn:traceo:acr:mfa' });
  });

  it('names a provisioned account <idp>/<sub>, hashing a sub that is not a plain lower-case name', () => {
    expect(federatedUsername('corp', 'alice@corp.example')).toBe('corp/alice@corp.example');
    expect(federatedUsername('corp', 'Alice:1')).toMatch(/^corp\/[A-Za-z0-9_-]{32}$/);
  });
});
