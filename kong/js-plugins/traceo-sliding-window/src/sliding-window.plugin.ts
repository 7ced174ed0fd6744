import { gatewayLimiterFor, type GatewayLimiter } from './gateway-limiter';
import type { KongPdk } from './kong-request';
import { parseSlidingWindowConfig } from './plugin-config';

/**
 * The class kong-js-pluginserver instantiates for every plugin entity (`plugin.StartInstance` with
 * the entity's config) and whose methods name the phases it runs: only `access`. A configuration
 * this constructor refuses makes StartInstance fail; Kong logs "starting instance: <message>" and
 * answers the request with 500, so a misconfigured limit is loud, never silently off.
 */
export class Plugin {
  private readonly limiter: GatewayLimiter;

  constructor(config: unknown) {
    this.limiter = gatewayLimiterFor(parseSlidingWindowConfig(config));
  }

  async access(kong: KongPdk): Promise<void> {
    await this.limiter.access(kong);
  }
}
