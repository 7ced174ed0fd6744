// Contract test: every request KongAdminClient makes is captured by a local HTTP server and checked
// against Kong's published Admin API document (excerpts in ../spec, sources in ../spec/README.md):
// the path and method must be an operation of the document, query parameters must be declared by
// it, and a JSON body must satisfy the operation's request-body schema.
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KongAdminClient, KongAdminError } from './index';

interface Captured {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  readonly body: string;
}

type Json = Record<string, unknown>;
const specDir = join(__dirname, '..', 'spec');
const documents = ['kong-admin-oss-3.9.excerpt.yaml', 'kong-admin-ee-3.9.excerpt.yaml'].map((file) => ({
  file,
  doc: parse(readFileSync(join(specDir, file), 'utf8')) as Json,
}));

/** Resolves local `$ref`s (`#/components/...`) of an OpenAPI document, recursively. */
function deref(doc: Json, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => deref(doc, v));
  if (value === null || typeof value !== 'object') return value;
  const ref = (value as Json).$ref;
  if (typeof ref === 'string') {
    const target = ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (node as Json | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    if (target === undefined) throw new Error(`unresolved $ref ${ref}`);
    return deref(doc, target);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deref(doc, v)]));
}

// OpenAPI 3.0 schema objects are JSON Schema draft-04/07 plus `nullable` (ajv option) and
// documentation keywords (example, x-*), which ajv ignores.
const ajv = new Ajv({ allErrors: true, nullable: true, unknownFormats: 'ignore' });

interface Operation {
  readonly file: string;
  readonly template: string;
  readonly method: string;
  readonly parameters: Json[];
  readonly bodySchema?: Json;
}

function findOperation(method: string, path: string): Operation | undefined {
  for (const { file, doc } of documents) {
    for (const [template, item] of Object.entries(doc.paths as Json)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      const pathItem = deref(doc, item) as Json;
      const operation = pathItem[method.toLowerCase()] as Json | undefined;
      if (!pattern.test(path) || !operation) continue;
      const parameters = [...((pathItem.parameters as Json[]) ?? []), ...((operation.parameters as Json[]) ?? [])];
      const requestBody = operation.requestBody as Json | undefined;
      const bodySchema = (requestBody?.content as Json | undefined)?.['application/json'] as Json | undefined;
      return { file, template, method, parameters, bodySchema: bodySchema?.schema as Json | undefined };
    }
  }
  return undefined;
}

/** Problems of one captured request against the documents; empty when it conforms. */
function contractProblems(request: Captured): string[] {
  const operation = findOperation(request.method, request.path);
  if (!operation) return [`${request.method} ${request.path} is not an operation of Kong's Admin API document`];
  const problems: string[] = [];
  const where = `${request.method} ${operation.template} (${operation.file})`;
  for (const [name, value] of request.query) {
    const parameter = operation.parameters.find((p) => p.in === 'query' && p.name === name);
    if (!parameter) {
      problems.push(`${where}: query parameter ${name} is not declared`);
      continue;
    }
    const schema = parameter.schema as Json;
    const typed = schema.type === 'integer' ? Number(value) : value;
    if (!ajv.validate(schema, typed)) problems.push(`${where}: query ${name}=${value}: ${ajv.errorsText()}`);
  }
  if (request.body !== '') {
    if (!operation.bodySchema) problems.push(`${where}: sends a body, the document defines none`);
    else if (request.contentType !== 'application/json')
      problems.push(`${where}: content-type ${request.contentType}, expected application/json`);
    else if (!ajv.validate(operation.bodySchema, JSON.parse(request.body)))
      problems.push(`${where}: body ${request.body}: ${ajv.errorsText()}`);
  } else if (operation.bodySchema && request.method !== 'DELETE') {
    problems.push(`${where}: the document expects a JSON body`);
  }
  return problems;
}

// ----------------------------------------------------------------- a stand-in Admin API ---
const consumer = {
  id: 'c2f0e1e4-1f3b-4b9e-9f0a-5d7c1b0e2a11',
  username: 'acme-app',
  custom_id: 'client-42',
  tags: ['tier:premium'],
  created_at: 1764000000,
};
const plugin = (route: { id: string } | null) => ({
  id: '3fd1eea1-885a-4011-b986-289943ff8177',
  name: 'ip-restriction',
  route,
  service: null,
  consumer: null,
  enabled: true,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  tags: ['traceo', 'automated-response'],
  config: { deny: ['203.0.113.7', '2001:db8::/48'], allow: null, status: 403, message: 'Blocked by Traceo' },
  created_at: 1764000000,
});

function answer(request: Captured): { status: number; body?: unknown } {
  const routePlugin = /^\/routes\/[^/]+\/plugins$/.test(request.path);
  if (request.method === 'DELETE') return { status: 204 };
  if (request.method === 'GET' && request.path === '/consumers') return { status: 200, body: { data: [consumer], next: null } };
  if (request.method === 'POST' && request.path === '/consumers') return { status: 201, body: consumer };
  if (request.method === 'POST' && request.path.endsWith('/consumer_groups'))
    return { status: 201, body: { consumer, consumer_groups: [{ id: 'a1b2', name: 'premium', created_at: 1764000000 }] } };
  if (request.method === 'POST' && (request.path === '/plugins' || routePlugin))
    return { status: 201, body: plugin(routePlugin ? { id: '56c4566c-14cc-4132-9011-4139fcbbe50a' } : null) };
  return { status: 404, body: { message: 'Not found' } };
}

const captured: Captured[] = [];
let server: Server;
let client: KongAdminClient;

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });

beforeAll(async () => {
  server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const url = new URL(req.url ?? '/', 'http://kong.test');
      const request: Captured = {
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        query: url.searchParams,
        contentType: req.headers['content-type'],
        body,
      };
      captured.push(request);
      const { status, body: reply } = answer(request);
      res.writeHead(status, reply === undefined ? {} : { 'content-type': 'application/json' });
      res.end(reply === undefined ? undefined : JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new KongAdminClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("KongAdminClient against Kong's published Admin API document", () => {
  it('sends only requests the document defines, with bodies that satisfy its schemas', async () => {
    const page = await client.listConsumers({ tags: ['traceo', 'tier:premium'], size: 50, offset: 'b2ZmLTE=' });
    expect(page.data[0]?.username).toBe('acme-app');
    await client.createConsumer({ username: 'acme-app', custom_id: 'client-42', tags: ['traceo', 'tier:premium'] });
    await client.addConsumerToGroup('acme-app', 'premium');
    const global = await client.blockIp({
      deny: ['203.0.113.7', '2001:db8::/48'],
      status: 403,
      message: 'Blocked by Traceo',
      tags: ['traceo'],
    });
    const onRoute = await client.blockIp({ deny: ['198.51.100.0/24'], route: 'auth-api', tags: ['traceo', 'incident:42'] });
    expect(global.route).toBeNull();
    expect(onRoute.route?.id).toBe('56c4566c-14cc-4132-9011-4139fcbbe50a');
    await client.unblockIp({ pluginId: global.id });
    await client.unblockIp({ pluginId: onRoute.id, route: 'auth-api' });
    await client.deleteConsumer('acme-app');

    const operations = captured.map(
      (request) => `${request.method} ${findOperation(request.method, request.path)?.template ?? request.path}`,
    );
    expect(operations).toEqual([
      'GET /consumers',
      'POST /consumers',
      'POST /consumers/{consumer_username_or_id}/consumer_groups',
      'POST /plugins',
      'POST /routes/{route_id_or_name}/plugins',
      'DELETE /plugins/{plugin_id}',
      'DELETE /routes/{route_id_or_name}/plugins/{plugin_id}',
      'DELETE /consumers/{consumer_username_or_id}',
    ]);
    expect(captured.flatMap(contractProblems)).toEqual([]);
  });

  it('would catch a body the document does not allow', () => {
    const problems = contractProblems({
      method: 'POST',
      path: '/consumers',
      query: new URLSearchParams(),
      contentType: 'application/json',
      body: JSON.stringify({ username: 'acme-app', tags: 'not-a-list' }),
    });
    expect(problems.join('\n')).toMatch(/should have required property 'custom_id'/);
    expect(problems.join('\n')).toMatch(/\.tags should be array/);
    expect(
      contractProblems({
        method: 'PUT',
        path: '/consumer_groups/x/overrides',
        query: new URLSearchParams(),
        contentType: undefined,
        body: '',
      }),
    ).toEqual(["PUT /consumer_groups/x/overrides is not an operation of Kong's Admin API document"]);
  });
});

describe('KongAdminClient errors', () => {
  const answering = (status: number, body: unknown) =>
    new KongAdminClient({ baseUrl: 'http://kong.test', fetch: () => Promise.resolve(new Response(JSON.stringify(body), { status })) });

  it('reports a DB-less Kong refusing writes as KONG_ADMIN.READ_ONLY', async () => {
    const error = await answering(405, { message: 'cannot create entities when not using a database' })
      .createConsumer({ username: 'a', custom_id: 'b' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KongAdminError);
    expect(error).toMatchObject({ code: 'KONG_ADMIN.READ_ONLY', status: 405 });
  });

  it('refuses to block something that is not an address or CIDR range, before calling Kong', async () => {
    await expect(answering(201, {}).blockIp({ deny: ['203.0.113.7/33'] })).rejects.toMatchObject({ code: 'KONG_ADMIN.INVALID_INPUT' });
    await expect(answering(201, {}).blockIp({ deny: ['example.com'] })).rejects.toMatchObject({ code: 'KONG_ADMIN.INVALID_INPUT' });
  });

  it('reports an answer of the wrong shape as KONG_ADMIN.UNEXPECTED_RESPONSE', async () => {
    await expect(answering(201, { id: 'x', name: 'jwt' }).blockIp({ deny: ['203.0.113.7'] })).rejects.toMatchObject({
      code: 'KONG_ADMIN.UNEXPECTED_RESPONSE',
    });
  });
});
