#!/usr/bin/env node
// Offline check of docker-compose.yml, Dockerfile, .dockerignore and tools/compose/postgres-init.sql.
// No Docker engine is needed (none exists on the project's machines): it parses the files and checks
// what the platform relies on, against the project's own sources of truth (tools/platform.mjs for the
// services and ports, tools/infra for the infrastructure ports and roles, tools/kafka-topics.mjs for the
// files the topic creator reads). Then, when a Docker client with Compose v2+ is on PATH, it also runs
// `docker compose config -q`, which validates against the official Compose schema; otherwise it says so.
//
//   node tools/compose/check-compose.mjs [repo-root]       exit 0 = all good, 1 = problems (listed)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
const { parseDocument } = createRequire(import.meta.url)('yaml');

const problems = [];
const fail = (where, message) => problems.push(`${where}: ${message}`);
const read = (file) => {
  const full = join(root, file);
  if (!existsSync(full)) {
    fail(file, 'missing');
    return '';
  }
  return readFileSync(full, 'utf8');
};

// ------------------------------------------------------------------ sources of truth ---
// The five services, their domains and host ports, as `npm start` runs them.
const platform = [...read('tools/platform.mjs').matchAll(/\{ name: '([a-z-]+)', domain: '([a-z]+)', port: (\d+) \}/g)].map((m) => ({
  name: m[1],
  domain: m[2],
  port: Number(m[3]),
}));
if (platform.length === 0) fail('tools/platform.mjs', 'could not read the service table ({ name, domain, port })');

const infra = read('tools/infra');
const infraDefault = (name) => infra.match(new RegExp(`^${name}="\\$\\{[A-Z_]+:-(\\d+)\\}"`, 'm'))?.[1];
const infraPorts = { postgres: infraDefault('PG_PORT'), kafka: infraDefault('KAFKA_PORT'), redis: infraDefault('REDIS_PORT') };
for (const [part, port] of Object.entries(infraPorts)) if (!port) fail('tools/infra', `could not read the ${part} port`);
const infraDomains = infra.match(/^SERVICES=\(([a-z ]+)\)/m)?.[1].split(' ') ?? [];
if (infraDomains.length === 0) fail('tools/infra', 'could not read SERVICES=(...)');

// ---------------------------------------------------------------- docker-compose.yml ---
const composeText = read('docker-compose.yml');
const doc = parseDocument(composeText, { merge: true, prettyErrors: true });
for (const e of [...doc.errors, ...doc.warnings]) fail('docker-compose.yml', `YAML: ${e.message}`);
let composeJs = {};
try {
  composeJs = doc.errors.length === 0 ? (doc.toJS() ?? {}) : {};
} catch (error) {
  fail('docker-compose.yml', `YAML: ${error.message}`); // e.g. a merge key (<<) naming an unknown anchor
}
if (problems.length > 0) {
  console.error(`check-compose: docker-compose.yml cannot be read\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}

// Compose interpolation (${VAR}, ${VAR:-default}, ${VAR-default}, $$), from the environment like Compose.
function interpolate(value) {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (all, name, op, fallback) => {
      if (all === '$$') return '$';
      const set = process.env[name];
      if (op === ':-') return set ? set : fallback;
      if (op === '-') return set ?? fallback;
      return set ?? '';
    });
  }
  if (Array.isArray(value)) return value.map(interpolate);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v)]));
  return value;
}
const compose = interpolate(composeJs);
const services = compose.services ?? {};
if (Object.keys(services).length === 0) fail('docker-compose.yml', 'no services');

const asMap = (value, separator = '=') =>
  Array.isArray(value)
    ? Object.fromEntries(value.map((entry) => [String(entry).split(separator)[0], String(entry).split(separator).slice(1).join(separator)]))
    : Object.fromEntries(Object.entries(value ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));
const environmentOf = (service) => asMap(service.environment);
const dependsOn = (service) =>
  Array.isArray(service.depends_on)
    ? Object.fromEntries(service.depends_on.map((name) => [name, { condition: 'service_started' }]))
    : (service.depends_on ?? {});

// Ports, short ("127.0.0.1:4101:8080") or long ({ host_ip, published, target }) syntax.
function portsOf(service) {
  return (service.ports ?? []).map((entry) => {
    if (typeof entry === 'object')
      return { hostIp: entry.host_ip, published: String(entry.published ?? ''), target: String(entry.target), raw: entry };
    const parts = String(entry)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    if (parts.length === 3) return { hostIp: parts[0], published: parts[1], target: parts[2], raw: entry };
    if (parts.length === 2) return { hostIp: undefined, published: parts[0], target: parts[1], raw: entry };
    return { hostIp: undefined, published: '', target: parts[0], raw: entry };
  });
}

const builtFromDockerfile = (service) =>
  service.build !== undefined &&
  (typeof service.build === 'string' ? service.build : service.build.context) === '.' &&
  (typeof service.build === 'string' || (service.build.dockerfile ?? 'Dockerfile') === 'Dockerfile');
const hasHealthcheck = (service) =>
  service.healthcheck?.disable !== true && (service.healthcheck?.test !== undefined || builtFromDockerfile(service)); // the Dockerfile has one

for (const [name, service] of Object.entries(services)) {
  const where = `docker-compose.yml services.${name}`;
  if (!service.image && !service.build) fail(where, 'needs image or build');
  // Pinned images: a tag that is not `latest` (or a digest).
  if (service.image) {
    const image = String(service.image);
    const tag = image.includes('@') ? 'digest' : image.slice(image.lastIndexOf('/') + 1).split(':')[1];
    if (!tag) fail(where, `image ${image} has no tag (pin one)`);
    else if (tag === 'latest') fail(where, `image ${image} uses :latest (pin a version)`);
  }
  // Every published port on loopback only.
  for (const port of portsOf(service))
    if (port.hostIp !== '127.0.0.1')
      fail(where, `port ${JSON.stringify(port.raw)} is not bound to 127.0.0.1 (write 127.0.0.1:HOST:CONTAINER)`);
  // Dependencies exist, use a known condition, and service_healthy points at something with a healthcheck.
  for (const [dependency, spec] of Object.entries(dependsOn(service))) {
    const condition = spec?.condition ?? 'service_started';
    if (!services[dependency]) fail(where, `depends_on ${dependency}, which is not a service`);
    else if (condition === 'service_healthy' && !hasHealthcheck(services[dependency]))
      fail(where, `waits for ${dependency} to be healthy, but ${dependency} has no healthcheck`);
    if (!['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition))
      fail(where, `depends_on ${dependency}: unknown condition ${condition}`);
  }
}
// No dependency cycles (Compose refuses them at `up`).
const visiting = new Set();
const done = new Set();
function visit(name, path) {
  if (done.has(name) || !services[name]) return;
  if (visiting.has(name)) return fail('docker-compose.yml', `dependency cycle: ${[...path, name].join(' -> ')}`);
  visiting.add(name);
  for (const dependency of Object.keys(dependsOn(services[name]))) visit(dependency, [...path, name]);
  visiting.delete(name);
  done.add(name);
}
for (const name of Object.keys(services)) visit(name, []);

// Infrastructure: images, host ports like tools/infra, Kafka without auto-create.
const expectInfra = (name, imagePrefix, containerPort) => {
  const service = services[name];
  const where = `docker-compose.yml services.${name}`;
  if (!service) return fail('docker-compose.yml', `no ${name} service`);
  if (!String(service.image ?? '').startsWith(imagePrefix)) fail(where, `image should be ${imagePrefix}… (got ${service.image})`);
  if (!hasHealthcheck(service)) fail(where, 'needs a healthcheck (the services wait for it)');
  const expected = infraPorts[name];
  if (expected && !portsOf(service).some((p) => p.published === expected && p.target === String(containerPort)))
    fail(where, `should publish 127.0.0.1:${expected}:${containerPort} like tools/infra`);
  return service;
};
const postgres = expectInfra('postgres', 'postgres:15', 5432);
const kafka = expectInfra('kafka', 'apache/kafka:4.', infraPorts.kafka);
expectInfra('redis', 'redis:7', 6379);
if (
  postgres &&
  !(postgres.volumes ?? []).some((v) => /^\.\/tools\/compose\/postgres-init\.sql:\/docker-entrypoint-initdb\.d\//.test(String(v)))
)
  fail('docker-compose.yml services.postgres', 'must mount ./tools/compose/postgres-init.sql into /docker-entrypoint-initdb.d/');
const kafkaEnv = kafka ? environmentOf(kafka) : {};
if (kafka) {
  const where = 'docker-compose.yml services.kafka';
  if (kafkaEnv.KAFKA_AUTO_CREATE_TOPICS_ENABLE !== 'false') fail(where, 'KAFKA_AUTO_CREATE_TOPICS_ENABLE must be "false"');
  if (!/broker/.test(kafkaEnv.KAFKA_PROCESS_ROLES ?? '') || !/controller/.test(kafkaEnv.KAFKA_PROCESS_ROLES ?? ''))
    fail(where, 'KAFKA_PROCESS_ROLES must be broker,controller (KRaft combined mode)');
  for (const key of [
    'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR',
    'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR',
    'KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR',
  ])
    if (kafkaEnv[key] !== '1') fail(where, `${key} must be 1 on a single node`);
}
// host:port pairs other containers may use: the broker's advertised listeners that name a compose service.
const brokerAddresses = new Set(
  (kafkaEnv.KAFKA_ADVERTISED_LISTENERS ?? '')
    .split(',')
    .map((listener) => listener.replace(/^[A-Z_]+:\/\//, ''))
    .filter((address) => services[address.split(':')[0]]),
);
const checkBrokers = (where, env) => {
  const brokers = (env.TRACEO_KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  for (const broker of brokers)
    if (!brokerAddresses.has(broker))
      fail(where, `TRACEO_KAFKA_BROKERS ${broker} is not an in-network advertised Kafka listener (${[...brokerAddresses].join(', ')})`);
};

// Containers running our image: immutable root filesystem, no capabilities, no privilege escalation.
function checkHardening(where, service) {
  if (service.read_only !== true) fail(where, 'read_only: true');
  if (![].concat(service.tmpfs ?? []).some((t) => String(t).split(':')[0] === '/tmp')) fail(where, 'tmpfs: [/tmp]');
  if (!(service.cap_drop ?? []).includes('ALL')) fail(where, 'cap_drop: [ALL]');
  if (!(service.security_opt ?? []).includes('no-new-privileges:true')) fail(where, 'security_opt: [no-new-privileges:true]');
}

// The one-shot topic creator.
const topics = services['kafka-topics'];
if (!topics) fail('docker-compose.yml', 'no kafka-topics service');
else {
  const where = 'docker-compose.yml services.kafka-topics';
  const command = [].concat(topics.command ?? []).join(' ');
  if (!command.includes('/app/tools/kafka-topics.mjs')) fail(where, 'command must run /app/tools/kafka-topics.mjs');
  if (!builtFromDockerfile(topics) && !String(topics.image ?? '').startsWith('traceo/'))
    fail(where, 'must use the image built from ./Dockerfile');
  if (!environmentOf(topics).TRACEO_KAFKA_BROKERS) fail(where, 'needs TRACEO_KAFKA_BROKERS');
  checkBrokers(where, environmentOf(topics));
  if (dependsOn(topics).kafka?.condition !== 'service_healthy') fail(where, 'must wait for kafka: service_healthy');
  checkHardening(where, topics);
}

// The five Traceo services.
for (const { name, domain, port } of platform) {
  const service = services[name];
  const where = `docker-compose.yml services.${name}`;
  if (!service) {
    fail('docker-compose.yml', `no ${name} service (tools/platform.mjs runs it)`);
    continue;
  }
  if (!builtFromDockerfile(service) || service.build.args?.SERVICE !== name)
    fail(where, `must build ./Dockerfile with args SERVICE: ${name}`);
  const env = environmentOf(service);
  for (const key of ['TRACEO_HTTP_PORT', 'TRACEO_DATABASE_URL', 'TRACEO_DATABASE_OWNER_URL', 'TRACEO_KAFKA_BROKERS'])
    if (!env[key]) fail(where, `environment needs ${key}`);
  if (env.TRACEO_HTTP_HOST !== '0.0.0.0')
    fail(where, 'TRACEO_HTTP_HOST must be 0.0.0.0 inside a container (the default 127.0.0.1 is unreachable)');
  if (!portsOf(service).some((p) => p.published === String(port) && p.target === env.TRACEO_HTTP_PORT))
    fail(where, `should publish 127.0.0.1:${port}:${env.TRACEO_HTTP_PORT} (port ${port} as in tools/platform.mjs)`);
  // The service runs as the least-privilege traceo_<domain>_app; migrations run as the owner traceo_<domain>.
  for (const [key, role] of [
    ['TRACEO_DATABASE_URL', `traceo_${domain}_app`],
    ['TRACEO_DATABASE_OWNER_URL', `traceo_${domain}`],
  ]) {
    try {
      const url = new URL(env[key]);
      if (url.username !== role) fail(where, `${key} must use the role ${role} (got ${url.username})`);
      if (url.password !== role) fail(where, `${key}: the password of ${role} differs from tools/compose/postgres-init.sql`);
      if (!services[url.hostname]) fail(where, `${key} host ${url.hostname} is not a compose service`);
      if (url.pathname !== '/traceo') fail(where, `${key} must name database traceo`);
    } catch {
      if (env[key]) fail(where, `${key} is not a URL`);
    }
  }
  if (env.TRACEO_DATABASE_SCHEMA !== domain) fail(where, `TRACEO_DATABASE_SCHEMA must be ${domain}`);
  checkBrokers(where, env);
  const deps = dependsOn(service);
  for (const infraService of ['postgres', 'kafka', 'redis'])
    if (deps[infraService]?.condition !== 'service_healthy') fail(where, `must wait for ${infraService}: service_healthy`);
  if (deps['kafka-topics']?.condition !== 'service_completed_successfully')
    fail(where, 'must wait for kafka-topics: service_completed_successfully');
  checkHardening(where, service);
  if (!hasHealthcheck(service)) fail(where, 'needs a healthcheck');
}

// ---------------------------------------------------------- tools/compose/postgres-init.sql ---
const initSql = read('tools/compose/postgres-init.sql');
if (initSql) {
  const where = 'tools/compose/postgres-init.sql';
  if (!/CREATE DATABASE traceo OWNER traceo/.test(initSql)) fail(where, 'must create database traceo owned by traceo');
  const domains = new Set([...infraDomains, ...platform.map((s) => s.domain)]);
  for (const domain of domains) {
    const role = `traceo_${domain}`;
    if (!infraDomains.includes(domain)) fail('tools/infra', `SERVICES lacks ${domain} (tools/platform.mjs runs ${domain}-service)`);
    if (!new RegExp(`CREATE ROLE ${role};`).test(initSql)) fail(where, `does not create role ${role} (tools/infra does)`);
    if (!new RegExp(`ALTER ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${role}';`).test(initSql))
      fail(where, `role ${role} must be LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE with tools/infra's dev password`);
    if (!new RegExp(`CREATE SCHEMA IF NOT EXISTS ${domain} AUTHORIZATION ${role};`).test(initSql))
      fail(where, `does not create schema ${domain} owned by ${role}`);
    if (!new RegExp(`GRANT ${role} TO traceo;`).test(initSql)) fail(where, `does not grant ${role} to traceo`);
    if (!new RegExp(`ALTER ROLE ${role}_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${role}_app';`).test(initSql))
      fail(where, `does not create the runtime role ${role}_app like tools/infra`);
    if (!new RegExp(`GRANT USAGE ON SCHEMA ${domain} TO ${role}_app;`).test(initSql))
      fail(where, `does not let ${role}_app use schema ${domain}`);
  }
}

// ------------------------------------------------------------------------ Dockerfile ---
// Instructions with continuations joined and comments dropped; WORKDIR tracked per stage so COPY
// destinations can be checked as absolute paths.
const dockerfile = read('Dockerfile');
const instructions = dockerfile
  .replace(/\\\r?\n(\s*#.*\r?\n)*/g, ' ')
  .split(/\r?\n/)
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'))
  .map((line) => ({ op: line.split(/\s+/)[0].toUpperCase(), args: line.slice(line.split(/\s+/)[0].length).trim() }));
const globalArgs = {};
const stages = [];
for (const { op, args } of instructions) {
  if (op === 'ARG' && stages.length === 0) {
    const [key, value] = args.split('=');
    globalArgs[key] = value ?? '';
  } else if (op === 'FROM') {
    const [image, , alias] = args.replace(/^--platform=\S+\s+/, '').split(/\s+/);
    stages.push({ image: image.replace(/\$\{?([A-Z_]+)\}?/g, (_, key) => globalArgs[key] ?? ''), alias, workdir: '/', ops: [] });
  } else if (stages.length > 0) {
    const stage = stages.at(-1);
    if (op === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, args);
    stage.ops.push({ op, args, workdir: stage.workdir });
  }
}
if (dockerfile) {
  const where = 'Dockerfile';
  if (stages.length < 2) fail(where, 'must be multi-stage (build + runtime)');
  for (const stage of stages)
    if (!/^node:24([.@-]|$)/.test(stage.image) && !stages.some((s) => s.alias === stage.image))
      fail(where, `FROM ${stage.image}: every stage must use a node:24 image`);
  const build = stages.find((s) => s.ops.some((o) => o.op === 'RUN' && /tools\/build\.mjs/.test(o.args)));
  const runtime = stages.at(-1);
  const has = (stage, op, pattern) => stage?.ops.some((o) => o.op === op && pattern.test(o.args));
  if (!build) fail(where, 'no stage runs node tools/build.mjs apps/$SERVICE');
  else {
    if (!has(build, 'ARG', /^SERVICE\b/)) fail(where, 'the build stage must declare ARG SERVICE');
    if (!has(build, 'RUN', /\bnpm ci\b/)) fail(where, 'the build stage must install with npm ci');
    if (!has(build, 'RUN', /tools\/build\.mjs "?apps\/\$\{?SERVICE\}?"?/))
      fail(where, 'the build stage must run node tools/build.mjs apps/$SERVICE');
    if (!has(build, 'RUN', /\bnpm prune --omit=dev\b/)) fail(where, 'the build stage must npm prune --omit=dev');
  }
  if (runtime) {
    if (!has(runtime, 'ARG', /^SERVICE\b/)) fail(where, 'the runtime stage must declare ARG SERVICE');
    const user = runtime.ops.filter((o) => o.op === 'USER').at(-1)?.args;
    if (!user || /^(0|root)(:|$)/.test(user)) fail(where, 'the runtime stage must end as a non-root USER');
    if (!has(runtime, 'EXPOSE', /^8080\b/)) fail(where, 'EXPOSE 8080');
    if (!has(runtime, 'ENV', /TRACEO_HTTP_HOST=0\.0\.0\.0/) || !has(runtime, 'ENV', /TRACEO_HTTP_PORT=8080/))
      fail(where, 'ENV TRACEO_HTTP_HOST=0.0.0.0 and TRACEO_HTTP_PORT=8080');
    if (!has(runtime, 'ENV', /NODE_ENV=production/)) fail(where, 'ENV NODE_ENV=production');
    if (!has(runtime, 'HEALTHCHECK', /\/health\/live/)) fail(where, 'HEALTHCHECK must probe /health/live');
    if (!has(runtime, 'STOPSIGNAL', /^SIGTERM$/)) fail(where, 'STOPSIGNAL SIGTERM');
    if (!has(runtime, 'CMD', /^\["node",\s*"main\.js"\]$/)) fail(where, 'CMD ["node", "main.js"]');
    // Where files land, as absolute paths (COPY destinations are relative to WORKDIR).
    const copies = runtime.ops
      .filter((o) => o.op === 'COPY')
      .map((o) => {
        const words = o.args.split(/\s+/).filter((w) => !w.startsWith('--'));
        return { from: words.slice(0, -1).join(' '), to: posix.resolve(o.workdir, words.at(-1).replace(/\$\{?SERVICE\}?/g, '$SERVICE')) };
      });
    const copied = (pattern, to) => copies.some((c) => pattern.test(c.from) && c.to === to);
    const finalWorkdir = runtime.workdir.replace(/\$\{?SERVICE\}?/g, '$SERVICE');
    const appDir = posix.resolve(finalWorkdir, '../../..'); // dist/apps/$SERVICE -> the dir holding node_modules
    if (!finalWorkdir.endsWith('/dist/apps/$SERVICE'))
      fail(where, `the final WORKDIR must be <app>/dist/apps/$SERVICE (got ${runtime.workdir})`);
    if (!copied(/\/node_modules$/, `${appDir}/node_modules`))
      fail(where, `node_modules must be copied to ${appDir}/node_modules so resolution from ${finalWorkdir} finds it`);
    if (!copied(/dist\/apps\/\$\{?SERVICE\}?$/, finalWorkdir)) fail(where, `dist/apps/$SERVICE must be copied to ${finalWorkdir}`);
    // tools/kafka-topics.mjs reads the registry relative to itself; both must keep their relative layout.
    const topicsScript = read('tools/kafka-topics.mjs');
    const registry = topicsScript.match(/new URL\('([^']+topics\.json)', import\.meta\.url\)/)?.[1];
    if (!registry) fail('tools/kafka-topics.mjs', 'could not find where it reads topics.json');
    if (!copied(/tools\/kafka-topics\.mjs$/, `${appDir}/tools/kafka-topics.mjs`))
      fail(where, `tools/kafka-topics.mjs must be copied to ${appDir}/tools/`);
    else if (registry && !copied(/topics\.json$/, posix.resolve(`${appDir}/tools`, registry)))
      fail(where, `topics.json must be copied to ${posix.resolve(`${appDir}/tools`, registry)} (kafka-topics.mjs reads ${registry})`);
  }
}
const dockerignore = read('.dockerignore')
  .split(/\r?\n/)
  .map((l) => l.trim());
for (const entry of ['node_modules', 'dist', '.infra', '.nx', 'coverage', '.git'])
  if (!dockerignore.includes(entry)) fail('.dockerignore', `must exclude ${entry}`);

// -------------------------------------------------------------- docker compose config ---
function composeCommand() {
  const candidates = [
    ['docker', ['compose']],
    ['docker-compose', []],
  ];
  for (const [command, prefix] of candidates) {
    const result = spawnSync(command, [...prefix, 'version', '--short'], { encoding: 'utf8' });
    const version = result.status === 0 ? result.stdout.trim().replace(/^v/, '') : '';
    if (Number(version.split('.')[0]) >= 2) return { command, prefix, version };
  }
  return undefined;
}
let dockerNote;
const docker = problems.length === 0 ? composeCommand() : undefined;
if (problems.length > 0) dockerNote = 'docker compose config: not run (fix the problems above first)';
else if (!docker) dockerNote = 'docker compose config: SKIPPED — no Docker client with Compose v2+ on PATH (structural checks only)';
else {
  const label = `${[docker.command, ...docker.prefix].join(' ')} (${docker.version})`;
  // The signing key is required (no key ships with the project); any value satisfies `config`.
  const result = spawnSync(docker.command, [...docker.prefix, '-f', join(root, 'docker-compose.yml'), 'config', '-q'], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
      TRACEO_AUDIT_SIGNING_KEY: process.env.TRACEO_AUDIT_SIGNING_KEY ?? 'placeholder-for-config-check',
      TRACEO_API_KEYS: process.env.TRACEO_API_KEYS ?? 'placeholder-for-config-check',
      TRACEO_ENCRYPTION_API_KEY: process.env.TRACEO_ENCRYPTION_API_KEY ?? 'placeholder-for-config-check',
      TRACEO_PKCS11_MODULE: process.env.TRACEO_PKCS11_MODULE ?? '/placeholder/for/config-check.so',
      TRACEO_PKCS11_PIN: process.env.TRACEO_PKCS11_PIN ?? 'placeholder-for-config-check',
    },
  });
  if (result.status !== 0)
    fail('docker compose config', `${label} refused docker-compose.yml:\n${(result.stderr || result.stdout).trim()}`);
  else dockerNote = `docker compose config: ${label} config -q passed`;
}

if (problems.length > 0) {
  console.error(`check-compose: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(
  `check-compose: ok — ${Object.keys(services).length} compose services (${platform.length} Traceo services), Dockerfile (${stages.length} stages), .dockerignore, postgres-init.sql (${infraDomains.length} roles)`,
);
console.log(dockerNote);
