import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { Counter } from 'prom-client';
import type { QueryRunner } from 'typeorm';
import type { AuditConfig } from '../audit-service.config';
import { PersonalDataProtector } from '../personal-data/personal-data.protector';
import { SiemCollectorError, SiemForwarder } from './siem-forwarder';
import { destinationName, parseSyslogUrl, SyslogSender } from './syslog-sender';

/**
 * Runs the SIEM forwarder every TRACEO_AUDIT_SIEM_INTERVAL_MS when TRACEO_AUDIT_SIEM_SYSLOG_URL is set.
 * One replica forwards at a time: the one holding a PostgreSQL advisory lock for the destination
 * (on a connection of its own, released when that connection ends); the others stand by and take
 * over within an interval. Becoming the forwarder is audited (`audit.siem-forwarding-started`).
 */
@Injectable()
export class SiemForwardingScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private lockHolder: QueryRunner | undefined;
  private forwarder: SiemForwarder | undefined;
  private sender: SyslogSender | undefined;
  private destination = '';
  private readonly forwarded: Counter;
  private readonly failures: Counter<'reason'>;

  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime<AuditConfig>,
    private readonly personalData: PersonalDataProtector,
    private readonly publisher: EventPublisher,
  ) {
    this.forwarded = new Counter({
      name: 'traceo_audit_siem_forwarded_total',
      help: 'Audit records sent to the SIEM syslog collector (CEF in RFC 5424 messages)',
      registers: [runtime.metrics],
    });
    this.failures = new Counter({
      name: 'traceo_audit_siem_forward_failures_total',
      help: 'SIEM forwarding passes that stopped early, by reason: collector (connection or send), deferred (personal data not revealable now), database',
      labelNames: ['reason'],
      registers: [runtime.metrics],
    });
  }

  onApplicationBootstrap(): void {
    const { config } = this.runtime;
    if (!config.TRACEO_AUDIT_SIEM_SYSLOG_URL) return;
    const target = parseSyslogUrl(config.TRACEO_AUDIT_SIEM_SYSLOG_URL);
    this.destination = destinationName(target);
    this.sender = new SyslogSender(target, {
      ...(config.TRACEO_AUDIT_SIEM_SYSLOG_CA_FILE ? { ca: readFileSync(config.TRACEO_AUDIT_SIEM_SYSLOG_CA_FILE, 'utf8') } : {}),
    });
    this.forwarder = new SiemForwarder({
      dataSource: this.runtime.dataSource,
      personalData: this.personalData,
      sender: this.sender,
      destination: this.destination,
      start: config.TRACEO_AUDIT_SIEM_START,
      hostname: hostname(),
    });
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick());
    }, config.TRACEO_AUDIT_SIEM_INTERVAL_MS);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    this.sender?.close();
    await this.releaseLock();
  }

  private async tick(): Promise<void> {
    try {
      if (!(await this.holdsLock())) return;
      const { sent, deferred } = await this.forwarder!.forwardPass();
      this.forwarded.inc(sent);
      if (deferred.length > 0) {
        this.failures.inc({ reason: 'deferred' });
        this.runtime.logger.warn(
          { destination: this.destination, tenants: deferred },
          'SIEM forwarding waits for personal data to be revealable',
        );
      }
    } catch (error) {
      const reason = error instanceof SiemCollectorError ? 'collector' : 'database';
      this.failures.inc({ reason });
      // The destination is named, never its credentials (it has none: the URL carries host and port only).
      this.runtime.logger.warn(
        { err: error, destination: this.destination, reason },
        'SIEM forwarding pass stopped; it resumes from its cursor',
      );
    }
  }

  /** Takes the destination's advisory lock if no replica holds it; keeps it while its connection lives. */
  private async holdsLock(): Promise<boolean> {
    if (this.lockHolder && !this.lockHolder.isReleased) {
      try {
        await this.lockHolder.query('SELECT 1');
        return true;
      } catch {
        await this.releaseLock();
      }
    }
    const runner = this.runtime.dataSource.createQueryRunner();
    await runner.connect();
    const [row] = (await runner.query(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`, [
      `traceo.audit.siem-forwarding ${this.destination}`,
    ])) as { locked: boolean }[];
    if (!row?.locked) {
      await runner.release();
      return false;
    }
    this.lockHolder = runner;
    this.runtime.logger.info({ destination: this.destination }, 'this replica forwards the audit log to the SIEM');
    await this.publisher.audit(
      {
        actor: { type: 'system', id: 'audit-service' },
        action: 'audit.siem-forwarding-started',
        resource: { type: 'siem-destination', id: this.destination },
        status: 'success',
        details: { destination: this.destination, start: this.runtime.config.TRACEO_AUDIT_SIEM_START, host: hostname() },
      },
      { tenantId: 'platform' },
    );
    return true;
  }

  private async releaseLock(): Promise<void> {
    const runner = this.lockHolder;
    this.lockHolder = undefined;
    if (!runner || runner.isReleased) return;
    // Ending the session releases the lock even if the unlock statement cannot run.
    await runner.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await runner.release().catch(() => undefined);
  }
}
