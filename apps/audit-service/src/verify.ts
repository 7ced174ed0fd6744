// traceo-audit verify: recomputes every tenant's Merkle tree from the database and checks it
// against the signed checkpoints. Runs with its own (read-only) database role:
//   TRACEO_AUDIT_VERIFIER_DATABASE_URL=postgres://... [TRACEO_DATABASE_SCHEMA=audit] node dist/apps/audit-service/verify.js [--tenant acme]
// Prints one JSON line per tenant; exits 0 when every log verifies, 2 when one does not, 1 on error.
import { Client } from 'pg';
import { verifyAuditLog } from './verification/audit-log-verifier';

async function main(): Promise<number> {
  const url = process.env.TRACEO_AUDIT_VERIFIER_DATABASE_URL;
  if (!url) {
    process.stderr.write('TRACEO_AUDIT_VERIFIER_DATABASE_URL is required\n');
    return 1;
  }
  const schema = process.env.TRACEO_DATABASE_SCHEMA ?? 'audit';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    process.stderr.write('TRACEO_DATABASE_SCHEMA must be a lowercase PostgreSQL schema name\n');
    return 1;
  }
  const tenantArg = process.argv.indexOf('--tenant');
  const client = new Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    await client.query('SET default_transaction_read_only = on');
    const query = async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as T[];
    const tenants =
      tenantArg > 0
        ? [process.argv[tenantArg + 1]!]
        : (await query<{ tenant_id: string }>('SELECT tenant_id FROM audit_log_heads ORDER BY tenant_id')).map((r) => r.tenant_id);
    let allOk = true;
    for (const tenant of tenants) {
      const report = await verifyAuditLog(query, tenant);
      allOk &&= report.ok;
      process.stdout.write(`${JSON.stringify(report)}\n`);
    }
    return allOk ? 0 : 2;
  } finally {
    await client.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`verification failed to run: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
