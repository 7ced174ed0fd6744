// The HTTP floor for the encryption bench, run as its own process: plain node:http that parses the
// same JSON body and answers one result of ciphertext size per field. No Nest, validation, crypto,
// database or logging, so the bench client and the transport alone set its rate.
//
//   BENCH_RAW_HTTP_PORT=4418 node -r @swc-node/register bench/encryption/raw-http-server.ts
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.BENCH_RAW_HTTP_PORT);
// A field ciphertext of a 32-byte value under keyring "customers": 51 + 9 header bytes, 32, 16 tag.
const ciphertext = randomBytes(108).toString('base64');

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const { fields } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { fields: unknown[] };
    const body = JSON.stringify({ results: fields.map(() => ({ ok: true, ciphertext, keyVersion: 1 })) });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
