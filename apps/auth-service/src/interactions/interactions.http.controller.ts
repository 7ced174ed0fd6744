import { createHmac, timingSafeEqual } from 'node:crypto';
import { Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@traceo/security';
import type { Request, Response } from 'express';
import { errors, type InteractionResults } from 'oidc-provider';
import { AccountRepository, type Account } from '../accounts/account.repository';
import { SignInUseCase } from '../accounts/sign-in.usecase';
import { FederationFlowsRepository } from '../federation/federation-flows.repository';
import { federatedContext } from '../federation/federated-claims';
import { FederationError } from '../federation/federation.errors';
import { sendFederationError } from '../federation/federation-pages';
import { StartFederatedSignInUseCase } from '../federation/start-federated-sign-in.usecase';
import { UpstreamIdps } from '../federation/upstream-idps';
import { authenticationContext, type AcrValue } from '../mfa';
import { SecondFactorUseCase, type SecondFactorStep } from '../second-factor/second-factor.usecase';
import { TotpFactorsRepository } from '../second-factor/totp-factors.repository';
import { OidcProviderHolder } from '../oidc/oidc-provider.holder';
import { RiskDecisions, type RiskVerdict } from '../risk/risk-decisions';
import type { SignInRecord } from '../risk/token-issuance.hooks';
import { SignInContextReader, type SignInContext } from '../sessions/sign-in-context';
import { requestsMfa } from '../oidc/provider-configuration';
import { PROVIDER_KEYS } from '../oidc/oidc.providers';
import type { ProviderKeys } from '../oidc/provider-keys';
import { ClientAddress } from './client-address';
import { FormBodyError, readForm } from './form-body';
import { consentPage, enrollPage, errorPage, loginPage, PAGE_CSP, recoveryCodesPage, totpPage } from './pages';

const UID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The sign-in and consent pages oidc-provider sends the browser to (`/interaction/:uid`). The
 * interaction is bound to the browser by oidc-provider's signed, SameSite cookie; every form also
 * carries a token derived from the interaction id with a server secret (double protection against
 * cross-site posts). Pages are plain HTML without scripts under a strict CSP.
 */
@ApiExcludeController()
@Public()
@Controller('interaction')
export class InteractionsHttpController {
  constructor(
    private readonly providers: OidcProviderHolder,
    @Inject(PROVIDER_KEYS) private readonly keys: ProviderKeys,
    private readonly signIn: SignInUseCase,
    private readonly secondFactor: SecondFactorUseCase,
    private readonly factors: TotpFactorsRepository,
    private readonly accounts: AccountRepository,
    private readonly upstreamIdps: UpstreamIdps,
    private readonly federationFlows: FederationFlowsRepository,
    private readonly startFederation: StartFederatedSignInUseCase,
    private readonly contexts: SignInContextReader,
    private readonly risk: RiskDecisions,
    private readonly address: ClientAddress,
  ) {}

  @Get(':uid')
  async show(@Param('uid') uid: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.page(res, async () => {
      const details = await this.details(uid, req, res);
      const client = await this.providers.current.Client.find(String(details.params['client_id']));
      const clientName = client?.clientName ?? client?.clientId ?? 'an application';
      if (details.prompt.name === 'login') {
        this.contexts.read(req, res); // gives a browser without one its device cookie before it signs in
        return send(
          res,
          200,
          loginPage({
            action: `/interaction/${uid}/login`,
            csrf: this.csrf(uid),
            clientName,
            ...this.federationButtons(uid, client?.['tenant_id']),
          }),
        );
      }
      if (details.prompt.name === 'consent') {
        const missing = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
        return send(
          res,
          200,
          consentPage({
            action: `/interaction/${uid}/confirm`,
            abort: `/interaction/${uid}/abort`,
            csrf: this.csrf(uid),
            clientName,
            scopes: missing.missingOIDCScope ?? [],
            resources: Object.keys(missing.missingResourceScopes ?? {}),
          }),
        );
      }
      return send(res, 400, errorPage({ title: 'Unsupported step', message: 'This sign-in step is not available.' }));
    });
  }

  @Post(':uid/login')
  @HttpCode(200)
  async login(@Param('uid') uid: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.page(res, async () => {
      const { form, details } = await this.signInForm(uid, req, res);
      const clientId = String(details.params['client_id']);
      const client = await this.providers.current.Client.find(clientId);
      const tenantId = client?.['tenant_id'];
      if (!client || typeof tenantId !== 'string') throw new errors.InvalidClient('client not found');
      const username = (form.get('username') ?? '').slice(0, 256);
      const password = form.get('password') ?? '';
      const clientName = client.clientName ?? client.clientId;
      const context = this.contexts.read(req, res);
      const { ip } = context;
      const result = await this.signIn.execute({
        tenantId,
        username,
        password,
        clientId,
        ...(ip ? { ip } : {}),
        ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
      });
      const again = (status: number, error: string) =>
        send(res, status, loginPage({ action: `/interaction/${uid}/login`, csrf: this.csrf(uid), clientName, username, error }));
      if (result.outcome === 'locked') {
        res.setHeader('retry-after', String(result.retryAfterSeconds));
        return again(429, `Too many failed attempts. Try again in ${result.retryAfterSeconds} seconds.`);
      }
      if (result.outcome === 'invalid') return again(401, 'The username or password is not correct.');
      const verdict = await this.decide(result.account, clientId, ['pwd'], details.session?.uid, context);
      if (verdict.decision === 'deny') return this.refuse(req, res);
      const step = await this.secondFactorStep(result.account, details.params['acr_values'], verdict);
      if (step === 'none') return this.finishSignIn(req, res, result.account, clientId, authenticationContext(['pwd']), context);
      await this.factors.rememberPasswordStep(uid, result.account.accountId);
      return this.secondFactorPage(res, 200, uid, step, result.account, clientName, tenantId);
    });
  }

  @Post(':uid/totp')
  @HttpCode(200)
  async totp(@Param('uid') uid: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.page(res, async () => {
      const { form, details } = await this.signInForm(uid, req, res);
      const accountId = await this.factors.passwordStepOf(uid);
      const account = accountId ? await this.accounts.findById(accountId) : undefined;
      if (!account || account.disabled) throw new errors.InvalidRequest('sign in with your password first');
      const clientId = String(details.params['client_id']);
      const client = await this.providers.current.Client.find(clientId);
      const clientName = client?.clientName ?? clientId;
      const step = await this.secondFactor.stepFor(account);
      const meta = { clientId, ip: this.address.of(req) };
      const recoveryCode = form.get('recovery_code');
      const result =
        recoveryCode !== null && step === 'verify'
          ? await this.secondFactor.redeemRecoveryCode(account, recoveryCode, meta)
          : await this.secondFactor.submit(account, (form.get('code') ?? '').slice(0, 16), meta);
      if (result.ok && result.recoveryCodes) {
        await this.factors.markSecondFactorDone(uid);
        return send(
          res,
          200,
          recoveryCodesPage({ action: `/interaction/${uid}/continue`, csrf: this.csrf(uid), codes: result.recoveryCodes }),
        );
      }
      if (result.ok) {
        await this.factors.forgetPasswordStep(uid);
        return this.finishSignIn(req, res, account, clientId, await this.secondFactorContext(uid, account.accountId));
      }
      if (result.reason === 'locked') res.setHeader('retry-after', String(result.retryAfterSeconds ?? 60));
      const message =
        result.reason === 'locked'
          ? `Too many failed attempts. Try again in ${result.retryAfterSeconds ?? 60} seconds.`
          : result.reason === 'expired'
            ? 'The set-up expired; here is a new key.'
            : result.reason === 'replayed'
              ? 'That code was already used. Wait for the next one.'
              : 'The code is not correct.';
      return this.secondFactorPage(res, result.reason === 'locked' ? 429 : 401, uid, step, account, clientName, account.tenantId, message);
    });
  }

  @Post(':uid/continue')
  @HttpCode(200)
  async continueSignIn(@Param('uid') uid: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.page(res, async () => {
      const { details } = await this.signInForm(uid, req, res);
      const accountId = await this.factors.completedSecondFactorOf(uid);
      const account = accountId ? await this.accounts.findById(accountId) : undefined;
      if (!account || account.disabled) throw new errors.InvalidRequest('complete the verification step first');
      await this.factors.forgetPasswordStep(uid);
      await this.finishSignIn(
        req,
        res,
        account,
        String(details.params['client_id']),
        await this.secondFactorContext(uid, account.accountId),
      );
    });
  }

  /** "Sign in with <IdP>": starts the upstream flow (src/federation) for this interaction. */
  @Post(':uid/federate')
  @HttpCode(200)
  async federate(@Param('uid') uid: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.page(res, async () => {
      const { form, details } = await this.signInForm(uid, req, res);
      const clientId = String(details.params['client_id']);
      const tenantId = (await this.providers.current.Client.find(clientId))?.['tenant_id'];
      if (typeof tenantId !== 'string') throw new errors.InvalidClient('client not found');
      const upstream = await this.startFederation.execute({
        interactionUid: uid,
        tenantId,
        clientId,
        idpId: (form.get('idp') ?? '').slice(0, 64),
        ip: this.address.of(req),
        userAgent: req.headers['user-agent'],
      });
      res.setHeader('cache-control', 'no-store');
      res.redirect(303, upstream.href);
    });
  }

  /** Where src/federation's callback returns the browser: the verified upstream identity signs in (then TOTP if needed). */
  @Get(':uid/federated')
  async federated(@Param('uid') uid: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.page(res, async () => {
      const details = await this.signInDetails(uid, req, res);
      const verified = await this.federationFlows.complete(uid);
      if (!verified) throw new FederationError('AUTH.FEDERATION_NOT_COMPLETED');
      const account = await this.accounts.findById(verified.accountId);
      if (!account || account.disabled) throw new FederationError('AUTH.ACCOUNT_DISABLED');
      const clientId = String(details.params['client_id']);
      const context = this.contexts.read(req, res);
      const verdict = await this.decide(account, clientId, verified.upstreamMfa ? ['fed', 'mfa'] : ['fed'], details.session?.uid, context);
      if (verdict.decision === 'deny') return this.refuse(req, res);
      // The upstream's own MFA (its amr, as configured per IdP) stands in for Traceo's TOTP; otherwise the same rule as passwords.
      if (verified.upstreamMfa) return this.finishSignIn(req, res, account, clientId, federatedContext(true, false), context);
      const step = await this.secondFactorStep(account, details.params['acr_values'], verdict);
      if (step === 'none') return this.finishSignIn(req, res, account, clientId, federatedContext(false, false), context);
      await this.factors.rememberPasswordStep(uid, account.accountId);
      const client = await this.providers.current.Client.find(clientId);
      return this.secondFactorPage(res, 200, uid, step, account, client?.clientName ?? clientId, account.tenantId);
    });
  }

  @Post(':uid/confirm')
  @HttpCode(200)
  async confirm(@Param('uid') uid: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.page(res, async () => {
      const form = await readForm(req);
      this.checkCsrf(uid, form.get('csrf'));
      const details = await this.details(uid, req, res);
      if (details.prompt.name !== 'consent' || !details.session?.accountId) throw new errors.InvalidRequest('not a consent step');
      if (form.get('decision') !== 'allow') {
        await this.providers.current.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'the user denied the request' },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      const missing = details.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      const grant = details.grantId
        ? await this.providers.current.Grant.find(details.grantId)
        : new this.providers.current.Grant({ accountId: details.session.accountId, clientId: String(details.params['client_id']) });
      if (!grant) throw new errors.InvalidRequest('grant not found');
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
        grant.addResourceScope(resource, scopes.join(' '));
      const grantId = await grant.save();
      await this.providers.current.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    });
  }

  @Get(':uid/abort')
  async abort(@Param('uid') uid: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.page(res, async () => {
      await this.details(uid, req, res);
      await this.providers.current.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'the user cancelled' },
        { mergeWithLastSubmission: false },
      );
    });
  }

  /**
   * Hands the signed-in account to oidc-provider, with the sign-in's context for the session record
   * (`traceo`, read back when the browser resumes the authorization: src/oidc/provider-configuration.ts).
   */
  private async finishSignIn(
    req: Request,
    res: Response,
    account: Account,
    clientId: string,
    { amr, acr }: { amr: readonly string[]; acr: AcrValue },
    context: SignInContext = this.contexts.read(req, res),
  ): Promise<void> {
    const traceo: SignInRecord = { tenantId: account.tenantId, clientId, context };
    const outcome: InteractionResults = { login: { accountId: account.accountId, amr: [...amr], acr }, traceo };
    await this.providers.current.interactionFinished(req, res, outcome, { mergeWithLastSubmission: false });
  }

  /**
   * The second factor a sign-in needs: the account's own (verify, or enroll for a role that requires
   * MFA), or enrollment when the client asks for acr urn:traceo:acr:mfa or the risk decision says step-up.
   */
  private async secondFactorStep(account: Account, acrValues: unknown, verdict: RiskVerdict): Promise<SecondFactorStep> {
    const needed = await this.secondFactor.stepFor(account);
    return needed === 'none' && (requestsMfa(acrValues) || verdict.decision === 'step-up') ? 'enroll' : needed;
  }

  /** The risk decision after the first factor (docs/auth-risk.md); audited by RiskDecisions. */
  private decide(
    account: Account,
    clientId: string,
    amr: string[],
    sessionId: string | undefined,
    context: SignInContext,
  ): Promise<RiskVerdict> {
    return this.risk.decide({
      tenantId: account.tenantId,
      stage: 'sign-in',
      accountId: account.accountId,
      clientId,
      roles: account.roles,
      amr,
      sessionId,
      context,
    });
  }

  /** A denied sign-in returns to the client as `access_denied` (RFC 6749 §4.1.2.1), with nothing about why. */
  private async refuse(req: Request, res: Response): Promise<void> {
    await this.providers.current.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the sign-in was refused by the security policy' },
      { mergeWithLastSubmission: false },
    );
  }

  /** `amr`/`acr` after the TOTP step: the first factor was a password, or this interaction's federated sign-in. */
  private async secondFactorContext(uid: string, accountId: string): Promise<{ amr: readonly string[]; acr: AcrValue }> {
    return (await this.federationFlows.completedAs(uid, accountId)) ? federatedContext(false, true) : authenticationContext(['pwd', 'otp']);
  }

  private federationButtons(uid: string, tenantId: unknown) {
    const idps = typeof tenantId === 'string' ? this.upstreamIdps.forTenant(tenantId) : [];
    return idps.length
      ? { federation: { action: `/interaction/${uid}/federate`, idps: idps.map((idp) => ({ id: idp.id, name: idp.display_name })) } }
      : {};
  }

  private async secondFactorPage(
    res: Response,
    status: number,
    uid: string,
    step: 'verify' | 'enroll' | 'none',
    account: Account,
    clientName: string,
    tenantId: string,
    error?: string,
  ): Promise<void> {
    const action = `/interaction/${uid}/totp`;
    const csrf = this.csrf(uid);
    if (step === 'verify') return send(res, status, totpPage({ action, csrf, clientName, ...(error ? { error } : {}) }));
    const { secret, uri } = await this.secondFactor.enrollment(account, `Traceo (${tenantId})`);
    return send(res, status, enrollPage({ action, csrf, clientName, secret, uri, ...(error ? { error } : {}) }));
  }

  private async details(uid: string, req: Request, res: Response) {
    if (!UID.test(uid)) throw new errors.SessionNotFound('interaction not found');
    const details = await this.providers.current.interactionDetails(req, res);
    if (details.uid !== uid) throw new errors.SessionNotFound('interaction session mismatch');
    return details;
  }

  /** The interaction, which must be at its sign-in (login) prompt. */
  private async signInDetails(uid: string, req: Request, res: Response) {
    const details = await this.details(uid, req, res);
    if (details.prompt.name !== 'login') throw new errors.InvalidRequest('not a sign-in step');
    return details;
  }

  /** A sign-in step's posted form, CSRF-checked before the interaction is looked at. */
  private async signInForm(uid: string, req: Request, res: Response) {
    const form = await readForm(req);
    this.checkCsrf(uid, form.get('csrf'));
    return { form, details: await this.signInDetails(uid, req, res) };
  }

  private csrf(uid: string): string {
    return createHmac('sha256', this.keys.formKey).update(`interaction:${uid}`).digest('base64url');
  }

  private checkCsrf(uid: string, value: string | null): void {
    const expected = Buffer.from(this.csrf(uid));
    const given = Buffer.from(value ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new errors.InvalidRequest('the form has expired; start again');
  }

  /** Runs a page handler; protocol and form errors become an HTML page with their status, never a stack. */
  private async page(res: Response, handler: () => Promise<void>): Promise<void> {
    try {
      await handler();
    } catch (error) {
      if (res.headersSent) return;
      if (error instanceof FederationError) return sendFederationError(res, error);
      if (error instanceof FormBodyError) return send(res, error.status, errorPage({ title: 'Request refused', message: error.message }));
      if (error instanceof errors.OIDCProviderError)
        return send(
          res,
          error.status >= 500 ? 500 : error.status,
          errorPage({ title: 'Sign-in could not continue', message: error.error_description ?? error.message }),
        );
      throw error;
    }
  }
}

function send(res: Response, status: number, html: string): void {
  res.status(status);
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-security-policy', PAGE_CSP);
  res.setHeader('x-frame-options', 'DENY');
  res.send(html);
}
