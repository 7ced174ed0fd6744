#!/usr/bin/env node
// `npm start`: the whole platform on this machine. Brings up the infrastructure (tools/infra),
// builds the five services, starts each with its own least-privilege database role and schema
// (migrations run at start-up), waits until every one is ready, prints their URLs, runs a short
// demo, and keeps running until Ctrl-C (SIGTERM/SIGINT), when it stops the services gracefully.
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PATH = `${join(root, 'node_modules', '.bin')}:${process.env.PATH}`;
const services = [
  { name: 'auth-service', domain: 'auth', port: 4101 },
  { name: 'encryption-service', domain: 'encryption', port: 4102 },
  { name: 'audit-service', domain: 'audit', port: 4103 },
  { name: 'risk-service', domain: 'risk', port: 4104 },
  { name: 'compliance-service', domain: 'compliance', port: 4105 },
];
const demoOnly = process.argv.includes('--demo-and-exit');

function run(command, args) {
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PATH, NX_DAEMON: 'false', NX_TUI: 'false' },
  });
  if (result.status !== 0) {
    console.error(`\n${command} ${args.join(' ')} failed (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
}

console.log('== infrastructure');
run('bash', ['tools/infra', 'up']);
const infra = JSON.parse(readFileSync(join(root, '.infra', 'env.json'), 'utf8'));
const pg = new URL(infra.TRACEO_DATABASE_URL);

// audit-service signs checkpoints with an Ed25519 key pair generated inside the SoftHSM2 token; its
// forensic-search cursors are authenticated with this development secret, kept with the local state.
const auditCursorKeyFile = join(root, '.infra', 'audit-cursor-key.b64');
if (!existsSync(auditCursorKeyFile)) writeFileSync(auditCursorKeyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
const auditCursorKey = readFileSync(auditCursorKeyFile, 'utf8').trim();
// Development API key for calling the services (deny by default until auth-service issues tokens).
const apiKeyFile = join(root, '.infra', 'api-key');
if (!existsSync(apiKeyFile)) writeFileSync(apiKeyFile, randomBytes(24).toString('hex'), { mode: 0o600 });
const apiKey = readFileSync(apiKeyFile, 'utf8').trim();
const authorized = { headers: { authorization: `Bearer ${apiKey}` } };
// Development token issuer, standing in for auth-service until it issues tokens: the services trust its
// public key (TRACEO_JWT_JWKS) and the demo mints short-lived access tokens for the roles it acts in.
const DEV_ISSUER = 'https://dev-issuer.traceo.invalid';
const DEV_AUDIENCE = 'traceo';
const issuerKeyFile = join(root, '.infra', 'dev-issuer-key.json');
if (!existsSync(issuerKeyFile)) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(issuerKeyFile, JSON.stringify(privateKey.export({ format: 'jwk' })), { mode: 0o600 });
}
const issuerKey = createPrivateKey({ key: JSON.parse(readFileSync(issuerKeyFile, 'utf8')), format: 'jwk' });
const jwtEnv = {
  TRACEO_JWT_ISSUER: DEV_ISSUER,
  TRACEO_JWT_AUDIENCE: DEV_AUDIENCE,
  TRACEO_JWT_JWKS: JSON.stringify({
    keys: [{ ...createPublicKey(issuerKey).export({ format: 'jwk' }), kid: 'dev', alg: 'ES256', use: 'sig' }],
  }),
};
/** Authorization headers for a 15-minute access token with these roles (every tenant). */
const as = async (...roles) => ({
  authorization: `Bearer ${await new SignJWT({ tenant_id: '*', roles })
    .setProtectedHeader({ alg: 'ES256', kid: 'dev', typ: 'at+jwt' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(`demo-${roles.join('+')}`)
    .setIssuedAt()
    .setExpirationTime('15m')
    .sign(issuerKey)}`,
});

console.log('\n== build');
run('nx', ['run-many', '-t', 'build', '--outputStyle=static']);

console.log('\n== services');
const children = services.map((service) => {
  // The schema owner runs migrations; the service runs as the owner's least-privilege _app role.
  const owner = `traceo_${service.domain}`;
  const env = {
    ...process.env,
    PATH,
    TRACEO_HTTP_PORT: String(service.port),
    TRACEO_DATABASE_URL: `postgres://${owner}_app:${owner}_app@${pg.host}${pg.pathname}`,
    TRACEO_DATABASE_OWNER_URL: `postgres://${owner}:${owner}@${pg.host}${pg.pathname}`,
    TRACEO_DATABASE_SCHEMA: service.domain,
    TRACEO_KAFKA_BROKERS: infra.TRACEO_KAFKA_BROKERS,
    TRACEO_REDIS_URL: infra.TRACEO_REDIS_URL,
    TRACEO_LOG_LEVEL: process.env.TRACEO_LOG_LEVEL ?? 'info',
    TRACEO_API_KEYS: `platform:${apiKey}`,
    ...jwtEnv,
    ...(service.name === 'audit-service'
      ? {
          TRACEO_AUDIT_SIGNING_KEY_SOURCE: 'hsm',
          TRACEO_AUDIT_CURSOR_KEY: auditCursorKey,
          // Personal fields of audit records are sealed under data-subject keys by encryption-service.
          TRACEO_ENCRYPTION_URL: `http://127.0.0.1:${services.find((s) => s.name === 'encryption-service').port}`,
          TRACEO_ENCRYPTION_API_KEY: apiKey,
        }
      : {}),
    ...(service.name === 'auth-service'
      ? {
          // The OpenID provider answers under /oidc (discovery: <issuer>/.well-known/openid-configuration).
          TRACEO_AUTH_ISSUER: `http://127.0.0.1:${service.port}/oidc`,
          TRACEO_AUTH_RESOURCES: 'urn:traceo:api',
        }
      : {}),
    // auth-service wraps its signing keys, cookie keys and client secrets with the HSM key-encryption key.
    ...(service.name === 'encryption-service' || service.name === 'audit-service' || service.name === 'auth-service'
      ? {
          TRACEO_PKCS11_MODULE: infra.TRACEO_PKCS11_MODULE,
          TRACEO_PKCS11_TOKEN_LABEL: infra.TRACEO_PKCS11_TOKEN_LABEL,
          TRACEO_PKCS11_PIN: infra.TRACEO_PKCS11_PIN,
          // Read by SoftHSM2 itself when the service loads the module.
          SOFTHSM2_CONF: infra.SOFTHSM2_CONF,
        }
      : {}),
  };
  const child = spawn(process.execPath, [join(root, 'dist', 'apps', service.name, 'main.js')], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = service.name.padEnd(19);
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines)
        if (process.env.TRACEO_PLATFORM_LOGS === '1' || /"level":"(warn|error|fatal)"/.test(line)) console.log(`${prefix}| ${line}`);
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`${service.name} exited unexpectedly (${code ?? signal})`);
  });
  return { ...service, child, url: `http://127.0.0.1:${service.port}` };
});

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('\n== stopping services (SIGTERM, outbox drained before exit)');
  await Promise.all(
    children.map(
      (s) =>
        new Promise((resolve) => {
          if (s.child.exitCode !== null) return resolve();
          s.child.once('exit', (exitCode) => {
            console.log(`${s.name} stopped (exit ${exitCode})`);
            resolve();
          });
          s.child.kill('SIGTERM');
        }),
    ),
  );
  process.exit(code);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

async function ready(service) {
  for (let i = 0; i < 300; i += 1) {
    if (service.child.exitCode !== null) throw new Error(`${service.name} exited during start-up`);
    try {
      if ((await fetch(`${service.url}/health/ready`)).status === 200) return;
    } catch {}
    await sleep(200);
  }
  throw new Error(`${service.name} not ready after 60 s`);
}

try {
  await Promise.all(children.map(ready));
} catch (error) {
  console.error(String(error));
  await stop(1);
}

console.log('\nTraceo is running:');
for (const s of children) console.log(`  ${s.name.padEnd(19)} ${s.url}   (OpenAPI ${s.url}/docs-json, metrics ${s.url}/metrics)`);
console.log(`  API key for calls (Authorization: Bearer …): ${apiKeyFile}`);
console.log(`  PostgreSQL 127.0.0.1:${pg.port}  Kafka ${infra.TRACEO_KAFKA_BROKERS}  SoftHSM2 token ${infra.TRACEO_PKCS11_TOKEN_LABEL}`);

console.log('\n== demo');
const demoStartedAt = Date.now();
for (const s of children) {
  const info = await (await fetch(`${s.url}/v1/${s.domain}/info`)).json();
  console.log(`GET ${s.url}/v1/${s.domain}/info -> ${info.service}${info.esmLibraries ? ' ' + JSON.stringify(info.esmLibraries) : ''}`);
}
{
  // encryption-service: HSM-rooted keys, post-quantum wrapping, searchable tokens, rotation + rewrap, crypto-shredding.
  const enc = children.find((c) => c.name === 'encryption-service');
  const keyrings = `${enc.url}/v1/encryption/tenants/demo/keyrings`;
  const [keyAdmin, complianceOfficer] = [await as('key-admin'), await as('compliance-officer')];
  const call = async (method, url, body, headers = authorized.headers) => {
    const response = await fetch(url, {
      method,
      headers: { ...headers, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: await response.json() };
  };
  const run = Date.now().toString(36);
  const [customers, emails, people] = [`customers-${run}`, `customers-email-${run}`, `people-${run}`];
  // A key custodian (key-admin) creates the keyrings; the platform API key (role service) uses them.
  await call('POST', keyrings, { keyringId: customers, wrapping: 'hybrid-pq', rotationPeriodSeconds: 90 * 86_400 }, keyAdmin);
  await call('POST', keyrings, { keyringId: emails, purpose: 'blind-index' }, keyAdmin);
  console.log(
    `POST ${keyrings} -> keyring ${customers} (hybrid-pq: ML-KEM-768 + X25519, KEK in SoftHSM2) and blind-index keyring ${emails}`,
  );
  const sealed = await call('POST', `${keyrings}/${customers}/encrypt`, {
    equalityKeyringId: emails,
    fields: [{ field: 'email', recordId: 'c-1', plaintext: 'ada@example.com', equality: 'email' }],
  });
  const [first] = sealed.body.results;
  console.log(
    `  encrypt email -> ciphertext ${first.ciphertext.slice(0, 32)}… v${first.keyVersion}, equality token ${first.equalityToken}`,
  );
  const query = await call('POST', `${keyrings}/${emails}/query-tokens`, { field: 'email', equals: ' ADA@example.com', kind: 'email' });
  console.log(
    `  query-tokens " ADA@example.com" -> ${JSON.stringify(query.body.equalityTokens)} (matches: ${query.body.equalityTokens.includes(first.equalityToken)})`,
  );
  await call('POST', `${keyrings}/${customers}/rotate`, undefined, keyAdmin);
  const rewrapped = await call('POST', `${keyrings}/${customers}/rewrap`, {
    fields: [{ field: 'email', recordId: 'c-1', ciphertext: first.ciphertext }],
  });
  console.log(`  rotate + rewrap -> now v${rewrapped.body.results[0].keyVersion} without the plaintext leaving the service`);
  const retire = await call('POST', `${keyrings}/${customers}/versions/1/retire`, {}, keyAdmin);
  console.log(`  retire v1 -> ${retire.status} (${retire.body.versions?.[0]?.state ?? retire.body.code})`);
  await call('POST', keyrings, { keyringId: people, purpose: 'subject' }, keyAdmin);
  const personal = await call('POST', `${keyrings}/${people}/encrypt`, {
    fields: [{ field: 'name', recordId: 'u-1', plaintext: 'Ada Lovelace', subjectId: 'user-ada' }],
  });
  await call('POST', `${keyrings}/${people}/subjects/user-ada/shred`, undefined, complianceOfficer);
  const shredded = await call('POST', `${keyrings}/${people}/decrypt`, {
    fields: [{ field: 'name', recordId: 'u-1', ciphertext: personal.body.results[0].ciphertext }],
  });
  console.log(`  shred subject user-ada, then decrypt her name -> ${shredded.status} ${shredded.body.code}`);
}
// The audit log is read by auditors.
const auditor = { headers: await as('auditor') };
const bad = await fetch(`${children[2].url}/v1/audit/records?limit=100000`, auditor);
console.log(`GET /v1/audit/records?limit=100000 -> ${bad.status} ${bad.headers.get('content-type')} ${JSON.stringify(await bad.json())}`);
// Each service's API call travels outbox -> Kafka -> audit-service's inbox into the Merkle log.
console.log('audit-service records of those API calls, delivered outbox -> Kafka -> inbox:');
for (const s of children) {
  let record;
  for (let i = 0; i < 150 && !record; i += 1) {
    const query = `action=api.request&source=${encodeURIComponent(`/traceo/${s.name}`)}&limit=1`;
    [record] = (await (await fetch(`${children[2].url}/v1/audit/records?${query}`, auditor)).json()).records;
    // Only this run's calls count (the log keeps earlier runs' records).
    if (record && Date.parse(record.occurredAt) < demoStartedAt) record = undefined;
    if (!record) await sleep(200);
  }
  console.log(
    record
      ? `  #${record.seq} ${record.occurredAt} ${record.source.padEnd(27)} ${record.action} ${record.resource.id} ${record.status}`
      : `  ${s.name}: not in the log yet`,
  );
}

if (demoOnly) await stop(0);
console.log('\nPress Ctrl-C to stop.');
