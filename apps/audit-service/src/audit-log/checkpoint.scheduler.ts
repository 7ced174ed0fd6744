import { Inject, Injectable, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { AuditConfig } from '../audit-service.config';
import { CheckpointSigner } from './checkpoint-note';
import { issueCheckpoints, registerSigningKey } from './checkpoints';

export const CHECKPOINT_SIGNER = Symbol('CHECKPOINT_SIGNER');

/** Issues signed checkpoints for every tenant log that grew, every TRACEO_AUDIT_CHECKPOINT_INTERVAL_MS. */
@Injectable()
export class CheckpointScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime<AuditConfig>,
    @Inject(CHECKPOINT_SIGNER) private readonly signer: CheckpointSigner,
    private readonly publisher: EventPublisher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await registerSigningKey(this.runtime.dataSource, this.signer);
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick());
    }, this.runtime.config.TRACEO_AUDIT_CHECKPOINT_INTERVAL_MS);
  }

  /** Stops the timer and issues a last checkpoint for what was appended before shutdown. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.tick();
  }

  private async tick(): Promise<void> {
    try {
      await issueCheckpoints(this.runtime.dataSource, this.signer, this.publisher);
    } catch (error) {
      this.runtime.logger.error({ err: error }, 'could not issue audit checkpoints');
    }
  }
}
