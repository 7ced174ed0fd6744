// Offline validation of the Kong declarative configuration (kong/kong.yml, kong/kong-enterprise.yml).
//
// Three layers, because no single offline tool covers Kong 3.x here (see kong/README.md):
//   1. decK (`deck validate`, Debian's decK 1.4.0, installed by ./deck.mjs): the file's entity
//      structure (fields, types, required fields, unknown fields) and references between entities.
//      decK 1.4 predates consumer groups, so files that have them are validated as a copy without
//      them; everything else goes through decK unchanged.
//   2. Kong 3.x rules decK 1.4 does not know (this file): protocols, plugin names per edition,
//      consumer-group references, JWT on every non-public route, the services' body limits.
//   3. Plugin configs against JSON Schemas: traceo-sliding-window against
//      kong/plugins/traceo-sliding-window.schema.json, each bundled Kong plugin against
//      kong/plugins/bundled/<plugin>.schema.json (Kong 3.9's own schemas, transcribed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { parse, stringify } = require('yaml');

export const CUSTOM_PLUGIN = 'traceo-sliding-window';

/** Plugins bundled with Kong Gateway 3.9 open source that this project may use. */
const OSS_PLUGINS = new Set([
  'acl',
  'acme',
  'aws-lambda',
  'azure-functions',
  'basic-auth',
  'bot-detection',
  'correlation-id',
  'cors',
  'datadog',
  'file-log',
  'grpc-gateway',
  'grpc-web',
  'hmac-auth',
  'http-log',
  'ip-restriction',
  'jwt',
  'key-auth',
  'ldap-auth',
  'loggly',
  'oauth2',
  'opentelemetry',
  'post-function',
  'pre-function',
  'prometheus',
  'proxy-cache',
  'rate-limiting',
  'request-size-limiting',
  'request-termination',
  'request-transformer',
  'response-ratelimiting',
  'response-transformer',
  'session',
  'statsd',
  'syslog',
  'tcp-log',
  'udp-log',
  'zipkin',
]);
const ENTERPRISE_PLUGINS = new Set([...OSS_PLUGINS, 'rate-limiting-advanced']);
/** Plugins Kong Enterprise can scope to a consumer group. */
const CONSUMER_GROUP_PLUGINS = new Set(['rate-limiting-advanced', 'request-transformer', 'response-transformer']);
const ROUTE_PROTOCOLS = new Set(['http', 'https', 'grpc', 'grpcs', 'tcp', 'tls', 'tls_passthrough', 'udp', 'ws', 'wss']);
const REDIRECT_CODES = new Set([426, 301, 302, 307, 308]);
const KONG_SIZE_UNITS = { bytes: 1, kilobytes: 1024, megabytes: 1024 * 1024 };

/** Parses a declarative file (YAML anchors and aliases resolved). */
export function loadKongFile(file) {
  return parse(readFileSync(file, 'utf8'), { maxAliasCount: 1000 }) ?? {};
}

/** Every plugin entry with where it sits, e.g. `services[auth-service].routes[auth-api].plugins[jwt]`. */
export function pluginsOf(doc) {
  const found = [];
  const add = (plugins, where) => (plugins ?? []).forEach((plugin) => found.push({ plugin, where: `${where}.plugins[${plugin?.name}]` }));
  add(doc.plugins, '');
  for (const service of doc.services ?? []) {
    add(service.plugins, `services[${service.name}]`);
    for (const route of service.routes ?? []) add(route.plugins, `services[${service.name}].routes[${route.name}]`);
  }
  for (const route of doc.routes ?? []) add(route.plugins, `routes[${route.name}]`);
  for (const consumer of doc.consumers ?? []) add(consumer.plugins, `consumers[${consumer.username}]`);
  for (const group of doc.consumer_groups ?? []) add(group.plugins, `consumer_groups[${group.name}]`);
  return found.map(({ plugin, where }) => ({ plugin, where: where.replace(/^\./, '') }));
}

// ------------------------------------------------------------------------ plugin schema ---

// Keywords whose meaning is identical in JSON Schema draft-07 and 2020-12. The schema is declared
// 2020-12 but checked with ajv 6 (draft-07, the copy in node_modules); refusing anything else means
// nothing in the schema is silently ignored.
const PORTABLE_KEYWORDS = new Set([
  '$schema',
  '$id',
  '$comment',
  '$ref',
  '$defs',
  'title',
  'description',
  'default',
  'examples',
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
]);

function checkPortable(schema, path, problems) {
  if (typeof schema === 'boolean') return;
  for (const key of Object.keys(schema)) if (!PORTABLE_KEYWORDS.has(key)) problems.push(`${path}: keyword ${key} is not portable to ajv 6`);
  if ('$ref' in schema && Object.keys(schema).some((k) => !['$ref', 'description', '$comment'].includes(k)))
    problems.push(`${path}: draft-07 ignores keywords beside $ref`);
  if (Array.isArray(schema.items)) problems.push(`${path}: items must be one schema (2020-12 has no tuple form)`);
  for (const map of ['properties', '$defs'])
    for (const [name, sub] of Object.entries(schema[map] ?? {})) checkPortable(sub, `${path}/${map}/${name}`, problems);
  for (const key of ['items', 'additionalProperties', 'not', 'if', 'then', 'else'])
    if (schema[key] !== undefined && typeof schema[key] === 'object') checkPortable(schema[key], `${path}/${key}`, problems);
  for (const key of ['allOf', 'anyOf', 'oneOf'])
    (schema[key] ?? []).forEach((sub, i) => checkPortable(sub, `${path}/${key}/${i}`, problems));
}

/** Compiles the plugin's config schema; throws when the schema itself is unusable. */
export function compilePluginSchema(schemaFile) {
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
  if (schema.$schema !== 'https://json-schema.org/draft/2020-12/schema')
    throw new Error(`${schemaFile}: $schema must be JSON Schema 2020-12`);
  const problems = [];
  checkPortable(schema, '#', problems);
  if (problems.length > 0) throw new Error(`${schemaFile}:\n  ${problems.join('\n  ')}`);
  const Ajv = require('ajv');
  const ajv = new Ajv({ allErrors: true, jsonPointers: true, verbose: true });
  const { $schema: _ignored, ...draft07 } = schema;
  return ajv.compile(draft07);
}

/** The bundled Kong plugins' config schemas, one `<plugin>.schema.json` each. */
export const BUNDLED_SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'kong', 'plugins', 'bundled');
const SCHEMA_SUFFIX = '.schema.json';

/** Compiles every `<plugin>.schema.json` in `dir`; returns plugin name → validate function. */
export function compileBundledSchemas(dir = BUNDLED_SCHEMA_DIR) {
  return new Map(
    readdirSync(dir)
      .filter((file) => file.endsWith(SCHEMA_SUFFIX))
      .map((file) => [file.slice(0, -SCHEMA_SUFFIX.length), compilePluginSchema(join(dir, file))]),
  );
}

let compiledBundledSchemas;
/** compileBundledSchemas() of BUNDLED_SCHEMA_DIR, compiled once per process. */
function defaultBundledSchemas() {
  compiledBundledSchemas ??= compileBundledSchemas();
  return compiledBundledSchemas;
}

/**
 * ajv's errors as lines. The branches of a failed anyOf collapse into the anyOf's own description; a
 * failed if/then or not is reported by the description of the schema holding it, when it has one
 * (a rule such as an entity check reads better than "should match then schema"). An unknown field is
 * named.
 */
function ajvErrors(errors) {
  const list = errors ?? [];
  const failedAnyOf = list.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  return list
    .filter((e) => !failedAnyOf.some((prefix) => e.schemaPath.startsWith(prefix)))
    .map((e) => {
      const described = ['anyOf', 'if', 'not'].includes(e.keyword) && e.parentSchema?.description;
      const values = e.params?.allowedValues ?? (e.params?.additionalProperty === undefined ? undefined : [e.params.additionalProperty]);
      return `${e.dataPath || '/'} ${described || e.message}${values ? ` (${values.join(', ')})` : ''}`;
    });
}

// ------------------------------------------------------------------------ Kong 3.x rules ---

/** Body limits of the services, read from their sources, in bytes. */
export function serviceBodyLimits(root) {
  const bytes = (text) => {
    const m = /^(\d+)(kb|mb)$/i.exec(text);
    if (!m) throw new Error(`cannot read body limit ${text}`);
    return Number(m[1]) * (m[2].toLowerCase() === 'kb' ? 1024 : 1024 * 1024); // body-parser (bytes): 1kb = 1024
  };
  const fallback = /jsonBodyLimit \?\? '([0-9a-z]+)'/.exec(readFileSync(join(root, 'libs/service-kit/src/run-service.ts'), 'utf8'))?.[1];
  const encryption = /ENCRYPTION_JSON_BODY_LIMIT = '([0-9a-z]+)'/.exec(
    readFileSync(join(root, 'apps/encryption-service/src/encryption-service.definition.ts'), 'utf8'),
  )?.[1];
  if (!fallback || !encryption) throw new Error('cannot find the services’ JSON body limits in their sources');
  return { default: bytes(fallback), 'encryption-service': bytes(encryption) };
}

/** The services every gateway file routes to. */
const TRACEO_SERVICES = ['auth-service', 'encryption-service', 'audit-service', 'risk-service', 'compliance-service'];
/** Plugins on every request: correlation id, bot detection, metrics, and the log that feeds gateway events. */
const GLOBAL_PLUGINS = ['correlation-id', 'bot-detection', 'prometheus', 'http-log'];
const TIERS = ['free', 'standard', 'premium', 'enterprise'];

/**
 * What auth-service's access tokens (RFC 9068, oidc-provider's JWT format) carry, as Kong's jwt plugin
 * sees them: the registered time claims `exp` and `iat` but no `nbf`, the API client in `client_id`,
 * 15 minutes between `iat` and `exp`. authorization-code-flow.integration-spec.ts asserts the same of
 * real tokens ("signs a user in and issues a 15-minute ES256 JWT access token …").
 */
export const AUTH_SERVICE_ACCESS_TOKEN = { timeClaims: ['exp', 'iat'], clientClaim: 'client_id', lifetimeSeconds: 900 };

/**
 * A jwt plugin configuration that would refuse valid auth-service tokens, or let expired ones through.
 * Kong (kong/plugins/jwt/jwt_parser.lua, verify_registered_claims) fails a token that lacks any claim
 * listed in claims_to_verify, and checks `exp` only when it is listed.
 */
function jwtConfigProblems(config) {
  const problems = [];
  const claims = config.claims_to_verify ?? [];
  if (!claims.includes('exp')) problems.push('jwt claims_to_verify must include exp (otherwise Kong accepts expired tokens)');
  for (const claim of claims)
    if (!AUTH_SERVICE_ACCESS_TOKEN.timeClaims.includes(claim))
      problems.push(`jwt claims_to_verify lists ${claim}, which auth-service access tokens do not carry: Kong would refuse every token`);
  if (config.key_claim_name !== AUTH_SERVICE_ACCESS_TOKEN.clientClaim)
    problems.push(
      `jwt key_claim_name must be ${AUTH_SERVICE_ACCESS_TOKEN.clientClaim} (the API client, whose jwt_secrets hold auth-service's key)`,
    );
  const maximum = config.maximum_expiration ?? 0;
  if (maximum !== 0 && maximum < AUTH_SERVICE_ACCESS_TOKEN.lifetimeSeconds)
    problems.push(`jwt maximum_expiration ${maximum} is below the access-token lifetime (${AUTH_SERVICE_ACCESS_TOKEN.lifetimeSeconds} s)`);
  return problems;
}

/**
 * Checks one declarative file. `edition` is `oss` (kong/kong.yml: the custom plugin, no consumer
 * groups) or `enterprise` (rate-limiting-advanced and consumer groups, no custom plugin).
 * `validatePluginConfig` checks the custom plugin's config, `bundledSchemas` (plugin name → validate
 * function, compileBundledSchemas()) every other plugin's.
 * Returns a list of problems, empty when the file is good.
 */
export function checkKongConfig(doc, { edition, validatePluginConfig, bundledSchemas = defaultBundledSchemas(), bodyLimits }) {
  const problems = [];
  const fail = (where, message) => problems.push(`${where}: ${message}`);
  const checkConfig = (where, validate, config) => {
    if (!validate(config ?? {})) for (const error of ajvErrors(validate.errors)) fail(where, `config${error}`);
  };
  if (doc._format_version !== '3.0') fail('_format_version', `must be "3.0" (got ${JSON.stringify(doc._format_version)})`);
  if (edition === 'oss' && doc.consumer_groups !== undefined)
    fail('consumer_groups', 'Kong open source has no consumer groups (Enterprise only); use kong-enterprise.yml');

  const routeNames = new Set();
  for (const service of doc.services ?? []) {
    const where = `services[${service.name}]`;
    let url;
    try {
      url = new URL(service.url);
    } catch {
      fail(where, `url ${JSON.stringify(service.url)} is not a URL`);
    }
    if (url && !ROUTE_PROTOCOLS.has(url.protocol.replace(/:$/, ''))) fail(where, `unknown upstream protocol ${url.protocol}`);
    for (const route of service.routes ?? []) {
      const at = `${where}.routes[${route.name}]`;
      if (!route.name) fail(at, 'needs a name');
      else if (routeNames.has(route.name)) fail(at, 'route names must be unique');
      routeNames.add(route.name);
      for (const protocol of route.protocols ?? [])
        if (!ROUTE_PROTOCOLS.has(protocol))
          fail(at, `invalid protocol ${JSON.stringify(protocol)} (one of ${[...ROUTE_PROTOCOLS].join(', ')})`);
      for (const path of route.paths ?? [])
        if (typeof path !== 'string' || !path.startsWith('/')) fail(at, `path ${JSON.stringify(path)} must start with /`);
      if (route.https_redirect_status_code !== undefined && !REDIRECT_CODES.has(route.https_redirect_status_code))
        fail(at, `https_redirect_status_code must be one of ${[...REDIRECT_CODES].join(', ')}`);
      const isPublic = (route.tags ?? []).includes('public');
      const hasJwt = [...(route.plugins ?? []), ...(service.plugins ?? []), ...(doc.plugins ?? [])].some((p) => p.name === 'jwt');
      if (!isPublic && !hasJwt) fail(at, 'needs the jwt plugin (or the tag "public" for endpoints that authenticate callers themselves)');
      if (isPublic && (route.plugins ?? []).some((p) => p.name === 'jwt')) fail(at, 'is tagged public but has the jwt plugin');
    }
    // Kong's request-size-limiting units are binary (1 kilobyte = 1024 bytes), like the services' body parser.
    if (bodyLimits) {
      const expected = bodyLimits[service.name] ?? bodyLimits.default;
      const sizes = [...(service.plugins ?? []), ...(service.routes ?? []).flatMap((r) => r.plugins ?? [])].filter(
        (p) => p.name === 'request-size-limiting',
      );
      if (sizes.length === 0) fail(where, 'needs request-size-limiting');
      for (const { config } of sizes) {
        const actual = (config?.allowed_payload_size ?? 128) * (KONG_SIZE_UNITS[config?.size_unit ?? 'megabytes'] ?? NaN);
        if (actual !== expected) fail(where, `request-size-limiting allows ${actual} bytes but the service accepts ${expected}`);
      }
    }
  }

  const groups = new Set((doc.consumer_groups ?? []).map((g) => g.name));
  for (const consumer of doc.consumers ?? []) {
    const where = `consumers[${consumer.username}]`;
    if (!consumer.username && !consumer.custom_id) fail(where, 'needs username or custom_id');
    for (const group of consumer.groups ?? [])
      if (!groups.has(group.name)) fail(where, `is in consumer group ${group.name}, which is not defined`);
    for (const secret of consumer.jwt_secrets ?? [])
      if (secret.algorithm !== 'ES256') fail(where, `jwt_secrets ${secret.key}: auth-service signs ES256 (got ${secret.algorithm})`);
  }

  const serviceNames = new Set((doc.services ?? []).map((service) => service.name));
  for (const name of TRACEO_SERVICES) if (!serviceNames.has(name)) fail('services', `no ${name} (every Traceo service sits behind Kong)`);
  const globalPlugins = new Set((doc.plugins ?? []).map((plugin) => plugin.name));
  for (const name of GLOBAL_PLUGINS) if (!globalPlugins.has(name)) fail('plugins', `no global ${name}`);
  const tiers = new Set((doc.consumers ?? []).flatMap((consumer) => (consumer.tags ?? []).filter((tag) => tag.startsWith('tier:'))));
  for (const tier of TIERS) if (!tiers.has(`tier:${tier}`)) fail('consumers', `no consumer of tier ${tier}`);
  if (edition === 'enterprise') for (const tier of TIERS) if (!groups.has(tier)) fail('consumer_groups', `no consumer group ${tier}`);

  const known = edition === 'enterprise' ? ENTERPRISE_PLUGINS : new Set([...OSS_PLUGINS, CUSTOM_PLUGIN]);
  let customCount = 0;
  for (const { plugin, where } of pluginsOf(doc)) {
    if (!known.has(plugin.name))
      fail(
        where,
        `plugin ${JSON.stringify(plugin.name)} is not available in Kong ${edition === 'enterprise' ? 'Enterprise' : 'open source'} as this project configures it`,
      );
    if (where.startsWith('consumer_groups[') && !CONSUMER_GROUP_PLUGINS.has(plugin.name))
      fail(where, 'this plugin cannot be scoped to a consumer group');
    if (plugin.name === 'jwt') for (const problem of jwtConfigProblems(plugin.config ?? {})) fail(where, problem);
    if (plugin.name === CUSTOM_PLUGIN) {
      customCount += 1;
      checkConfig(where, validatePluginConfig, plugin.config);
    } else if (known.has(plugin.name)) {
      const validate = bundledSchemas.get(plugin.name);
      if (validate) checkConfig(where, validate, plugin.config);
      else fail(where, `no config schema for this plugin (add kong/plugins/bundled/${plugin.name}${SCHEMA_SUFFIX} from Kong 3.9's schema)`);
    }
  }
  if (edition === 'oss' && customCount === 0) fail('plugins', `no ${CUSTOM_PLUGIN} entry`);
  return problems;
}

// -------------------------------------------------------------------------------- decK ---

/** Kong 3.x sections decK 1.4.0 does not know (it rejects them as unknown fields). */
export function deckView(doc) {
  const { consumer_groups: _groups, ...rest } = doc;
  return { ...rest, consumers: rest.consumers?.map(({ groups: _g, ...consumer }) => consumer) };
}

/** Runs `deck validate` on a file, or on a stripped copy when decK cannot read the file as it is. */
export function deckValidate(deck, file, doc) {
  const stripped = doc.consumer_groups !== undefined || (doc.consumers ?? []).some((c) => c.groups !== undefined);
  let target = file;
  let dir;
  if (stripped) {
    dir = mkdtempSync(join(tmpdir(), 'traceo-deck-'));
    target = join(dir, 'deck-view.yml');
    writeFileSync(target, stringify(deckView(doc)));
  }
  const result = spawnSync(deck, ['validate', '--no-color', '-s', target], {
    encoding: 'utf8',
    env: { ...process.env, DECK_ANALYTICS: 'off' },
  });
  if (dir) rmSync(dir, { recursive: true, force: true });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim(), stripped };
}
