import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@traceo/security';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { Request, Response } from 'express';
import { ClientAddress } from '../interactions/client-address';
import { FinishFederatedCallbackUseCase } from './finish-federated-callback.usecase';
import { sendFederationError } from './federation-pages';

/**
 * The redirect URI registered at every upstream IdP. It verifies the answer, then sends the browser
 * back to its interaction (whose cookie is scoped to `/interaction/:uid`), which finishes the sign-in.
 */
@ApiExcludeController()
@Public()
@Controller('federation')
export class FederationHttpController {
  private readonly address: ClientAddress;

  constructor(
    private readonly finish: FinishFederatedCallbackUseCase,
    @Inject(SERVICE_RUNTIME) runtime: ServiceRuntime,
  ) {
    this.address = new ClientAddress(runtime.config.TRACEO_TRUSTED_PROXIES);
  }

  @Get('callback')
  async callback(@Req() req: Request, @Res() res: Response): Promise<void> {
    const query = new URL(req.originalUrl, 'http://callback.invalid').searchParams;
    try {
      const { interactionUid } = await this.finish.execute({ query, ip: this.address.of(req), userAgent: req.headers['user-agent'] });
      res.setHeader('cache-control', 'no-store');
      res.redirect(303, `/interaction/${encodeURIComponent(interactionUid)}/federated`);
    } catch (error) {
      sendFederationError(res, error);
    }
  }
}
