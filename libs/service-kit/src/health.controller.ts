import { Controller, Get, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Public } from './api-key.guard';
import { SERVICE_RUNTIME, type ServiceRuntime } from './service-runtime';

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out`)), CHECK_TIMEOUT_MS).unref()),
  ]);
}

/** Liveness says the process runs; readiness says it can reach its PostgreSQL and Kafka. */
@ApiExcludeController()
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
  ) {}

  @Get('live')
  live(): { status: 'ok'; service: string } {
    return { status: 'ok', service: this.runtime.name };
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      async () => {
        const indicator = this.indicators.check('database');
        try {
          await withTimeout(this.runtime.dataSource.query('SELECT 1'), 'database ping');
          return indicator.up();
        } catch {
          return indicator.down({ message: 'database unreachable' });
        }
      },
      async () => {
        const indicator = this.indicators.check('kafka');
        try {
          const cluster = await withTimeout(this.runtime.kafkaAdmin.describeCluster(), 'kafka describeCluster');
          return indicator.up({ brokers: cluster.brokers.length });
        } catch {
          return indicator.down({ message: 'kafka unreachable' });
        }
      },
    ]);
  }
}
