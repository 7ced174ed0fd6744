import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { KEY_ENCRYPTION_KEY, type KeyEncryptionKey } from '@traceo/hsm';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { affectedRows } from '../database/affected-rows';

/** How long the upstream has to send the browser back (seconds). */
export const FEDERATION_FLOW_TTL_SECONDS = 5 * 60;

const hashState = (state: string): Buffer => createHash('sha256').update(state, 'utf8').digest();
const verifierAad = (stateHash: Buffer) => Buffer.concat([Buffer.from('traceo-auth:federation-verifier:', 'utf8'), stateHash]);

export interface FederationFlow {
  readonly interactionUid: string;
  readonly tenantId: string;
  readonly idpId: string;
  readonly clientId: string;
  readonly codeVerifier: string;
  readonly nonce: string;
}

interface FlowRow {
  state_hash: Buffer;
  interaction_uid: string;
  tenant_id: string;
  idp_id: string;
  client_id: string;
  verifier_wrapped: Buffer;
  nonce: string;
  expires_at: Date;
  consumed_at: Date | null;
}

/** The rows of an `UPDATE … RETURNING` (TypeORM's PostgreSQL driver answers `[rows, rowCount]`). */
function returned<T>(result: unknown): T[] {
  return Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as T[]) : [];
}

/**
 * Sign-ins sent to an upstream IdP, server-side: found by the SHA-256 of `state`, bound to the
 * interaction, PKCE verifier KEK-wrapped. Each row is consumed by one callback and completed by one
 * interaction hand-off, both atomic, so a replayed callback or a second hand-off finds nothing.
 */
@Injectable()
export class FederationFlowsRepository {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(KEY_ENCRYPTION_KEY) private readonly kek: KeyEncryptionKey,
  ) {}

  async save(state: string, flow: FederationFlow): Promise<void> {
    const stateHash = hashState(state);
    const wrapped = this.kek.wrap(Buffer.from(flow.codeVerifier, 'utf8'), verifierAad(stateHash));
    await this.runtime.dataSource.query(
      `INSERT INTO federation_flows (state_hash, interaction_uid, tenant_id, idp_id, client_id, verifier_wrapped, kek_id, nonce, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp() + make_interval(secs => $9))`,
      [
        stateHash,
        flow.interactionUid,
        flow.tenantId,
        flow.idpId,
        flow.clientId,
        wrapped,
        this.kek.id,
        flow.nonce,
        FEDERATION_FLOW_TTL_SECONDS,
      ],
    );
  }

  /**
   * Takes the flow of this `state` once: `consumed` with the flow, or why not (`unknown` state,
   * `replayed` — already consumed, `expired`).
   */
  async consume(
    state: string,
  ): Promise<
    | { outcome: 'consumed'; flow: FederationFlow }
    | { outcome: 'unknown' | 'replayed' | 'expired'; flow?: Omit<FederationFlow, 'codeVerifier'> }
  > {
    const stateHash = hashState(state);
    const [row] = returned<FlowRow>(
      await this.runtime.dataSource.query(
        `UPDATE federation_flows SET consumed_at = clock_timestamp()
         WHERE state_hash = $1 AND consumed_at IS NULL AND expires_at > clock_timestamp() RETURNING *`,
        [stateHash],
      ),
    );
    if (row)
      return {
        outcome: 'consumed',
        flow: { ...describe(row), codeVerifier: this.kek.unwrap(row.verifier_wrapped, verifierAad(stateHash)).toString('utf8') },
      };
    const [seen] = await this.runtime.dataSource.query<FlowRow[]>('SELECT * FROM federation_flows WHERE state_hash = $1', [stateHash]);
    if (!seen) return { outcome: 'unknown' };
    return { outcome: seen.consumed_at ? 'replayed' : 'expired', flow: describe(seen) };
  }

  /** Records the account the verified upstream identity signs in as, for the interaction to take. */
  async verified(state: string, accountId: string, upstreamMfa: boolean): Promise<void> {
    await affectedRows(this.runtime.dataSource, 'UPDATE federation_flows SET account_id = $2, upstream_mfa = $3 WHERE state_hash = $1', [
      hashState(state),
      accountId,
      upstreamMfa,
    ]);
  }

  /** The interaction's verified federated sign-in, taken once (within the flow's lifetime). */
  async complete(interactionUid: string): Promise<{ accountId: string; upstreamMfa: boolean; idpId: string } | undefined> {
    const [row] = returned<{ account_id: string; upstream_mfa: boolean; idp_id: string }>(
      await this.runtime.dataSource.query(
        `UPDATE federation_flows SET completed_at = clock_timestamp()
         WHERE interaction_uid = $1 AND account_id IS NOT NULL AND completed_at IS NULL AND expires_at > clock_timestamp()
         RETURNING account_id, upstream_mfa, idp_id`,
        [interactionUid],
      ),
    );
    return row ? { accountId: row.account_id, upstreamMfa: row.upstream_mfa, idpId: row.idp_id } : undefined;
  }

  /** Whether this interaction's first factor was a federated sign-in as this account (for the `amr` after a TOTP step). */
  async completedAs(interactionUid: string, accountId: string): Promise<{ upstreamMfa: boolean } | undefined> {
    const [row] = await this.runtime.dataSource.query<{ upstream_mfa: boolean }[]>(
      `SELECT upstream_mfa FROM federation_flows
       WHERE interaction_uid = $1 AND account_id = $2 AND completed_at IS NOT NULL AND expires_at > clock_timestamp() - interval '10 minutes'
       LIMIT 1`,
      [interactionUid, accountId],
    );
    return row ? { upstreamMfa: row.upstream_mfa } : undefined;
  }

  /** Expired flows go after an hour (kept that long so a late replay is still told apart from an unknown state). */
  purgeExpired(): Promise<number> {
    return affectedRows(this.runtime.dataSource, "DELETE FROM federation_flows WHERE expires_at < clock_timestamp() - interval '1 hour'");
  }
}

function describe(row: FlowRow): Omit<FederationFlow, 'codeVerifier'> {
  return { interactionUid: row.interaction_uid, tenantId: row.tenant_id, idpId: row.idp_id, clientId: row.client_id, nonce: row.nonce };
}
