import { Inject, Injectable, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { AuditConfig } from '../audit-service.config';
import type { CheckpointSigner } from './checkpoint-note';
import { issueCheckpoints, registerSigningKey } from './checkpoints';

export const CHECKPOINT_SIGNER = Symbol('CHECKPOINT_SIGNER');

/** How often the scheduler looks at the two triggers below. */
const POLL_MS = 50;

/**
 * Issues signed checkpoints for every tenant log that grew, at a fixed interval
 * (TRACEO_AUDIT_CHECKPOINT_INTERVAL_MS) and as soon as TRACEO_AUDIT_CHECKPOINT_EVERY records were
 * appended since the last one, whichever comes first; and once more at shutdown.
 */
@Injectable()
export class CheckpointScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private busy = false;
  private appendedSinceLast = 0;
  private lastAt = Date.now();

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime<AuditConfig>,
    @Inject(CHECKPOINT_SIGNER) private readonly signer: CheckpointSigner,
    private readonly publisher: EventPublisher,
  ) {}

  /** Called by the append path with the number of records it appended. */
  recordAppended(count: number): void {
    this.appendedSinceLast += count;
  }

  async onApplicationBootstrap(): Promise<void> {
    await registerSigningKey(this.runtime.dataSource, this.signer);
    const { TRACEO_AUDIT_CHECKPOINT_INTERVAL_MS: interval, TRACEO_AUDIT_CHECKPOINT_EVERY: every } = this.runtime.config;
    this.timer = setInterval(
      () => {
        if (this.busy || (Date.now() - this.lastAt < interval && this.appendedSinceLast < every)) return;
        this.busy = true;
        this.running = this.tick().finally(() => (this.busy = false));
      },
      Math.min(POLL_MS, interval),
    );
  }

  /** Stops the timer and issues a last checkpoint for what was appended before shutdown. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.tick();
    this.signer.close?.();
  }

  private async tick(): Promise<void> {
    this.appendedSinceLast = 0;
    this.lastAt = Date.now();
    try {
      await issueCheckpoints(this.runtime.dataSource, this.signer, this.publisher);
    } catch (error) {
      this.runtime.logger.error({ err: error }, 'could not issue audit checkpoints');
    }
  }
}
