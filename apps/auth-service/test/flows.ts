import * as oidc from 'openid-client';
import { base32Decode, hotp } from '../src/mfa';
import { csrfOf, formActionOf, TestBrowser } from './browser';

/** A test user; `totp` is filled in when the service has the user enroll an authenticator. */
export interface TestUser {
  readonly username: string;
  readonly password: string;
  totp?: { secret: string; lastStep: number };
  /** The recovery codes shown after enrollment. */
  recoveryCodes?: string[];
}

/** The TOTP code of the first step after the last one used (RFC 6238: 30 s steps), waiting when the drift window would not accept it yet. */
export async function nextTotpCode(user: TestUser): Promise<string> {
  const totp = user.totp!;
  const now = Math.floor(Date.now() / 1000 / 30);
  const step = Math.max(now, totp.lastStep + 1);
  if (step > now + 1) await new Promise((resolve) => setTimeout(resolve, (step - 1) * 30_000 - Date.now() + 200));
  totp.lastStep = step;
  return hotp(base32Decode(totp.secret), step, 6);
}

/** The interaction pages a sign-in can show. */
export type SignInPage = 'password' | 'enroll-totp' | 'recovery-codes' | 'totp' | 'consent';

export interface SignedIn {
  readonly callback: URL;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly browser: TestBrowser;
  /** The pages the browser was shown, in order; none when its session signed the user in silently (SSO). */
  readonly pages: readonly SignInPage[];
}

/**
 * Walks the browser part of the code flow: authorization request (PKCE S256, state, nonce), the
 * sign-in page, the consent page when shown; returns the callback URL the provider redirected to.
 */
export async function signIn(
  config: oidc.Configuration,
  origin: string,
  user: TestUser,
  options: { redirectUri: string; scope?: string; extra?: Record<string, string>; browser?: TestBrowser; verifier?: string },
): Promise<SignedIn> {
  const verifier = options.verifier ?? oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid profile api',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...options.extra,
  });
  const browser = options.browser ?? new TestBrowser();
  const pages: SignInPage[] = [];
  let { response, url: at } = await browser.follow(url.href, options.redirectUri);
  for (let step = 0; step < 4 && !at.startsWith(options.redirectUri); step += 1) {
    if (response.status !== 200) throw new Error(`unexpected ${response.status} at ${at}: ${(await response.text()).slice(0, 500)}`);
    const page = await response.text();
    let form: Record<string, string>;
    if (page.includes('name="password"')) {
      pages.push('password');
      form = { csrf: csrfOf(page), username: user.username, password: user.password };
    } else if (page.includes('Set up two-step verification')) {
      pages.push('enroll-totp');
      const secret = /<code>([A-Z2-7 ]+)<\/code>/.exec(page)![1]!.replace(/ /g, '');
      user.totp = { secret, lastStep: 0 };
      form = { csrf: csrfOf(page), code: await nextTotpCode(user) };
    } else if (page.includes('Save your recovery codes')) {
      pages.push('recovery-codes');
      user.recoveryCodes = [...page.matchAll(/<li><code>([0-9A-Z-]+)<\/code><\/li>/g)].map((match) => match[1]!);
      form = { csrf: csrfOf(page) };
    } else if (page.includes('name="code"')) {
      pages.push('totp');
      form = { csrf: csrfOf(page), code: await nextTotpCode(user) };
    } else {
      pages.push('consent');
      form = { csrf: csrfOf(page), decision: 'allow' };
    }
    ({ response, url: at } = await browser.follow(formActionOf(page, origin), options.redirectUri, { form }));
  }
  if (!at.startsWith(options.redirectUri)) throw new Error(`did not reach the redirect URI: ${at}`);
  return { callback: new URL(at), verifier, state, nonce, browser, pages };
}

/** The web client redirect URI of the specs that probe exact redirect URI matching. */
export const WEB_REDIRECT = 'https://app.traceo.test/callback';

/** Near misses of WEB_REDIRECT, each refused by exact matching (RFC 9700 §4.1.3): what differs, and the URI. */
export const WEB_REDIRECT_NEAR_MISSES: readonly (readonly [variant: string, redirectUri: string])[] = [
  ['an extra path segment', `${WEB_REDIRECT}/extra`],
  ['a query', `${WEB_REDIRECT}?next=/admin`],
  ['a fragment', `${WEB_REDIRECT}#frag`],
  ['a different case in the host', 'https://APP.traceo.test/callback'],
  ['a different case in the path', 'https://app.traceo.test/Callback'],
  ['userinfo', 'https://attacker@app.traceo.test/callback'],
  ['a different port', 'https://app.traceo.test:8443/callback'],
  ['http instead of https', 'http://app.traceo.test/callback'],
  ['a trailing slash', `${WEB_REDIRECT}/`],
  ['another host', 'https://attacker.test/callback'],
];

/** openid-client configured for a client of the test service (plain-HTTP issuer); a public client when `secret` is absent. */
export function relyingParty(issuer: string, clientId: string, secret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), clientId, secret, secret === undefined ? oidc.None() : undefined, {
    execute: [oidc.allowInsecureRequests],
  });
}

/** The token request for a signed-in callback, checking PKCE, state and nonce as a relying party would. */
export function exchangeCode(
  config: oidc.Configuration,
  signedIn: SignedIn,
  options: { idTokenExpected?: boolean; DPoP?: oidc.DPoPHandle } = {},
): ReturnType<typeof oidc.authorizationCodeGrant> {
  return oidc.authorizationCodeGrant(
    config,
    signedIn.callback,
    {
      pkceCodeVerifier: signedIn.verifier,
      expectedState: signedIn.state,
      expectedNonce: signedIn.nonce,
      ...(options.idTokenExpected ? { idTokenExpected: true } : {}),
    },
    undefined,
    options.DPoP ? { DPoP: options.DPoP } : undefined,
  );
}

/** An authorization request for tests of the sign-in pages themselves: PKCE S256 with a throwaway verifier, fixed state and nonce. */
export async function pageTestAuthorizationUrl(config: oidc.Configuration, redirectUri: string): Promise<URL> {
  return oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: 's',
    nonce: 'n',
  });
}

/** Opens the sign-in page of `url` and submits the user's password; returns the page that follows (the code page for a user with a second factor). */
export async function submitPassword(browser: TestBrowser, url: URL, origin: string, user: TestUser, redirectUri: string): Promise<string> {
  const loginPage = await (await browser.follow(url.href, redirectUri)).response.text();
  const next = await browser.request(formActionOf(loginPage, origin), {
    form: { csrf: csrfOf(loginPage), username: user.username, password: user.password },
  });
  return next.text();
}

/** A token endpoint call made without openid-client, to see the provider's error body as sent. */
export async function tokenRequest(
  tokenEndpoint: string,
  client: { id: string; secret: string },
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown>; type: string }> {
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`,
    },
    body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}
