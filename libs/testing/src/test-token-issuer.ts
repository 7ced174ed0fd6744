import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

export type TestTokenAlgorithm = 'ES256' | 'EdDSA';

export interface TestTokenRequest {
  readonly sub: string;
  readonly tenantId: string;
  /** Omitted from the token when undefined. */
  readonly roles?: readonly string[];
  /** Defaults to the issuer's audience. */
  readonly audience?: string | readonly string[];
  /** Defaults to the issuer's `iss`. */
  readonly issuer?: string;
  /** Seconds from now, negative for an expired token; `null` leaves `exp` out. Default 300. */
  readonly expiresIn?: number | null;
  readonly alg?: TestTokenAlgorithm;
  /** `typ` header; default `at+jwt`; `null` leaves it out. */
  readonly typ?: string | null;
  readonly scope?: string;
  /** More claims, merged last (may overwrite the ones above). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

export interface JwksServer {
  readonly url: string;
  /** How many times the JWKS was fetched. */
  readonly requests: number;
  close(): Promise<void>;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

/**
 * TEST ONLY — stands in for auth-service until it issues access tokens. Holds an ES256 and an
 * Ed25519 key pair, publishes their public JWKS (inline, or from a tiny HTTP server on 127.0.0.1)
 * and signs RFC 9068-shaped access tokens with `tenant_id` and `roles` claims.
 */
export class TestTokenIssuer {
  private constructor(
    readonly issuer: string,
    readonly audience: string,
    private readonly keys: Readonly<Record<TestTokenAlgorithm, SigningKey>>,
  ) {}

  /** `kid` prefixes the key ids; two issuers created with the same kid publish look-alike key sets. */
  static async create(options: { issuer?: string; audience?: string; kid?: string } = {}): Promise<TestTokenIssuer> {
    const kid = options.kid ?? `test-${Math.random().toString(36).slice(2, 10)}`;
    const [es256, eddsa] = await Promise.all([signingKey('ES256', `${kid}-es256`), signingKey('EdDSA', `${kid}-eddsa`)]);
    return new TestTokenIssuer(options.issuer ?? 'https://auth.test.traceo.local', options.audience ?? 'traceo-api', {
      ES256: es256,
      EdDSA: eddsa,
    });
  }

  /** The public JSON Web Key Set: no private members. */
  jwks(): JSONWebKeySet {
    return { keys: [this.keys.ES256.publicJwk, this.keys.EdDSA.publicJwk].map((jwk) => ({ ...jwk })) };
  }

  publicKey(alg: TestTokenAlgorithm = 'ES256'): CryptoKey {
    return this.keys[alg].publicKey;
  }

  async issue(request: TestTokenRequest): Promise<string> {
    const alg = request.alg ?? 'ES256';
    const key = this.keys[alg];
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = request.expiresIn === undefined ? 300 : request.expiresIn;
    const payload: Record<string, unknown> = {
      iss: request.issuer ?? this.issuer,
      aud: request.audience ?? this.audience,
      sub: request.sub,
      tenant_id: request.tenantId,
      iat: now,
      jti: crypto.randomUUID(),
      client_id: 'test-client',
      ...(request.roles !== undefined ? { roles: [...request.roles] } : {}),
      ...(request.scope !== undefined ? { scope: request.scope } : {}),
      ...(expiresIn !== null ? { exp: now + expiresIn } : {}),
      ...request.claims,
    };
    const typ = request.typ === undefined ? 'at+jwt' : request.typ;
    return new SignJWT(payload).setProtectedHeader({ alg, kid: key.kid, ...(typ !== null ? { typ } : {}) }).sign(key.privateKey);
  }

  /** Serves the JWKS at `http://127.0.0.1:<port>/.well-known/jwks.json` for the JWKS-URL path. */
  async serveJwks(): Promise<JwksServer> {
    let requests = 0;
    const body = JSON.stringify(this.jwks());
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      get requests() {
        return requests;
      },
      close: () =>
        new Promise<void>((resolve, reject) => {
          server.closeAllConnections();
          server.close((error) => (error ? reject(error) : resolve()));
        }),
    };
  }
}

async function signingKey(alg: TestTokenAlgorithm, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: false });
  return { kid, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}
