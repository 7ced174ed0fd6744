import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { httpLoggingParams } from '@traceo/observability';
import { LoggerModule } from 'nestjs-pino';
import { AUTH_PROVIDERS } from './auth.providers';
import { EventPublisher } from './event-publisher';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { ProblemDetailsFilter } from './problem-details.filter';
import { RATE_LIMIT_PROVIDERS } from './rate-limit/rate-limit.providers';
import { SERVICE_RUNTIME, type ServiceRuntime } from './service-runtime';

/**
 * Cross-cutting parts every service shares: logging, problem+json errors, the global auth guard
 * (API keys and JWT access tokens with roles), the global rate-limit guard after it, health, metrics,
 * the outbox publisher, and an orderly shutdown (HTTP and consumer first, then the relay drains the
 * outbox, then the database closes).
 */
@Global()
@Module({})
export class ServiceKitModule implements OnApplicationShutdown {
  static forRoot(runtime: ServiceRuntime): DynamicModule {
    return {
      module: ServiceKitModule,
      imports: [
        LoggerModule.forRoot(httpLoggingParams(runtime.name, runtime.config.TRACEO_LOG_LEVEL)),
        TerminusModule.forRoot({ logger: false }),
        DiscoveryModule,
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: SERVICE_RUNTIME, useValue: runtime },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        ...AUTH_PROVIDERS,
        EventPublisher,
        ...RATE_LIMIT_PROVIDERS,
      ],
      exports: [SERVICE_RUNTIME, EventPublisher],
    };
  }

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly publisher: EventPublisher,
  ) {}

  async onApplicationShutdown(signal?: string): Promise<void> {
    const { logger, relay, kafkaAdmin, dataSource, maintenanceDataSource, name } = this.runtime;
    await this.publisher
      .audit({
        actor: { type: 'service', id: name },
        action: 'service.stopped',
        resource: { type: 'service', id: name },
        status: 'success',
        details: { reason: signal ?? 'shutdown requested' },
      })
      .catch((error: unknown) => logger.error({ err: error }, 'could not record service.stopped'));
    await this.publisher.settle();
    await relay.stop(this.runtime.config.TRACEO_SHUTDOWN_TIMEOUT_MS / 2);
    await kafkaAdmin.disconnect();
    await dataSource.destroy();
    if (maintenanceDataSource !== dataSource) await maintenanceDataSource.destroy();
    logger.info({ signal }, 'stopped');
  }
}
