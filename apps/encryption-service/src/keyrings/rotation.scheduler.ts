import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import type { Actor } from './keyring';
import { KeyringAdmin } from './keyring-admin.usecase';
import { KeyringRepository } from './keyring.repository';

export const ROTATION_CHECK_INTERVAL_MS = 30_000;
const BATCH = 50;
const SCHEDULER: Actor = { type: 'system', id: 'encryption-service/rotation-scheduler' };

/**
 * Time-based rotation: every ROTATION_CHECK_INTERVAL_MS, rotates each keyring whose active version is
 * older than its rotation period. Keyrings are locked with SKIP LOCKED, so replicas share the work
 * and never rotate one keyring twice.
 */
@Injectable()
export class RotationScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly keyrings: KeyringRepository,
    private readonly admin: KeyringAdmin,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), ROTATION_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Rotates every keyring that is due; answers how many were rotated. */
  async rotateDue(): Promise<number> {
    let rotated = 0;
    for (;;) {
      const count = await this.runtime.dataSource.transaction(async (manager) => {
        const due = await this.keyrings.lockKeyringsDueForRotation(manager, BATCH);
        for (const keyring of due) await this.admin.rotateLocked(manager, keyring, SCHEDULER, 'scheduled');
        return due.length;
      });
      rotated += count;
      if (count < BATCH) return rotated;
    }
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.rotateDue();
    try {
      const rotated = await this.running;
      if (rotated > 0) this.runtime.logger.info({ rotated }, 'scheduled key rotation');
    } catch (error) {
      this.runtime.logger.error({ err: error }, 'scheduled key rotation failed');
    } finally {
      this.running = undefined;
    }
  }
}
