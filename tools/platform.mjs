#!/usr/bin/env node
// `npm start`: the whole platform on this machine. Brings up the infrastructure (tools/infra),
// builds the five services, starts each with its own least-privilege database role and schema
// (migrations run at start-up), waits until every one is ready, prints their URLs, runs a short
// demo, and keeps running until Ctrl-C (SIGTERM/SIGINT), when it stops the services gracefully.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

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
// auth-service is the token issuer of every service, itself included: they verify its RFC 9068 access
// tokens against its JWKS. The demo acts through client_credentials clients registered at start-up
// (TRACEO_AUTH_CLIENTS); their secrets are generated once and kept with the local state.
const authService = services.find((s) => s.name === 'auth-service');
const ISSUER = `http://127.0.0.1:${authService.port}/oidc`;
const AUDIENCE = 'urn:traceo:api';
const jwtEnv = { TRACEO_JWT_ISSUER: ISSUER, TRACEO_JWT_AUDIENCE: AUDIENCE, TRACEO_JWT_JWKS_URL: `${ISSUER}/jwks` };
// A client's token carries the client's tenant: the encryption demo works in tenant `demo`, while the
// services' own audit records (api.request, service.started) are written to the `platform` tenant's log.
const demoClients = [
  { client_id: 'demo-key-admin', tenant_id: 'demo', roles: ['key-admin'] },
  { client_id: 'demo-compliance-officer', tenant_id: 'demo', roles: ['compliance-officer'] },
  { client_id: 'demo-service', tenant_id: 'demo', roles: ['service'] },
  { client_id: 'demo-auditor', tenant_id: 'platform', roles: ['auditor'] },
];
const clientSecretsFile = join(root, '.infra', 'demo-client-secrets.json');
const clientSecrets = existsSync(clientSecretsFile) ? JSON.parse(readFileSync(clientSecretsFile, 'utf8')) : {};
if (demoClients.some((c) => !clientSecrets[c.client_id])) {
  for (const c of demoClients) clientSecrets[c.client_id] ??= randomBytes(32).toString('base64url');
  writeFileSync(clientSecretsFile, JSON.stringify(clientSecrets, null, 2), { mode: 0o600 });
}
const authClients = demoClients.map((c) => ({ ...c, client_secret: clientSecrets[c.client_id], grant_types: ['client_credentials'] }));
/** A 15-minute access token of this demo client from auth-service's token endpoint (client_credentials). */
async function clientToken(clientId) {
  const credentials = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecrets[clientId])}`).toString('base64');
  const response = await fetch(`${ISSUER}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${credentials}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: AUDIENCE }),
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`token for ${clientId}: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
/** Authorization headers acting as this demo client. */
const as = async (clientId) => ({ authorization: `Bearer ${await clientToken(clientId)}` });
const decodePart = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

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
    // One API client for every service here, so `platform` may lease subject keys (audit-service does);
    // a deployment gives audit-service its own client id and names only that one.
    ...(service.name === 'encryption-service' ? { TRACEO_SUBJECT_KEY_LEASE_CLIENTS: 'platform' } : {}),
    ...(service.name === 'auth-service'
      ? {
          // The OpenID provider answers under /oidc (discovery: <issuer>/.well-known/openid-configuration).
          TRACEO_AUTH_ISSUER: ISSUER,
          TRACEO_AUTH_RESOURCES: AUDIENCE,
          TRACEO_AUTH_CLIENTS: JSON.stringify(authClients),
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
console.log(`  token issuer ${ISSUER} (audience ${AUDIENCE}); demo clients' secrets: ${clientSecretsFile}`);
console.log(`  API key for calls (Authorization: Bearer …): ${apiKeyFile}`);
console.log(`  PostgreSQL 127.0.0.1:${pg.port}  Kafka ${infra.TRACEO_KAFKA_BROKERS}  SoftHSM2 token ${infra.TRACEO_PKCS11_TOKEN_LABEL}`);

console.log('\n== demo');
const demoStartedAt = Date.now();
for (const s of children) {
  const info = await (await fetch(`${s.url}/v1/${s.domain}/info`)).json();
  console.log(`GET ${s.url}/v1/${s.domain}/info -> ${info.service}${info.esmLibraries ? ' ' + JSON.stringify(info.esmLibraries) : ''}`);
}
{
  // auth-service: the OpenID provider whose access tokens every service verifies against its JWKS.
  const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
  console.log(`GET ${ISSUER}/.well-known/openid-configuration -> issuer ${discovery.issuer}, jwks ${discovery.jwks_uri}`);
  const token = await clientToken('demo-key-admin');
  const [header, claims] = token.split('.').slice(0, 2).map(decodePart);
  console.log(
    `POST ${discovery.token_endpoint} (client_credentials, demo-key-admin) -> ${header.alg} ${header.typ}, ` +
      `exp-iat ${claims.exp - claims.iat} s, aud ${claims.aud}, tenant_id ${claims.tenant_id}, roles ${JSON.stringify(claims.roles)}`,
  );
  // The same claims, unsigned (alg none): refused before any key is looked up.
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${token.split('.')[1]}.`;
  const refused = await fetch(`${children.find((c) => c.name === 'encryption-service').url}/v1/encryption/tenants/demo/keyrings`, {
    headers: { authorization: `Bearer ${unsigned}` },
  });
  const problem = await refused.json();
  console.log(
    `  the same token with alg none -> encryption-service ${refused.status} ${refused.headers.get('content-type')} ${problem.code}`,
  );
}
{
  // encryption-service: HSM-rooted keys, post-quantum wrapping, searchable tokens, rotation + rewrap, crypto-shredding.
  const enc = children.find((c) => c.name === 'encryption-service');
  const keyrings = `${enc.url}/v1/encryption/tenants/demo/keyrings`;
  const [keyAdmin, complianceOfficer, service] = [
    await as('demo-key-admin'),
    await as('demo-compliance-officer'),
    await as('demo-service'),
  ];
  const call = async (method, url, body, headers = service) => {
    const response = await fetch(url, {
      method,
      headers: { ...headers, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: await response.json() };
  };
  const run = Date.now().toString(36);
  const [customers, emails, people] = [`customers-${run}`, `customers-email-${run}`, `people-${run}`];
  // A key custodian (key-admin) creates the keyrings; a machine client (role service) uses them.
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
{
  // risk-service: what Kong's http-log plugin posts (one entry as kong.log.serialize() writes it),
  // published as traceo.gateway.request.v1 for risk scoring; a bad entry is listed, the rest kept.
  const risk = children.find((c) => c.name === 'risk-service');
  const entry = {
    started_at: Date.now(),
    client_ip: '203.0.113.7',
    request: { method: 'POST', uri: '/v1/encryption/tenants/demo/keyrings?email=ada@example.com', headers: { 'user-agent': 'demo/1.0' } },
    response: { status: 201, size: 512 },
    latencies: { kong: 2, proxy: 40, request: 42 },
    route: { name: 'encryption-api' },
    service: { name: 'encryption-service' },
  };
  const response = await fetch(`${risk.url}/v1/risk/gateway-events`, {
    method: 'POST',
    headers: { ...(await as('demo-service')), 'content-type': 'application/json' },
    body: JSON.stringify([entry, { ...entry, client_ip: 'not-an-address' }]),
  });
  console.log(
    `POST ${risk.url}/v1/risk/gateway-events (2 Kong log entries, one bad) -> ${response.status} ${JSON.stringify(await response.json())}`,
  );
}
// The audit log is read by auditors; the services' own records are in the platform tenant's log.
const auditor = { headers: await as('demo-auditor') };
const platformRecords = `${children.find((c) => c.name === 'audit-service').url}/v1/audit/tenants/platform/records/search`;
const bad = await fetch(`${platformRecords}?limit=100000`, auditor);
console.log(
  `GET /v1/audit/tenants/platform/records/search?limit=100000 -> ${bad.status} ${bad.headers.get('content-type')} ${JSON.stringify(await bad.json())}`,
);
// Each service's API call travels outbox -> Kafka -> audit-service's inbox into the Merkle log.
console.log('audit-service records of those API calls, delivered outbox -> Kafka -> inbox:');
{
  // Only this run's calls count (the log keeps earlier runs' records).
  const query = `action=api.request&from=${encodeURIComponent(new Date(demoStartedAt).toISOString())}&limit=1000`;
  const newest = new Map();
  for (let i = 0; i < 150 && newest.size < children.length; i += 1) {
    if (i > 0) await sleep(200);
    const { records } = await (await fetch(`${platformRecords}?${query}`, auditor)).json();
    for (const entry of records) if (!newest.has(entry.source)) newest.set(entry.source, entry);
  }
  for (const s of children) {
    const entry = newest.get(`/traceo/${s.name}`);
    console.log(
      entry
        ? `  #${entry.leafIndex} ${entry.occurredAt} ${entry.source.padEnd(27)} ${entry.record.action} ${entry.record.resource.id} ${entry.record.status}`
        : `  ${s.name}: not in the log yet`,
    );
  }
}

if (demoOnly) await stop(0);
console.log('\nPress Ctrl-C to stop.');
