import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startAuthTestService, type AuthTestService } from '../../test/auth-test-service';
import { launchChromium } from '../../test/chromium';
import { nextTotpCode, relyingParty, signIn, type TestUser } from '../../test/flows';
import { base32Decode, hotp } from '../mfa';

/** The relying party's page on a loopback port (RFC 8252 §7.3): records every visit to its callback. */
async function startRelyingParty(): Promise<{ server: Server; callbackUri: string; visits: URL[] }> {
  const visits: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    visits.push(url);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>App</title><h1>Back in the app</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, callbackUri: `http://127.0.0.1:${port}/callback`, visits };
}

/** A six-digit code the drift window cannot accept now (no step within ±2 of the current one has it). */
function wrongCode(secret: string): string {
  const key = base32Decode(secret);
  const now = Math.floor(Date.now() / 30_000);
  const valid = new Set([-2, -1, 0, 1, 2].map((offset) => hotp(key, now + offset, 6)));
  for (let candidate = 123456; ; candidate += 1) if (!valid.has(String(candidate))) return String(candidate);
}

/**
 * One real browser (headless Debian chromium through playwright-core) through the server-rendered
 * pages of the running auth-service (real PostgreSQL, Kafka, SoftHSM2): sign-in, TOTP enrollment and
 * verification, recovery codes, consent, back to the app; openid-client exchanges the code.
 */
describe('browser sign-in with TOTP and consent (headless chromium)', () => {
  let auth: AuthTestService;
  let rp: Awaited<ReturnType<typeof startRelyingParty>>;
  let config: oidc.Configuration;
  let browser: Browser;
  const tenant = `t-${randomBytes(4).toString('hex')}`;
  const clientId = `desktop-${tenant}`;

  beforeAll(async () => {
    browser = await launchChromium(); // first: a missing chromium fails every test here, with its message
    rp = await startRelyingParty();
    auth = await startAuthTestService('auth_browser', [
      {
        client_id: clientId,
        tenant_id: tenant,
        client_name: 'Traceo Desktop',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
      },
    ]);
    config = await relyingParty(auth.issuer, clientId);
  });

  afterAll(async () => {
    await browser?.close();
    await auth?.close();
    rp?.server.close();
  });

  interface BrowserFlow {
    readonly context: BrowserContext;
    readonly page: Page;
    readonly verifier: string;
    readonly state: string;
    readonly nonce: string;
    /** Content-Security-Policy violations the browser reported (the pages must need none). */
    readonly cspViolations: string[];
    /** The app's callback visits of this flow. */
    readonly callbacks: () => URL[];
  }

  /** A fresh browser profile (no cookies, so no session) on the authorization URL the app built. */
  async function openAuthorization(): Promise<BrowserFlow> {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: rp.callbackUri,
      scope: 'openid profile api',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
    });
    await page.goto(url.href);
    const callbacks = () => rp.visits.filter((visit) => visit.searchParams.get('state') === state);
    return { context, page, verifier, state, nonce, cspViolations, callbacks };
  }

  async function signInWithPassword(page: Page, user: TestUser): Promise<void> {
    await expectHeading(page, 'Sign in');
    await page.getByLabel('Username', { exact: true }).fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  /** Types a code on a TOTP page and submits it; returns the HTTP status of the page that answered. */
  async function submitCode(page: Page, code: string, button: 'Confirm' | 'Verify'): Promise<number> {
    await page.locator('#code').fill(code);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/totp')),
      page.getByRole('button', { name: button, exact: true }).click(),
    ]);
    return response.status();
  }

  /** A wrong code: the same step again with the error, still on the provider, nothing sent to the app. */
  async function expectRefusedCode(flow: BrowserFlow): Promise<void> {
    await expect(flow.page.getByRole('alert').textContent()).resolves.toBe('The code is not correct.');
    expect(flow.page.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/interaction\/[A-Za-z0-9_-]+\/totp$/);
    expect(flow.callbacks()).toEqual([]);
  }

  async function allowAndReturnToApp(flow: BrowserFlow): Promise<URL> {
    const { page } = flow;
    await expectHeading(page, 'Allow access?');
    await expect(page.locator('main li').allTextContents()).resolves.toEqual(['scope openid', 'scope profile', 'access to urn:traceo:api']);
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(rp.callbackUri)),
      page.getByRole('button', { name: 'Allow', exact: true }).click(),
    ]);
    await expectHeading(page, 'Back in the app');
    expect(flow.callbacks()).toHaveLength(1);
    const callback = new URL(page.url());
    expect(callback.searchParams.get('iss')).toBe(auth.issuer); // RFC 9207
    expect(flow.cspViolations).toEqual([]); // the form posts whose redirects end at the app included
    return callback;
  }

  const exchange = (callback: URL, flow: BrowserFlow) =>
    oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });

  it('enrolls a platform admin in TOTP at the first sign-in, refuses a wrong code, then consents and returns to the app with an MFA ID token', async () => {
    const admin: TestUser = { username: 'root@example.com', password: 'platform admin passphrase' };
    const accountId = await auth.createAccount(tenant, admin.username, admin.password, ['platform-admin']);
    const flow = await openAuthorization();
    const { page } = flow;
    await signInWithPassword(page, admin);

    await expectHeading(page, 'Set up two-step verification');
    const secretOnPage = async () => (await page.locator('main p code').textContent())!.replace(/ /g, '');
    const secret = await secretOnPage();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await expect(page.locator('a[href^="otpauth://totp/"]').getAttribute('href')).resolves.toContain(`secret=${secret}`);

    expect(await submitCode(page, wrongCode(secret), 'Confirm')).toBe(401);
    await expectRefusedCode(flow);

    admin.totp = { secret: await secretOnPage(), lastStep: 0 };
    expect(await submitCode(page, await nextTotpCode(admin), 'Confirm')).toBe(200);
    await expectHeading(page, 'Save your recovery codes');
    await expect(page.locator('main li code').count()).resolves.toBe(10);
    await page.getByRole('button', { name: 'I have saved them, continue', exact: true }).click();

    const callback = await allowAndReturnToApp(flow);
    const tokens = await exchange(callback, flow);
    expect(tokens.claims()).toMatchObject({
      sub: accountId,
      aud: clientId,
      nonce: flow.nonce,
      acr: 'urn:traceo:acr:mfa',
      amr: ['pwd', 'otp'],
      preferred_username: admin.username,
    });
    await flow.context.close();
  });

  it('asks an enrolled admin for a code, shows the error without redirecting on a wrong one, then signs in with the right one', async () => {
    const admin: TestUser = { username: 'ops@example.com', password: 'another admin passphrase' };
    const accountId = await auth.createAccount(tenant, admin.username, admin.password, ['platform-admin']);
    await signIn(config, auth.origin, admin, { redirectUri: rp.callbackUri }); // enrolls over plain HTTP (test/flows.ts)
    const flow = await openAuthorization();
    const { page } = flow;
    await signInWithPassword(page, admin);

    await expectHeading(page, 'Enter your verification code');
    expect(await submitCode(page, wrongCode(admin.totp!.secret), 'Verify')).toBe(401);
    await expectRefusedCode(flow);

    expect(await submitCode(page, await nextTotpCode(admin), 'Verify')).toBe(303); // accepted: on to oidc-provider, then consent
    const callback = await allowAndReturnToApp(flow);
    const tokens = await exchange(callback, flow);
    expect(tokens.claims()).toMatchObject({ sub: accountId, nonce: flow.nonce, acr: 'urn:traceo:acr:mfa', amr: ['pwd', 'otp'] });
    await flow.context.close();
  });
});

async function expectHeading(page: Page, name: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor({ timeout: 10_000 });
}
