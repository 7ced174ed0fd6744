import type { AuditActor } from '@traceo/security';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { TraceoError } from '@traceo/contracts';
import { EventPublisher, SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';

export class LegalHoldNotFoundError extends TraceoError {
  readonly code = 'AUDIT.LEGAL_HOLD_NOT_FOUND';
  readonly status = 404;
}

export interface LegalHold {
  holdId: string;
  tenantId: string | null;
  from: string;
  to: string;
  reason: string;
  placedAt: string;
  releasedAt: string | null;
}

interface HoldRow {
  hold_id: string;
  tenant_id: string | null;
  covers_from: Date;
  covers_to: Date;
  reason: string;
  placed_at: Date;
  released_at: Date | null;
}

const view = (row: HoldRow): LegalHold => ({
  holdId: row.hold_id,
  tenantId: row.tenant_id,
  from: row.covers_from.toISOString(),
  to: row.covers_to.toISOString(),
  reason: row.reason,
  placedAt: row.placed_at.toISOString(),
  releasedAt: row.released_at?.toISOString() ?? null,
});

/** Legal holds stop retention from dropping the records they cover; placing and releasing one is audited. */
@Injectable()
export class LegalHoldsUseCase {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly publisher: EventPublisher,
  ) {}

  async place(input: { tenantId?: string; from: string; to: string; reason: string }, actor: AuditActor): Promise<LegalHold> {
    return this.runtime.dataSource.transaction(async (manager) => {
      const [row] = await manager.query<HoldRow[]>(
        `INSERT INTO audit_legal_holds (hold_id, tenant_id, covers_from, covers_to, reason) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [randomUUID(), input.tenantId ?? null, input.from, input.to, input.reason],
      );
      await this.publisher.audit(
        {
          actor,
          action: 'legal-hold.placed',
          resource: { type: 'legal-hold', id: row!.hold_id },
          status: 'success',
          details: { from: input.from, to: input.to },
        },
        { tenantId: input.tenantId ?? 'platform', manager },
      );
      return view(row!);
    });
  }

  async release(holdId: string, actor: AuditActor): Promise<LegalHold> {
    return this.runtime.dataSource.transaction(async (manager) => {
      // TypeORM answers an UPDATE ... RETURNING with [rows, affected].
      const [[row]] = await manager.query<[HoldRow[], number]>(
        'UPDATE audit_legal_holds SET released_at = clock_timestamp() WHERE hold_id = $1 AND released_at IS NULL RETURNING *',
        [holdId],
      );
      if (!row) throw new LegalHoldNotFoundError('no active legal hold with this id');
      await this.publisher.audit(
        {
          actor,
          action: 'legal-hold.released',
          resource: { type: 'legal-hold', id: holdId },
          status: 'success',
        },
        { tenantId: row.tenant_id ?? 'platform', manager },
      );
      return view(row);
    });
  }

  async active(): Promise<LegalHold[]> {
    const rows = await this.runtime.dataSource.query<HoldRow[]>(
      'SELECT * FROM audit_legal_holds WHERE released_at IS NULL ORDER BY placed_at',
    );
    return rows.map(view);
  }
}
