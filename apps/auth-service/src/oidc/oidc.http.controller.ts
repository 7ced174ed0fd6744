import { All, Controller, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@traceo/security';
import type { Request, Response } from 'express';
import { OidcProviderHolder } from './oidc-provider.holder';
import { OIDC_MOUNT_PATH } from './oidc-provider.token';

/**
 * Hands everything under /oidc to oidc-provider (discovery, authorization, token, PAR, JWKS,
 * revocation, introspection, userinfo, end-session). Public: clients authenticate to the provider
 * itself. Express's url is rewritten the way `app.use('/oidc', …)` would, so oidc-provider derives
 * its mount path from `originalUrl`. Protocol errors are answered by oidc-provider in the spec's
 * format (`{"error": …, "error_description": …}` or a redirect with `error=`), never a stack.
 */
@ApiExcludeController()
@Public()
@Controller()
export class OidcHttpController {
  constructor(private readonly providers: OidcProviderHolder) {}

  @All([OIDC_MOUNT_PATH.slice(1), `${OIDC_MOUNT_PATH.slice(1)}/*path`])
  async handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    req.url = req.url.slice(OIDC_MOUNT_PATH.length) || '/';
    if (!req.url.startsWith('/')) req.url = `/${req.url}`;
    await this.providers.callback(req, res);
  }
}
