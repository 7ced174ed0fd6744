import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { EventTypes } from '@traceo/contracts';
import { KafkaBroadcastListener } from '@traceo/messaging';
import { AUTH_GUARD_OPTIONS, RevokedGrants, type AuthGuardOptions } from '@traceo/security';
import { SERVICE_RUNTIME, type ServiceRuntime } from './service-runtime';

/**
 * Where a service learns that auth-service revoked a grant because a spent authorization code or
 * refresh token came back (`traceo.auth.refresh-token-reused.v1`, RFC 9700 §4.5, §4.14.2): every
 * replica reads every such event (a broadcast listener, from the end of the topic) and puts the grant
 * into RevokedGrants, so the guard refuses the access tokens issued from it at once instead of letting
 * them live out their 15 minutes. Only with JWT verification configured and a Kafka client at hand.
 *
 * Joining is not awaited: the service answers meanwhile, as it would without revocations.
 * A replica that starts after a revocation does not see it (the listener begins at the end); such a
 * token still expires within 15 minutes.
 */
/** How long `start` waits for the join (it goes on joining after that); bounds the wait of a shutdown that comes first. */
const JOIN_WAIT_MS = 5_000;

@Injectable()
export class RevokedGrantsListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly listener: KafkaBroadcastListener<'traceo.auth.refresh-token-reused.v1'> | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    revoked: RevokedGrants,
    @Inject(AUTH_GUARD_OPTIONS) options: AuthGuardOptions,
  ) {
    if (options.tokenVerifier === undefined || runtime.kafka === undefined) return;
    this.listener = new KafkaBroadcastListener({
      kafka: runtime.kafka,
      type: EventTypes.authRefreshTokenReused,
      groupPrefix: `${runtime.name}.revoked-grants`,
      onEvent: (event) => {
        if (event.data.grantId !== undefined) revoked.add(event.data.grantId);
      },
      logger: runtime.logger,
    });
  }

  /** Whether revocations are being read now (tests wait for it). */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  onApplicationBootstrap(): void {
    this.starting = this.listener
      ?.start(JOIN_WAIT_MS)
      .catch((error: unknown) => this.runtime.logger.warn({ err: error }, 'could not start reading grant revocations'));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener?.stop();
    // A start still under way ends within JOIN_WAIT_MS; what it set up after the stop above goes too.
    await this.starting;
    await this.listener?.stop();
  }
}
