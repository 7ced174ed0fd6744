import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { AuditConfig } from '../audit-service.config';
import { ensureMonthlyPartitions } from './audit-partitions';
import { ExpirePartitionsUseCase } from './expire-partitions.usecase';

const MONTH_MS = 31 * 86_400_000;

/**
 * Keeps monthly partitions two months ahead (created before the consumer starts, so records never
 * land in the unscheduled partitions) and runs retention every TRACEO_AUDIT_RETENTION_INTERVAL_MS.
 */
@Injectable()
export class RetentionScheduler implements OnModuleInit, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime<AuditConfig>,
    private readonly expire: ExpirePartitionsUseCase,
  ) {}

  async onModuleInit(): Promise<void> {
    await ensureMonthlyPartitions(this.runtime.maintenanceDataSource, new Date(), new Date(Date.now() + 2 * MONTH_MS));
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick());
    }, this.runtime.config.TRACEO_AUDIT_RETENTION_INTERVAL_MS);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    try {
      await ensureMonthlyPartitions(this.runtime.maintenanceDataSource, new Date(), new Date(Date.now() + 2 * MONTH_MS));
      const outcome = await this.expire.execute();
      if (outcome.dropped.length > 0 || outcome.held.length > 0) this.runtime.logger.info(outcome, 'audit retention ran');
    } catch (error) {
      this.runtime.logger.error({ err: error }, 'audit retention failed');
    }
  }
}
