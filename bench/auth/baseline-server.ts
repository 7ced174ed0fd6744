// The floor for the token endpoint figures: a bare node:http server that does what any token endpoint
// must at the least — read the form body, check a Basic client secret, sign one ES256 JWT with jose,
// answer JSON — and nothing else (no framework, no database, no audit). Started as its own process by
// auth.bench.ts, like the service, so both are measured by the same client.
//
//   node -r @swc-node/register bench/auth/baseline-server.ts <port>
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { generateKeyPair, SignJWT } from 'jose';

const port = Number(process.argv[2]);
const SECRET_DIGEST = createHash('sha256').update('baseline-client:baseline-secret-00000000000000000000').digest();

async function main(): Promise<void> {
  const { privateKey } = await generateKeyPair('ES256');
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const basic = Buffer.from((request.headers.authorization ?? '').replace(/^Basic /, ''), 'base64');
      if (!timingSafeEqual(createHash('sha256').update(basic).digest(), SECRET_DIGEST) || !form.get('grant_type')) {
        response.writeHead(401).end();
        return;
      }
      new SignJWT({ client_id: 'baseline-client', scope: 'api' })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
        .setIssuer(`http://127.0.0.1:${port}`)
        .setSubject('baseline-client')
        .setAudience('urn:traceo:api')
        .setIssuedAt()
        .setExpirationTime('15m')
        .setJti(createHash('sha256').update(String(Math.random())).digest('hex'))
        .sign(privateKey)
        .then((token) => {
          response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          response.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 900 }));
        })
        .catch(() => response.writeHead(500).end());
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => process.send?.('ready'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
