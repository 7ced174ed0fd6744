import { MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { openServiceDatabase } from '@traceo/persistence';
import { createScratchSchema, loadInfraEnv, waitFor } from '@traceo/testing';
import type { DataSource } from 'typeorm';
import type { ServiceRuntime } from '@traceo/service-kit';
import type { AuthConfig } from '../auth-service.config';
import type { ClientRepository } from '../clients/client.repository';
import { LoginThrottle as SignInThrottle } from '../mfa';
import { AUTH_MIGRATIONS } from '../migrations';
import { OidcMaintenance } from '../oidc/oidc.providers';
import { PgLoginAttemptStore } from './login-throttle';

/** src/mfa's sign-in throttle on the real PostgreSQL store, as every replica shares it. */
describe('sign-in throttle on PostgreSQL (login_throttle)', () => {
  let dataSource: DataSource;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const env = loadInfraEnv();
    const scratch = await createScratchSchema(env.databaseUrl, 'auth_throttle');
    drop = scratch.drop;
    dataSource = await openServiceDatabase({
      url: env.databaseUrl,
      schema: scratch.schema,
      applicationName: 'auth_throttle',
      migrations: [...MESSAGING_MIGRATIONS, ...AUTH_MIGRATIONS],
    });
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await drop?.();
  });

  it('admits exactly five of twenty parallel attempts on one login name, across two replicas', async () => {
    const replicas = [new SignInThrottle(new PgLoginAttemptStore(dataSource)), new SignInThrottle(new PgLoginAttemptStore(dataSource))];
    const attempt = { tenantId: 'acme', login: 'Parallel@Example.com', ip: '203.0.113.50' };
    const decisions = await Promise.all(Array.from({ length: 20 }, (_, i) => replicas[i % 2]!.admit(attempt)));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(5);
    expect(decisions.find((decision) => !decision.allowed)).toMatchObject({ reason: 'backoff', scope: 'account' });
    const [row] = await dataSource.query<{ failures: number }[]>('SELECT failures FROM login_throttle WHERE key = $1', [
      'login-account:acme:parallel@example.com',
    ]);
    expect(row!.failures).toBe(5);
    // The IP was charged for all twenty (each was an attempt); a success gives back one, not all.
    await replicas[0]!.succeeded(attempt);
    const [ip] = await dataSource.query<{ failures: number }[]>('SELECT failures FROM login_throttle WHERE key = $1', [
      'login-ip:203.0.113.50',
    ]);
    expect(ip!.failures).toBe(19);
    await expect(
      dataSource.query('SELECT 1 FROM login_throttle WHERE key = $1', ['login-account:acme:parallel@example.com']),
    ).resolves.toEqual([]);
  });

  it('keeps the state with its times: a lock written by one replica is read by another', async () => {
    let now = Date.now();
    const clock = () => now;
    const writer = new SignInThrottle(new PgLoginAttemptStore(dataSource), { clock });
    const attempt = { tenantId: 'acme', login: 'locked', ip: '198.51.100.7' };
    for (let i = 0; i < 10; i++) {
      const decision = await writer.admit(attempt);
      if (!decision.allowed) {
        now += decision.retryAfterSeconds * 1000;
        await writer.admit(attempt);
      }
    }
    const reader = new SignInThrottle(new PgLoginAttemptStore(dataSource), { clock });
    await expect(reader.admit({ ...attempt, ip: '192.0.2.1' })).resolves.toEqual({
      allowed: false,
      reason: 'locked',
      retryAfterSeconds: 900,
      scope: 'account',
    });
  });

  it('purges, in the ten-minute maintenance job, counters idle for over an hour that are not locked', async () => {
    await dataSource.query(
      `INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) VALUES
         ('purge:idle', 4, now() - interval '61 minutes', NULL),
         ('purge:lock-over', 10, now() - interval '2 hours', now() - interval '105 minutes'),
         ('purge:recent', 4, now() - interval '59 minutes', NULL),
         ('purge:locked', 10, now() - interval '2 hours', now() + interval '5 minutes')`,
    );
    let tick: (() => void) | undefined;
    let period: number | undefined;
    const setInterval = jest.spyOn(global, 'setInterval').mockImplementation(((callback: () => void, ms: number) => {
      tick = callback;
      period = ms;
      return { unref: () => undefined };
    }) as unknown as typeof global.setInterval);
    const runtime = { dataSource, config: {}, logger: { warn: jest.fn() } } as unknown as ServiceRuntime<AuthConfig>;
    const maintenance = new OidcMaintenance(runtime, {} as ClientRepository);
    try {
      await maintenance.onApplicationBootstrap();
    } finally {
      setInterval.mockRestore();
    }
    expect(period).toBe(600_000);
    tick!();
    const left = () =>
      dataSource
        .query<{ key: string }[]>("SELECT key FROM login_throttle WHERE key LIKE 'purge:%' ORDER BY key")
        .then((rows) => rows.map((row) => row.key));
    await waitFor(async () => ((await left()).length === 2 ? true : undefined), 'the purge');
    await expect(left()).resolves.toEqual(['purge:locked', 'purge:recent']);
    expect(runtime.logger.warn).not.toHaveBeenCalled();
    maintenance.onApplicationShutdown();
  });

  it('records an attempt whose row a concurrent success deleted while it waited', async () => {
    const store = new PgLoginAttemptStore(dataSource);
    const key = 'race:deleted';
    await store.update(key, () => ({ failures: 3, lastAttemptAt: Date.now(), lockedUntil: null }));
    // Hold the row, start a charge (which conflicts on INSERT and waits), then delete the row and release it.
    const holder = dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query('SELECT 1 FROM login_throttle WHERE key = $1 FOR UPDATE', [key]);
    const charged = store.update(key, (current) => ({
      failures: (current?.failures ?? 0) + 1,
      lastAttemptAt: Date.now(),
      lockedUntil: null,
    }));
    await waitFor(async () => {
      const [waiting] = await dataSource.query<{ n: number }[]>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM login_throttle WHERE key = $1 FOR UPDATE'",
      );
      return waiting!.n > 0 ? true : undefined;
    }, 'the charge to wait for the row lock');
    await holder.query('DELETE FROM login_throttle WHERE key = $1', [key]);
    await holder.commitTransaction();
    await holder.release();
    await charged;
    await expect(store.get(key)).resolves.toMatchObject({ failures: 1 });
  });
});
