import { MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { openServiceDatabase } from '@traceo/persistence';
import { createScratchSchema, loadInfraEnv } from '@traceo/testing';
import type { DataSource } from 'typeorm';
import { LoginThrottle as SignInThrottle } from '../mfa';
import { AUTH_MIGRATIONS } from '../migrations';
import { ACCOUNT_THROTTLE, LoginThrottle, PgLoginAttemptStore } from './login-throttle';

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

  it('counts second-factor failures for the former check-then-count API, and clears them on success', async () => {
    const throttle = new LoginThrottle(dataSource);
    const key = 'mfa:0b8f8f4e-0000-4000-8000-000000000001';
    await Promise.all(Array.from({ length: 6 }, () => throttle.fail(key, ACCOUNT_THROTTLE)));
    const [row] = await dataSource.query<{ failures: number }[]>('SELECT failures FROM login_throttle WHERE key = $1', [
      'mfa-account:0b8f8f4e-0000-4000-8000-000000000001',
    ]);
    expect(row!.failures).toBe(6);
    expect(await throttle.retryAfter([key])).toBeGreaterThan(30);
    await throttle.succeed(key);
    expect(await throttle.retryAfter([key])).toBe(0);
  });
});
