import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, decodeJwt, type JWTPayload } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

/** Who the upstream signs in next (its interaction is automatic: no pages to fill). */
export interface UpstreamUser {
  readonly sub: string;
  readonly groups?: string[];
  readonly amr?: string[];
}

export interface UpstreamIdp {
  readonly issuer: string;
  /** The next interaction signs this user in. */
  signInAs(user: UpstreamUser): void;
  /** Rewrites the ID token of the next token responses (re-signed with the upstream's own key unless `resign` is false). */
  tamperIdToken(change: ((claims: JWTPayload) => JWTPayload) | undefined, options?: { resign: boolean }): void;
  close(): Promise<void>;
}

/**
 * A second oidc-provider instance on a loopback port, acting as a tenant's enterprise IdP: one
 * confidential client (Traceo), ES256 ID tokens carrying `groups` and `amr`, an interaction that
 * signs in the configured user at once, and a hook that tampers with ID tokens on their way out.
 * Its cookies have their own names: both providers live on 127.0.0.1, where cookies ignore the port.
 */
export async function startUpstreamIdp(input: {
  port: number;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}): Promise<UpstreamIdp> {
  const issuer = `http://127.0.0.1:${input.port}`;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'upstream-1', alg: 'ES256', use: 'sig' };
  const users = new Map<string, UpstreamUser>();
  let next: UpstreamUser = { sub: 'nobody' };
  let tamper: { change: (claims: JWTPayload) => JWTPayload; resign: boolean } | undefined;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: input.clientId,
        client_secret: input.clientSecret,
        redirect_uris: [input.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: {
      keys: ['upstream-cookie-key-0123456789abcdef'],
      names: { session: 'upstream_session', interaction: 'upstream_interaction', resume: 'upstream_resume' },
    },
    claims: { openid: ['sub', 'amr', 'groups'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, groups: users.get(sub)?.groups ?? [] }) }),
    // A first-party upstream: no consent screen.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid');
      grant.addOIDCClaims(['groups', 'amr']);
      await grant.save();
      return grant;
    },
  });
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path !== '/token' || !tamper || !body?.id_token) return;
    const [header, , signature] = body.id_token.split('.');
    const claims = tamper.change(decodeJwt(body.id_token));
    const idToken = tamper.resign
      ? await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: jwk.kid }).sign(privateKey)
      : `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    ctx.body = { ...body, id_token: idToken };
  });

  const callback = provider.callback();
  const server: Server = createServer((req, res) => {
    if (!req.url?.startsWith('/interaction/')) return void callback(req, res);
    const user = next;
    users.set(user.sub, user);
    provider
      .interactionFinished(
        req,
        res,
        { login: { accountId: user.sub, ...(user.amr ? { amr: user.amr } : {}) } },
        { mergeWithLastSubmission: false },
      )
      .catch(() => {
        res.statusCode = 400;
        res.end('interaction failed');
      });
  });
  await new Promise<void>((resolve) => server.listen(input.port, '127.0.0.1', resolve));
  return {
    issuer,
    signInAs: (user) => {
      next = user;
    },
    tamperIdToken: (change, options = { resign: true }) => {
      tamper = change ? { change, resign: options.resign } : undefined;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A free loopback port (the upstream's issuer must be known before auth-service starts). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
