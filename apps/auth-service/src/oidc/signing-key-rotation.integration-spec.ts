import { randomBytes } from 'node:crypto';
import { TokenVerifier } from '@traceo/security';
import { waitFor } from '@traceo/testing';
import { decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { relyingParty } from '../../test/flows';
import { SigningKeyRotation } from './signing-key-rotation';

const SECRET = 'rotation-machine-secret-00000000000000000000';

/**
 * Signing-key rotation in a running auth-service (no restart): its hourly reload publishes a successor
 * a day before the signing key ages out, signs with it a day later, and retires the old key a day after
 * that; tokens signed with the old key keep verifying while it is published. Key ages are moved in the
 * database instead of waiting days; `reload()` is what the hourly timer calls.
 */
describe('signing-key rotation in a running auth-service', () => {
  let auth: AuthTestService;
  let config: oidc.Configuration;
  let rotation: SigningKeyRotation;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const clientId = `svc-${tenant}`;

  const jwksKids = async () => {
    const response = await fetch(`${auth.issuer}/jwks`);
    const { keys } = (await response.json()) as { keys: { kid: string; d?: string }[] };
    expect(keys.every((key) => key.d === undefined)).toBe(true);
    return keys.map((key) => key.kid).sort();
  };
  const tokenKid = async () => {
    const { access_token } = await oidc.clientCredentialsGrant(config, { scope: 'api' });
    const { kid } = decodeProtectedHeader(access_token);
    if (kid === undefined) throw new Error('access token without kid');
    return { token: access_token, kid };
  };
  const age = (interval: string) =>
    auth.service.runtime.dataSource.query(`UPDATE signing_keys SET created_at = created_at - interval '${interval}'`);

  beforeAll(async () => {
    auth = await startAuthTestService('auth_rotation', [
      { client_id: clientId, tenant_id: tenant, client_secret: SECRET, grant_types: ['client_credentials'], roles: ['service'] },
    ]);
    config = await relyingParty(auth.issuer, clientId, SECRET);
    rotation = auth.service.app.get(SigningKeyRotation);
  });

  afterAll(async () => {
    await auth?.close();
  });

  it('publishes, then signs with, a successor and retires the old key, each step an audit record', async () => {
    const first = await tokenKid();
    expect(await jwksKids()).toEqual([first.kid]);
    expect(await rotation.reload()).toEqual([first.kid]); // nothing due

    await age('89 days 12 hours');
    const published = await rotation.reload();
    expect(published[0]).toBe(first.kid);
    const successor = published[1]!;
    expect(await jwksKids()).toEqual([first.kid, successor].sort());
    expect((await tokenKid()).kid).toBe(first.kid); // published, not signing yet
    await auth.event(
      'traceo.audit.record.v1',
      (e) => e['data'].action === 'auth.signing-keys.changed' && (e['data'].details.added as string[]).includes(successor),
    );

    await age('25 hours');
    expect(await rotation.reload()).toEqual([successor, first.kid]);
    const second = await tokenKid();
    expect(second.kid).toBe(successor);
    // A token of the old key still verifies at a resource server that fetches the JWKS now.
    const verifier = new TokenVerifier({ issuer: auth.issuer, audience: 'urn:traceo:api', keys: { jwksUrl: `${auth.issuer}/jwks` } });
    await expect(verifier.verify(first.token)).resolves.toMatchObject({ clientId });
    await expect(verifier.verify(second.token)).resolves.toMatchObject({ clientId });

    await age('25 hours');
    expect(await rotation.reload()).toEqual([successor]);
    expect(await jwksKids()).toEqual([successor]);
    const removed = await auth.event(
      'traceo.audit.record.v1',
      (e) => e['data'].action === 'auth.signing-keys.changed' && (e['data'].details.removed as string[]).includes(first.kid),
    );
    expect(removed['data']).toMatchObject({
      status: 'success',
      actor: { type: 'service', id: 'auth-service' },
      details: { signing: successor },
    });
    // The swapped-in provider still records its events (the listeners are attached to every instance).
    const issued = () =>
      auth.received('traceo.audit.record.v1', (e) => e['tenantid'] === tenant && e['data'].action === 'auth.token.issued');
    await waitFor(() => Promise.resolve(issued().length >= 3), 'the three earlier token issues audited', 15000, 50);
    await tokenKid();
    await waitFor(() => Promise.resolve(issued().length >= 4), 'the token issued after the swap audited', 15000, 50);
  });
});
