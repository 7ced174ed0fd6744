import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { MESSAGING_MIGRATIONS } from '@traceo/messaging';
import { createLogger } from '@traceo/observability';
import { openServiceDatabase } from '@traceo/persistence';
import { assembleServiceRuntime, EventPublisher, loadConfig } from '@traceo/service-kit';
import { loadInfraEnv, withClient } from '@traceo/testing';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { SoftwareCheckpointSigner } from '../src/audit-log/checkpoint-note';
import { issueCheckpoints, registerSigningKey } from '../src/audit-log/checkpoints';
import { appendToLog } from '../src/audit-log/merkle-log.repository';
import { auditConfigSchema } from '../src/audit-service.config';
import { AUDIT_MIGRATIONS } from '../src/migrations/1764000000100-CreateAuditLog';
import { verifyAuditLog } from '../src/verification/audit-log-verifier';

describe('audit-service database roles: the service appends but cannot alter the log, the verifier only reads', () => {
  const env = loadInfraEnv();
  const suffix = randomBytes(3).toString('hex');
  const owner = `it_audit_${suffix}`;
  const app = `${owner}_app`;
  const verifier = `${owner}_verifier`;
  const schema = `it_roles_${suffix}`;
  const urlFor = (role: string) => {
    const url = new URL(env.databaseUrl);
    url.username = role;
    url.password = role;
    return url.toString();
  };
  let ownerDs: DataSource;
  let appDs: DataSource;
  let verifierClient: Client;

  beforeAll(async () => {
    await withClient(env.databaseUrl, async (client) => {
      for (const role of [owner, app, verifier]) {
        await client.query(`CREATE ROLE ${role} LOGIN PASSWORD '${role}'`);
        await client.query(`GRANT CONNECT ON DATABASE traceo TO ${role}`);
      }
      await client.query(`GRANT ${owner} TO current_user`);
      await client.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${owner}`);
      await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${app}, ${verifier}`);
    });
    const migrations = [...MESSAGING_MIGRATIONS, ...AUDIT_MIGRATIONS];
    ownerDs = await openServiceDatabase({ url: urlFor(owner), schema, applicationName: 'roles-owner', migrations });
    appDs = await openServiceDatabase({ url: urlFor(app), schema, applicationName: 'roles-app', migrations, runMigrations: false });
    verifierClient = new Client({ connectionString: urlFor(verifier), options: `-c search_path=${schema}` });
    await verifierClient.connect();
  });

  afterAll(async () => {
    await verifierClient?.end();
    await appDs?.destroy();
    await ownerDs?.destroy();
    await withClient(env.databaseUrl, async (client) => {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      for (const role of [app, verifier, owner]) {
        await client.query(`REVOKE CONNECT ON DATABASE traceo FROM ${role}`);
        await client.query(`DROP ROLE IF EXISTS ${role}`);
      }
    });
  });

  it('lets the runtime role append records and sign checkpoints', async () => {
    const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const config = loadConfig(auditConfigSchema, {
      TRACEO_HTTP_PORT: '1',
      TRACEO_API_KEYS: 'test:not-used-by-this-test-000000000000000',
      TRACEO_DATABASE_URL: urlFor(app),
      TRACEO_KAFKA_BROKERS: env.kafkaBrokers.join(','),
      TRACEO_AUDIT_SIGNING_KEY_SOURCE: 'key-store',
      TRACEO_AUDIT_SIGNING_KEY: signingKey,
      TRACEO_ENCRYPTION_URL: 'http://127.0.0.1:9',
      TRACEO_ENCRYPTION_API_KEY: 'not-used-by-this-test-0000',
    });
    const runtime = assembleServiceRuntime('audit-service', config, {
      dataSource: appDs,
      maintenanceDataSource: ownerDs,
      logger: createLogger('roles-test', 'silent'),
    });
    const signer = new SoftwareCheckpointSigner(signingKey);
    await registerSigningKey(appDs, signer);
    const records = Array.from({ length: 5 }, (_, n) => ({
      eventId: `evt-${suffix}-${n}`,
      source: '/traceo/auth-service',
      record: {
        occurredAt: new Date().toISOString(),
        actor: { type: 'user' as const, id: 'u' },
        action: 'user.signed-in',
        resource: { type: 'session' },
        status: 'success' as const,
      },
    }));
    await ownerDs.query('SELECT 1'); // migrations ran as the owner; everything below runs as the app role
    expect(await appDs.transaction((manager) => appendToLog(manager, 'acme', records))).toBe(5);
    expect(await issueCheckpoints(appDs, signer, new EventPublisher(runtime))).toBe(1);
  });

  it.each([
    ['UPDATE a record', `UPDATE audit_records SET action = 'x'`, /permission denied/],
    ['DELETE a record', 'DELETE FROM audit_records', /permission denied/],
    ['TRUNCATE the log', 'TRUNCATE audit_records', /permission denied/],
    ['rewrite a tree tile', 'UPDATE audit_tree_tiles SET hashes = hashes', /permission denied/],
    ['delete a checkpoint', 'DELETE FROM audit_checkpoints', /permission denied/],
    ['switch the append-only triggers off', 'ALTER TABLE audit_records DISABLE TRIGGER USER', /must be owner/],
    ['drop a partition', 'DROP TABLE audit_records_default_unscheduled', /must be owner/],
  ])('refuses the runtime role to %s', async (_what, sql, error) => {
    await expect(appDs.query(sql)).rejects.toThrow(error);
  });

  it('lets the verifier role read and verify, and nothing else', async () => {
    const query = async <T>(sql: string, params: unknown[] = []) => (await verifierClient.query(sql, params)).rows as T[];
    expect(await verifyAuditLog(query, 'acme')).toEqual({ tenant: 'acme', ok: true, records: 5, checkpointsVerified: 1 });
    await expect(verifierClient.query(`INSERT INTO audit_log_heads (tenant_id, size, frontier) VALUES ('x', 0, '{}')`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(verifierClient.query('SELECT count(*) FROM outbox')).rejects.toThrow(/permission denied/);
  });
});
