import type { DataSource } from 'typeorm';
import type { LogEntry } from '../audit-log/merkle-log.repository';
import type { PersonalDataProtector } from '../personal-data/personal-data.protector';
import { toCefSyslog } from './cef.formatter';

export interface SiemForwarderOptions {
  readonly dataSource: DataSource;
  readonly personalData: Pick<PersonalDataProtector, 'reveal'>;
  readonly sender: { send(messages: readonly string[]): Promise<void> };
  /** The destination's name (destinationName): cursors are kept per destination. */
  readonly destination: string;
  /**
   * Where a new destination starts: at the beginning of every tenant's retained log, or at its end
   * (only records appended after the destination was first seen). A tenant whose log starts later is
   * forwarded from its first record either way.
   */
  readonly start: 'beginning' | 'end';
  /** The HOSTNAME of the messages: this replica. */
  readonly hostname: string;
  /** Records read, revealed and sent at a time, per tenant. */
  readonly batchSize?: number;
  /** Batches per tenant in one pass, so one busy tenant cannot hold the others back. */
  readonly batchesPerPass?: number;
}

/** Personal data could not be revealed (encryption-service unreachable): the tenant's batch waits for the next pass. */
class SiemForwardingDeferred extends Error {}

export interface ForwardingPass {
  /** Records sent. */
  readonly sent: number;
  /** Tenants whose next batch waits because its personal data could not be revealed now. */
  readonly deferred: readonly string[];
}

/** The syslog collector could not be reached or the connection failed during a send. */
export class SiemCollectorError extends Error {
  constructor(destination: string, cause: unknown) {
    super(`sending to the syslog collector ${destination} failed: ${(cause as Error).message ?? String(cause)}`, { cause });
  }
}

/**
 * Continuous SIEM export: follows every tenant's log in leaf order and sends each record as ArcSight
 * CEF in an RFC 5424 syslog message (the same message `format=cef-syslog` exports), keeping per
 * destination and tenant the next leaf index to send in audit_siem_cursors. The cursor moves only
 * after a batch was handed to the connection, so a restart resends rather than skips: delivery is at
 * least once, and each message carries the record's event id (`externalId`) for a SIEM to drop a
 * repeat. Records that retention dropped before they were sent are skipped.
 *
 * Personal fields go out revealed where the subject's key exists and without them for an erased
 * subject; a batch whose personal data cannot be revealed now waits for a later pass rather than
 * go out without it.
 */
export class SiemForwarder {
  private readonly batchSize: number;
  private readonly batchesPerPass: number;
  /** The destination's registration (done once, by the first pass). */
  private registered: Promise<void> | undefined;

  constructor(private readonly options: SiemForwarderOptions) {
    this.batchSize = options.batchSize ?? 1000;
    this.batchesPerPass = options.batchesPerPass ?? 10;
  }

  /**
   * One pass over every tenant log. A tenant whose personal data cannot be revealed now is left for
   * the next pass (the others go on); a collector failure ends the pass (SiemCollectorError).
   */
  async forwardPass(): Promise<ForwardingPass> {
    const { dataSource, destination } = this.options;
    this.registered ??= this.register().catch((error: unknown) => {
      this.registered = undefined;
      throw error;
    });
    await this.registered;
    // Tenant logs that appeared since (no cursor yet) start at 0.
    await dataSource.query(
      `INSERT INTO audit_siem_cursors (destination, tenant_id, next_index)
       SELECT $1, h.tenant_id, 0 FROM audit_log_heads h
        WHERE NOT EXISTS (SELECT 1 FROM audit_siem_cursors c WHERE c.destination = $1 AND c.tenant_id = h.tenant_id)
       ON CONFLICT (destination, tenant_id) DO NOTHING`,
      [destination],
    );
    const behind = await dataSource.query<{ tenant_id: string; next_index: string; size: string }[]>(
      `SELECT c.tenant_id, c.next_index, h.size
         FROM audit_siem_cursors c JOIN audit_log_heads h USING (tenant_id)
        WHERE c.destination = $1 AND c.next_index < h.size
        ORDER BY c.tenant_id`,
      [destination],
    );
    const pass = { sent: 0, deferred: [] as string[] };
    for (const row of behind) {
      try {
        await this.forwardTenant(row.tenant_id, Number(row.next_index), Number(row.size), pass);
      } catch (error) {
        if (!(error instanceof SiemForwardingDeferred)) throw error;
        pass.deferred.push(row.tenant_id);
      }
    }
    return pass;
  }

  /** Sends the tenant's records from leaf index `from`, counting each batch in `pass` as it goes. */
  /**
   * Once per forwarder: a destination seen for the first time gets a cursor for every log there is,
   * at its current size when it starts at the end.
   */
  private async register(): Promise<void> {
    const { dataSource, destination, start } = this.options;
    await dataSource.transaction(async (manager) => {
      const created = await manager.query<unknown[]>(
        `INSERT INTO audit_siem_destinations (destination, start) VALUES ($1, $2) ON CONFLICT (destination) DO NOTHING RETURNING destination`,
        [destination, start],
      );
      if (created.length > 0)
        await manager.query(
          `INSERT INTO audit_siem_cursors (destination, tenant_id, next_index)
           SELECT $1, tenant_id, CASE WHEN $2 THEN size ELSE 0 END FROM audit_log_heads`,
          [destination, start === 'end'],
        );
    });
  }

  private async forwardTenant(tenant: string, from: number, size: number, pass: { sent: number }): Promise<void> {
    let next = from;
    for (let batch = 0; batch < this.batchesPerPass && next < size; batch += 1) {
      const rows = await this.options.dataSource.query<{ leaf_index: string; entry: string }[]>(
        `SELECT leaf_index, entry FROM audit_records WHERE tenant_id = $1 AND leaf_index >= $2 AND leaf_index < $3 ORDER BY leaf_index LIMIT $4`,
        [tenant, next, size, this.batchSize],
      );
      // The rest of the range was dropped by retention before it was sent.
      const last = rows.length === 0 ? size - 1 : Number(rows[rows.length - 1]!.leaf_index);
      if (rows.length > 0) {
        const entries = rows.map((row) => JSON.parse(row.entry) as LogEntry);
        const revealed = await this.options.personalData.reveal(tenant, entries);
        if (revealed.some((item) => item.personalData === 'unavailable')) throw new SiemForwardingDeferred(tenant);
        const messages = entries.map((entry, i) => toCefSyslog({ ...entry, record: revealed[i]!.record }, this.options.hostname));
        await this.options.sender.send(messages).catch((error: unknown) => {
          throw new SiemCollectorError(this.options.destination, error);
        });
        pass.sent += rows.length;
      }
      await this.options.dataSource.query(
        `UPDATE audit_siem_cursors SET next_index = $3, updated_at = clock_timestamp() WHERE destination = $1 AND tenant_id = $2`,
        [this.options.destination, tenant, last + 1],
      );
      next = last + 1;
    }
  }
}
