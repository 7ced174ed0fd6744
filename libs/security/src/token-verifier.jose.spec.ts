import { KeyObject, sign as nodeSign } from 'node:crypto';
import {
  base64url,
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTHeaderParameters,
} from 'jose';
import { InvalidTokenError } from './auth.errors';
import { TokenVerifier, type TokenRefusal } from './token-verifier';

// TokenVerifier checks signatures with node:crypto and the registered claims itself; jose's
// jwtVerify with the same options is the reference. Every token below gets the same answer from
// both — accepted, or refused for the same reason — except where TokenVerifier is deliberately
// stricter (listed in STRICTER, each with why).

const ISSUER = 'https://auth.test.traceo.local';
const AUDIENCE = 'traceo-api';
const TOLERANCE = 30;
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

interface Keys {
  readonly es256: { privateKey: CryptoKey; kid: string };
  readonly eddsa: { privateKey: CryptoKey; kid: string };
  readonly jwks: JSONWebKeySet;
}

async function makeKeys(prefix: string): Promise<Keys> {
  const es = await generateKeyPair('ES256', { extractable: true });
  const ed = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwks = {
    keys: [
      { ...(await exportJWK(es.publicKey)), kid: `${prefix}-es`, alg: 'ES256', use: 'sig' },
      { ...(await exportJWK(ed.publicKey)), kid: `${prefix}-ed`, alg: 'EdDSA', use: 'sig' },
    ],
  };
  return { es256: { privateKey: es.privateKey, kid: `${prefix}-es` }, eddsa: { privateKey: ed.privateKey, kid: `${prefix}-ed` }, jwks };
}

const now = () => Math.floor(Date.now() / 1000);
const good = (overrides: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: AUDIENCE,
  sub: 'alice',
  tenant_id: 'acme',
  roles: ['key-user'],
  exp: now() + 300,
  ...overrides,
});
const encode = (value: unknown) => base64url.encode(typeof value === 'string' ? value : JSON.stringify(value));

/** Signs arbitrary header and payload segments with node:crypto (JWS form of the signature). */
function signSegments(headerSegment: string, payloadSegment: string, key: CryptoKey, alg: 'ES256' | 'EdDSA'): string {
  const input = Buffer.from(`${headerSegment}.${payloadSegment}`, 'ascii');
  const privateKey = KeyObject.from(key);
  const signature =
    alg === 'ES256' ? nodeSign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' }) : nodeSign(null, input, privateKey);
  return `${headerSegment}.${payloadSegment}.${signature.toString('base64url')}`;
}

/** The refusal jose's errors map to (what TokenVerifier answered before it checked signatures itself). */
function joseRefusal(error: unknown): TokenRefusal {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim:${error.claim}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature';
  if (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  )
    return 'key';
  return 'malformed';
}

async function reference(token: string, jwks: JSONWebKeySet): Promise<'accepted' | TokenRefusal> {
  try {
    const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: ['ES256', 'EdDSA'],
      issuer: ISSUER,
      audience: AUDIENCE,
      clockTolerance: TOLERANCE,
      requiredClaims: ['exp', 'sub'],
    });
    const typ = protectedHeader.typ;
    if (typeof typ !== 'string' || !['at+jwt', 'jwt'].includes(typ.toLowerCase().replace(/^application\//, ''))) return 'type';
    return 'accepted';
  } catch (error) {
    return joseRefusal(error);
  }
}

async function answer(verifier: TokenVerifier, token: string): Promise<'accepted' | TokenRefusal> {
  try {
    await verifier.verify(token);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error;
    return error.details?.['reason'] as TokenRefusal;
  }
}

let keys: Keys;
let other: Keys;
let verifier: TokenVerifier;
const corpus: [string, string][] = [];
/** Tokens TokenVerifier refuses although jose accepts them, with the reason it gives. */
const STRICTER = new Map<string, TokenRefusal>();
/** Tokens both refuse, TokenVerifier for another (earlier) reason than jose. */
const OTHER_REASON = new Map<string, TokenRefusal>();

async function token(
  claims: Record<string, unknown>,
  header: Partial<JWTHeaderParameters> = {},
  alg: 'ES256' | 'EdDSA' = 'ES256',
  by: Keys = keys,
): Promise<string> {
  const key = alg === 'ES256' ? by.es256 : by.eddsa;
  return new SignJWT(claims).setProtectedHeader({ alg, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
}

beforeAll(async () => {
  keys = await makeKeys('k');
  other = await makeKeys('k'); // same key ids, different key pairs
  verifier = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { jwks: keys.jwks }, verifiedCacheSeconds: 0 });
  const add = (name: string, value: string) => corpus.push([name, value]);

  for (const alg of ['ES256', 'EdDSA'] as const) {
    add(`${alg} valid`, await token(good(), {}, alg));
    add(`${alg} valid, typ JWT, no kid`, await token(good(), { typ: 'JWT', kid: undefined }, alg));
    add(`${alg} valid, audience list`, await token(good({ aud: ['other', AUDIENCE] }), {}, alg));
    add(`${alg} signed by another key pair under the same kid`, await token(good(), {}, alg, other));
    add(`${alg} unknown kid`, await token(good(), { kid: 'nope' }, alg));
  }
  // Claims.
  for (const claim of ['iss', 'aud', 'sub', 'exp']) {
    const claims: Record<string, unknown> = good();
    delete claims[claim];
    add(`without ${claim}`, await token(claims));
  }
  const claimCases: [string, Record<string, unknown>][] = [
    ['iss of another issuer', { iss: 'https://evil.example' }],
    ['iss with a trailing slash', { iss: `${ISSUER}/` }],
    ['iss as a list', { iss: [ISSUER] }],
    ['aud of another service', { aud: 'other' }],
    ['aud list without the audience', { aud: ['a', 'b'] }],
    ['aud as a number', { aud: 7 }],
    ['aud null', { aud: null }],
    ['expired beyond the tolerance', { exp: now() - TOLERANCE - 5 }],
    ['expired within the tolerance', { exp: now() - 5 }],
    ['exp as a string', { exp: String(now() + 300) }],
    ['exp as a far-future exponent', { exp: 1e300 }],
    ['nbf in the future beyond the tolerance', { nbf: now() + TOLERANCE + 60 }],
    ['nbf within the tolerance', { nbf: now() + 10 }],
    ['nbf as a string', { nbf: 'soon' }],
    ['iat as a string', { iat: 'now' }],
    ['iat in the future', { iat: now() + 3600 }],
  ];
  for (const [name, overrides] of claimCases) add(name, await token(good(overrides)));

  // Headers (signed, so only the header's content differs).
  const headerCases: [string, Record<string, unknown>][] = [
    ['typ id_token+jwt', { typ: 'id_token+jwt' }],
    ['typ application/at+jwt', { typ: 'application/at+jwt' }],
    ['b64 false without crit (ignored by RFC 7797)', { b64: false }],
  ];
  for (const [name, header] of headerCases) add(name, await token(good(), header));
  const payload = encode(good());
  const signed = (header: unknown, alg: 'ES256' | 'EdDSA' = 'ES256', body = payload) =>
    signSegments(encode(header), body, alg === 'ES256' ? keys.es256.privateKey : keys.eddsa.privateKey, alg);
  add('alg none, empty signature', `${encode({ alg: 'none', typ: 'at+jwt' })}.${payload}.`);
  add('alg HS256', `${encode({ alg: 'HS256', typ: 'at+jwt', kid: 'k-es' })}.${payload}.${encode('x'.repeat(32))}`);
  add('alg ES384', signed({ alg: 'ES384', typ: 'at+jwt', kid: 'k-es' }));
  add('alg es256 (case)', signed({ alg: 'es256', typ: 'at+jwt', kid: 'k-es' }));
  add('alg missing', signed({ typ: 'at+jwt', kid: 'k-es' }));
  add('alg empty', signed({ alg: '', typ: 'at+jwt', kid: 'k-es' }));
  add('alg a number', signed({ alg: 256, typ: 'at+jwt', kid: 'k-es' }));
  add('EdDSA header on the EC key id', signed({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k-es' }, 'EdDSA'));
  const unknownCrit = signed({ alg: 'ES256', typ: 'at+jwt', kid: 'k-es', crit: ['exp'], exp: 1 });
  add('crit with an unknown extension', unknownCrit);
  OTHER_REASON.set(unknownCrit, 'malformed'); // jose: JOSENotSupported, which maps to 'key'
  add('header a JSON array', signed(['ES256']));
  add('header not JSON', signSegments(encode('{"alg":"ES256",'), payload, keys.es256.privateKey, 'ES256'));
  add('header invalid UTF-8', signSegments(Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url'), payload, keys.es256.privateKey, 'ES256'));
  // Payloads (signed).
  const header = { alg: 'ES256', typ: 'at+jwt', kid: 'k-es' };
  add('payload a JSON array', signed(header, 'ES256', encode([good()])));
  add('payload null', signed(header, 'ES256', encode('null')));
  add('payload not JSON', signed(header, 'ES256', encode('{"iss":')));
  add(
    'payload invalid UTF-8',
    signed(header, 'ES256', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url')),
  );

  // Signatures.
  const valid = await token(good());
  const [h, p, s] = valid.split('.') as [string, string, string];
  const raw = Buffer.from(s, 'base64url');
  for (const position of [0, 1, 17, 31, 32, 45, 63]) {
    const flipped = Buffer.from(raw);
    flipped[position]! ^= 0x01;
    add(`signature byte ${position} flipped`, `${h}.${p}.${flipped.toString('base64url')}`);
  }
  add('signature truncated', `${h}.${p}.${raw.subarray(0, 63).toString('base64url')}`);
  add('signature extended', `${h}.${p}.${Buffer.concat([raw, Buffer.alloc(1)]).toString('base64url')}`);
  add('signature empty', `${h}.${p}.`);
  add('signature R and S swapped', `${h}.${p}.${Buffer.concat([raw.subarray(32), raw.subarray(0, 32)]).toString('base64url')}`);
  add('signature zero', `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`);
  const sValue = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  const highS = Buffer.from((P256_ORDER - sValue).toString(16).padStart(64, '0'), 'hex');
  add(
    'signature with S replaced by n - S (ECDSA accepts both)',
    `${h}.${p}.${Buffer.concat([raw.subarray(0, 32), highS]).toString('base64url')}`,
  );
  const sPlusN = (sValue + P256_ORDER).toString(16);
  if (sPlusN.length <= 64)
    add(
      'signature with S + n (not below the order)',
      `${h}.${p}.${Buffer.concat([raw.subarray(0, 32), Buffer.from(sPlusN.padStart(64, '0'), 'hex')]).toString('base64url')}`,
    );
  // The last of 86 base64url characters carries 2 bits of the signature and 4 unused ones.
  const last = s[s.length - 1]!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sameBits = alphabet[(alphabet.indexOf(last) & 0b110000) | 0b0001]!;
  const nonCanonical = `${h}.${p}.${s.slice(0, -1)}${sameBits}`;
  add('signature with non-zero unused bits in its last character', nonCanonical);
  STRICTER.set(nonCanonical, 'malformed'); // one encoding per signature, so one token string per signed token
  const withCrit = await token(good(), { crit: ['b64'], b64: true });
  add('crit b64 with b64 true', withCrit);
  STRICTER.set(withCrit, 'malformed'); // no extension is understood, so none may be critical
  // Structure.
  add('two segments', `${h}.${p}`);
  add('four segments', `${valid}.${s}`);
  add('padding on the signature', `${valid}==`);
  STRICTER.set(`${valid}==`, 'malformed'); // RFC 7515 §2: base64url without padding
  add('whitespace inside', `${h}. ${p}.${s}`);
  OTHER_REASON.set(`${h}. ${p}.${s}`, 'malformed'); // jose decodes around the space, then the signature fails
  add('standard base64 characters', `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`);
  add('payload of another token', `${h}.${encode(good({ roles: ['platform-admin'] }))}.${s}`);
});

describe('TokenVerifier against jose.jwtVerify', () => {
  it('gives the reference answer for every token of the corpus', async () => {
    expect(corpus.length).toBeGreaterThan(60);
    const differences: string[] = [];
    let accepted = 0;
    for (const [name, value] of corpus) {
      const expected = STRICTER.get(value) ?? OTHER_REASON.get(value) ?? (await reference(value, keys.jwks));
      const actual = await answer(verifier, value);
      if (actual !== expected) differences.push(`${name}: jose ${expected}, TokenVerifier ${actual}`);
      if (actual === 'accepted') accepted++;
    }
    console.log(
      `TokenVerifier against jose.jwtVerify: ${corpus.length} tokens, ${accepted} accepted, ${STRICTER.size} refused only by TokenVerifier, ${OTHER_REASON.size} refused for another reason`,
    );
    expect(differences).toEqual([]);
    // Both outcomes are exercised: the corpus is not all refusals.
    expect(accepted).toBeGreaterThanOrEqual(8);
  });

  it('lists as stricter only tokens jose accepts, and as refused for another reason only tokens jose refuses', async () => {
    for (const value of STRICTER.keys()) expect(await reference(value, keys.jwks)).toBe('accepted');
    for (const [value, reason] of OTHER_REASON) {
      const joseAnswer = await reference(value, keys.jwks);
      expect(joseAnswer).not.toBe('accepted');
      expect(joseAnswer).not.toBe(reason);
    }
  });
});
