import type { IncomingMessage } from 'node:http';

/**
 * Options for the JSON body parser (`app.useBodyParser('json', …)`): bodies of at most `limit`, and
 * none read under `ownBodyPaths` — path prefixes whose handlers read their request bodies themselves.
 * auth-service's `/oidc` is one: oidc-provider parses each endpoint's body as its specification says
 * and answers anything else (a JSON body at the token endpoint, malformed or not) with the OAuth
 * error `invalid_request`, which it also reports for the audit log; a JSON parser in front of it
 * would answer malformed JSON with a generic 400 of its own first.
 */
export function jsonBodyParserOptions(
  limit: string,
  ownBodyPaths: readonly string[] = [],
): { limit: string; type: (req: IncomingMessage) => boolean } {
  for (const prefix of ownBodyPaths)
    if (!/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(prefix))
      throw new TypeError(`ownBodyPaths: ${JSON.stringify(prefix)} is not a path prefix such as /oidc`);
  return {
    limit,
    // body-parser's own default is exactly `application/json` (type-is); parameters such as charset allowed.
    type: (req) => isJson(req) && !ownBodyPaths.some((prefix) => isUnder(req.url ?? '', prefix)),
  };
}

function isJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return typeof type === 'string' && type.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

function isUnder(url: string, prefix: string): boolean {
  if (!url.startsWith(prefix)) return false;
  const next = url.charAt(prefix.length);
  return next === '' || next === '/' || next === '?';
}
