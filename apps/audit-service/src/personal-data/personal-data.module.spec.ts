import { generateKeyPairSync } from 'node:crypto';
import { createLogger, createMetricsRegistry } from '@traceo/observability';
import { loadConfig } from '@traceo/service-kit';
import { auditConfigSchema } from '../audit-service.config';
import { EncryptionServiceVault } from './encryption-service-vault';
import { LeasedKeyVault } from './leased-key-vault';
import { createPersonalDataVault } from './personal-data.module';

const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
const env = {
  TRACEO_HTTP_PORT: '3000',
  TRACEO_DATABASE_URL: 'postgres://traceo@127.0.0.1:5432/traceo',
  TRACEO_KAFKA_BROKERS: '127.0.0.1:9092',
  TRACEO_API_KEYS: 'test:0123456789abcdef0123456789abcdef',
  TRACEO_AUDIT_SIGNING_KEY_SOURCE: 'key-store',
  TRACEO_AUDIT_SIGNING_KEY: signingKey,
  TRACEO_ENCRYPTION_URL: 'http://127.0.0.1:9',
  TRACEO_ENCRYPTION_API_KEY: 'not-used-by-these-tests-000',
};

function vaultFor(extra: Record<string, string>) {
  const config = loadConfig(auditConfigSchema, { ...env, ...extra });
  const metrics = createMetricsRegistry('audit-service');
  return { config, metrics, vault: createPersonalDataVault({ config, logger: createLogger('test', 'silent'), metrics }) };
}

describe('the personal-data vault audit-service seals with', () => {
  it('leases subject keys by default, for 60 seconds, at most 10,000 subjects, with its metrics', async () => {
    const { config, metrics, vault } = vaultFor({});
    expect(config.TRACEO_AUDIT_SUBJECT_KEY_LEASE_SECONDS).toBe(60);
    expect(config.TRACEO_AUDIT_SUBJECT_KEY_LEASES_MAX).toBe(10_000);
    expect(vault).toBeInstanceOf(LeasedKeyVault);
    const text = await metrics.metrics();
    expect(text).toMatch(/^traceo_audit_subject_keys_held\{[^}]*\} 0$/m);
    expect(text).toContain('# TYPE traceo_audit_subject_keys_dropped_total counter');
  });

  it('calls encryption-service for every batch when leasing is off (0 seconds)', () => {
    expect(vaultFor({ TRACEO_AUDIT_SUBJECT_KEY_LEASE_SECONDS: '0' }).vault).toBeInstanceOf(EncryptionServiceVault);
  });

  it.each([
    ['TRACEO_AUDIT_SUBJECT_KEY_LEASE_SECONDS', '301'],
    ['TRACEO_AUDIT_SUBJECT_KEY_LEASE_SECONDS', '-1'],
    ['TRACEO_AUDIT_SUBJECT_KEY_LEASES_MAX', '99'],
  ])('refuses %s=%s at start', (name, value) => {
    expect(() => vaultFor({ [name]: value })).toThrow(name);
  });
});
